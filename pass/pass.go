// Package pass is nngen's compiler as a list of passes over the IR, after
// avo's pass package: spec builds the raw graph of a model (kinds, fields
// and inputs, as the YAML says), and Compile, one list of small passes,
// each in its own file with one job, finishes it: it infers the shapes,
// validates the graph, assigns the parameters, selects the kernels and
// records the fusions. Every decision is data on the ir.Model, so that
// code generation only reads it.
//
// The package is named pass, not compile, for what it holds: the passes
// are the values here (a Pass, Concat, each pass by name), and Compile is
// just the one list of them, as in avo.
package pass

import (
	"errors"
	"fmt"
	"sort"

	"github.com/nngen/nngen/ir"
)

// Pass is one step of the compiler: it checks the model or completes it.
type Pass func(*ir.Model) error

// Concat returns a pass that runs the given passes in order, stopping at
// the first error.
func Concat(passes ...Pass) Pass {
	return func(m *ir.Model) error {
		for _, p := range passes {
			if err := p(m); err != nil {
				return err
			}
		}
		return nil
	}
}

// Compile turns the raw graph spec builds into the model codegen reads.
var Compile = Concat(
	InferShapes,
	Validate,
	Masks,
	AssignParams,
	SelectKernels,
	Fuse,
)

// Error is a problem of a model at a position of its spec.
type Error struct {
	Pos ir.Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// ErrorList is every problem a pass found, in the order of their positions
// once Err returns it.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

// errorf adds a problem at pos.
func (l *ErrorList) errorf(pos ir.Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Err returns the list sorted by position as an error, or nil when it is
// empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return l
}

// ErrIncomplete is Validate's error for a raw model with layers or an
// output that spec could not read (and has reported): nothing can be
// checked beyond the shapes.
var ErrIncomplete = errors.New("pass: the model has layers or an output that could not be read")
