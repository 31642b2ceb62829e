// Package fleetbench measures many field devices syncing with one server at
// once: N devices driven through the real SDK (each with its own local
// SQLite store and its own HTTP connections) against one server started by
// apptest, on PostgreSQL or SQLite, over real HTTP on loopback.
//
// BenchmarkFleet is the measurement (see docs/benchmarks.md, "500 concurrent
// devices"); TestFleetSmall runs the same code with 10 devices on both
// dialects in the normal test suite and checks only that nothing was lost or
// applied twice. The code is in the package's test files.
package fleetbench
