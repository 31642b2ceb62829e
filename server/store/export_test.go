package store

import (
	"sync/atomic"

	"gorm.io/gorm"
)

// CountStatements counts every SQL statement db runs from now on (queries,
// raw statements, creates, updates, deletes; not BEGIN and COMMIT), for tests
// that bound how many round trips an operation costs. Call it once per DB.
func CountStatements(db *DB) *atomic.Int64 {
	n := new(atomic.Int64)
	count := func(*gorm.DB) { n.Add(1) }
	cb := db.gorm.Callback()
	for _, err := range []error{
		cb.Query().Register("storetest:count", count),
		cb.Row().Register("storetest:count", count),
		cb.Raw().Register("storetest:count", count),
		cb.Create().Register("storetest:count", count),
		cb.Update().Register("storetest:count", count),
		cb.Delete().Register("storetest:count", count),
	} {
		if err != nil {
			panic(err)
		}
	}
	return n
}

// SetPublicChunk sets how many rows one keyset query of the public record
// reads, for tests that cross chunk boundaries with few rows; it returns a
// function that restores the old value.
func SetPublicChunk(n int) (restore func()) {
	old := publicChunk
	publicChunk = n
	return func() { publicChunk = old }
}

// SetParallelReadMin sets the smallest population a draw reads on two
// connections; it returns a function that restores the old value.
func SetParallelReadMin(n int) (restore func()) {
	old := parallelReadMin
	parallelReadMin = n
	return func() { parallelReadMin = old }
}

// ParallelReads is how many draws have read their population on two
// connections so far.
func ParallelReads() int64 { return parallelReads.Load() }

// ExecRaw runs one statement outside any service, for tests that play an
// intruder with write access to the database.
func ExecRaw(db *DB, sql string, args ...any) error { return db.gorm.Exec(sql, args...).Error }
