// Package fleetbench measures many field devices syncing with one server at
// once: N devices driven through the real SDK (each with its own local
// SQLite store and its own HTTP connections) against one server started by
// apptest, on PostgreSQL or SQLite, over real HTTP on loopback.
//
// BenchmarkFleet is the measurement (see docs/benchmarks.md, "500 concurrent
// devices"); TestFleetSmall runs the same code with 10 devices on both
// dialects in the normal test suite and checks only that nothing was lost or
// applied twice.
//
// BenchmarkFleetOpenLoop is an evening as it comes: the devices' evening
// syncs start at random times over a window (open loop: each when its time
// comes, however the server is doing), against the built spotcheck binary
// run as a separate process on the benchmark's database, with latency by
// request kind (docs/benchmarks.md, "An evening's arrivals");
// TestFleetOpenLoopSmall runs its code with 10 devices over two seconds
// against the in-process server. The code is in the package's test files.
package fleetbench
