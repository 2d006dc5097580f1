// Package spec reads a model spec (YAML in Keras vocabulary): it decodes
// each layer's fields against the layer registry, resolves the layers'
// inputs into the raw graph, and compiles that with pass.Compile into the
// shape-inferred IR, reporting every problem with its position.
package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nngen/nngen/internal/hint"
	"github.com/nngen/nngen/ir"
)

// Error is a problem at a position of a spec file.
type Error struct {
	File string
	Pos  ir.Pos
	Msg  string
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// MaxErrors is how many errors an ErrorList prints.
const MaxErrors = 10

// ErrorList is every problem found in a spec, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == MaxErrors {
			fmt.Fprintf(&b, "\n(and %d more errors)", len(l)-MaxErrors)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns the list as an error, or nil when it is empty.
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

// The hints of spec's messages (see package hint).
var (
	suggest  = hint.Suggest
	closest  = hint.Closest
	oneOf    = hint.OneOf
	distance = hint.Distance
)
