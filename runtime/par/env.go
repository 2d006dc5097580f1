package par

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// MaxWorkers is the largest worker count ParseWorkers accepts.
const MaxWorkers = 1024

// ParseWorkers returns the worker count written in s, a whole number from 1
// to MaxWorkers (the value of a --workers flag or of NNGEN_WORKERS).
func ParseWorkers(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxWorkers {
		return 0, fmt.Errorf("workers %q: want a whole number from 1 to %d", s, MaxWorkers)
	}
	return n, nil
}

// EnvWorkers returns the default worker count: NNGEN_WORKERS if it is set
// and not empty, else the number of usable CPUs, runtime.GOMAXPROCS(0). An
// invalid NNGEN_WORKERS is an error naming the variable.
func EnvWorkers() (int, error) {
	s := os.Getenv("NNGEN_WORKERS")
	if s == "" {
		return runtime.GOMAXPROCS(0), nil
	}
	n, err := ParseWorkers(s)
	if err != nil {
		return 0, fmt.Errorf("NNGEN_WORKERS: %w", err)
	}
	return n, nil
}
