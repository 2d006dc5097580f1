# Recurrent part of bench/run.sh (sourced by it): nngen's seq_mnist_rnn and
# seq_mnist_lstm against PyTorch's nn.RNN and nn.LSTM (bench/pytorch_rnn.py),
# batch 64, one thread, same pinned core:
#   rnn_train  nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
#   lstm_train nngen=<samples/s> pytorch=<samples/s> ratio=<nngen/pytorch>
# Env: BENCH_RNN_STEPS=100 (timed train steps, both), BENCH_RNN_WARMUP=10
# (PyTorch's untimed steps; Go's benchmark runs one untimed round itself).

rnn_bench() {
	local steps=${BENCH_RNN_STEPS:-100} warm=${BENCH_RNN_WARMUP:-10}
	local cell pkg name out n_sps p_sps core ct torch_env=(env)
	need_torch
	locate_mnist
	for cell in rnn lstm; do
		pkg=generated/seq_mnist_$cell
		log "building nngen $pkg test binary"
		if ! (cd "$ROOT" && GOAMD64=v3 go test -c -o "$tmp/seq_mnist_$cell.test" "./$pkg/") >&2; then
			log "nngen: building $pkg's tests failed"
		fi
	done
	torch_openblas_env
	for cell in rnn lstm; do
		n_sps="" p_sps=""
		if [[ -x "$tmp/seq_mnist_$cell.test" ]]; then
			log "nngen: seq_mnist_$cell BenchmarkTrainStep, ${steps} steps"
			if out=$(GOMAXPROCS=1 "${pin[@]}" "$tmp/seq_mnist_$cell.test" -test.run '^$' -test.bench '^BenchmarkTrainStep$' \
				-test.benchtime "${steps}x" -test.cpu 1); then
				n_sps=$(awk '$1 ~ /^BenchmarkTrainStep/ { for (i = 3; i <= NF; i++) if ($i == "samples/s") printf "%.0f", $(i-1) }' <<<"$out")
			else
				log "nngen: BenchmarkTrainStep failed"; echo "$out" >&2
			fi
		fi
		log "pytorch: $cell, $warm warm-up + $steps timed train steps"
		if out=$("${torch_env[@]}" "${pin[@]}" "$PY" "$BENCH_DIR/pytorch_rnn.py" --cell "$cell" --steps "$steps" --warmup "$warm" "$MNIST"); then
			p_sps=$(field samples_per_sec "$out")
		else
			log "pytorch: $cell run failed"
		fi
		name=${cell}_train
		echo "$name nngen=$(na "$n_sps") pytorch=$(na "$p_sps") ratio=$(div "$n_sps" "$p_sps")"
		[[ -n $n_sps && -n $p_sps ]] || failed=1
	done
}
