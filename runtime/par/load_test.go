package par

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestLoadAlternate (NNGEN_PAR_LOAD=rounds, 10 if not a number) alternates
// 1, 2 and 3 workers on 8 µs Runs, 200 ms each per round, and prints the
// mean time of a Run of each: on a loaded machine, more workers must not be
// much slower than one.
func TestLoadAlternate(t *testing.T) {
	if os.Getenv("NNGEN_PAR_LOAD") == "" {
		t.Skip("NNGEN_PAR_LOAD not set")
	}
	w := newSpinWork(8 * time.Microsecond)
	rounds := 10
	if r, err := strconv.Atoi(os.Getenv("NNGEN_PAR_LOAD")); err == nil {
		rounds = r
	}
	sum, cpu := map[int]time.Duration{}, map[int]time.Duration{}
	runs := map[int]int{}
	for range rounds {
		for _, n := range []int{1, 2, 3} {
			p := New(n)
			if d, err := time.ParseDuration(os.Getenv("NNGEN_PAR_SPIN")); err == nil {
				p.SetSpin(d)
			}
			c0 := cpuTime()
			t0 := time.Now()
			k := 0
			for ; time.Since(t0) < 200*time.Millisecond; k++ {
				p.RunTask(w)
			}
			sum[n] += time.Since(t0)
			cpu[n] += cpuTime() - c0
			runs[n] += k
			if testing.Verbose() && n > 1 {
				st := &p.s.stats
				t.Logf("workers=%d: %d Runs, %d parts stolen, %d wakes, %d skipped, %d blocks, %d joins blocked", n, k,
					st.stolen.Load(), st.wakes.Load(), st.skips.Load(), st.blocks.Load(), st.joinBlocks.Load())
			}
			p.Close()
		}
	}
	for _, n := range []int{1, 2, 3} {
		t.Logf("workers=%d: %v per Run, %v of processor time", n, sum[n]/time.Duration(runs[n]), cpu[n]/time.Duration(runs[n]))
	}
}

// cpuTime returns the processor time this process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
