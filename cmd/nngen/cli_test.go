package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nngen/nngen/layers"
)

// mnist is the example spec, relative to this package's folder.
const mnist = "../../testdata/models/mnist_mlp.yaml"

// badSpec writes a spec that fails to parse and returns its path.
func badSpec(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, p, []byte("name: bad\ninput_shape: [4]\nlayers:\n  - type: Dense\n    units: 0\nloss: mse\n"))
	return p
}

// snapshot returns every file under dir (slash path → content), and every
// folder as path + "/" → nil.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			files[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func keys(m map[string]string) []string {
	var l []string
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

func sameTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := snapshot(t, dir)
	if strings.Join(keys(got), " ") != strings.Join(keys(want), " ") {
		t.Fatalf("%s holds %v, want %v", dir, keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s/%s changed", dir, k)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"generate", "-h"}, {"check", "-h"}, {"summary", "-h"}, {"doc", "-h"},
		{"generate", "-spec", "x.yaml", "-help"},
	} {
		code, stdout, stderr := nngen(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage") || stderr != "" {
			t.Errorf("nngen %s: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	_, stdout, _ := nngen(t, "generate", "-h")
	for _, f := range []string{"-spec", "-out", "-main", "-unroll", "-pkg", "-check"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("nngen generate -h does not document %s:\n%s", f, stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"generate", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"check", "-spec"}, "flag needs an argument: -spec"},
		{[]string{"generate", "-spec", mnist, "-out", out, "-unroll", "many"}, `invalid value "many" for flag -unroll`},
		{[]string{"generate", "-spec", mnist, "-out", out, "-unroll", "-1"}, "nngen generate: -unroll must not be negative"},
		{[]string{"check", "-spec", mnist, "extra"}, `nngen check: unexpected argument "extra"`},
		{[]string{"doc", "extra"}, `nngen doc: unexpected argument "extra"`},
		{[]string{"check"}, "nngen check: missing -spec\nRun 'nngen check -h' for usage.\n"},
		{[]string{"generate", "-out", out}, "nngen generate: missing -spec\n"},
		{[]string{"generate", "-spec", mnist}, "nngen generate: missing -out\n"},
		{[]string{"summary"}, "nngen summary: missing -spec\n"},
		{[]string{"summary", "-spec", mnist, "-batch", "0"}, "nngen summary: -batch must be in [1, 65536], got 0\n"},
		{[]string{"summary", "-spec", mnist, "-batch", "70000"}, "nngen summary: -batch must be in [1, 65536], got 70000\n"},
		{[]string{"summary", "-spec", mnist, "extra"}, `nngen summary: unexpected argument "extra"`},
	} {
		code, stdout, stderr := nngen(t, tc.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("nngen %s: exit %d, stdout %q, stderr %q; want exit 2 and stderr with %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
	if n := len(snapshot(t, out)); n != 1 {
		t.Errorf("usage errors wrote into %s", out)
	}
}

func TestSpecFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, cmd := range []string{"check", "generate", "summary"} {
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := nngen(t, cmd, "-spec", missing, "-out", out)
		if cmd != "generate" {
			code, stdout, stderr = nngen(t, cmd, "-spec", missing)
		}
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, missing) {
			t.Errorf("nngen %s of a missing spec: exit %d, stdout %q, stderr %q; want exit 1 and one line naming the file", cmd, code, stdout, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("nngen %s created %s", cmd, out)
		}
	}
}

func TestCheck(t *testing.T) {
	code, stdout, stderr := nngen(t, "check", "-spec", mnist)
	want := mnist + ": ok: model mnist_mlp, 2 layers, 50890 parameters\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("nngen check: exit %d, stdout %q, stderr %q; want exit 0 and %q", code, stdout, stderr, want)
	}
	bad := badSpec(t)
	code, stdout, stderr = nngen(t, "check", "-spec", bad)
	want = bad + ":5:12: dense.units must be positive, got 0\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("nngen check of a bad spec: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
}

func TestDoc(t *testing.T) {
	code, stdout, stderr := nngen(t, "doc")
	if code != 0 || stderr != "" {
		t.Fatalf("nngen doc: exit %d, stderr %q", code, stderr)
	}
	if stdout != layers.Doc() {
		t.Error("nngen doc does not print layers.Doc()")
	}
	for _, k := range layers.Names() {
		if !strings.Contains(stdout, "#### "+k+"\n") {
			t.Errorf("nngen doc does not document the layer kind %s", k)
		}
	}
	for _, a := range layers.ActivationNames() {
		if !strings.Contains(stdout, "`"+a+"`") {
			t.Errorf("nngen doc does not document the activation %s", a)
		}
	}
	for _, l := range layers.LossNames() {
		if !strings.Contains(stdout, "`"+l+"`") {
			t.Errorf("nngen doc does not document the loss %s", l)
		}
	}
}

func TestGenerateCheck(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pkg")
	if code, stdout, stderr := nngen(t, "generate", "-spec", mnist, "-out", out); code != 0 || stderr != "" || !strings.Contains(stdout, "wrote 6 files") {
		t.Fatalf("nngen generate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	upToDate := func(want int, why string) string {
		t.Helper()
		code, stdout, stderr := nngen(t, "generate", "-check", "-spec", mnist, "-out", out)
		if code != want || stdout != "" {
			t.Fatalf("%s: nngen generate -check: exit %d, stdout %q, stderr %q; want exit %d", why, code, stdout, stderr, want)
		}
		return stderr
	}
	upToDate(0, "right after generate")
	before := snapshot(t, out)

	model := filepath.Join(out, "model.go")
	orig, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, model, append(orig, "// edited\n"...))
	if msg := upToDate(1, "after editing model.go"); !strings.Contains(msg, "not up to date") || !strings.Contains(msg, "model.go") {
		t.Errorf("-check message does not name model.go: %q", msg)
	}
	writeFile(t, model, orig)
	upToDate(0, "after restoring model.go")

	os.Remove(filepath.Join(out, "kernels.go"))
	if msg := upToDate(1, "after removing kernels.go"); !strings.Contains(msg, "kernels.go") {
		t.Errorf("-check message does not name kernels.go: %q", msg)
	}
	writeFile(t, filepath.Join(out, "kernels.go"), []byte(before["kernels.go"]))

	stale := filepath.Join(out, "old.go")
	writeFile(t, stale, []byte("// Code generated by nngen from old.yaml. DO NOT EDIT.\n\npackage mnist_mlp\n"))
	if msg := upToDate(1, "with a stale generated file"); !strings.Contains(msg, "old.go") {
		t.Errorf("-check message does not name old.go: %q", msg)
	}
	os.Remove(stale)

	writeFile(t, filepath.Join(out, "mine.go"), []byte("package mnist_mlp\n"))
	upToDate(0, "with a file of the user's")
	os.Remove(filepath.Join(out, "mine.go"))
	sameTree(t, out, before) // -check wrote nothing
}

func TestGenerateRemovesStaleFiles(t *testing.T) {
	out := t.TempDir()
	const header = "// Code generated by nngen from old.yaml. DO NOT EDIT.\n\npackage mnist_mlp\n"
	writeFile(t, filepath.Join(out, "old.go"), []byte(header))
	writeFile(t, filepath.Join(out, "cmd", "old", "main.go"), []byte(header))
	writeFile(t, filepath.Join(out, "mine.go"), []byte("package mnist_mlp\n\n// Mine is the user's.\nconst Mine = 1\n"))
	writeFile(t, filepath.Join(out, "notes.txt"), []byte(header))
	if code, _, stderr := nngen(t, "generate", "-spec", mnist, "-out", out); code != 0 {
		t.Fatalf("nngen generate: exit %d, stderr %q", code, stderr)
	}
	got := snapshot(t, out)
	for _, name := range []string{"model.go", "kernels.go", "model_test.go", "mine.go", "notes.txt"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is missing after generate", name)
		}
	}
	for _, name := range []string{"old.go", "cmd/old/main.go"} {
		if _, ok := got[name]; ok {
			t.Errorf("the stale generated %s is still there", name)
		}
	}
	if !strings.Contains(got["mine.go"], "const Mine = 1") {
		t.Error("generate changed the user's mine.go")
	}
	for name := range got {
		if strings.Contains(name, ".nngen-tmp") {
			t.Errorf("generate left %s", name)
		}
	}

	// -main adds the binary; generating without -main removes it again.
	if code, _, stderr := nngen(t, "generate", "-spec", mnist, "-out", out, "-main", "-pkg", "example.com/m/pkg"); code != 0 {
		t.Fatalf("nngen generate -main: exit %d, stderr %q", code, stderr)
	}
	main := filepath.Join(out, "cmd", "mnist_mlp", "main.go")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"example.com/m/pkg"`) {
		t.Errorf("cmd/mnist_mlp/main.go does not import the -pkg path:\n%s", b)
	}
	if code, _, stderr := nngen(t, "generate", "-spec", mnist, "-out", out); code != 0 {
		t.Fatalf("nngen generate: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(main); !os.IsNotExist(err) {
		t.Errorf("generate without -main left %s", main)
	}
}

func TestGenerateFailureWritesNothing(t *testing.T) {
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "model.go"), []byte("// Code generated by nngen from old.yaml. DO NOT EDIT.\n\npackage old\n"))
	writeFile(t, filepath.Join(out, "mine.go"), []byte("package old\n"))
	before := snapshot(t, out)
	bad := badSpec(t)
	code, stdout, stderr := nngen(t, "generate", "-spec", bad, "-out", out)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, bad+":5:12: ") {
		t.Errorf("nngen generate of a bad spec: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	sameTree(t, out, before)

	// A new folder is not even created.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if code, _, _ := nngen(t, "generate", "-spec", bad, "-out", fresh); code != 1 {
		t.Errorf("nngen generate of a bad spec: exit %d, want 1", code)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("nngen generate of a bad spec created %s", fresh)
	}
}

func TestGenerateWriteFailure(t *testing.T) {
	// model.go is a folder that cannot be replaced by a file.
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "model.go", "keep"), []byte("x"))
	code, stdout, stderr := nngen(t, "generate", "-spec", mnist, "-out", out)
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "nngen: ") {
		t.Errorf("nngen generate over a folder model.go: exit %d, stdout %q, stderr %q; want exit 1 and one line", code, stdout, stderr)
	}
	for name := range snapshot(t, out) {
		if strings.Contains(name, ".nngen-tmp") {
			t.Errorf("generate left %s", name)
		}
	}

	// -out is a file.
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, []byte("x"))
	code, _, stderr = nngen(t, "generate", "-spec", mnist, "-out", file)
	if code != 1 || !strings.Contains(stderr, file) {
		t.Errorf("nngen generate -out FILE: exit %d, stderr %q; want exit 1 and a message naming the file", code, stderr)
	}
}

func TestGenerateMainNeedsImportPath(t *testing.T) {
	dir := t.TempDir()
	if p, err := importPath(dir); err == nil {
		t.Skipf("the temporary folder is inside module %s", p)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := nngen(t, "generate", "-spec", mnist, "-out", out, "-main")
	want := "nngen: no go.mod above " + out + ": pass -pkg with the package's import path\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("nngen generate -main outside a module: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the failed generate created %s", out)
	}

	// Inside a module, the import path comes from go.mod.
	writeFile(t, filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"))
	out = filepath.Join(dir, "models", "mnist")
	if code, _, stderr := nngen(t, "generate", "-spec", mnist, "-out", out, "-main"); code != 0 {
		t.Fatalf("nngen generate -main in a module: exit %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "cmd", "mnist_mlp", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"example.com/m/models/mnist"`) {
		t.Errorf("cmd/mnist_mlp/main.go does not import example.com/m/models/mnist:\n%s", b)
	}
}

func TestSummaryBatch(t *testing.T) {
	code, stdout, stderr := nngen(t, "summary", "-spec", mnist, "-batch", "64")
	for _, want := range []string{"batch 64,", "(64, 784)", "gemmNT_32x64x784 ×2", "gemmNT_64x10x64 ×1", "= 13.1 M (205 k per sample)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("nngen summary -batch 64: no %q in:\n%s", want, stdout)
		}
	}
	if code != 0 || stderr != "" {
		t.Errorf("nngen summary -batch 64: exit %d, stderr %q", code, stderr)
	}
	bad := badSpec(t)
	code, stdout, stderr = nngen(t, "summary", "-spec", bad)
	if want := bad + ":5:12: dense.units must be positive, got 0\n"; code != 1 || stdout != "" || stderr != want {
		t.Errorf("nngen summary of a bad spec: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
}
