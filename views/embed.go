// Package views holds the HTML templates: layouts/, cashier/, console/, and partials
// named _thing.html. They are embedded in the binary.
package views

import "embed"

//go:embed all:layouts all:cashier all:console all:docs
var FS embed.FS
