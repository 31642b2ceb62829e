package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/spotcheck/spotcheck/server"
)

// ImportStore upserts batches of directory rows for server/importer: one
// transaction per call, keyed by credit code or certificate number.
//
// Rows of a call are applied in order, as if one by one: a key seen for the
// first time is inserted, a row equal to what is stored (or to an earlier row
// of the same call) is unchanged, any other is an update, and the last row for
// a key wins. A row changes only the optional fields its server.ImportFields
// name (a nil set of fields: all of them); the others keep the stored values.
// Only rows whose final values differ from the stored ones are written, so
// importing the same rows twice writes nothing the second time.
type ImportStore struct{ db *DB }

// NewImportStore returns the import store on db.
func NewImportStore(db *DB) *ImportStore { return &ImportStore{db: db} }

// Row error codes the store reports for inspector rows.
const (
	CodeUnknownDepartment   = "unknown_department"
	CodeForbiddenDepartment = "forbidden_department"
	CodeOtherDepartment     = "certificate_in_other_department"
	CodeInvalidRow          = "invalid_row"
)

// importChunk bounds the keys of one IN list and the rows of one INSERT,
// well under SQLite's 32766 and PostgreSQL's 65535 bind parameters.
const importChunk = 1000

// UpsertEnterprises inserts or updates es by credit code; set[i] names the
// optional fields es[i] sets (nil set: every field). Only platform admins may
// (EFORBIDDEN otherwise); a call with no rows checks that and nothing else.
// Every enterprise must pass Validate (EINVALID otherwise, and nothing is written).
func (s *ImportStore) UpsertEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (inserted, updated, unchanged int, err error) {
	return s.upsertEnterprises(ctx, es, set, true)
}

// NoEnterprises reports whether no enterprise is stored. Only platform
// admins may ask.
func (s *ImportStore) NoEnterprises(ctx context.Context) (bool, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return false, err
	}
	var any bool
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		return tx.Raw(`SELECT EXISTS (SELECT 1 FROM enterprises)`).Scan(&any).Error
	})
	return !any, err
}

// UpsertNewEnterprises is UpsertEnterprises for a batch the caller expects
// to hold no stored credit code, such as a batch of an import into an empty
// directory whose file repeats no key: on PostgreSQL the batch is copied in
// without being looked up first. If a credit code is stored after all
// (written meanwhile by someone else), the copy fails on the credit code's
// unique index and the batch is written again as UpsertEnterprises writes
// it, and found is true. The outcome is UpsertEnterprises' either way.
func (s *ImportStore) UpsertNewEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (inserted, updated, unchanged int, found bool, err error) {
	inserted, updated, unchanged, err = s.upsertEnterprises(ctx, es, set, false)
	if errors.Is(err, errEnterpriseStored) {
		inserted, updated, unchanged, err = s.upsertEnterprises(ctx, es, set, true)
		return inserted, updated, unchanged, true, err
	}
	return inserted, updated, unchanged, false, err
}

// errEnterpriseStored is returned by upsertEnterprises without lookup when
// a credit code of the batch is stored.
var errEnterpriseStored = errors.New("an enterprise of the batch is stored")

// upsertEnterprises is UpsertEnterprises; without lookup, PostgreSQL takes
// no credit code of es to be stored, and errEnterpriseStored says one is.
func (s *ImportStore) upsertEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields, lookup bool) (inserted, updated, unchanged int, err error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return 0, 0, 0, err
	}
	for i, e := range es {
		if err := e.Validate(); err != nil {
			return 0, 0, 0, fmt.Errorf("enterprise %d of the batch: %w", i, err)
		}
	}
	if set != nil && len(set) != len(es) {
		return 0, 0, 0, fmt.Errorf("upsert enterprises: %d field sets for %d enterprises", len(set), len(es))
	}
	if len(es) == 0 {
		return 0, 0, 0, nil
	}
	if !lookup && s.db.dialect == Postgres {
		// A batch of distinct keys taken to be new is copied in as it is,
		// with nothing to decide row by row.
		if sorted, ok := distinctEnterprises(es); ok {
			err := s.db.WithPgConn(ctx, func(tx *Tx, pg PgConn) error {
				return pgInsertNewEnterprises(ctx, tx, pg, sorted)
			})
			if err != nil {
				return 0, 0, 0, err
			}
			return len(es), 0, 0, nil
		}
	}
	// On PostgreSQL (pg not nil) the batch is read by one query and written
	// by COPY (import_copy.go); the values are decided here on both dialects.
	err = s.db.WithPgConn(ctx, func(tx *Tx, pg PgConn) error {
		inserted, updated, unchanged = 0, 0, 0
		keys := make([]string, 0, len(es))
		for _, e := range es {
			keys = append(keys, e.CreditCode)
		}
		keys = importKeys(keys)
		stored := map[string]*enterpriseRow{}
		if pg != nil && lookup {
			err := pg(func(c *pgx.Conn) (err error) {
				stored, err = pgFindEnterprises(ctx, c, keys)
				return err
			})
			if err != nil {
				return fmt.Errorf("find enterprises: %w", tx.AddError(err))
			}
		}
		for _, chunk := range importChunks(keys) {
			if pg != nil {
				break // found above
			}
			var rows []enterpriseRow
			if err := tx.Where("credit_code IN ?", chunk).Find(&rows).Error; err != nil {
				return fmt.Errorf("find enterprises: %w", err)
			}
			for i := range rows {
				stored[rows[i].CreditCode] = &rows[i]
			}
		}

		// want holds each key's values after the rows seen so far.
		want := make(map[string]*enterpriseRow, len(keys))
		var fresh []string // keys to insert, in first-seen order
		for i, e := range es {
			r := enterpriseRowOf(e)
			cur := want[r.CreditCode]
			if cur == nil {
				if old := stored[r.CreditCode]; old != nil {
					c := *old
					cur = &c
					want[r.CreditCode] = cur
				}
			}
			if cur != nil && set != nil {
				keepEnterpriseFields(&r, cur, set[i])
			}
			switch {
			case cur == nil:
				r.ID, r.CreatedAt, r.UpdatedAt = 0, tx.Now, tx.Now
				want[r.CreditCode] = &r
				fresh = append(fresh, r.CreditCode)
				inserted++
			case sameEnterprise(cur, &r):
				unchanged++
			default:
				r.ID, r.CreatedAt, r.UpdatedAt = cur.ID, cur.CreatedAt, tx.Now
				*cur = r
				updated++
			}
		}

		if pg != nil {
			return pgWriteEnterprises(ctx, tx, pg, keys, stored, want, lookup)
		}
		for _, chunk := range importChunks(fresh) {
			rows := make([]enterpriseRow, len(chunk))
			for i, k := range chunk {
				rows[i] = *want[k]
			}
			if err := tx.Create(&rows).Error; err != nil {
				return translate(err, objEnterprise)
			}
		}
		// Keys in sorted order, so concurrent imports lock rows in the same order.
		for _, k := range keys {
			old, w := stored[k], want[k]
			if old == nil || sameEnterprise(old, w) {
				continue
			}
			err := tx.Model(&enterpriseRow{}).Where("id = ?", old.ID).Updates(map[string]any{
				"name": w.Name, "category": w.Category, "district": w.District, "address": w.Address,
				"legal_representative": w.LegalRepresentative, "licence_number": w.LicenceNumber,
				"status": w.Status, "risk_class": w.RiskClass, "latitude": w.Latitude, "longitude": w.Longitude,
				"updated_at": tx.Now,
			}).Error
			if err != nil {
				return translate(err, objEnterprise)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return inserted, updated, unchanged, nil
}

// distinctEnterprises returns es in credit code order, and whether no
// credit code appears twice.
func distinctEnterprises(es []*server.Enterprise) ([]*server.Enterprise, bool) {
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b *server.Enterprise) int { return strings.Compare(a.CreditCode, b.CreditCode) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].CreditCode == sorted[i-1].CreditCode {
			return nil, false
		}
	}
	return sorted, true
}

// keepEnterpriseFields copies into r the optional fields set does not name
// from cur, the record r updates.
func keepEnterpriseFields(r, cur *enterpriseRow, set server.ImportFields) {
	if !set.Has(server.ImportAddress) {
		r.Address = cur.Address
	}
	if !set.Has(server.ImportLegalRepresentative) {
		r.LegalRepresentative = cur.LegalRepresentative
	}
	if !set.Has(server.ImportLicenceNumber) {
		r.LicenceNumber = cur.LicenceNumber
	}
	if !set.Has(server.ImportStatus) {
		r.Status = cur.Status
	}
	if !set.Has(server.ImportRiskClass) {
		r.RiskClass = cur.RiskClass
	}
	if !set.Has(server.ImportCoordinates) {
		r.Latitude, r.Longitude = cur.Latitude, cur.Longitude
	}
}

// sameEnterprise reports whether a and b hold the same directory data.
func sameEnterprise(a, b *enterpriseRow) bool {
	return a.CreditCode == b.CreditCode && a.Name == b.Name && a.Category == b.Category &&
		a.District == b.District && a.Address == b.Address && a.LegalRepresentative == b.LegalRepresentative &&
		a.LicenceNumber == b.LicenceNumber && a.Status == b.Status && a.RiskClass == b.RiskClass &&
		sameImportFloat(a.Latitude, b.Latitude) && sameImportFloat(a.Longitude, b.Longitude)
}

func sameImportFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// UpsertInspectors inserts or updates ins by certificate number; deptCodes[i]
// is the code of the department of ins[i], whose DepartmentID is ignored and
// set from it, and set[i] names the optional fields it sets (nil set: every
// field). Platform admins may import into any department and department
// admins into their own; any other role gets EFORBIDDEN, and a call with no
// rows checks only that.
//
// A row is rejected, and the others kept, when its department code is
// unknown, when a department admin names another department, or when its
// certificate number belongs to an inspector of another department (an
// import never moves an inspector). Each rejection's Row is the row's index
// in ins; the caller maps it to its own numbering.
func (s *ImportStore) UpsertInspectors(ctx context.Context, deptCodes []string, ins []*server.Inspector, set []server.ImportFields) (inserted, updated, unchanged int, rejected []server.ImportRowError, err error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return 0, 0, 0, nil, err
	}
	u := server.UserFromContext(ctx)
	if u.Role == server.RoleDepartmentAdmin && u.DepartmentID == nil {
		return 0, 0, 0, nil, server.Errorf(server.EFORBIDDEN, "无权执行此操作 (your role may not do this).")
	}
	if len(deptCodes) != len(ins) {
		return 0, 0, 0, nil, fmt.Errorf("upsert inspectors: %d department codes for %d inspectors", len(deptCodes), len(ins))
	}
	if set != nil && len(set) != len(ins) {
		return 0, 0, 0, nil, fmt.Errorf("upsert inspectors: %d field sets for %d inspectors", len(set), len(ins))
	}
	if len(ins) == 0 {
		return 0, 0, 0, nil, nil
	}
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		inserted, updated, unchanged, rejected = 0, 0, 0, nil
		depts := map[string]int64{}
		for _, chunk := range importChunks(importKeys(deptCodes)) {
			var rows []departmentRow
			if err := tx.Where("code IN ?", chunk).Find(&rows).Error; err != nil {
				return fmt.Errorf("find departments: %w", err)
			}
			for _, r := range rows {
				depts[r.Code] = r.ID
			}
		}
		keys := make([]string, 0, len(ins))
		for _, in := range ins {
			keys = append(keys, in.CertificateNumber)
		}
		stored := map[string]*inspectorRow{}
		for _, chunk := range importChunks(importKeys(keys)) {
			var rows []inspectorRow
			if err := tx.Where("certificate_number IN ?", chunk).Find(&rows).Error; err != nil {
				return fmt.Errorf("find inspectors: %w", err)
			}
			for i := range rows {
				rows[i].Domains = canonicalDomains(rows[i].Domains)
				stored[rows[i].CertificateNumber] = &rows[i]
			}
		}

		reject := func(i int, column, code, format string, args ...any) {
			rejected = append(rejected, server.ImportRowError{Row: i, Column: column, Code: code, Message: fmt.Sprintf(format, args...)})
		}
		want := map[string]*inspectorRow{}
		var fresh []string
		for i, in := range ins {
			deptID, ok := depts[deptCodes[i]]
			if !ok {
				reject(i, "department", CodeUnknownDepartment, "部门代码不存在 (unknown department code): %q", deptCodes[i])
				continue
			}
			if u.Role == server.RoleDepartmentAdmin && !u.InDepartment(deptID) {
				reject(i, "department", CodeForbiddenDepartment, "只能导入本部门的执法人员 (you may import only your own department's inspectors): %q", deptCodes[i])
				continue
			}
			c := *in
			c.DepartmentID = deptID
			if err := c.Validate(); err != nil {
				reject(i, "", CodeInvalidRow, "%s", server.ErrorMessage(err))
				continue
			}
			r := inspectorRowOf(&c)
			cur := want[r.CertificateNumber]
			if cur == nil {
				if old := stored[r.CertificateNumber]; old != nil {
					c := *old
					cur = &c
					want[r.CertificateNumber] = cur
				}
			}
			if cur != nil && set != nil && cur.DepartmentID == r.DepartmentID {
				keepInspectorFields(&r, cur, set[i])
			}
			switch {
			case cur != nil && cur.DepartmentID != r.DepartmentID:
				reject(i, "certificate_number", CodeOtherDepartment, "该执法证号已属于其他部门的执法人员，导入不会调动人员 (this certificate number belongs to an inspector of another department; an import never moves inspectors): %q", r.CertificateNumber)
			case cur == nil:
				r.ID, r.CreatedAt, r.UpdatedAt = 0, tx.Now, tx.Now
				want[r.CertificateNumber] = &r
				fresh = append(fresh, r.CertificateNumber)
				inserted++
			case sameInspector(cur, &r):
				unchanged++
			default:
				r.ID, r.CreatedAt, r.UpdatedAt = cur.ID, cur.CreatedAt, tx.Now
				*cur = r
				updated++
			}
		}

		for _, chunk := range importChunks(fresh) {
			rows := make([]inspectorRow, len(chunk))
			for i, k := range chunk {
				rows[i] = *want[k]
			}
			if err := tx.Create(&rows).Error; err != nil {
				return translate(err, objInspector)
			}
		}
		for _, k := range importKeys(keys) {
			old, w := stored[k], want[k]
			if old == nil || w == nil || sameInspector(old, w) {
				continue
			}
			err := tx.Model(&inspectorRow{}).Where("id = ?", old.ID).Updates(map[string]any{
				"name": w.Name, "certificate_valid_from": w.CertificateValidFrom,
				"certificate_valid_until": w.CertificateValidUntil, "domains": w.Domains,
				"phone": w.Phone, "status": w.Status, "updated_at": tx.Now,
			}).Error
			if err != nil {
				return translate(err, objInspector)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return inserted, updated, unchanged, rejected, nil
}

// keepInspectorFields copies into r the optional fields set does not name
// from cur, the record r updates.
func keepInspectorFields(r, cur *inspectorRow, set server.ImportFields) {
	if !set.Has(server.ImportDomains) {
		r.Domains = cur.Domains
	}
	if !set.Has(server.ImportPhone) {
		r.Phone = cur.Phone
	}
	if !set.Has(server.ImportStatus) {
		r.Status = cur.Status
	}
}

// sameInspector reports whether a and b hold the same roster data; domains
// must both be in canonical form.
func sameInspector(a, b *inspectorRow) bool {
	return a.DepartmentID == b.DepartmentID && a.CertificateNumber == b.CertificateNumber && a.Name == b.Name &&
		a.CertificateValidFrom == b.CertificateValidFrom && a.CertificateValidUntil == b.CertificateValidUntil &&
		a.Domains == b.Domains && a.Phone == b.Phone && a.Status == b.Status
}

// canonicalDomains re-encodes a stored JSON array the way inspectorRowOf
// does, so rows written by other code compare equal when their domains are.
func canonicalDomains(s string) string {
	var d []string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return s
	}
	if d == nil {
		d = []string{}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// importKeys returns the distinct values of s in ascending order.
func importKeys(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// importChunks splits s into slices of at most importChunk values.
func importChunks(s []string) [][]string {
	var out [][]string
	for len(s) > importChunk {
		out = append(out, s[:importChunk])
		s = s[importChunk:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
