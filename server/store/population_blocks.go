package store

import (
	"bytes"
	"database/sql"
	"fmt"
	"runtime"

	"github.com/spotcheck/spotcheck/server/draw"
)

// A campaign's frozen population is kept twice: row by row in
// campaign_population, which the workflow joins against, and packed in
// campaign_population_blocks (migration 00017), which the draw reads. A
// block holds up to blockCodes credit codes of one stratum, each followed
// by a line feed. Both are written in the commit's transaction from the
// same rows and never change afterwards.

// blockCodes is how many credit codes one block holds (a variable for
// tests): about 150 KB, stored out of line.
var blockCodes = 8192

// blockWriter packs population rows into blocks as they stream past, and
// inserts each block once it is full.
type blockWriter struct {
	tx   *Tx
	id   int64
	next int                   // the next block's number
	open map[string]*openBlock // by stratum
	keys []string              // strata in the order first seen, for close
	last *openBlock            // the block of the previous row's stratum
}

type openBlock struct {
	stratum string
	n       int
	codes   []byte
}

func newBlockWriter(tx *Tx, id int64) *blockWriter {
	return &blockWriter{tx: tx, id: id, open: map[string]*openBlock{}}
}

// add appends one population row.
func (w *blockWriter) add(code, stratum string) error {
	b := w.last
	if b == nil || b.stratum != stratum {
		if b = w.open[stratum]; b == nil {
			b = &openBlock{stratum: stratum, codes: make([]byte, 0, blockCodes*19)}
			w.open[stratum] = b
			w.keys = append(w.keys, stratum)
		}
		w.last = b
	}
	b.codes = append(append(b.codes, code...), '\n')
	if b.n++; b.n == blockCodes {
		return w.flush(b)
	}
	return nil
}

// close inserts the blocks not yet full.
func (w *blockWriter) close() error {
	for _, s := range w.keys {
		if err := w.flush(w.open[s]); err != nil {
			return err
		}
	}
	return nil
}

func (w *blockWriter) flush(b *openBlock) error {
	if b.n == 0 {
		return nil
	}
	err := w.tx.Exec("INSERT INTO campaign_population_blocks (campaign_id, block_no, stratum, n, codes) VALUES (?, ?, ?, ?, ?)",
		w.id, w.next, b.stratum, b.n, b.codes).Error
	if err != nil {
		return fmt.Errorf("campaign %d: population block %d: %w", w.id, w.next, err)
	}
	w.next++
	b.n, b.codes = 0, b.codes[:0]
	return nil
}

// ensurePopulationBlocks writes the blocks of a campaign committed before
// they existed (migration 00017), from its population rows.
func ensurePopulationBlocks(tx *Tx, id int64) error {
	var exists bool
	if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM campaign_population_blocks WHERE campaign_id = ?)", id).Scan(&exists).Error; err != nil {
		return err
	}
	if exists {
		return nil
	}
	w := newBlockWriter(tx, id)
	if _, err := streamPopulation(tx, id, w.add); err != nil {
		return err
	}
	return w.close()
}

// blockSizes counts the committed population per stratum from its blocks.
func blockSizes(tx *Tx, id int64) (map[string]int, error) {
	return sizesByStratum(tx, "SELECT stratum, SUM(n) AS n FROM campaign_population_blocks WHERE campaign_id = ? GROUP BY stratum", id)
}

// feedPopulation adds every credit code of the campaign's blocks to the
// sampler; the tickets are computed on every core while the blocks arrive.
// A block whose count does not match its codes is an error: the sampler
// must see exactly the committed population.
func feedPopulation(tx *Tx, id int64, sampler *draw.Sampler) error {
	rows, err := tx.Raw("SELECT block_no, stratum, n, codes FROM campaign_population_blocks WHERE campaign_id = ? ORDER BY block_no", id).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	feed := sampler.Feed(runtime.GOMAXPROCS(0))
	defer feed.Close()
	// RawBytes: the codes are copied into the feeder's batches anyway, so
	// a block's 150 KB need not be copied first.
	var (
		no, n          int
		stratum, codes sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&no, &stratum, &n, &codes); err != nil {
			return err
		}
		got := 0
		for rest := codes; len(rest) > 0; got++ {
			end := bytes.IndexByte(rest, '\n')
			if end < 0 {
				return fmt.Errorf("campaign %d: population block %d does not end with a line feed", id, no)
			}
			if err := feed.Add(stratum, rest[:end]); err != nil {
				return fmt.Errorf("campaign %d: %w", id, err)
			}
			rest = rest[end+1:]
		}
		if got != n {
			return fmt.Errorf("campaign %d: population block %d has %d codes, says %d", id, no, got, n)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	feed.Close()
	return nil
}
