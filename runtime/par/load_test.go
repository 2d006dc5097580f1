package par

import (
	"math"
	"os"
	"slices"
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

// TestScalingPairs (NNGEN_PAR_PAIRS=pairs) measures the speedup of 2
// workers over 1 on a machine shared with other work: it alternates the two
// in short pairs (the 256³ GEMM: best of 3 products each; the Runs of 8 µs:
// best of 3 batches of 200), so that both halves of a pair see the same
// load, and prints the quantiles of the pairs' speedups. The pairs from
// moments when the machine was free show the scaling.
func TestScalingPairs(t *testing.T) {
	pairs, err := strconv.Atoi(os.Getenv("NNGEN_PAR_PAIRS"))
	if err != nil {
		t.Skip("NNGEN_PAR_PAIRS not set")
	}
	g := newGemm(256, 256, 256)
	g.rows(0, g.m)
	want := slices.Clone(g.c)
	w := newSpinWork(8 * time.Microsecond)
	p1, p2 := New(1), New(2)
	defer p1.Close()
	defer p2.Close()
	best := func(p *Pool, reps int, f func(p *Pool)) time.Duration {
		d := time.Duration(math.MaxInt64)
		for range 3 {
			t0 := time.Now()
			for range reps {
				f(p)
			}
			d = min(d, time.Since(t0)/time.Duration(reps))
		}
		return d
	}
	for _, c := range []struct {
		name string
		reps int
		f    func(p *Pool)
	}{
		{"gemm 256³", 1, func(p *Pool) { p.RunTask(g) }},
		{"Runs of 8 µs", 200, func(p *Pool) { p.RunTask(w) }},
	} {
		var speedups []float64
		var t1s, t2s []time.Duration
		for range pairs {
			t1 := best(p1, c.reps, c.f)
			t2 := best(p2, c.reps, c.f)
			t1s, t2s = append(t1s, t1), append(t2s, t2)
			speedups = append(speedups, float64(t1)/float64(t2))
		}
		slices.Sort(speedups)
		slices.Sort(t1s)
		slices.Sort(t2s)
		q := func(f float64) float64 { return speedups[int(f*float64(len(speedups)-1))] }
		t.Logf("%s: speedup 2/1 workers over %d pairs: max %.2f, p90 %.2f, median %.2f, min %.2f; best times %v (1 worker), %v (2 workers)",
			c.name, pairs, q(1), q(0.9), q(0.5), q(0), t1s[0], t2s[0])
	}
	for i := range want {
		if math.Float32bits(g.c[i]) != math.Float32bits(want[i]) {
			t.Fatalf("C[%d] = %v, want %v (one worker's)", i, g.c[i], want[i])
		}
	}
}
