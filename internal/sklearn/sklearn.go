// Package sklearn finds the data sets that scikit-learn bundles (iris,
// wine, breast_cancer, digits, diabetes and two photos) on this machine, for
// tests and examples: they come with Debian's package python3-sklearn,
// installed or unpacked by `make sklearn`, and are never committed.
package sklearn

import (
	"fmt"
	"os"
	"path/filepath"
)

// sub is where the package keeps its data sets, below the root of the
// unpacked package.
const sub = "usr/lib/python3/dist-packages/sklearn/datasets"

// Cache is the folder `make sklearn` unpacks python3-sklearn into.
func Cache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "nngen", "sklearn")
}

// Dir returns the folder of scikit-learn's data sets (iris.csv and the
// others; images/ beside it holds the photos): $SKLEARN_DATA if set, else
// that of an installed python3-sklearn, else that of `make sklearn`'s
// unpacked copy.
func Dir() (string, error) {
	var dirs []string
	if d := os.Getenv("SKLEARN_DATA"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join("/", sub, "data"), filepath.Join(Cache(), sub, "data"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "iris.csv")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("scikit-learn's data sets not found in %v (run 'make sklearn', or set SKLEARN_DATA)", dirs)
}

// File returns the path of the data set file name (such as "iris.csv").
func File(name string) (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(d, name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}
