//go:build amd64 && !purego

package kernels

const asm = true
