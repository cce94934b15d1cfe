// Package english writes the pieces of English that the commands' and the
// library's messages share, so that one count reads the same everywhere.
package english

import "strconv"

// Plural counts noun, whose plural adds an s: "1 flow", "3 flows".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
