// Package cuemodule embeds the project's CUE module (schema and clusters), so
// that a built render binary carries the model it was built with and tests
// can load it as an fs.FS.
package cuemodule

import "embed"

// FS holds cue.mod, schema and clusters, rooted at the module's root.
//
//go:embed cue.mod/module.cue schema/*.cue clusters
var FS embed.FS
