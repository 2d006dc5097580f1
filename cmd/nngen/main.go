// Command nngen compiles a neural-network spec (YAML in Keras vocabulary)
// into a Go package that trains and runs that exact model.
//
// Usage:
//
//	nngen generate -spec model.yaml -out DIR [-main] [-unroll N] [-pkg PATH] [-check]
//	nngen check -spec model.yaml
//	nngen summary -spec model.yaml [-batch N]
//	nngen doc
//
// generate writes DIR/model.go, DIR/kernels.go and DIR/model_test.go, and
// with -main the standalone binary DIR/cmd/<name>/main.go. Files are written
// only when the whole generation succeeded, each through a temporary file
// renamed into place. With -check nothing is written: nngen reports whether
// DIR is up to date and exits 1 if it is not.
//
// check validates a spec and prints every problem as file:line:col: message.
//
// summary prints a table of the layers in the manner of Keras's
// model.summary(), from what the code generator decides: per layer its
// spec line, output shape, parameters, the kernels of one train step with
// their call counts and FLOPs, and the bytes of its training buffers; then
// the totals of parameters, FLOPs and memory. -batch N reports for batches
// of N samples instead of the spec's batch_size.
//
// doc prints the reference of every layer kind, activation and loss.
//
// From go generate, in a file of the target package:
//
//	//go:generate go run github.com/nngen/nngen/cmd/nngen generate -spec model.yaml -out .
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
