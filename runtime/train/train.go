package train

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/metric"
)

func runTrain(c *cli, fs *flag.FlagSet, args []string) error {
	d := defineData(c.model, fs, "train on")
	v := defineValidation(fs)
	epochs := fs.Int("epochs", 0, "train until `N` epochs in total are done")
	seed := fs.Uint64("seed", c.defaultSeed, "initialise, shuffle and drop out with `SEED`")
	save := fs.String("checkpoint", "", "save parameters and optimizer state to `FILE` after every epoch (with --save-best: after\nevery epoch that improves --monitor)")
	resume := fs.String("resume", "", "continue from the checkpoint `FILE`")
	quiet := fs.Bool("quiet", false, "print only the summary line")
	cb := defineCallbacks(fs)
	hist := fs.String("history", "", "write the epochs' reports to the CSV `FILE` (epoch, loss and metrics, lr, seconds)")
	plotPath := fs.String("plot", "", "draw the training curves into the PNG `FILE`")
	cw := defineClassWeight(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := d.check(c.model); err != nil {
		return err
	}
	if err := v.check(); err != nil {
		return err
	}
	if *epochs <= 0 {
		return usagef("--epochs N is required and must be at least 1")
	}
	m := c.model
	if *seed != c.defaultSeed {
		m = c.newModel(*seed)
	}
	done := 0
	if *resume != "" {
		var err error
		if m, done, err = c.resume(m, *resume, isSet(fs, "seed"), cb); err != nil {
			return err
		}
		if done >= *epochs {
			return fmt.Errorf("%s is at epoch %d already; ask for more with --epochs", *resume, done)
		}
	}
	trainSet, testSet, err := d.load(m)
	if err != nil {
		return err
	}
	trainSet, valSet, err := v.apply(m, d, trainSet)
	if err != nil {
		return err
	}
	if err := cb.check(m, *save, reportKeys(m, valSet != nil, testSet != nil)); err != nil {
		return err
	}
	if a, ok := m.(Adapter); ok && done == 0 {
		a.Adapt(trainSet.X, trainSet.N)
	}
	if w, err := cw.apply(m, trainSet); err != nil {
		return err
	} else if cw.balanced && !*quiet {
		fmt.Fprintf(c.stderr, "%s: balanced class weights of the training set: %s\n", c.name, formatClassWeight(w))
	}
	if valSet == nil && testSet == nil && !*quiet {
		fmt.Fprintf(c.stderr, "%s: %s has no test split and no validation data was asked for (--validation-split F, --validation-data PATH): training without validation\n", c.name, d.path)
	}
	r := &run{m: m, train: trainSet, val: valSet, test: testSet, epochs: *epochs, save: *save, out: c.stdout, stderr: c.stderr,
		name: c.name, quiet: *quiet, cb: cb, histPath: *hist, plotPath: *plotPath}
	if f, ok := c.stdout.(*os.File); ok && !*quiet {
		r.bar = term.IsTerminal(int(f.Fd()))
	}
	return r.loop(done)
}

// reportKeys are the names of an epoch's report for m, with or without
// validation and test sets.
func reportKeys(m Model, val, test bool) []string {
	var keys []string
	for _, p := range []struct {
		prefix string
		has    bool
	}{{"", true}, {"val", val}, {"test", test}} {
		if !p.has {
			continue
		}
		keys = append(keys, prefixed(p.prefix, "loss"))
		if _, ok := m.(LossTerms); ok && p.prefix == "" {
			continue // the training set's terms are not reported
		}
		for _, name := range metricsOf(m) {
			keys = append(keys, prefixed(p.prefix, name))
		}
	}
	return keys
}

// resume loads the checkpoint path into m and returns the model to go on
// with and the number of epochs done. The checkpoint's seed wins over the
// default seed; an explicit --seed that differs is an error.
func (c *cli) resume(m Model, path string, seedSet bool, cb *callbacks) (Model, int, error) {
	meta, err := loadCheckpoint(m, path, true)
	if err != nil {
		return nil, 0, err
	}
	epoch, err1 := strconv.Atoi(meta["epoch"])
	step, err2 := strconv.Atoi(meta["step"])
	seed, err3 := strconv.ParseUint(meta["seed"], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || epoch < 0 || step < 0 {
		return nil, 0, fmt.Errorf("%s: not a training checkpoint (epoch=%q step=%q seed=%q)",
			path, meta["epoch"], meta["step"], meta["seed"])
	}
	if seed != m.Seed() {
		if seedSet {
			return nil, 0, fmt.Errorf("%s: trained with seed %d, not --seed %d", path, seed, m.Seed())
		}
		m = c.newModel(seed)
		if _, err := loadCheckpoint(m, path, true); err != nil {
			return nil, 0, err
		}
	}
	m.SetStep(step)
	if f, ok := meta["lr_factor"]; ok {
		v, err := strconv.ParseFloat(f, 64)
		lm, can := m.(LearningRateModel)
		if err != nil || !(v > 0) || !can {
			return nil, 0, fmt.Errorf("%s: lr_factor %q, which this model cannot take", path, f)
		}
		cb.lrFactor = v
		lm.SetLearningRateFactor(v)
	}
	return m, epoch, nil
}

// run is one invocation of train.
type run struct {
	m         Model
	train     *data.Set
	val, test *data.Set // nil when there are none
	epochs    int
	save      string // checkpoint path, if any
	out       io.Writer
	stderr    io.Writer
	name      string // the binary's, for messages
	quiet     bool
	bar       bool // show a progress bar
	cb        *callbacks
	histPath  string  // --history, if any
	plotPath  string  // --plot, if any
	hist      history // the epochs' reports so far
}

// loop trains epochs done+1 to r.epochs, reporting and saving after each,
// and stops early when the callbacks say so.
func (r *run) loop(done int) error {
	m := r.m
	b := m.BatchSize()
	if r.train.N < b {
		return fmt.Errorf("the training set has %d samples, fewer than one batch of %d", r.train.N, b)
	}
	if r.cb == nil {
		r.cb = &callbacks{lrFactor: 1}
	}
	shuffler := data.NewShuffler(r.train.N, m.Seed())
	lm, hasLR := m.(LearningRateModel)
	var (
		trainTime time.Duration
		samples   int
		last      *scores
		hist      = &r.hist
		e         int
	)
	for e = done + 1; e <= r.epochs; e++ {
		start := time.Now()
		lr := math.NaN()
		if hasLR {
			lr = lm.LearningRate()
		}
		perm := shuffler.Epoch(e)
		n := data.Batches(perm, b)
		var p *progress
		if r.bar {
			p = newProgress(r.out, e, r.epochs, n, b)
			p.noAccuracy = !slices.ContainsFunc(metricsOf(m), metric.IsAccuracy)
		}
		trainLoss, correct := trainEpoch(m, r.train, perm, n, p)
		dt := time.Since(start)
		p.finish()
		trainTime += dt
		samples += n * b
		s := &scores{}
		trainScores(s, m, r.train, trainLoss, float64(correct)/float64(n*b*rowsPerSample(m)))
		for _, set := range []struct {
			set    *data.Set
			prefix string
		}{{r.val, "val"}, {r.test, "test"}} {
			if set.set != nil {
				evaluateInto(s, m, set.set, set.prefix)
			}
		}
		improved, stop := r.cb.epochEnd(m, e, s)
		if r.save != "" && (!r.cb.saveBest || improved) {
			if err := ckpt.Save(r.save, m.Tensors(true), r.cb.lrMeta(classMeta(r.train, map[string]string{
				"model":     m.Name(),
				"spec_hash": m.SpecHash(),
				"seed":      strconv.FormatUint(m.Seed(), 10),
				"step":      strconv.Itoa(m.Step()),
				"epoch":     strconv.Itoa(e),
			}))); err != nil {
				return err
			}
		}
		secs := time.Since(start).Seconds()
		if !r.quiet {
			fmt.Fprintf(r.out, "epoch=%d%s samples_per_sec=%d seconds=%.2f\n", e, s.logfmt(), rate(n*b, dt), secs)
		}
		hist.add(e, s, lr, secs)
		if r.histPath != "" {
			if err := hist.writeCSV(r.histPath); err != nil {
				return fmt.Errorf("--history %w", err)
			}
		}
		last = s
		if stop {
			break
		}
	}
	e = min(e, r.epochs)
	var best string
	if r.cb.active() {
		best = fmt.Sprintf(" best_epoch=%d best_%s=%.4f", r.cb.bestEpoch, r.cb.monitor, r.cb.best)
	}
	if r.cb.restore(m, e) && !r.quiet {
		fmt.Fprintf(r.stderr, "%s: %s did not improve for %d epochs after epoch %d: stopped at epoch %d and restored the weights of epoch %d\n",
			r.name, r.cb.monitor, e-r.cb.bestEpoch, r.cb.bestEpoch, e, r.cb.bestEpoch)
	}
	if r.plotPath != "" {
		if err := hist.writePNG(r.plotPath, m.Name()); err != nil {
			return fmt.Errorf("--plot %w", err)
		}
	}
	fmt.Fprintf(r.out, "epochs=%d%s%s samples_per_sec=%d\n", e, last.logfmt(), best, rate(samples, trainTime))
	return nil
}

// trainEpoch runs the first n batches of perm and returns their mean loss
// and the number of samples classified correctly. It allocates nothing but
// what p, when not nil, does at most every 100 ms.
func trainEpoch(m Model, set *data.Set, perm []int, n int, p *progress) (loss float64, correct int) {
	b := m.BatchSize()
	for i := range n {
		l, c := m.TrainBatch(set, perm[i*b:(i+1)*b])
		loss += l
		correct += c
		if p != nil {
			p.update(i+1, loss, correct/rowsPerSample(m))
		}
	}
	return loss / float64(n), correct
}

// rate is samples per second, rounded down.
func rate(samples int, d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(float64(samples) / d.Seconds())
}

// progress is the progress bar of one epoch on a terminal.
type progress struct {
	bar           *progressbar.ProgressBar
	epoch, epochs int
	batch         int
	noAccuracy    bool      // the model classifies nothing
	next          time.Time // no redraw before
}

func newProgress(w io.Writer, epoch, epochs, batches, batch int) *progress {
	bar := progressbar.NewOptions(batches*batch,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(25),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("samples"),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true), // starts the clock
	)
	return &progress{bar: bar, epoch: epoch, epochs: epochs, batch: batch}
}

// update redraws the bar after the first batches of the epoch, at most
// every 100 ms.
func (p *progress) update(batches int, lossSum float64, correct int) {
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(100 * time.Millisecond)
	p.bar.Set(batches * p.batch) // renders, then Describe renders again
	if p.noAccuracy {
		p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", p.epoch, p.epochs, lossSum/float64(batches)))
		return
	}
	p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.4f", p.epoch, p.epochs,
		lossSum/float64(batches), float64(correct)/float64(batches*p.batch)))
}

// finish removes the bar from the terminal; p may be nil.
func (p *progress) finish() {
	if p != nil {
		p.bar.Finish()
	}
}
