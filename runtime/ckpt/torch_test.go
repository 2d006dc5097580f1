package ckpt

import (
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// torchRead reads a safetensors file with nothing but the standard library
// and torch.frombuffer, and prints one line per tensor: name, shape, values.
const torchRead = `
import json, struct, sys, torch
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h.pop('__metadata__', {})
types = {'F32': torch.float32, 'F64': torch.float64}
for name in sorted(h):
    v = h[name]
    s, e = v['data_offsets']
    t = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=types[v['dtype']]).reshape(v['shape'])
    print(name, json.dumps(list(t.shape), separators=(',', ':')), *[repr(float(x)) for x in t.flatten().tolist()])
print('__metadata__', json.dumps(meta, sort_keys=True))
`

// TestPyTorch checks that PyTorch reads what Save writes, where it is installed.
func TestPyTorch(t *testing.T) {
	if exec.Command(python, "-c", "import torch").Run() != nil {
		t.Skip("python3 with torch not available")
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	ts := []Tensor{
		{Name: "fc1.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 1e-30, 0.1, float32(math.Inf(1))}},
		{Name: "fc1.bias", Shape: []int{2}, Data: []float64{math.Pi, -1e300}},
		{Name: "scale", Shape: []int{}, Data: []float32{7}},
	}
	if err := Save(path, ts, map[string]string{"step": "12"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", torchRead, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := sortedByName(ts)
	if len(lines) != len(want)+1 || lines[len(want)] != `__metadata__ {"step": "12"}` {
		t.Fatalf("torch printed\n%s", out)
	}
	for i, w := range want {
		shape := make([]string, len(w.Shape))
		for i, d := range w.Shape {
			shape[i] = strconv.Itoa(d)
		}
		var values []float64
		switch d := w.Data.(type) {
		case []float32:
			for _, v := range d {
				values = append(values, float64(v))
			}
		case []float64:
			values = d
		}
		f := strings.Fields(lines[i])
		ok := len(f) == 2+len(values) && f[0] == w.Name && f[1] == "["+strings.Join(shape, ",")+"]"
		for j, v := range values {
			if ok {
				got, err := strconv.ParseFloat(f[2+j], 64)
				ok = err == nil && got == v
			}
		}
		if !ok {
			t.Errorf("torch read %q, want %s %v %v", lines[i], w.Name, w.Shape, values)
		}
	}
}

// python is Debian's interpreter, where python3-torch installs PyTorch.
const python = "/usr/bin/python3"
