package model

import (
	"slices"
	"strings"
)

// Closest returns the candidate nearest to name, for a "did you mean"
// hint: one a few edits away (a typo), never the name itself.
func Closest(name string, candidates []string) (string, bool) {
	best, bestDist := "", 0
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if best == "" || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	// A typo changes a few characters; more means another word.
	limit := max(1, min(3, len(name)/3))
	return best, best != "" && bestDist <= limit
}

// DidYouMean is Closest as the end of a message: "; did you mean x?", or
// nothing.
func DidYouMean(name string, candidates []string) string {
	if c, ok := Closest(name, candidates); ok {
		return "; did you mean " + c + "?"
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, with a
// transposition of two neighbours counted as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, slices.Clone(prev2)
	}
	return prev[len(rb)]
}
