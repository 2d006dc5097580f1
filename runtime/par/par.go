// Package par runs the parts of a generated model's train step and batch
// inference on every core, with results that do not depend on how many cores
// there are.
//
// A Pool has a fixed number of parts, its worker count n, and n-1 goroutines
// started once, by New. Run(f) calls f(i, n) once for every part i in
// [0, n) and returns when all have returned: the calling goroutine does part
// 0 and each goroutine j does part j. A goroutine that finds a part still
// unclaimed after its own (its goroutine has not been scheduled yet) does
// that part too, so a worker that the operating system has descheduled, on a
// machine busy with other programs, delays nobody: the caller does its part.
// Each part runs exactly once, so state indexed by the part (a worker's
// workspace) is never shared; the part number, not the goroutine, is what f
// sees. For spreads a fixed number of chunks over the parts the same way.
//
// # Waiting
//
// A fork and a join must cost a few microseconds at most: a small model's
// whole train step takes 80 µs and needs about ten of them. Waking a
// goroutine that sleeps in the scheduler costs more than that, so a goroutine
// that waits (a worker for the next Run, the caller for the other parts)
// first spins: it polls an atomic counter, yielding the processor with
// runtime.Gosched about every microsecond (so that more workers than
// GOMAXPROCS still make progress), for a bounded time, DefaultSpin unless
// SetSpin says otherwise. Then it blocks on a channel until woken. A waiter
// never spins without bound: on a loaded machine, a spinning thread takes
// time from the other programs and, in OpenMP-style runtimes that spin for
// milliseconds at every barrier, from its own peers (PyTorch with 2 threads
// falls below its 1-thread speed when the other core is busy). There is no
// barrier inside a Run for the same reason: a barrier needs every part
// running at once on its own thread, which is what a descheduled thread
// breaks; a phase boundary is the end of one Run and the start of the next.
// A Run or For allocates nothing when f is a function value made once (store
// a method value in a field; do not write a closure at each call) or a Task
// held in a pointer.
//
// # Determinism
//
// Generated models promise the same weights, bit for bit, from the same
// seed, whatever the worker count. Floating-point addition is not
// associative, so every sum must be computed in an order that the worker
// count does not change. There are two ways, and this package has a helper
// for each: split a product over its outputs (Split gives the i-th of n
// contiguous ranges of rows, samples or output tiles), so that each output
// element is still summed by one worker in the one-worker order; or compute
// per-shard partial results over a fixed number of shards, independent of
// the workers (For spreads the shards, Split or SplitRange can cut them),
// and add the partials with Sum, whose tree of additions depends only on
// the number of shards.
//
// # Controls
//
// EnvWorkers returns the default worker count, the usable CPUs
// (runtime.GOMAXPROCS(0)) or NNGEN_WORKERS if set, and ParseWorkers checks a
// --workers flag's value.
package par

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// DefaultSpin is how long a waiting goroutine polls before it blocks. It is
// a few times the cost of a blocking wake-up on the machines measured, so
// the gaps between the Runs of one train step (the optimizer update, a
// reduction done by the caller) are bridged by spinning, while a pool idle
// between steps or epochs sleeps after 50 µs.
const DefaultSpin = 50 * time.Microsecond

// Task is work that Run splits in parts: Do(i, n) does part i of n.
type Task interface {
	Do(i, n int)
}

// Func is a Task made of a function.
type Func func(i, n int)

// Do calls f(i, n).
func (f Func) Do(i, n int) { f(i, n) }

// A Pool runs the parts of a Run on its goroutines. Its methods must be
// called from one goroutine at a time, and never from inside a part.
type Pool struct {
	s       *state
	cleanup runtime.Cleanup
}

// New returns a pool of n workers: the caller of Run and n-1 goroutines,
// started now. It panics if n < 1; ParseWorkers and EnvWorkers check counts
// that come from users. A pool that becomes unreachable stops its
// goroutines, but Close stops them at once.
func New(n int) *Pool {
	p := &Pool{}
	p.start(n, DefaultSpin)
	return p
}

// start replaces p's state with a new one of n workers.
func (p *Pool) start(n int, spin time.Duration) {
	if n < 1 {
		panic(fmt.Sprintf("par: %d workers (want at least 1)", n))
	}
	s := &state{
		n:          n,
		callerWake: make(chan struct{}, 1),
		parts:      make([]part, n),
	}
	s.spin.Store(int64(spin))
	for j := 1; j < n; j++ {
		s.parts[j].wake = make(chan struct{}, 1)
		s.exited.Add(1)
		go s.worker(j)
	}
	p.s = s
	// The goroutines reference only s, so p can become unreachable.
	p.cleanup = runtime.AddCleanup(p, func(s *state) { s.stop() }, s)
}

// Workers returns the number of parts of every Run.
func (p *Pool) Workers() int { return p.s.n }

// SetWorkers changes the number of workers to n, stopping and starting
// goroutines; it panics if n < 1. The parts of the next Run are 0..n-1.
func (p *Pool) SetWorkers(n int) {
	if n < 1 {
		panic(fmt.Sprintf("par: SetWorkers(%d) (want at least 1)", n))
	}
	if n == p.s.n && !p.s.closed.Load() {
		return
	}
	spin := time.Duration(p.s.spin.Load())
	p.Close()
	p.start(n, spin)
}

// SetSpin sets how long a waiting goroutine polls before it blocks (0:
// block at once, after a few dozen polls).
func (p *Pool) SetSpin(d time.Duration) { p.s.spin.Store(int64(max(d, 0))) }

// Close stops the pool's goroutines and waits for them to exit. A closed
// pool still runs every part of a Run, all on the caller; SetWorkers starts
// new goroutines.
func (p *Pool) Close() {
	p.cleanup.Stop()
	p.s.stop()
	p.s.exited.Wait()
}

// Run calls f(i, n) for every part i in [0, n), n = Workers(), concurrently,
// and returns when every call has returned. Part 0 runs on the caller, and
// any part whose goroutine has not started it when another goroutine is
// free runs there. If parts panic, Run panics with a *Panic holding the
// first one after every part has ended.
func (p *Pool) Run(f func(i, n int)) { p.s.run(Func(f)) }

// RunTask is Run(t.Do).
func (p *Pool) RunTask(t Task) { p.s.run(t) }

// For calls f(w, i) once for every chunk i in [0, chunks), spread over the
// parts: part w takes the next chunk not yet taken until none is left, so
// a part whose goroutine runs late takes fewer. Which part runs a chunk
// varies; f must make chunk i's result depend on i only (w selects a
// workspace, free for the part's use while it runs).
func (p *Pool) For(chunks int, f func(w, i int)) {
	s := p.s
	s.enter()
	s.loop.f, s.loop.chunks = f, int64(chunks)
	s.loop.next.Store(0)
	s.fork(&s.loop)
	s.loop.f = nil
}

// A Panic is what Run panics with when a part panicked: the part's panic
// value and the stack of the goroutine that ran it.
type Panic struct {
	Value any
	Stack []byte
}

func (e *Panic) Error() string {
	return fmt.Sprintf("par: a part panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *Panic) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// state is a pool's shared state; its goroutines reference it and not the
// Pool, so that the Pool's cleanup can stop them.
type state struct {
	n    int
	spin atomic.Int64 // time.Duration
	_    cpu.CacheLinePad
	// epoch counts Runs; a worker waits for it to change. task is this
	// Run's work, written before epoch changes, on the same cache line.
	epoch atomic.Uint64
	task  Task
	_     cpu.CacheLinePad
	// done counts the parts of this Run that have returned; callerSleeps
	// is true while the caller blocks on callerWake.
	done         atomic.Int64
	callerSleeps atomic.Bool
	_            cpu.CacheLinePad
	callerWake   chan struct{}
	running      atomic.Bool
	closed       atomic.Bool
	panicked     atomic.Pointer[Panic]
	stolen       atomic.Int64 // parts run by another goroutine than theirs, for tests
	exited       sync.WaitGroup
	loop         forLoop
	parts        []part
}

// part is a part's claim and its goroutine's sleep, on their own cache line.
type part struct {
	// claim is the last epoch in which the part was claimed: it is claimed
	// for epoch e by changing it from e-1 to e, so exactly once.
	claim atomic.Uint64
	// sleeps is true while the part's goroutine blocks on wake.
	sleeps atomic.Bool
	wake   chan struct{}
	_      cpu.CacheLinePad
}

// forLoop is For's task: each part takes chunks from next.
type forLoop struct {
	f      func(w, i int)
	chunks int64
	next   atomic.Int64
}

func (l *forLoop) Do(w, n int) {
	for {
		i := l.next.Add(1) - 1
		if i >= l.chunks {
			return
		}
		l.f(w, int(i))
	}
}

// enter marks a Run as started, or panics if one is in progress.
func (s *state) enter() {
	if !s.running.CompareAndSwap(false, true) {
		panic("par: Run or For called during another on the same Pool (from a part, or from two goroutines)")
	}
}

// run runs t's parts.
func (s *state) run(t Task) {
	s.enter()
	s.fork(t)
}

// fork publishes t as the next epoch's task, wakes the sleeping workers,
// does part 0 and whatever parts are still unclaimed, and waits for the
// rest. The caller has called enter.
func (s *state) fork(t Task) {
	s.task = t
	s.done.Store(0)
	e := s.epoch.Add(1)
	s.wakeAll()
	s.work(0, e)
	if n := int64(s.n); s.done.Load() != n {
		s.join(n)
	}
	s.task = nil
	s.running.Store(false)
	if pe := s.panicked.Swap(nil); pe != nil {
		panic(pe)
	}
}

// wakeAll wakes the workers that block. A worker sets sleeps before it
// checks the epoch one last time, and wakeAll runs after the epoch changed,
// so either the worker sees the change or wakeAll sees it sleep.
func (s *state) wakeAll() {
	for j := 1; j < s.n; j++ {
		w := &s.parts[j]
		if w.sleeps.Load() && w.sleeps.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
}

// work does part first of epoch e if it is unclaimed, then every other part
// still unclaimed, and reports whether it did any.
func (s *state) work(first int, e uint64) bool {
	did := false
	for k := range s.n {
		i := first + k
		if i >= s.n {
			i -= s.n
		}
		c := &s.parts[i].claim
		if c.Load() == e-1 && c.CompareAndSwap(e-1, e) {
			if k > 0 {
				s.stolen.Add(1)
			}
			s.do(i)
			did = true
		}
	}
	return did
}

// do runs part i and counts it done, waking the caller if it was the last.
func (s *state) do(i int) {
	defer s.finish()
	s.task.Do(i, s.n)
}

// finish counts a part done, keeping its panic if it panicked.
func (s *state) finish() {
	if r := recover(); r != nil {
		s.panicked.CompareAndSwap(nil, &Panic{r, debug.Stack()})
	}
	if s.done.Add(1) == int64(s.n) && s.callerSleeps.Load() && s.callerSleeps.CompareAndSwap(true, false) {
		s.callerWake <- struct{}{}
	}
}

// join waits for the n parts to be done.
func (s *state) join(n int64) {
	if spin(time.Duration(s.spin.Load()), func() bool { return s.done.Load() == n }) {
		return
	}
	s.callerSleeps.Store(true)
	if s.done.Load() == n && s.callerSleeps.CompareAndSwap(true, false) {
		return
	}
	<-s.callerWake
}

// worker is goroutine j: it waits for each epoch and works on it.
func (s *state) worker(j int) {
	defer s.exited.Done()
	seen := uint64(0)
	for {
		e := s.await(j, seen)
		// stop claims every part before it changes the epoch.
		if !s.work(j, e) && s.closed.Load() {
			return
		}
		seen = e
	}
}

// await waits for the epoch to differ from seen, and returns it.
func (s *state) await(j int, seen uint64) uint64 {
	ep := &s.epoch
	if spin(time.Duration(s.spin.Load()), func() bool { return ep.Load() != seen }) {
		return ep.Load()
	}
	w := &s.parts[j]
	w.sleeps.Store(true)
	if ep.Load() != seen && w.sleeps.CompareAndSwap(true, false) {
		return ep.Load()
	}
	// Either the epoch has not changed, or wakeAll took the flag and sends.
	<-w.wake
	return ep.Load()
}

// stop makes the goroutines exit, without waiting for them. It must not run
// during a Run.
func (s *state) stop() {
	if s.closed.Swap(true) {
		return
	}
	// Every part is claimed for the epoch stop ends, so that the caller of
	// a later Run, alone, finds all of its parts unclaimed.
	e := s.epoch.Load() + 1
	for i := range s.parts {
		s.parts[i].claim.Store(e)
	}
	s.epoch.Store(e)
	s.wakeAll()
}

// spin reports whether cond became true within about d. It polls cond,
// reading the clock every 64 polls and yielding the processor
// (runtime.Gosched) about every microsecond, so that goroutines waiting for
// one (more workers than GOMAXPROCS) run soon.
func spin(d time.Duration, cond func() bool) bool {
	for range 64 {
		if cond() {
			return true
		}
	}
	start := time.Now()
	yield := time.Duration(0)
	for {
		for range 64 {
			if cond() {
				return true
			}
		}
		t := time.Since(start)
		if t >= d {
			return false
		}
		if t >= yield {
			runtime.Gosched()
			yield = t + time.Microsecond
		}
	}
}
