package codegen

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/asmgen"
	"github.com/nngen/nngen/layers/emit"
)

const kernelsPkg = rtPkg + "kernels"

// asm reports whether the model gets assembly kernels: float32 models do.
func (g *gen) asm() bool { return g.m.DType == "float32" }

func arrayOf(n int) *Statement { return Op("*").Index(Lit(n)).Id("Float") }

func kernelParams(k emit.GEMM) []Code {
	cs, as, bs := k.Sizes()
	return []Code{Id("c").Add(arrayOf(cs)), Id("a").Add(arrayOf(as)), Id("b").Add(arrayOf(bs))}
}

func callArgs() []Code { return []Code{Id("c"), Id("a"), Id("b")} }

// routineArgs are the names of r's operands, in order.
func routineArgs(r emit.Routine) []Code {
	var l []Code
	for _, a := range r.Args() {
		l = append(l, Id(a.Name))
	}
	return l
}

// kernelFiles returns the kernel files: the pure-Go twins in kernels.go,
// and for float32 models the assembly of both instruction sets with its
// stubs and dispatch (amd64) and the forwarding to Go (other builds).
func (g *gen) kernelFiles(files map[string]*File, raw map[string][]byte) error {
	list := g.kernels.List()
	twins := g.newFile(g.m.Name)
	routines := g.kernels.Routines()
	for _, k := range list {
		twins.Add(emit.EmitKernel(k, g.opt.Unroll))
	}
	for _, r := range routines {
		twins.Add(emit.EmitFunc(r))
	}
	files["kernels.go"] = twins
	if !g.asm() {
		// float64: the Go kernels are the only ones.
		twins.Comment("kernelPath is the kernels' implementation: float64 models have only Go's.")
		twins.Var().Id("kernelPath").Op("=").Qual(kernelsPkg, "Go")
		g.setKernels(twins, false)
		for _, k := range list {
			twins.Func().Id(k.Name()).Params(kernelParams(k)...).Block(Id(k.Name() + "Go").Call(callArgs()...))
		}
		for _, r := range routines {
			twins.Func().Id(r.Name()).Params(emit.FuncParams(r)...).Block(Id(r.Name() + "Go").Call(routineArgs(r)...))
		}
		return nil
	}
	amd := g.newFile(g.m.Name)
	amd.HeaderComment("//go:build amd64 && !purego")
	amd.Comment("kernelPath is the kernels' implementation, chosen for this CPU at start-up.")
	amd.Var().Id("kernelPath").Op("=").Qual(kernelsPkg, "Select").Call()
	g.setKernels(amd, true)
	other := g.newFile(g.m.Name)
	other.HeaderComment("//go:build !amd64 || purego")
	other.Comment("kernelPath is the kernels' implementation: this build has only Go's.")
	other.Var().Id("kernelPath").Op("=").Qual(kernelsPkg, "Go")
	g.setKernels(other, false)
	for _, k := range list {
		for _, isa := range asmgen.ISAs {
			amd.Comment(fmt.Sprintf("%s is %s in %s assembly.", asmgen.Name(k, isa), k.Name(), isa))
			amd.Line().Comment("//go:noescape")
			amd.Func().Id(asmgen.Name(k, isa)).Params(kernelParams(k)...)
		}
		amd.Commentf("%s runs the kernel on the path the CPU supports.", k.Name())
		amd.Func().Id(k.Name()).Params(kernelParams(k)...).Block(
			Switch(Id("kernelPath")).Block(
				Case(Qual(kernelsPkg, "AVX512")).Block(Id(asmgen.Name(k, asmgen.AVX512)).Call(callArgs()...)),
				Case(Qual(kernelsPkg, "AVX2")).Block(Id(asmgen.Name(k, asmgen.AVX2)).Call(callArgs()...)),
				Default().Block(Id(k.Name()+"Go").Call(callArgs()...)),
			))
		other.Func().Id(k.Name()).Params(kernelParams(k)...).Block(Id(k.Name() + "Go").Call(callArgs()...))
	}
	for _, r := range routines {
		args := routineArgs(r)
		for _, isa := range asmgen.ISAs {
			amd.Comment(fmt.Sprintf("%s is %s in %s assembly.", asmgen.FuncName(r, isa), r.Name(), isa))
			amd.Line().Comment("//go:noescape")
			amd.Func().Id(asmgen.FuncName(r, isa)).Params(emit.FuncParams(r)...)
		}
		amd.Commentf("%s runs the kernel on the path the CPU supports.", r.Name())
		amd.Func().Id(r.Name()).Params(emit.FuncParams(r)...).Block(
			Switch(Id("kernelPath")).Block(
				Case(Qual(kernelsPkg, "AVX512")).Block(Id(asmgen.FuncName(r, asmgen.AVX512)).Call(args...)),
				Case(Qual(kernelsPkg, "AVX2")).Block(Id(asmgen.FuncName(r, asmgen.AVX2)).Call(args...)),
				Default().Block(Id(r.Name()+"Go").Call(args...)),
			))
		other.Func().Id(r.Name()).Params(emit.FuncParams(r)...).Block(Id(r.Name() + "Go").Call(args...))
	}
	files["kernels_amd64.go"] = amd
	files["kernels_other.go"] = other
	s, err := asmgen.GenerateAll(g.m.Name, Header(g.m.SpecPath), list, routines)
	if err != nil {
		return err
	}
	raw["kernels_amd64.s"] = s
	return nil
}

// setKernels emits SetKernels, which tests and benchmarks use to force a
// path.
func (g *gen) setKernels(f *File, asm bool) {
	body := []Code{
		If(Err().Op(":=").Qual(kernelsPkg, "Check").Call(Id("p")), Err().Op("!=").Nil()).Block(Return(Err())),
	}
	if !asm {
		body = append(body, If(Id("p").Op("!=").Qual(kernelsPkg, "Go")).Block(
			Return(Qual("fmt", "Errorf").Call(Lit("this model has only Go kernels, not %s"), Id("p")))))
	}
	body = append(body, Id("kernelPath").Op("=").Id("p"), Return(Nil()))
	f.Comment("SetKernels makes every kernel run on path p, if this CPU and build can.")
	f.Func().Id("SetKernels").Params(Id("p").Qual(kernelsPkg, "Path")).Error().Block(body...)
}
