// Package sdk is the Go SDK a field app embeds: a local SQLite store, an
// outbox of mutations, attachments and the sync loop against a spotcheck
// server. It imports the standard library, syncproto and one SQLite driver,
// never server/….
package sdk
