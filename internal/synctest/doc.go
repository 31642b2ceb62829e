// Package synctest holds the sync fault suite and the sync benchmarks: a real
// server (apptest, or the spotcheck binary as a subprocess) on SQLite and
// PostgreSQL, real SDK devices, and real HTTP through internal/faultnet.
//
// Every scenario checks the server against the device's own log of what it
// queued: nothing lost, nothing applied twice, every rejection visible on the
// device. TestMain prints one line, "sync faults: N injected, L lost, D
// duplicated", and fails the run when L or D is not zero.
package synctest
