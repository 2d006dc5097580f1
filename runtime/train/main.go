// Package train is the training loop and the command line of the standalone
// binary that nngen generates next to every model package. The binary's
// main is one line:
//
//	os.Exit(train.Main(func(s uint64) train.Model { return mnist_mlp.New(s) }, mnist_mlp.Seed, os.Args[1:], os.Stdout, os.Stderr))
//
// The binary has five commands:
//
//	train --data PATH --epochs N [--validation-split F | --validation-data PATH] [--seed S] [--checkpoint F [--save-best]] [--resume F]
//	      [--early-stopping P] [--monitor NAME] [--min-delta D] [--reduce-lr-on-plateau P[,F]] [--history F.csv] [--plot F.png] [--quiet]
//	eval --data PATH [--weights F] [--confusion]
//	predict --in PATH --out Y.npy|Y.csv [--label-column C] [--weights F]
//	export --out F.safetensors [--weights F]
//	info
//
// --data takes every form of runtime/data's sources (data.Open tells them
// apart): a folder of MNIST IDX files, which has a test split; a folder of
// class sub-folders of PNG or JPEG images, resized to the model's input; a
// .csv table, gzipped or not, whose label column --label-column names
// (default: the last; class names become class ids in order of first
// appearance); or a .npy array with its targets in --labels y.npy. The
// data must fit the model's input and output shapes, and any bad cell,
// shape or label is one error naming the file (for a table
// "file:line:column: ..."), before anything is written.
//
// train trains until N epochs in total are done. Each epoch visits the full
// batches of a permutation of the training set that depends only on the
// seed and the epoch, then evaluates on the validation set, if any
// (--validation-split F takes the last fraction F of the training data
// before shuffling, as Keras's fit does; --validation-data PATH reads
// another source), and on the test split, if the data has one; with
// --checkpoint it saves parameters and optimizer state, and the class names
// of the data, if it has names, as the metadata key class_names (a JSON
// list). Without validation or test data it says so on stderr. --resume
// continues from a checkpoint and ends with the same weights, bit for
// bit, as a run that was never interrupted. On a terminal a progress bar
// shows each epoch; otherwise, and on a terminal once an epoch is done, one
// line per epoch is printed:
//
//	epoch=3 loss=0.1234 accuracy=0.9612 val_loss=0.1102 val_accuracy=0.9650 test_loss=0.0981 test_accuracy=0.9701 samples_per_sec=41000 seconds=1.46
//
// with Keras's history names: loss and each metric of the spec (Metrics;
// see metrics.go and runtime/metric), val_ for the validation set and test_
// for the test split, those there are,
// where samples_per_sec counts training steps only and seconds is the whole
// epoch, evaluation and checkpoint included. The last line, and with
// --quiet the only one, sums the run up:
//
//	epochs=10 loss=0.0510 accuracy=0.9850 test_loss=0.0810 test_accuracy=0.9761 samples_per_sec=312000
//
// with the last epoch's report and samples_per_sec the training samples of
// this run over the time spent in training steps. The callbacks
// (callbacks.go: --early-stopping, --save-best, --reduce-lr-on-plateau)
// watch --monitor, default val_loss, as Keras's do, and add best_epoch and
// best_<monitor> to it; --history and --plot write the epochs' reports as
// a CSV table and as curves (history.go, plot.go).
//
// eval prints "test_loss=... test_accuracy=... samples=10000" for the test
// split of the data, or "loss=... accuracy=... samples=150" for all of data
// without one, and with --confusion the confusion matrix. predict reads an
// .npy file of shape [n, input...] (or [input...] for one sample), a table's
// feature columns or images (predict.go) and writes [n, output...] (or
// [output...]) to .npy, or a CSV table of class, name and probabilities.
// export writes the parameters alone, without optimizer state. info
// describes the model. Without --weights, eval, predict and export use the
// initial weights of the default seed.
//
// Some models have more commands, by the interfaces they implement: a
// variational autoencoder (Autoencoder) has sample, reconstruct and encode
// (see vae.go), and for a loss of named terms (LossTerms) the reports show
// each term, such as test_reconstruction and test_kl, instead of an
// accuracy.
//
// Exit status: 0 on success and for -h, 2 for a usage error, 1 for any
// other error. Errors are one line on stderr.
package train

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nngen/nngen/runtime/par"
)

// Main runs the standalone binary of a model with the command-line
// arguments args (without the program name) and returns its exit status.
// newModel creates the model with a seed; defaultSeed is the seed of the
// model's spec, used when --seed is not given.
func Main(newModel func(seed uint64) Model, defaultSeed uint64, args []string, stdout, stderr io.Writer) int {
	c := &cli{defaultSeed: defaultSeed, stdout: stdout, stderr: stderr}
	c.newModel = func(seed uint64) Model {
		m := newModel(seed)
		if w, ok := m.(Workers); ok && c.workers > 0 {
			w.SetWorkers(c.workers)
		}
		return m
	}
	c.model = c.newModel(defaultSeed)
	c.name = c.model.Name()
	if _, err := par.EnvWorkers(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.name, err)
		return 2
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: no command given (run '%s -h' for usage)\n", c.name, c.name)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c.usage()
		return 0
	}
	cmd := c.findCommand(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "%s: unknown command %q (run '%s -h' for usage)\n", c.name, args[0], c.name)
		return 2
	}
	fs := flag.NewFlagSet(c.name+" "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if w, ok := c.model.(Workers); ok && cmd.workers {
		fs.Func("workers", "run batch inference on `N` workers (default: NNGEN_WORKERS, or the usable CPUs); results do not depend on it", func(s string) error {
			n, err := par.ParseWorkers(s)
			if err == nil {
				c.workers = n
				w.SetWorkers(n)
			}
			return err
		})
	}
	err := cmd.run(c, fs, args[1:])
	var uerr usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "Usage: %s\n\n%s\n", strings.TrimSpace(c.name+" "+cmd.name+" "+c.argsOf(cmd)), cmd.doc)
		if strings.Contains(cmd.args, "-") {
			fmt.Fprintf(stdout, "\nFlags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "%s %s: %v (run '%s %s -h' for usage)\n", c.name, cmd.name, err, c.name, cmd.name)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", c.name, oneLine(err))
		return 1
	}
}

// cli is the state one run of Main shares between its commands.
type cli struct {
	newModel       func(seed uint64) Model
	defaultSeed    uint64
	model          Model // built with defaultSeed
	name           string
	workers        int // --workers, 0 when not given
	stdout, stderr io.Writer
}

// A command is one subcommand of the binary. run defines its flags on fs,
// parses args with parse and does the work.
type command struct {
	name, args, doc string
	run             func(c *cli, fs *flag.FlagSet, args []string) error
	workers         bool // takes --workers
}

var commands = []*command{
	{"train", "--data PATH --epochs N [--validation-split F | --validation-data PATH] [--seed S] [--checkpoint F [--save-best]] [--resume F]\n      [--early-stopping P] [--monitor NAME] [--min-delta D] [--reduce-lr-on-plateau P[,F]] [--history F.csv] [--plot F.png] [--quiet] [--workers N]",
		"Train trains the model on the data until N epochs in total are done (validation and test sets are\nevaluated on every worker; the train step runs on one).", runTrain, true},
	{"eval", "--data PATH [--weights F] [--confusion] [--workers N]",
		"Eval prints the loss and metrics on the data's test split, or on all of it if it has none.", runEval, true},
	{"predict", "--in PATH --out Y.npy|Y.csv [--label-column C] [--weights F] [--workers N]",
		"Predict runs the model on the samples at PATH (.npy, .csv, an image or a folder of images)\nand writes its outputs to Y.npy, or to Y.csv (a classifier's class, name and probabilities).", runPredict, true},
	{"export", "--out F.safetensors [--weights F]",
		"Export writes the model's parameters, without optimizer state, as safetensors.", runExport, false},
	{"info", "",
		"Info prints the model's name, spec hash, shapes, batch size and parameter count.", runInfo, false},
}

func (c *cli) usage() {
	fmt.Fprintf(c.stdout, "Usage: %s <command> [flags]\n\nCommands:\n", c.name)
	for _, cmd := range c.commands() {
		fmt.Fprintf(c.stdout, "  %s\n", strings.TrimSpace(cmd.name+" "+c.argsOf(cmd)))
	}
	fmt.Fprintf(c.stdout, "\nRun '%s <command> -h' for a command's flags.\n", c.name)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// parse parses args into fs. It returns flag.ErrHelp for -h and a
// usageError for anything it cannot parse, positional arguments included.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
