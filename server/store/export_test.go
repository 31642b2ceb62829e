package store

import (
	"context"
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

// SetBlockCodes sets how many credit codes a population block holds, for
// tests that span several blocks with few rows; it returns a function that
// restores the old value.
func SetBlockCodes(n int) (restore func()) {
	old := blockCodes
	blockCodes = n
	return func() { blockCodes = old }
}

// ExecRaw runs one statement outside any service, for tests that play an
// intruder with write access to the database.
func ExecRaw(db *DB, sql string, args ...any) error { return db.gorm.Exec(sql, args...).Error }

// ScanForTest runs one query outside any service and scans its rows into dest.
func (db *DB) ScanForTest(dest any, sql string, args ...any) error {
	return db.gorm.Raw(sql, args...).Scan(dest).Error
}

// SetPopulationPage sets how many population rows one query of
// streamPopulation reads; it returns a function that restores the old value.
func SetPopulationPage(n int) (restore func()) {
	old := populationPage
	populationPage = n
	return func() { populationPage = old }
}

// EnsurePopulationBlocks packs a committed campaign's population into
// blocks unless it has some, as its draw would, for benchmarks that load a
// population without the commit.
func EnsurePopulationBlocks(ctx context.Context, db *DB, id int64) error {
	return db.WithTx(ctx, func(tx *Tx) error { return ensurePopulationBlocks(tx, id) })
}

// StageNamed makes the service's batches stage named temporary files, as
// on a system without unnamed ones.
func (s *BlobService) StageNamed() { s.noUnnamed.Store(true) }
