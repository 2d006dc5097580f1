package par

import (
	"os"
	"testing"
	"time"
)

// TestLoadAlternate (NNGEN_PAR_LOAD=1) alternates 1, 2 and 3 workers on
// 8 µs Runs and prints the mean time of a Run of each: on a loaded machine,
// more workers must not be much slower than one.
func TestLoadAlternate(t *testing.T) {
	if os.Getenv("NNGEN_PAR_LOAD") == "" {
		t.Skip("NNGEN_PAR_LOAD not set")
	}
	w := newSpinWork(8 * time.Microsecond)
	sum := map[int]time.Duration{}
	runs := map[int]int{}
	for range 10 {
		for _, n := range []int{1, 2, 3} {
			p := New(n)
			t0 := time.Now()
			k := 0
			for ; time.Since(t0) < 200*time.Millisecond; k++ {
				p.RunTask(w)
			}
			sum[n] += time.Since(t0)
			runs[n] += k
			p.Close()
		}
	}
	for _, n := range []int{1, 2, 3} {
		t.Logf("workers=%d: %v per Run", n, sum[n]/time.Duration(runs[n]))
	}
}
