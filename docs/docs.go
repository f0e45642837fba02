// Package docs embeds the documents the platform serves: the integration API's contract
// (API.md, kept identical to the one business systems are written against) and its
// examples in curl and Go, rendered at /docs/api.
package docs

import _ "embed"

// API is API.md, the integration API's contract.
//
//go:embed API.md
var API []byte

// APIExamples is api-examples.md: signing and calling the API with curl and Go.
//
//go:embed api-examples.md
var APIExamples []byte
