// Package hint makes the "did you mean" of nngen's error messages: the
// candidate closest to a misspelt name by edit distance.
package hint

import (
	"fmt"
	"strings"
)

// Suggest returns `; did you mean "x"?` for the candidate closest to s, or
// "" when none is close.
func Suggest(s string, candidates []string) string {
	if best := Closest(s, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// Closest returns the candidate closest to s, or "" when none is close.
func Closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		d := Distance(strings.ToLower(s), strings.ToLower(c))
		if strings.EqualFold(s, c) {
			d = 0
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// OneOf is Suggest's "did you mean", or the list of candidates when none is
// close.
func OneOf(s string, candidates []string) string {
	if m := Suggest(s, candidates); m != "" {
		return m
	}
	return " (one of: " + strings.Join(candidates, ", ") + ")"
}

// Distance is the edit distance of a and b: the fewest insertions,
// deletions, substitutions and swaps of adjacent bytes that turn a into b
// (the optimal string alignment distance).
func Distance(a, b string) int {
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
