// Package static holds the platform's stylesheet, scripts and images,
// embedded in the binary so that no page ever needs a CDN or the internet.
//
// Paths inside FS are css/app.css, js/htmx.min.js, js/echarts.min.js, js/app.js,
// img/logo.svg and img/favicon.svg.
package static

import "embed"

// FS is every static asset, served under /static/.
//
//go:embed css js img
var FS embed.FS
