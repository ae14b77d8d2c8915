// Package examples carries the example policies into the binary, so that a
// bare `floodgate` serves them with no file on disk.
package examples

import "embed"

// Policies holds policies/*.yaml.
//
//go:embed policies/*.yaml
var Policies embed.FS
