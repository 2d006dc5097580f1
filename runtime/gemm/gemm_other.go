//go:build !amd64 || purego

package gemm

var goKernel = kernel{6, 16, microGo(6, 16)}

func current() kernel { return goKernel }
