package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// nngen runs the command in-process and returns its exit code, stdout and
// stderr. A panic fails the test, not the whole test binary.
func nngen(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("nngen %s panicked: %v\n%s", strings.Join(args, " "), r, debug.Stack())
		}
	}()
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestEndToEnd runs every case of testdata/cases from the repository root,
// so that the spec paths in messages and generated headers are
// "testdata/cases/<case>/spec.yaml". A case whose spec must fail has
// stderr.txt, the exact stderr of check, generate and summary; a case whose spec
// is valid has expected/<file>.golden for every file generate writes, and
// its summary must succeed (testdata/summary/ holds the goldens of the
// shipped models' summaries).
// With -update the test rewrites them from what nngen does now.
func TestEndToEnd(t *testing.T) {
	t.Chdir("../..")
	specs, err := filepath.Glob("testdata/cases/*/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) == 0 {
		t.Fatal("no cases in testdata/cases")
	}
	for _, spec := range specs {
		dir := filepath.Dir(spec)
		t.Run(filepath.Base(dir), func(t *testing.T) { runCase(t, filepath.ToSlash(dir)) })
	}
}

func runCase(t *testing.T, dir string) {
	spec := dir + "/spec.yaml"
	stderrFile := filepath.Join(dir, "stderr.txt")
	expDir := filepath.Join(dir, "expected")
	code, stdout, stderr := nngen(t, "check", "-spec", spec)
	if code != 0 {
		if code != 1 {
			t.Fatalf("nngen check: exit %d, want 0 or 1; stderr:\n%s", code, stderr)
		}
		if stdout != "" {
			t.Errorf("nngen check: failed but wrote to stdout:\n%s", stdout)
		}
		out := filepath.Join(t.TempDir(), "out")
		gcode, gstdout, gstderr := nngen(t, "generate", "-spec", spec, "-out", out)
		if gcode != 1 || gstdout != "" || gstderr != stderr {
			t.Errorf("nngen generate: exit %d, stdout %q, stderr:\n%s\nwant exit 1, no stdout and the stderr of check:\n%s", gcode, gstdout, gstderr, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("nngen generate failed but created %s", out)
		}
		if scode, sstdout, sstderr := nngen(t, "summary", "-spec", spec); scode != 1 || sstdout != "" || sstderr != stderr {
			t.Errorf("nngen summary: exit %d, stdout %q, stderr:\n%s\nwant exit 1, no stdout and the stderr of check:\n%s", scode, sstdout, sstderr, stderr)
		}
		if *update {
			writeFile(t, stderrFile, []byte(stderr))
			if err := os.RemoveAll(expDir); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(stderrFile)
		if err != nil {
			t.Fatalf("the spec fails, but the case has no stderr.txt (run go test ./cmd/nngen -update to create it): %v\nstderr:\n%s", err, stderr)
		}
		if stderr != string(want) {
			t.Errorf("stderr differs from %s: %s\ngot:\n%s\nwant:\n%s", stderrFile, firstDiff(stderr, string(want)), stderr, want)
		}
		return
	}
	// A valid spec may warn (warning.txt holds check's exact stderr).
	warnFile := filepath.Join(dir, "warning.txt")
	if *update {
		if stderr == "" {
			if err := os.Remove(warnFile); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		} else {
			writeFile(t, warnFile, []byte(stderr))
		}
	} else if want, _ := os.ReadFile(warnFile); stderr != string(want) {
		t.Errorf("nngen check succeeded with stderr:\n%s\nwant (%s):\n%s", stderr, warnFile, want)
	}
	if code, stdout, stderr := nngen(t, "summary", "-spec", spec); code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Model: ") {
		t.Errorf("nngen summary: exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	out := t.TempDir()
	if code, _, stderr := nngen(t, "generate", "-spec", spec, "-out", out); code != 0 {
		t.Fatalf("nngen generate: exit %d; stderr:\n%s", code, stderr)
	}
	got := readTree(t, out, "")
	typeCheck(t, got)
	if *update {
		if err := os.Remove(stderrFile); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.RemoveAll(expDir); err != nil {
			t.Fatal(err)
		}
		for name, b := range got {
			writeFile(t, filepath.Join(expDir, name+".golden"), b)
		}
		return
	}
	if _, err := os.Stat(stderrFile); err == nil {
		t.Errorf("the spec is valid, but the case has %s", stderrFile)
	}
	want := readTree(t, expDir, ".golden")
	if len(want) == 0 {
		t.Fatalf("the spec is valid, but the case has no %s (run go test ./cmd/nngen -update to create it)", expDir)
	}
	for _, name := range sortedKeys(got, want) {
		g, inGot := got[name]
		w, inWant := want[name]
		switch {
		case !inWant:
			t.Errorf("generate wrote %s, which %s does not have", name, expDir)
		case !inGot:
			t.Errorf("generate did not write %s", name)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs from %s.golden: %s", name, filepath.Join(expDir, name), firstDiff(string(g), string(w)))
		}
	}
}

// typeCheck type-checks the generated package (tests included), so that a
// golden file never records code that does not build.
func typeCheck(t *testing.T, files map[string][]byte) {
	t.Helper()
	if testing.Short() {
		return
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range sortedKeys(files) {
		// Assembly is checked by building generated/; of the Go files, the
		// amd64 build's are checked (go/types ignores build constraints).
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_other.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, files[name], 0)
		if err != nil {
			t.Errorf("generated %s does not parse: %v", name, err)
			return
		}
		parsed = append(parsed, f)
	}
	conf := types.Config{Importer: sourceImporter()}
	if _, err := conf.Check(parsed[0].Name.Name, fset, parsed, nil); err != nil {
		t.Errorf("the generated package does not type-check: %v", err)
	}
}

var (
	importerOnce sync.Once
	imp          types.Importer
)

// sourceImporter is one shared source importer, which caches the packages
// it has checked.
func sourceImporter() types.Importer {
	importerOnce.Do(func() { imp = importer.ForCompiler(token.NewFileSet(), "source", nil) })
	return imp
}

// readTree returns the files under dir by slash-separated relative path,
// with suffix trimmed from their names.
func readTree(t *testing.T, dir, suffix string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[strings.TrimSuffix(filepath.ToSlash(rel), suffix)] = b
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(maps ...map[string][]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "no difference"
}

// TestSummary checks nngen summary of every model of testdata/models
// against testdata/summary/<model>.txt (rewritten with -update).
func TestSummary(t *testing.T) {
	t.Chdir("../..")
	specs, err := filepath.Glob("testdata/models/*.yaml")
	if err != nil || len(specs) == 0 {
		t.Fatalf("no models in testdata/models: %v", err)
	}
	for _, spec := range specs {
		name := strings.TrimSuffix(filepath.Base(spec), ".yaml")
		t.Run(name, func(t *testing.T) {
			golden := filepath.Join("testdata", "summary", name+".txt")
			code, stdout, stderr := nngen(t, "summary", "-spec", filepath.ToSlash(spec))
			if code != 0 || stderr != "" {
				t.Fatalf("nngen summary: exit %d, stderr:\n%s", code, stderr)
			}
			if *update {
				writeFile(t, golden, []byte(stdout))
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/nngen -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("nngen summary differs from %s: %s", golden, firstDiff(stdout, string(want)))
			}
		})
	}
	// README quotes mnist_cnn's.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile("testdata/summary/mnist_cnn.txt"); !bytes.Contains(readme, append([]byte("$ nngen summary -spec testdata/models/mnist_cnn.yaml\n"), want...)) {
		t.Error("README.md does not quote testdata/summary/mnist_cnn.txt as it is")
	}
}
