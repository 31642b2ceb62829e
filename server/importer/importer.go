// Package importer loads the enterprise directory and the inspector roster
// from CSV or XLSX files. Files are read as a stream, one row at a time, and
// written in batches, each batch in its own transaction: memory stays flat
// however long the file, good rows are kept when others are rejected, and
// every rejected row is reported with its row number, column and reason.
package importer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/spotcheck/spotcheck/server"
)

// Store is the batch upsert the importer writes through; store.ImportStore
// implements it. Each call is one transaction and checks the caller's rights;
// a call with no rows checks only the rights.
type Store interface {
	// UpsertEnterprises writes only the optional fields set[i] names of an
	// existing enterprise es[i].
	UpsertEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (inserted, updated, unchanged int, err error)
	// UpsertInspectors is UpsertEnterprises for inspectors; it reports
	// rejected rows with Row set to the index in ins.
	UpsertInspectors(ctx context.Context, deptCodes []string, ins []*server.Inspector, set []server.ImportFields) (inserted, updated, unchanged int, rejected []server.ImportRowError, err error)
}

// NewEnterpriseStore is implemented by a Store that writes a batch of
// enterprises faster when told none of them is stored (store.ImportStore
// on PostgreSQL copies it in without looking it up first).
type NewEnterpriseStore interface {
	// NoEnterprises reports whether no enterprise is stored.
	NoEnterprises(ctx context.Context) (bool, error)
	// UpsertNewEnterprises is UpsertEnterprises for a batch expected to
	// hold no stored credit code; found says one was stored after all. The
	// outcome is UpsertEnterprises' either way.
	UpsertNewEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (inserted, updated, unchanged int, found bool, err error)
}

// DefaultBatchSize is how many rows go to the store in one transaction.
const DefaultBatchSize = 1000

// BatchSizer is implemented by a Store that writes larger batches faster
// (store.ImportStore on PostgreSQL, where a batch is one COPY and one merge).
type BatchSizer interface {
	// ImportBatchSize returns the rows per call the store prefers; 0 for
	// DefaultBatchSize.
	ImportBatchSize() int
}

// ParallelWriter is implemented by a Store that writes batches of new rows
// faster two or more at a time (store.ImportStore on PostgreSQL, which
// prepares and commits one batch while it copies the other).
type ParallelWriter interface {
	// ImportWriters returns how many batches of new rows to write at once.
	ImportWriters() int
}

// Service implements server.ImportService on a Store.
type Service struct {
	Store Store
	// BatchSize is the number of rows per transaction; if 0, the Store's
	// ImportBatchSize when it is a BatchSizer, else DefaultBatchSize.
	BatchSize int
	// TempDir holds XLSX uploads while they are read; the system default if "".
	TempDir string
	// OnRowError, when set, is called for every rejected row in row order,
	// including those beyond the report's MaxImportErrors.
	OnRowError func(server.ImportRowError)
}

var _ server.ImportService = (*Service)(nil)

// New returns an import service writing to st.
func New(st Store) *Service { return &Service{Store: st} }

// ImportEnterprises upserts the enterprises in r by credit code. Only
// platform admins may (EFORBIDDEN otherwise, before anything is read).
func (s *Service) ImportEnterprises(ctx context.Context, r io.Reader, opt server.ImportOptions) (*server.ImportReport, error) {
	b := &enterpriseBatch{st: s.Store}
	if _, err := b.flush(ctx); err != nil {
		return nil, err
	}
	// Into an empty directory every row is new: the file repeats no key
	// (duplicate_key), so no batch meets one written by an earlier batch,
	// and batches may be written side by side.
	writers := 1
	if ns, ok := s.Store.(NewEnterpriseStore); ok {
		empty, err := ns.NoEnterprises(ctx)
		if err != nil {
			return nil, err
		}
		if empty {
			b.fresh = &freshEnterprises{st: ns}
			writers = s.writers()
		}
	}
	rep := newReport()
	out, err := s.run(ctx, r, opt, enterpriseColumns, b, rep, writers)
	return s.recorded(ctx, "enterprise", rep, out, err)
}

// ImportInspectors upserts the inspectors in r by certificate number.
// Platform admins may import into any department, department admins into
// their own (rows naming another department are rejected); others get
// EFORBIDDEN before anything is read.
func (s *Service) ImportInspectors(ctx context.Context, r io.Reader, opt server.ImportOptions) (*server.ImportReport, error) {
	b := &inspectorBatch{st: s.Store}
	if _, err := b.flush(ctx); err != nil {
		return nil, err
	}
	rep := newReport()
	out, err := s.run(ctx, r, opt, inspectorColumns, b, rep, 1)
	return s.recorded(ctx, "inspector", rep, out, err)
}

// Auditor is implemented by a Store that records each import once, when it
// ends (store.ImportStore appends one audit event with the counts): an
// import is many transactions, one per batch.
type Auditor interface {
	// AuditImport records an import into directory ("enterprise" or
	// "inspector") with its counts; complete is false for one that stopped
	// on an error after writing some batches.
	AuditImport(ctx context.Context, directory string, rep *server.ImportReport, complete bool) error
}

func newReport() *server.ImportReport { return &server.ImportReport{Errors: []server.ImportRowError{}} }

// recorded returns run's outcome once the store, if it is an Auditor, has
// recorded the import: every import that ends well, and one that failed
// after writing rows (whose batches stay written).
func (s *Service) recorded(ctx context.Context, directory string, rep, out *server.ImportReport, err error) (*server.ImportReport, error) {
	a, ok := s.Store.(Auditor)
	if !ok || (err != nil && rep.Inserted+rep.Updated == 0) {
		return out, err
	}
	// A client gone mid-file cancels ctx, but the batches it wrote stay
	// written, so they are recorded all the same.
	if aerr := a.AuditImport(context.WithoutCancel(ctx), directory, rep, err == nil); aerr != nil {
		return nil, errors.Join(err, fmt.Errorf("record the import: %w", aerr))
	}
	return out, err
}

// batch collects parsed rows until they are flushed to the store.
type batch interface {
	// key returns what job.seen keeps of the row's key (credit code or
	// certificate number, as the store compares it); ok is false if no row
	// with that key can be taken, so it can repeat none. keyColumn is the
	// column that holds it.
	key(rec record) (k seenKey, ok bool)
	keyColumn() string
	// add parses one data row; it returns the row's error, or nil if the row
	// joined the batch.
	add(row int, rec record) *server.ImportRowError
	len() int
	// flush writes the batch (an empty one: checks rights only), empties it
	// and returns its counts and the rows the store rejected, numbered as
	// in the file.
	flush(ctx context.Context) (flushed, error)
	// spare returns an empty batch of the same kind on the same store.
	spare() batch
}

// flushed is what writing one batch did.
type flushed struct {
	inserted, updated, unchanged int
	rejected                     []server.ImportRowError
}

// inflight is a batch being written while the next one is read.
type inflight struct {
	done    chan struct{}
	b       batch
	pending []server.ImportRowError // rows of the batch rejected while reading
	rows    int                     // data rows read into the batch
	res     flushed
	err     error
}

// job is one import in progress.
type job struct {
	rep     *server.ImportReport
	onError func(server.ImportRowError)
	pending []server.ImportRowError // rejected rows of the current batch
	rows    int                     // data rows of the current batch
	// seen maps each key taken so far to its row: a key repeated in one
	// file is an error, not a silent last-wins. 16 bytes an entry; with
	// counts, only keys that may repeat are kept.
	seen   map[seenKey]int32
	counts *keyCounts // the file's keys counted before reading; nil: keep all
}

// mayRepeat reports whether another row of the file may have key k.
func (j *job) mayRepeat(k seenKey) bool { return j.counts == nil || j.counts.mayRepeat(k) }

// seenKey is what job.seen keeps of a key: for enterprises the credit code
// itself, packed (server.CreditCodeKey); for inspectors a digest of the
// certificate number.
type seenKey [12]byte

// keyDigest returns a digest of k as a seenKey.
func keyDigest(k string) seenKey {
	sum := sha256.Sum256([]byte(k))
	return seenKey(sum[:12])
}

func (j *job) reject(e server.ImportRowError) { j.pending = append(j.pending, e) }

// endBatch records a written batch's counts and its rejections in row order.
func (j *job) endBatch(f *inflight) {
	j.rep.Rows += f.rows
	j.rep.Inserted += f.res.inserted
	j.rep.Updated += f.res.updated
	j.rep.Unchanged += f.res.unchanged
	pending := append(f.pending, f.res.rejected...)
	slices.SortStableFunc(pending, func(a, b server.ImportRowError) int { return cmp.Compare(a.Row, b.Row) })
	for _, e := range pending {
		j.rep.Rejected++
		if len(j.rep.Errors) < server.MaxImportErrors {
			j.rep.Errors = append(j.rep.Errors, e)
		} else {
			j.rep.ErrorsTruncated = true
		}
		if j.onError != nil {
			j.onError(e)
		}
	}
}

// run reads r row by row into b, flushing every BatchSize rows. Up to
// writers batches are written while the next is read, so the store and the
// parsing share the time; at most writers+1 batches are in memory. Batches
// end in file order and their rejections are reported in row order.
func (s *Service) run(ctx context.Context, r io.Reader, opt server.ImportOptions, cols []column, b batch, rep *server.ImportReport, writers int) (*server.ImportReport, error) {
	size := s.BatchSize
	if bs, ok := s.Store.(BatchSizer); ok && size <= 0 {
		size = bs.ImportBatchSize()
	}
	if size <= 0 {
		size = DefaultBatchSize
	}
	var keys *keyCounter
	if _, ok := b.(*enterpriseBatch); ok {
		keys = newKeyCounter(func(cells []string) int {
			h, err := mapHeader(cells, cols)
			if err != nil {
				return -1
			}
			return h.index["credit_code"]
		})
	}
	src, err := s.open(r, opt, keys)
	if err != nil {
		return nil, err
	}
	defer src.close()

	_, header, err := src.next()
	var bad *badRow
	if err == io.EOF {
		return nil, server.Errorf(server.EINVALID, "文件为空，缺少表头行 (the file is empty: no header row).")
	} else if asBadRow(err, &bad) {
		return nil, server.Errorf(server.EINVALID, "无法读取表头行 (cannot read the header row): %s", bad.msg)
	} else if err != nil {
		return nil, fileError(err)
	}
	hdr, err := mapHeader(header, cols)
	if err != nil {
		return nil, err
	}

	j := &job{rep: rep, onError: s.OnRowError, seen: map[seenKey]int32{}, counts: src.keyCounts()}
	var writing []*inflight // batches being written, oldest first
	var spares []batch      // written batches, emptied, to read into
	// waitOldest ends the oldest batch being written.
	waitOldest := func() error {
		f := writing[0]
		writing = writing[1:]
		<-f.done
		if f.err != nil {
			return f.err
		}
		spares = append(spares, f.b)
		j.endBatch(f)
		return nil
	}
	// waitAll ends every batch being written; those written are counted
	// even after one failed, for they stay written.
	waitAll := func() error {
		var errs []error
		for len(writing) > 0 {
			if err := waitOldest(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	// flush starts writing b, once fewer than writers batches are being
	// written, and reads on into an empty batch.
	flush := func() error {
		if len(writing) == writers {
			if err := waitOldest(); err != nil {
				return errors.Join(err, waitAll())
			}
		}
		f := &inflight{done: make(chan struct{}), b: b, pending: j.pending, rows: j.rows}
		j.pending, j.rows = nil, 0
		go func() {
			defer close(f.done)
			f.res, f.err = f.b.flush(ctx)
		}()
		writing = append(writing, f)
		if n := len(spares); n > 0 {
			b, spares = spares[n-1], spares[:n-1]
		} else {
			b = b.spare()
		}
		return nil
	}
	if err := s.read(ctx, src, hdr, &b, j, size, flush); err != nil {
		// Batches being written stay written: count them for the audit.
		if werr := waitAll(); werr != nil && !errors.Is(werr, err) {
			err = errors.Join(err, werr)
		}
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := waitAll(); err != nil {
		return nil, err
	}
	return j.rep, nil
}

// writers returns how many batches of new rows may be written at once: the
// Store's ImportWriters when it is a ParallelWriter, else 1.
func (s *Service) writers() int {
	if pw, ok := s.Store.(ParallelWriter); ok {
		return max(pw.ImportWriters(), 1)
	}
	return 1
}

// read reads the data rows of src into *b, calling flush (which swaps *b
// for an empty batch) every size rows or rejections.
func (s *Service) read(ctx context.Context, src source, hdr *header, pb *batch, j *job, size int, flush func() error) error {
	for {
		b := *pb
		if err := ctx.Err(); err != nil {
			return err
		}
		row, fields, err := src.next()
		if err == io.EOF {
			break
		}
		var bad *badRow
		switch {
		case asBadRow(err, &bad):
			j.rows++
			j.reject(server.ImportRowError{Row: row, Code: bad.code, Message: bad.msg})
		case err != nil:
			return fileError(err)
		case blank(fields):
			// Spreadsheets leave rows of empty cells behind; they are not data.
			continue
		default:
			j.rows++
			rec := record{hdr: hdr, fields: fields}
			if e := hdr.check(row, fields, src.strictWidth()); e != nil {
				j.reject(*e)
			} else if e := rec.checkText(row); e != nil {
				j.reject(*e)
			} else if k, ok := b.key(rec); ok && j.mayRepeat(k) && j.seen[k] != 0 {
				col, first := b.keyColumn(), j.seen[k]
				j.reject(server.ImportRowError{Row: row, Column: col, Code: CodeDuplicateKey,
					Message: fmt.Sprintf("与第%d行重复，同一文件中每个%s只能出现一次，已保留第%d行 (repeats row %d: a %s may appear once in a file; row %d was kept).",
						first, fieldNames[col], first, first, col, first)})
			} else if e := b.add(row, rec); e != nil {
				j.reject(*e)
			} else if ok {
				if j.mayRepeat(k) {
					j.seen[k] = int32(min(row, math.MaxInt32)) // lines beyond need a file over 2 GB
				}
			} else {
				// A key that does not pack is no credit code, and its row is refused.
				return fmt.Errorf("import: row %d taken with key %q", row, b.keyColumn())
			}
		}
		// Rejected rows wait for their batch too: flush when either is full,
		// so a file of bad rows does not pile them up in memory.
		if b.len() >= size || len(j.pending) >= size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// enterpriseBatch is a batch of enterprise rows.
type enterpriseBatch struct {
	st    Store
	fresh *freshEnterprises // shared by the batches of an import; nil: look every batch up
	rows  []int
	es    []*server.Enterprise
	set   []server.ImportFields
}

// freshEnterprises is an import into a directory that was empty when it
// began: its batches are written as new until one meets a stored credit
// code (written meanwhile by someone else). Batches may be written side by
// side, so found is atomic.
type freshEnterprises struct {
	st    NewEnterpriseStore
	found atomic.Bool
}

func (b *enterpriseBatch) len() int { return len(b.es) }

// key is the credit code packed: a row whose code is not 18 characters of
// the code's set is refused by parseEnterprise, so it can repeat no row taken.
func (b *enterpriseBatch) key(rec record) (seenKey, bool) {
	return server.CreditCodeKey(strings.ToUpper(rec.get("credit_code")))
}
func (b *enterpriseBatch) keyColumn() string { return "credit_code" }

func (b *enterpriseBatch) add(row int, rec record) *server.ImportRowError {
	e, set, rerr := parseEnterprise(rec)
	if rerr != nil {
		rerr.Row = row
		return rerr
	}
	b.rows, b.es, b.set = append(b.rows, row), append(b.es, e), append(b.set, set)
	return nil
}

func (b *enterpriseBatch) spare() batch { return &enterpriseBatch{st: b.st, fresh: b.fresh} }

func (b *enterpriseBatch) flush(ctx context.Context) (flushed, error) {
	set := b.set
	if set == nil {
		set = []server.ImportFields{} // an empty batch, not "every field"
	}
	var ins, upd, same int
	var err error
	if f := b.fresh; f != nil && !f.found.Load() && len(b.es) > 0 {
		var found bool
		ins, upd, same, found, err = f.st.UpsertNewEnterprises(ctx, b.es, set)
		if found {
			f.found.Store(true)
		}
	} else {
		ins, upd, same, err = b.st.UpsertEnterprises(ctx, b.es, set)
	}
	if err != nil {
		return flushed{}, err
	}
	clear(b.es) // let the written rows go
	b.rows, b.es, b.set = b.rows[:0], b.es[:0], b.set[:0]
	return flushed{inserted: ins, updated: upd, unchanged: same}, nil
}

// inspectorBatch is a batch of inspector rows with their department codes.
type inspectorBatch struct {
	st    Store
	rows  []int
	codes []string
	ins   []*server.Inspector
	set   []server.ImportFields
}

func (b *inspectorBatch) len() int { return len(b.ins) }

func (b *inspectorBatch) key(rec record) (seenKey, bool) {
	return keyDigest(rec.get("certificate_number")), true
}
func (b *inspectorBatch) keyColumn() string { return "certificate_number" }

func (b *inspectorBatch) add(row int, rec record) *server.ImportRowError {
	code, in, set, rerr := parseInspector(rec)
	if rerr != nil {
		rerr.Row = row
		return rerr
	}
	b.rows, b.codes, b.ins, b.set = append(b.rows, row), append(b.codes, code), append(b.ins, in), append(b.set, set)
	return nil
}

func (b *inspectorBatch) spare() batch { return &inspectorBatch{st: b.st} }

func (b *inspectorBatch) flush(ctx context.Context) (flushed, error) {
	set := b.set
	if set == nil {
		set = []server.ImportFields{}
	}
	ins, upd, same, rejected, err := b.st.UpsertInspectors(ctx, b.codes, b.ins, set)
	if err != nil {
		return flushed{}, err
	}
	for i := range rejected {
		rejected[i].Row = b.rows[rejected[i].Row]
	}
	clear(b.ins)
	b.rows, b.codes, b.ins, b.set = b.rows[:0], b.codes[:0], b.ins[:0], b.set[:0]
	return flushed{inserted: ins, updated: upd, unchanged: same, rejected: rejected}, nil
}
