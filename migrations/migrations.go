// Package migrations holds the forward-only schema history, one folder per
// dialect, applied by goose on start and by `spotcheck migrate`.
//
// Order is important: files run in the order of their numeric prefix. Never
// edit a file once it is merged; add a new one, with the same name in both
// folders (TestDialectParity checks this).
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
