package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/spotcheck/spotcheck/server"
)

// PostgreSQL imports enterprises with a binary COPY into a temporary staging
// table and one INSERT … SELECT … ON CONFLICT per batch, instead of a SELECT,
// INSERTs and one UPDATE per changed row.

// ImportBatchSize is how many rows one call should carry for the store to
// write them fastest: large on PostgreSQL, where a call is one COPY and one
// merge, and importer.DefaultBatchSize's 1000 on SQLite.
func (s *ImportStore) ImportBatchSize() int {
	if s.db.dialect == Postgres {
		return pgImportBatch
	}
	return 0
}

// pgImportBatch bounds the rows of a PostgreSQL import batch: big enough
// that per-transaction costs vanish, small enough that the batch held in
// memory stays a few megabytes.
const pgImportBatch = 20000

// distinctCreditCodes reports whether no two of es share a credit code.
func distinctCreditCodes(es []*server.Enterprise) bool {
	seen := make(map[string]struct{}, len(es))
	for _, e := range es {
		if _, ok := seen[e.CreditCode]; ok {
			return false
		}
		seen[e.CreditCode] = struct{}{}
	}
	return true
}

// enterpriseStagingColumns are the columns of the staging table, in COPY
// order; fields holds the row's server.ImportFields.
var enterpriseStagingColumns = []string{"credit_code", "name", "category", "district", "address",
	"legal_representative", "licence_number", "status", "risk_class", "latitude", "longitude", "fields"}

const createEnterpriseStaging = `CREATE TEMP TABLE import_enterprises (
	credit_code TEXT NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL, district TEXT NOT NULL,
	address TEXT NOT NULL, legal_representative TEXT NOT NULL, licence_number TEXT NOT NULL,
	status TEXT NOT NULL, risk_class TEXT NOT NULL, latitude DOUBLE PRECISION, longitude DOUBLE PRECISION,
	fields INTEGER NOT NULL
) ON COMMIT DROP`

// updateEnterprises updates the stored records that differ from their
// staged rows, in credit code order so concurrent imports lock rows in the
// same order; a record keeps each optional field its row does not set.
// insertEnterprises then inserts the rows whose key is not stored. A row
// inserted meanwhile by another transaction is a unique violation, as on the
// SQLite path.
var updateEnterprises = fmt.Sprintf(`UPDATE enterprises e SET name = s.name, category = s.category,
	district = s.district, address = s.address, legal_representative = s.legal_representative,
	licence_number = s.licence_number, status = s.status, risk_class = s.risk_class,
	latitude = s.latitude, longitude = s.longitude, updated_at = $1::timestamptz
FROM (
	SELECT s.credit_code, s.name, s.category, s.district,
		CASE WHEN s.fields & %d <> 0 THEN s.address ELSE o.address END AS address,
		CASE WHEN s.fields & %d <> 0 THEN s.legal_representative ELSE o.legal_representative END AS legal_representative,
		CASE WHEN s.fields & %d <> 0 THEN s.licence_number ELSE o.licence_number END AS licence_number,
		CASE WHEN s.fields & %d <> 0 THEN s.status ELSE o.status END AS status,
		CASE WHEN s.fields & %d <> 0 THEN s.risk_class ELSE o.risk_class END AS risk_class,
		CASE WHEN s.fields & %[6]d <> 0 THEN s.latitude ELSE o.latitude END AS latitude,
		CASE WHEN s.fields & %[6]d <> 0 THEN s.longitude ELSE o.longitude END AS longitude
	FROM import_enterprises s JOIN enterprises o ON o.credit_code = s.credit_code
	ORDER BY s.credit_code
) s
WHERE e.credit_code = s.credit_code AND (e.name, e.category, e.district, e.address,
		e.legal_representative, e.licence_number, e.status, e.risk_class, e.latitude, e.longitude)
	IS DISTINCT FROM (s.name, s.category, s.district, s.address, s.legal_representative,
		s.licence_number, s.status, s.risk_class, s.latitude, s.longitude)`,
	server.ImportAddress, server.ImportLegalRepresentative, server.ImportLicenceNumber,
	server.ImportStatus, server.ImportRiskClass, server.ImportCoordinates)

const insertEnterprises = `INSERT INTO enterprises (credit_code, name, category, district, address,
	legal_representative, licence_number, status, risk_class, latitude, longitude, created_at, updated_at)
SELECT s.credit_code, s.name, s.category, s.district, s.address, s.legal_representative,
	s.licence_number, s.status, s.risk_class, s.latitude, s.longitude, $1::timestamptz, $1::timestamptz
FROM import_enterprises s
WHERE NOT EXISTS (SELECT 1 FROM enterprises o WHERE o.credit_code = s.credit_code)
ORDER BY s.credit_code`

// pgImportSettings make the merge probe the credit code index once per
// staged row: a hash or merge join would read the whole directory for
// every batch, and the staging table has no statistics to tell.
const pgImportSettings = `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL work_mem = '64MB'`

// copyEnterprises is UpsertEnterprises on PostgreSQL for es of distinct
// credit codes, already validated.
func (s *ImportStore) copyEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (inserted, updated, unchanged int, err error) {
	err = s.db.WithPgConn(ctx, func(tx *Tx, pg PgConn) error {
		err := pg(func(c *pgx.Conn) error {
			if _, err := c.Exec(ctx, pgImportSettings); err != nil {
				return err
			}
			if _, err := c.Exec(ctx, createEnterpriseStaging); err != nil {
				return err
			}
			src := &enterpriseSource{es: es, set: set, row: make([]any, len(enterpriseStagingColumns))}
			if _, err := c.CopyFrom(ctx, pgx.Identifier{"import_enterprises"}, enterpriseStagingColumns, src); err != nil {
				return err
			}
			tag, err := c.Exec(ctx, updateEnterprises, tx.Now)
			if err != nil {
				return err
			}
			updated = int(tag.RowsAffected())
			if tag, err = c.Exec(ctx, insertEnterprises, tx.Now); err != nil {
				return err
			}
			inserted = int(tag.RowsAffected())
			unchanged = len(es) - inserted - updated
			return nil
		})
		if err != nil {
			return translate(tx.AddError(err), objEnterprise)
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return inserted, updated, unchanged, nil
}

// enterpriseSource is a pgx.CopyFromSource over enterprises and their
// fields; pgx encodes each row before asking for the next, so one row
// slice serves all.
type enterpriseSource struct {
	es   []*server.Enterprise
	set  []server.ImportFields
	next int
	row  []any
}

func (s *enterpriseSource) Next() bool { s.next++; return s.next <= len(s.es) }
func (s *enterpriseSource) Err() error { return nil }

func (s *enterpriseSource) Values() ([]any, error) {
	i := s.next - 1
	e := s.es[i]
	fields := server.ImportAllFields
	if s.set != nil {
		fields = s.set[i]
	}
	s.row[0], s.row[1], s.row[2], s.row[3] = e.CreditCode, e.Name, e.Category, e.District
	s.row[4], s.row[5], s.row[6] = e.Address, e.LegalRepresentative, e.LicenceNumber
	s.row[7], s.row[8] = string(e.Status), string(e.RiskClass)
	s.row[9], s.row[10], s.row[11] = e.Latitude, e.Longitude, int32(fields)
	return s.row, nil
}
