package optim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"testing"
)

// python is the interpreter that may have PyTorch (Debian's python3-torch).
const python = "/usr/bin/python3"

// torchScript runs every config of its input through torch.optim in float32
// and float64, and clip_grad_norm_ on every clip case, and prints the results
// as JSON.
const torchScript = `
import json, sys, torch
inp = json.load(sys.stdin)
out = {"configs": [], "clip": []}
for c in inp["configs"]:
    res = {}
    for dt in ("float32", "float64"):
        dtype = getattr(torch, dt)
        p = torch.tensor(inp["p0"], dtype=dtype, requires_grad=True)
        h, o = c["H"], c["Opt"]
        # Keras's weight_decay is decoupled in every optimizer: AdamW's
        # rule, applied by hand before SGD's and RMSprop's step.
        wd = h["WeightDecay"] if o in ("sgd", "rmsprop") else 0
        if o == "sgd":
            opt = torch.optim.SGD([p], lr=h["LR"], momentum=h["Momentum"],
                nesterov=h["Nesterov"])
        elif o in ("adam", "adamw"):
            opt = torch.optim.AdamW([p], lr=h["LR"], betas=(h["Beta1"], h["Beta2"]), eps=h["Epsilon"],
                weight_decay=h["WeightDecay"], amsgrad=h["AMSGrad"])
        elif o == "rmsprop":
            opt = torch.optim.RMSprop([p], lr=h["LR"], alpha=h["Rho"], eps=h["Epsilon"],
                momentum=h["Momentum"], centered=h["Centered"])
        traj = []
        for g, lr in zip(inp["grads"], inp["lrs"]):
            for group in opt.param_groups:
                group["lr"] = lr
            p.grad = torch.tensor(g, dtype=dtype)
            with torch.no_grad():
                p.mul_(1 - lr * wd)
            opt.step()
            traj.append(p.detach().tolist())
        state = {k: v.tolist() for k, v in opt.state[p].items()
                 if k != "step" and v is not None}
        res[dt] = {"params": traj, "state": state}
    out["configs"].append(res)
for case in inp["clip"]:
    res = {}
    for dt in ("float32", "float64"):
        x = torch.zeros(len(case["G"]), dtype=getattr(torch, dt), requires_grad=True)
        x.grad = torch.tensor(case["G"], dtype=x.dtype)
        norm = torch.nn.utils.clip_grad_norm_([x], case["Max"])
        res[dt] = {"norm": float(norm), "g": x.grad.tolist()}
    out["clip"].append(res)
json.dump(out, sys.stdout)
`

// torchRun is what torchScript prints for one config or clip case in one
// precision.
type torchRun struct {
	Params [][]float64
	State  map[string][]float64
	Norm   float64
	G      []float64
}

// clipCase is one call of ClipByNorm that the torch test compares.
type clipCase struct {
	G   []float64
	Max float64
}

// TestAgainstTorch compares every config's trajectory and final state, and
// ClipByNorm, with torch.optim where PyTorch is installed.
func TestAgainstTorch(t *testing.T) {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("no PyTorch: %s -c 'import torch': %v", python, err)
	}
	type cfg struct {
		Opt string
		H   Hyper
	}
	in := struct {
		P0     []float64   `json:"p0"`
		Grads  [][]float64 `json:"grads"`
		Lrs    []float64   `json:"lrs"`
		Config []cfg       `json:"configs"`
		Clip   []clipCase  `json:"clip"`
	}{P0: p0, Grads: grads, Lrs: lrs}
	for _, c := range configs {
		in.Config = append(in.Config, cfg{c.opt, c.h})
	}
	in.Clip = []clipCase{
		{[]float64{3, -4, 0.5}, 1},
		{[]float64{3, -4}, 5},
		{[]float64{0.25, -0.5, 1e-3}, 10},
		{grads[0], 0.7},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, "-c", torchScript)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(b), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var out struct {
		Configs []map[string]torchRun
		Clip    []map[string]torchRun
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for k, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			t64, t32 := out.Configs[k]["float64"], out.Configs[k]["float32"]
			traj64, state64 := run[float64](t, c, 0)
			traj32, state32 := run[float32](t, c, 0)
			compare(t, "float64 params", traj64, t64.Params, 1e-14)
			compare(t, "float32 params", traj32, t32.Params, 1e-6)
			names := StateNames(c.opt, c.h)
			var torchNames []string
			for name := range t64.State {
				torchNames = append(torchNames, name)
			}
			sort.Strings(torchNames)
			sorted := append([]string(nil), names...)
			sort.Strings(sorted)
			if fmt.Sprint(sorted) != fmt.Sprint(torchNames) {
				t.Fatalf("StateNames = %q, PyTorch's state has %q", names, torchNames)
			}
			for i, name := range names {
				compare(t, "float64 "+name, [][]float64{state64[i]}, [][]float64{t64.State[name]}, 1e-14)
				compare(t, "float32 "+name, [][]float64{state32[i]}, [][]float64{t32.State[name]}, 1e-6)
			}
		})
	}
	for k, c := range in.Clip {
		g64 := append([]float64(nil), c.G...)
		g32 := make([]float32, len(c.G))
		for i, x := range c.G {
			g32[i] = float32(x)
		}
		n64, n32 := ClipByNorm(g64, c.Max), ClipByNorm(g32, c.Max)
		want64, want32 := out.Clip[k]["float64"], out.Clip[k]["float32"]
		what := fmt.Sprintf("ClipByNorm(%v, %v)", c.G, c.Max)
		compare(t, what+" float64", [][]float64{append(g64, n64)}, [][]float64{append(want64.G, want64.Norm)}, 1e-15)
		compare(t, what+" float32", [][]float64{append(f64(g32), n32)}, [][]float64{append(want32.G, want32.Norm)}, 1e-6)
	}
}
