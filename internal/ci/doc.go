// Package ci holds the tests of the repository's GitHub workflows
// (.github/workflows): Go tests must live in a Go package, and the
// workflows have none of their own.
package ci
