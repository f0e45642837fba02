// Package sql holds the schema as numbered, plain DDL files, one folder per dialect,
// embedded so that the binary can migrate a database by itself.
package sql

import "embed"

// FS holds mysql/NNNN_name.sql and sqlite/NNNN_name.sql.
//
//go:embed mysql/*.sql sqlite/*.sql
var FS embed.FS
