package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/spec"
)

const usage = `nngen compiles a neural-network spec into a Go package.

Usage:
  nngen generate -spec model.yaml -out DIR [-main] [-unroll N] [-pkg PATH] [-check]
  nngen check -spec model.yaml
  nngen summary -spec model.yaml [-batch N]
  nngen doc

Run 'nngen <command> -h' for a command's flags.
`

// run is the whole command; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "generate":
		err = generate(args[1:], stdout, stderr)
	case "check":
		err = check(args[1:], stdout, stderr)
	case "summary":
		err = summary(args[1:], stdout, stderr)
	case "doc":
		err = doc(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "nngen: unknown command %q\nRun 'nngen -h' for usage.\n", args[0])
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	var list spec.ErrorList
	if errors.As(err, &list) {
		fmt.Fprintln(stderr, list.Error())
	} else {
		fmt.Fprintf(stderr, "nngen: %v\n", err)
	}
	return 1
}

var errUsage = errors.New("usage")

func flags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: nngen %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsage // the flag package printed the problem and the usage
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// usageError reports a misuse of the command's flags and returns errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "nngen %s: %s\nRun 'nngen %s -h' for usage.\n", fs.Name(), fmt.Sprintf(format, args...), fs.Name())
	return errUsage
}

func load(path string) (*ir.Model, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read spec: %v", unwrapPath(err))
	}
	return spec.Parse(path, src)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

func check(args []string, stdout, stderr io.Writer) error {
	fs := flags("check", "-spec model.yaml", stdout, stderr)
	specPath := fs.String("spec", "", "the model spec (YAML)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *specPath == "" {
		return usageError(fs, "missing -spec")
	}
	m, err := load(*specPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok: model %s, %d layers, %d parameters\n", *specPath, m.Name, len(m.Nodes)-1, m.NumParams())
	warnExport(stderr, *specPath, m)
	return nil
}

// warnExport warns, without failing, of a model whose parameters PyTorch's
// layout cannot express: its binary's export command refuses it.
func warnExport(stderr io.Writer, specPath string, m *ir.Model) {
	if err := layers.TorchLayout(m); err != nil {
		fmt.Fprintf(stderr, "%s:%v (warning: the export command will refuse this model)\n", specPath, err)
	}
}

func doc(args []string, stdout, stderr io.Writer) error {
	fs := flags("doc", "", stdout, stderr)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	fmt.Fprint(stdout, layers.Doc())
	return nil
}

func generate(args []string, stdout, stderr io.Writer) error {
	fs := flags("generate", "-spec model.yaml -out DIR [-main] [-unroll N] [-shards N] [-tiles N] [-pkg PATH] [-check]", stdout, stderr)
	specPath := fs.String("spec", "", "the model spec (YAML)")
	out := fs.String("out", "", "the folder of the generated package")
	withMain := fs.Bool("main", false, "also generate the standalone binary at DIR/cmd/<name>/main.go")
	unroll := fs.Int("unroll", codegen.DefaultUnroll, "unroll loops of at most this many iterations")
	shards := fs.Int("shards", 0, "split a train step's batch in `N` shards that the workers share (0: 2 when the batch splits in shards of 8 or more, no layer couples its samples and a step does 20 MFLOP or more, else 1)")
	tiles := fs.Int("tiles", 0, "cut each large product of a train step that is not split in shards in `N` tiles along its rows, which the workers share (0: 2; 1: none)")
	pkg := fs.String("pkg", "", "import path of DIR (default: found from the go.mod above DIR)")
	checkOnly := fs.Bool("check", false, "write nothing; exit 1 if DIR differs from what would be generated")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	switch {
	case *specPath == "":
		return usageError(fs, "missing -spec")
	case *out == "":
		return usageError(fs, "missing -out")
	case *unroll < 0:
		return usageError(fs, "-unroll must not be negative")
	case *shards < 0:
		return usageError(fs, "-shards must not be negative")
	case *tiles < 0:
		return usageError(fs, "-tiles must not be negative")
	}
	m, err := load(*specPath)
	if err != nil {
		return err
	}
	cfg := codegen.Config{Unroll: *unroll, Main: *withMain, PkgPath: *pkg, Shards: *shards, Tiles: *tiles}
	if cfg.Main && cfg.PkgPath == "" {
		if cfg.PkgPath, err = importPath(*out); err != nil {
			return err
		}
	}
	files, err := codegen.Generate(m, cfg)
	if err != nil {
		return err
	}
	if *checkOnly {
		stale := diff(*out, files)
		if len(stale) > 0 {
			return fmt.Errorf("%s is not up to date with %s: %s", *out, *specPath, strings.Join(stale, ", "))
		}
		return nil
	}
	if err := writeFiles(*out, files); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nngen: wrote %d files of package %s to %s\n", len(files), m.Name, *out)
	warnExport(stderr, *specPath, m)
	return nil
}

// importPath finds the import path of dir from the go.mod above it.
func importPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
					rel, _ := filepath.Rel(d, abs)
					return strings.TrimSuffix(filepath.ToSlash(filepath.Join(strings.Trim(f[1], `"`), rel)), "/."), nil
				}
			}
			return "", fmt.Errorf("%s has no module line", filepath.Join(d, "go.mod"))
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: pass -pkg with the package's import path", dir)
		}
	}
}

// safeJoin joins a generated file's relative name to dir, rejecting names
// that would land outside dir.
func safeJoin(dir, name string) (string, error) {
	if filepath.IsAbs(name) || !filepath.IsLocal(name) {
		return "", fmt.Errorf("refusing to write %q outside %s", name, dir)
	}
	return filepath.Join(dir, name), nil
}

func sortedNames(files map[string][]byte) []string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// diff returns the files of dir that differ from files, and the generated
// files in dir that nothing generates any more.
func diff(dir string, files map[string][]byte) []string {
	var stale []string
	for _, name := range sortedNames(files) {
		p, err := safeJoin(dir, name)
		if err != nil {
			stale = append(stale, name)
			continue
		}
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, files[name]) {
			stale = append(stale, name)
		}
	}
	return append(stale, orphans(dir, files)...)
}

// orphans lists the files of dir and of dir/cmd/*/ that carry nngen's
// header but are not in files.
func orphans(dir string, files map[string][]byte) []string {
	var l []string
	globs, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	more, _ := filepath.Glob(filepath.Join(dir, "cmd", "*", "*.go"))
	for _, p := range append(globs, more...) {
		rel, _ := filepath.Rel(dir, p)
		if _, ok := files[filepath.ToSlash(rel)]; ok {
			continue
		}
		if b, err := os.ReadFile(p); err == nil && bytes.HasPrefix(b, []byte("// Code generated by nngen from ")) {
			l = append(l, filepath.ToSlash(rel))
		}
	}
	return l
}

// writeFiles writes every file to a temporary folder beside dir, then moves
// them into place and removes the generated files nothing generates now.
func writeFiles(dir string, files map[string][]byte) error {
	for name := range files {
		if _, err := safeJoin(dir, name); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrapPath(err)
	}
	tmp, err := os.MkdirTemp(dir, ".nngen-tmp-")
	if err != nil {
		return unwrapPath(err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range sortedNames(files) {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return unwrapPath(err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return unwrapPath(err)
		}
	}
	old := orphans(dir, files)
	for _, name := range sortedNames(files) {
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return unwrapPath(err)
		}
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return unwrapPath(err)
		}
	}
	for _, name := range old {
		os.Remove(filepath.Join(dir, name))
	}
	return nil
}
