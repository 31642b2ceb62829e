package store

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/spotcheck/spotcheck/server"
)

// On PostgreSQL an enterprise batch is read with one query by key and
// written with binary COPY, encoded here: the new records straight into enterprises, the
// changed ones into a temporary staging table merged by one UPDATE. The
// values are decided in Go the same way on both dialects.

// ImportBatchSize is how many rows one call should carry for the store to
// write them fastest: large on PostgreSQL, where a call is one query and a
// COPY or two, and importer.DefaultBatchSize (0) on SQLite.
func (s *ImportStore) ImportBatchSize() int {
	if s.db.dialect == Postgres {
		return pgImportBatch
	}
	return 0
}

// ImportWriters is how many batches of new enterprises an import should
// write at once: two on PostgreSQL, where one batch is validated, begun and
// committed while the other is copied (one COPY at a time, see
// pgInsertNewEnterprises), and one on SQLite, which writes one transaction
// at a time.
func (s *ImportStore) ImportWriters() int {
	if s.db.dialect == Postgres {
		return 2
	}
	return 1
}

// pgImportBatch bounds the rows of a PostgreSQL import batch: big enough
// that per-transaction costs vanish, small enough that a batch held in
// memory stays a few megabytes.
const pgImportBatch = 20000

const enterpriseImportColumns = `e.id, e.credit_code, e.name, e.category, e.district, e.address,
	e.legal_representative, e.licence_number, e.status, e.risk_class, e.latitude, e.longitude,
	e.created_at, e.updated_at`

// pgFindEnterprises returns the stored enterprises among the credit codes keys.
func pgFindEnterprises(ctx context.Context, c *pgx.Conn, keys []string) (map[string]*enterpriseRow, error) {
	// A join with unnest probes the credit code index once per key, where
	// = ANY may scan the whole table.
	rows, err := c.Query(ctx, `SELECT `+enterpriseImportColumns+`
FROM unnest($1::text[]) k (code) JOIN enterprises e ON e.credit_code = k.code`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[string]*enterpriseRow{}
	for rows.Next() {
		r := &enterpriseRow{}
		err := rows.Scan(&r.ID, &r.CreditCode, &r.Name, &r.Category, &r.District, &r.Address,
			&r.LegalRepresentative, &r.LicenceNumber, &r.Status, &r.RiskClass, &r.Latitude, &r.Longitude,
			&r.CreatedAt, &r.UpdatedAt)
		if err != nil {
			return nil, err
		}
		stored[r.CreditCode] = r
	}
	return stored, rows.Err()
}

// pgInsertEnterprises copies rows into enterprises.
func pgInsertEnterprises(ctx context.Context, c *pgx.Conn, rows []*enterpriseRow) error {
	if len(rows) == 0 {
		return nil
	}
	return pgCopyEnterprises(ctx, c, "enterprises", rows, false)
}

// pgUpdateEnterprises writes rows, already stored, through a staging table:
// one COPY and one UPDATE by id. rows come in credit code order, the order
// the UPDATE locks them in, so concurrent imports lock in the same order.
func pgUpdateEnterprises(ctx context.Context, c *pgx.Conn, rows []*enterpriseRow, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := c.Exec(ctx, `CREATE TEMP TABLE import_enterprises (LIKE enterprises) ON COMMIT DROP`)
	if err != nil {
		return err
	}
	if err := pgCopyEnterprises(ctx, c, "import_enterprises", rows, true); err != nil {
		return err
	}
	_, err = c.Exec(ctx, `UPDATE enterprises e SET name = s.name, category = s.category,
	district = s.district, address = s.address, legal_representative = s.legal_representative,
	licence_number = s.licence_number, status = s.status, risk_class = s.risk_class,
	latitude = s.latitude, longitude = s.longitude, updated_at = $1::timestamptz
FROM import_enterprises s WHERE e.id = s.id`, now)
	return err
}

// enterpriseCopyColumns are the columns an enterpriseCopy writes, id first.
var enterpriseCopyColumns = []string{"id", "credit_code", "name", "category", "district", "address",
	"legal_representative", "licence_number", "status", "risk_class", "latitude", "longitude",
	"created_at", "updated_at"}

// pgCopyEnterprises copies rows into table (enterprises or the staging
// table), with their ids or without.
func pgCopyEnterprises(ctx context.Context, c *pgx.Conn, table string, rows []*enterpriseRow, withID bool) error {
	cols := enterpriseCopyColumns
	if !withID {
		cols = cols[1:]
	}
	sql := `COPY ` + table + ` (` + strings.Join(cols, ", ") + `) FROM STDIN (FORMAT binary)`
	_, err := c.PgConn().CopyFrom(ctx, &enterpriseCopy{rows: rows, withID: withID}, sql)
	return err
}

// enterpriseCopy reads as the binary COPY stream of its rows. It encodes
// them itself, a few dozen kilobytes at a time: pgx's CopyFrom would box
// every value in an interface and look up its encoder, which cost about as
// much CPU as reading and checking the file.
type enterpriseCopy struct {
	rows   []*enterpriseRow
	withID bool
	// es, when rows is nil: new enterprises, written created and updated now.
	es      []*server.Enterprise
	now     time.Time
	next    int // rows[next] is the next row to encode
	started bool
	done    bool
	buf     []byte
	off     int // buf[off:] is yet to be read
}

// enterpriseCopyChunk is how many bytes enterpriseCopy encodes at a time.
const enterpriseCopyChunk = 64 << 10

func (c *enterpriseCopy) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.done {
			return 0, io.EOF
		}
		c.fill()
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// pgCopySignature starts a binary COPY stream: the signature, no flags and
// no header extension.
const pgCopySignature = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// fill encodes the next rows into buf, the stream's header before the first
// and its trailer after the last.
func (c *enterpriseCopy) fill() {
	c.buf, c.off = c.buf[:0], 0
	if !c.started {
		c.buf = append(c.buf, pgCopySignature...)
		c.started = true
	}
	n := max(len(c.rows), len(c.es))
	for c.next < n && len(c.buf) < enterpriseCopyChunk {
		if c.rows != nil {
			c.buf = appendEnterpriseTuple(c.buf, c.rows[c.next], c.withID)
		} else {
			r := enterpriseRowOf(c.es[c.next])
			r.CreatedAt, r.UpdatedAt = c.now, c.now
			c.buf = appendEnterpriseTuple(c.buf, &r, false)
		}
		c.next++
	}
	if c.next == n {
		c.buf = binary.BigEndian.AppendUint16(c.buf, 0xffff) // -1 fields: the end
		c.done = true
	}
}

// appendEnterpriseTuple appends r as one binary COPY tuple: a field count,
// then each field's length and bytes (-1: NULL), in enterpriseCopyColumns
// order. Text is sent as it is (the database is UTF-8, as pgx assumes).
func appendEnterpriseTuple(b []byte, r *enterpriseRow, withID bool) []byte {
	if withID {
		b = binary.BigEndian.AppendUint16(b, 14)
		b = appendCopyInt64(b, r.ID)
	} else {
		b = binary.BigEndian.AppendUint16(b, 13)
	}
	for _, s := range [...]string{r.CreditCode, r.Name, r.Category, r.District, r.Address,
		r.LegalRepresentative, r.LicenceNumber, r.Status, r.RiskClass} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = appendCopyFloat(b, r.Latitude)
	b = appendCopyFloat(b, r.Longitude)
	b = appendCopyInt64(b, pgMicroseconds(r.CreatedAt))
	return appendCopyInt64(b, pgMicroseconds(r.UpdatedAt))
}

func appendCopyInt64(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendCopyFloat(b []byte, f *float64) []byte {
	if f == nil {
		return binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(*f))
}

// pgMicroseconds is t as a binary timestamptz: microseconds since
// 2000-01-01 UTC, the sub-microsecond part dropped as pgx drops it.
func pgMicroseconds(t time.Time) int64 {
	const unixTo2000 = 946684800 * 1000000
	return t.Unix()*1000000 + int64(t.Nanosecond())/1000 - unixTo2000
}

// pgWriteEnterprises writes the outcome of an enterprise batch: keys in
// ascending order, stored the records before it and want after it;
// errEnterpriseStored if the batch was not looked up (lookedUp false) and a
// credit code taken to be new is stored.
func pgWriteEnterprises(ctx context.Context, tx *Tx, pg PgConn, keys []string, stored, want map[string]*enterpriseRow, lookedUp bool) error {
	var fresh, changed []*enterpriseRow
	for _, k := range keys {
		old, w := stored[k], want[k]
		switch {
		case old == nil:
			fresh = append(fresh, w)
		case !sameEnterprise(old, w):
			w.UpdatedAt = tx.Now
			changed = append(changed, w)
		}
	}
	err := pg(func(c *pgx.Conn) error {
		if err := pgUpdateEnterprises(ctx, c, changed, tx.Now); err != nil {
			return err
		}
		return pgInsertEnterprises(ctx, c, fresh)
	})
	return pgEnterpriseWriteError(tx, err, !lookedUp)
}

// copyingNew is held by the COPY of a batch of new enterprises.
var copyingNew sync.Mutex

// pgInsertNewEnterprises copies es, all new and with distinct credit codes,
// into enterprises, created and updated now; errEnterpriseStored if one of
// their credit codes is stored after all.
func pgInsertNewEnterprises(ctx context.Context, tx *Tx, pg PgConn, es []*server.Enterprise) error {
	err := pg(func(c *pgx.Conn) error {
		// One such COPY at a time: batches copied side by side would
		// interleave their rows in the table and its indexes, which made
		// every later lookup of the directory slower.
		copyingNew.Lock()
		defer copyingNew.Unlock()
		sql := `COPY enterprises (` + strings.Join(enterpriseCopyColumns[1:], ", ") + `) FROM STDIN (FORMAT binary)`
		_, err := c.PgConn().CopyFrom(ctx, &enterpriseCopy{es: es, now: tx.Now}, sql)
		return err
	})
	return pgEnterpriseWriteError(tx, err, true)
}

// pgEnterpriseWriteError is what writing a batch returns for err:
// errEnterpriseStored when a stored credit code was met and the batch was
// taken to be new, else err as an application error.
func pgEnterpriseWriteError(tx *Tx, err error, takenNew bool) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "enterprises_credit_code_key" && takenNew {
		return errEnterpriseStored
	}
	if err != nil {
		return translate(tx.AddError(err), objEnterprise)
	}
	return nil
}
