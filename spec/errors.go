// Package spec reads a model spec (YAML in Keras vocabulary), validates it
// against the layer registry and builds the shape-inferred IR.
package spec

import (
	"fmt"
	"sort"
	"strings"

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

// suggest returns `; did you mean "x"?` for the candidate closest to s, or
// "" when none is close.
func suggest(s string, candidates []string) string {
	if best := closest(s, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// closest returns the candidate closest to s, or "" when none is close.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		d := distance(strings.ToLower(s), strings.ToLower(c))
		if strings.EqualFold(s, c) {
			d = 0
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// oneOf is suggest's "did you mean", or the list of candidates when none is
// close.
func oneOf(s string, candidates []string) string {
	if m := suggest(s, candidates); m != "" {
		return m
	}
	return " (one of: " + strings.Join(candidates, ", ") + ")"
}

// distance is the edit distance of a and b: the fewest insertions,
// deletions, substitutions and swaps of adjacent bytes that turn a into b
// (the optimal string alignment distance).
func distance(a, b string) int {
	// d[i][j] is the distance of a[:i] and b[:j]; three rows suffice.
	pp := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}
