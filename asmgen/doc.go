// Package asmgen will emit shape-specialized AVX2/FMA and AVX-512 assembly
// kernels for a model's matrix products with avo, each with the pure-Go twin
// that codegen emits today (layers.EmitKernel) as its reference. Until then
// generated models run the pure-Go kernels.
package asmgen
