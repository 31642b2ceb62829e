package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL an enterprise batch is read with one query by key and
// written with binary COPY: the new records straight into enterprises, the
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
	_, err := c.CopyFrom(ctx, pgx.Identifier{"enterprises"}, enterpriseCopyColumns[1:], &enterpriseSource{rows: rows, withID: false})
	return err
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
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"import_enterprises"}, enterpriseCopyColumns, &enterpriseSource{rows: rows, withID: true}); err != nil {
		return err
	}
	_, err = c.Exec(ctx, `UPDATE enterprises e SET name = s.name, category = s.category,
	district = s.district, address = s.address, legal_representative = s.legal_representative,
	licence_number = s.licence_number, status = s.status, risk_class = s.risk_class,
	latitude = s.latitude, longitude = s.longitude, updated_at = $1::timestamptz
FROM import_enterprises s WHERE e.id = s.id`, now)
	return err
}

// enterpriseCopyColumns are the columns an enterpriseSource writes, id first.
var enterpriseCopyColumns = []string{"id", "credit_code", "name", "category", "district", "address",
	"legal_representative", "licence_number", "status", "risk_class", "latitude", "longitude",
	"created_at", "updated_at"}

// enterpriseSource is a pgx.CopyFromSource over enterprise rows, with or
// without their ids; pgx encodes each row before asking for the next, so
// one row slice serves all.
type enterpriseSource struct {
	rows   []*enterpriseRow
	withID bool
	next   int
	row    [14]any
}

func (s *enterpriseSource) Next() bool { s.next++; return s.next <= len(s.rows) }
func (s *enterpriseSource) Err() error { return nil }

func (s *enterpriseSource) Values() ([]any, error) {
	r := s.rows[s.next-1]
	s.row = [14]any{r.ID, r.CreditCode, r.Name, r.Category, r.District, r.Address, r.LegalRepresentative,
		r.LicenceNumber, r.Status, r.RiskClass, r.Latitude, r.Longitude, r.CreatedAt, r.UpdatedAt}
	if s.withID {
		return s.row[:], nil
	}
	return s.row[1:], nil
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "enterprises_credit_code_key" && !lookedUp {
		return errEnterpriseStored
	}
	if err != nil {
		return translate(tx.AddError(err), objEnterprise)
	}
	return nil
}
