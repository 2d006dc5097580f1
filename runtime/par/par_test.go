package par

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counts is a Task that counts how often each part ran, and fails if two
// calls of one part overlap.
type counts struct {
	ran  []atomic.Int64
	busy []atomic.Bool
	bad  atomic.Int64
}

func newCounts(n int) *counts {
	return &counts{ran: make([]atomic.Int64, n), busy: make([]atomic.Bool, n)}
}

func (c *counts) Do(i, n int) {
	if n != len(c.ran) {
		c.bad.Add(1)
	}
	if !c.busy[i].CompareAndSwap(false, true) {
		c.bad.Add(1)
	}
	c.ran[i].Add(1)
	c.busy[i].Store(false)
}

// check fails unless every part ran runs times.
func (c *counts) check(t *testing.T, runs int) {
	t.Helper()
	if c.bad.Load() != 0 {
		t.Errorf("%d calls with a wrong n or overlapping another call of their part", c.bad.Load())
	}
	for i := range c.ran {
		if got := c.ran[i].Load(); got != int64(runs) {
			t.Errorf("part %d ran %d times, want %d", i, got, runs)
		}
	}
}

func TestRunEachPartOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		for _, spin := range []time.Duration{DefaultSpin, 0} {
			t.Run(fmt.Sprintf("workers=%d/spin=%v", n, spin), func(t *testing.T) {
				p := New(n)
				defer p.Close()
				p.SetSpin(spin)
				c := newCounts(n)
				const runs = 2000
				for k := range runs {
					if k%2 == 0 {
						p.RunTask(c)
					} else {
						p.Run(c.Do)
					}
					if k%100 == 0 {
						time.Sleep(100 * time.Microsecond) // let the workers block
					}
				}
				c.check(t, runs)
			})
		}
	}
}

// TestSplitRun covers [0, n) with the Split ranges of the parts of a Run,
// for many n and worker counts, more workers than elements and more
// workers than cores included.
func TestSplitRun(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 5, 8} {
		p := New(workers)
		hits := make([]atomic.Int32, 100)
		for n := range len(hits) {
			f := func(i, parts int) {
				lo, hi := Split(n, parts, i)
				for j := lo; j < hi; j++ {
					hits[j].Add(1)
				}
			}
			p.Run(f)
			for j := range hits {
				want := int32(0)
				if j < n {
					want = 1
				}
				if got := hits[j].Swap(0); got != want {
					t.Errorf("workers=%d n=%d: index %d covered %d times, want %d", workers, n, j, got, want)
				}
			}
		}
		p.Close()
	}
}

func TestSplit(t *testing.T) {
	for n := range 70 {
		for parts := 1; parts <= 20; parts++ {
			next := 0
			for i := range parts {
				lo, hi := Split(n, parts, i)
				if lo != next || hi < lo || hi-lo > n/parts+1 || hi-lo < n/parts {
					t.Fatalf("Split(%d, %d, %d) = [%d, %d) after %d", n, parts, i, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("Split(%d, %d, ·) ends at %d", n, parts, next)
			}
		}
	}
}

func TestForEachChunkOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		p := New(n)
		for _, chunks := range []int{0, 1, 2, 3, 4, 10, 257} {
			ran := make([]atomic.Int32, chunks)
			busy := make([]atomic.Bool, n)
			var bad atomic.Int32
			f := func(w, i int) {
				if !busy[w].CompareAndSwap(false, true) {
					bad.Add(1)
				}
				ran[i].Add(1)
				busy[w].Store(false)
			}
			for range 50 {
				p.For(chunks, f)
			}
			if bad.Load() != 0 {
				t.Errorf("workers=%d chunks=%d: two chunks at once on one part", n, chunks)
			}
			for i := range ran {
				if got := ran[i].Load(); got != 50 {
					t.Errorf("workers=%d chunks=%d: chunk %d ran %d times in 50 Fors", n, chunks, i, got)
				}
			}
		}
		p.Close()
	}
}

// TestStress runs many short Runs, spinning and blocking, with parts of
// random lengths, and changes the worker count between rounds.
func TestStress(t *testing.T) {
	runs := 20000
	if testing.Short() {
		runs = 2000
	}
	r := rand.New(rand.NewPCG(1, 2))
	p := New(1)
	defer p.Close()
	for round, n := range []int{3, 2, 4, 1, 3} {
		p.SetWorkers(n)
		p.SetSpin([]time.Duration{DefaultSpin, 0, time.Microsecond}[round%3])
		c := newCounts(n)
		lens := make([]int, n)
		var sink atomic.Int64
		f := func(i, n int) {
			x := 0
			for k := range lens[i] {
				x += k
			}
			sink.Add(int64(x))
			c.Do(i, n)
		}
		for range runs {
			for i := range lens {
				lens[i] = r.IntN(2000)
			}
			p.Run(f)
		}
		c.check(t, runs)
	}
}

// task is a Task held in a pointer, as generated code would define one.
type task struct{ x []float32 }

func (t *task) Do(i, n int) {
	lo, hi := Split(len(t.x), n, i)
	for j := lo; j < hi; j++ {
		t.x[j]++
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		p := New(n)
		tk := &task{x: make([]float32, 1000)}
		f := tk.Do // made once
		g := func(w, i int) { tk.x[i]++ }
		for name, run := range map[string]func(){
			"Run":     func() { p.Run(f) },
			"RunTask": func() { p.RunTask(tk) },
			"For":     func() { p.For(100, g) },
		} {
			if a := testing.AllocsPerRun(1000, run); a != 0 {
				t.Errorf("workers=%d: %s allocates %v times", n, name, a)
			}
		}
		p.SetSpin(0)
		run := func() {
			p.Run(f)
			time.Sleep(20 * time.Microsecond) // the workers block between Runs
		}
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Errorf("workers=%d, blocking: Run allocates %v times", n, a)
		}
		p.Close()
	}
}

// workers returns the number of goroutines running a pool's worker loop,
// after waiting up to 5 s (running the garbage collector) for it to fall to
// want.
func workers(want int) int {
	buf := make([]byte, 1<<20)
	n := 0
	for range 500 {
		runtime.GC()
		n = strings.Count(string(buf[:runtime.Stack(buf, true)]), "par.(*state).worker(")
		if n <= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

func TestClose(t *testing.T) {
	base := workers(0)
	p := New(4)
	if n := workers(1 << 20); n != base+3 {
		t.Errorf("New(4) started %d workers, want 3", n-base)
	}
	c := newCounts(4)
	p.RunTask(c)
	p.Close()
	if n := workers(1 << 20); n != base {
		t.Errorf("%d workers after Close, want %d", n, base)
	}
	p.RunTask(c) // on the caller alone
	p.Close()
	p.RunTask(c)
	c.check(t, 3)
	if p.Workers() != 4 {
		t.Errorf("Workers() = %d after Close, want 4", p.Workers())
	}
	p.SetWorkers(2)
	c = newCounts(2)
	p.RunTask(c)
	c.check(t, 1)
	p.Close()
	if n := workers(base); n != base {
		t.Errorf("%d workers after SetWorkers and Close, want %d", n, base)
	}
}

// TestUnreachable checks that a pool nobody closed stops its goroutines
// once unreachable.
func TestUnreachable(t *testing.T) {
	base := workers(0)
	func() {
		p := New(3)
		p.Run(func(i, n int) {})
	}()
	if n := workers(base); n != base {
		t.Errorf("%d workers after dropping a pool, want %d", n, base)
	}
}

func TestPanic(t *testing.T) {
	errPart := errors.New("part 1 failed")
	for _, n := range []int{1, 2, 3} {
		p := New(n)
		for _, bad := range []int{0, n - 1} {
			func() {
				defer func() {
					r := recover()
					pe, ok := r.(*Panic)
					if !ok || !errors.Is(pe, errPart) || !strings.Contains(pe.Error(), "part 1 failed") {
						t.Errorf("workers=%d: part %d panicked, Run panicked with %v", n, bad, r)
					}
				}()
				p.Run(func(i, n int) {
					if i == bad {
						panic(errPart)
					}
				})
			}()
			c := newCounts(n)
			p.RunTask(c) // the pool still works
			c.check(t, 1)
		}
		p.Close()
	}
}

func TestNestedRunPanics(t *testing.T) {
	p := New(2)
	defer p.Close()
	var f func(i, n int)
	f = func(i, n int) {
		if i == 0 {
			p.Run(f)
		}
	}
	defer func() {
		pe, ok := recover().(*Panic)
		if !ok || !strings.Contains(fmt.Sprint(pe.Value), "during another") {
			t.Errorf("a Run inside a part panicked with %v", pe)
		}
	}()
	p.Run(f)
}

func TestParseWorkers(t *testing.T) {
	for _, s := range []string{"1", "2", "64", "1024"} {
		if n, err := ParseWorkers(s); err != nil || fmt.Sprint(n) != s {
			t.Errorf("ParseWorkers(%q) = %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "0", "-1", "1025", "two", "2.5", " 2"} {
		if _, err := ParseWorkers(s); err == nil || !strings.Contains(err.Error(), "from 1 to 1024") {
			t.Errorf("ParseWorkers(%q): error %v", s, err)
		}
	}
	t.Setenv("NNGEN_WORKERS", "")
	if n, err := EnvWorkers(); n != runtime.GOMAXPROCS(0) || err != nil {
		t.Errorf("EnvWorkers() = %d, %v unset; want %d", n, err, runtime.GOMAXPROCS(0))
	}
	t.Setenv("NNGEN_WORKERS", "3")
	if n, err := EnvWorkers(); n != 3 || err != nil {
		t.Errorf("EnvWorkers() = %d, %v with NNGEN_WORKERS=3", n, err)
	}
	t.Setenv("NNGEN_WORKERS", "all")
	if _, err := EnvWorkers(); err == nil || !strings.HasPrefix(err.Error(), `NNGEN_WORKERS: workers "all"`) {
		t.Errorf("EnvWorkers() with NNGEN_WORKERS=all: error %v", err)
	}
}
