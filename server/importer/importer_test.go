package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var root = &server.User{ID: 1, Username: "root", Role: server.RolePlatformAdmin}

func as(u *server.User) context.Context {
	return server.NewContextWithUser(context.Background(), u)
}

// fixture is a database with departments culture and market, and an
// importer writing to it in small batches so tests cross batch boundaries.
type fixture struct {
	db              *store.DB
	svc             *importer.Service
	culture, market *server.Department
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, culture: &server.Department{Code: "culture", Name: "文化"}, market: &server.Department{Code: "market", Name: "市场"}}
	for _, d := range []*server.Department{f.culture, f.market} {
		if err := store.NewDepartmentService(db).CreateDepartment(as(root), d); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = importer.New(store.NewImportStore(db))
	f.svc.BatchSize = 3
	f.svc.TempDir = t.TempDir()
	return f
}

// csvOf joins CSV lines.
func csvOf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

type counts struct{ rows, inserted, updated, unchanged, rejected int }

func checkReport(t *testing.T, rep *server.ImportReport, err error, want counts) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	got := counts{rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Rejected}
	if got != want {
		t.Fatalf("report %+v, want %+v; errors: %+v", got, want, rep.Errors)
	}
	if len(rep.Errors) != rep.Rejected {
		t.Fatalf("%d errors listed for %d rejected", len(rep.Errors), rep.Rejected)
	}
}

// checkErrors compares the rejected rows as "row column code".
func checkErrors(t *testing.T, rep *server.ImportReport, want ...string) {
	t.Helper()
	var got []string
	for _, e := range rep.Errors {
		got = append(got, fmt.Sprintf("%d %s %s", e.Row, e.Column, e.Code))
		if e.Message == "" {
			t.Errorf("row %d: empty message", e.Row)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s\nfull: %+v", strings.Join(got, "\n"), strings.Join(want, "\n"), rep.Errors)
	}
}

func enterprisesCSV() string {
	c := importtest.CreditCode
	return csvOf(
		"credit_code,name,category,district,address,legal_representative,licence_number,status,risk_class,latitude,longitude",
		c(1)+",星空网吧,internet_cafe,黄浦区,南京东路1号,张三,L1,active,A,31.23,121.47", // 2
		c(2)+",银河网咖,internet_cafe,静安区,,,,,,,",                             // 3: status defaults to active
		importtest.BadCreditCode(3)+",坏码网吧,internet_cafe,静安区,,,,,,,",      // 4
		c(4)+",,internet_cafe,静安区,,,,,,,",                                 // 5: no name
		c(5)+",状态错,internet_cafe,静安区,,,,closed,,,",                        // 6
		c(6)+",风险错,internet_cafe,静安区,,,,,E,,",                             // 7
		c(7)+",坐标错,internet_cafe,静安区,,,,,,north,121",                      // 8
		c(8)+",少一列,internet_cafe,静安区,,,,,,",                               // 9
		"", // blank lines are skipped, but counted as lines
		"  "+strings.ToLower(c(9))+"  , 小写代码 ,internet_cafe,徐汇区,,,,存续,b类,,", // 11: trimmed, upper-cased, mapped
		c(10)+",只有纬度,internet_cafe,徐汇区,,,,,,31.1,",                          // 12
	)
}

func TestImportEnterprises_CSV(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(root)
		rep, err := f.svc.ImportEnterprises(ctx, strings.NewReader(enterprisesCSV()), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 10, inserted: 3, rejected: 7})
		checkErrors(t, rep,
			"4 credit_code invalid_credit_code",
			"5 name missing_field",
			"6 status invalid_status",
			"7 risk_class invalid_risk_class",
			"8 latitude invalid_coordinates",
			"9  wrong_column_count",
			"12 longitude invalid_coordinates",
		)

		// The same file again changes nothing.
		rep, err = f.svc.ImportEnterprises(ctx, strings.NewReader(enterprisesCSV()), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 10, unchanged: 3, rejected: 7})

		// Fixed rows are inserted, changed rows updated.
		fixed := strings.Replace(enterprisesCSV(), "星空网吧", "星空网吧（新）", 1)
		fixed = strings.Replace(fixed, ",closed,", ",suspended,", 1)
		rep, err = f.svc.ImportEnterprises(ctx, strings.NewReader(fixed), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 10, inserted: 1, updated: 1, unchanged: 2, rejected: 6})
	})
}

func TestImportEnterprises_ChineseHeadersBOM(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		body := "\xEF\xBB\xBF" + csvOf(
			"统一社会信用代码,企业名称,行业类别,区县,经营场所,法定代表人,许可证号,经营状态,风险分类,纬度,经度,备注",
			importtest.CreditCode(1)+",星空网吧,互联网上网服务营业场所,黄浦区,南京东路1号,张三,L1,在业,A,31.23,121.47,多余的列被忽略",
			importtest.CreditCode(2)+",银河网咖,网吧,静安区,,,,注销,,,,",
		)
		var progress int64
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(body), server.ImportOptions{
			Format: server.ImportCSV, Progress: func(n int64) { progress = n },
		})
		checkReport(t, rep, err, counts{rows: 2, inserted: 2})
		if progress != int64(len(body)) {
			t.Fatalf("progress %d, want %d", progress, len(body))
		}
	})
}

func TestImportEnterprises_GB18030(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		utf := csvOf("统一社会信用代码,名称,类别,所属区县", importtest.CreditCode(1)+",星空网吧,internet_cafe,黄浦区")
		gb, err := simplifiedchinese.GB18030.NewEncoder().String(utf)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(gb), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 1, inserted: 1})
		// Read back as UTF-8: a second UTF-8 import of the same data is unchanged.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(utf), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 1, unchanged: 1})
	})
}

func TestImportEnterprises_Malformed(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		body := csvOf(
			"credit_code,name,category,district",
			importtest.CreditCode(1)+",星空\"网吧,internet_cafe,黄浦区",     // 2: bare quote
			importtest.CreditCode(2)+",\"多行\n名称\",internet_cafe,黄浦区", // 3-4: one record, but a name is one line
			importtest.CreditCode(3)+",银河网咖,internet_cafe,黄浦区",       // 5
		)
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(body), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 3, inserted: 1, rejected: 2})
		checkErrors(t, rep, "2  malformed_row", "3 name invalid_character")

		// Invalid UTF-8 after the start of a UTF-8 file rejects only its row.
		var buf bytes.Buffer
		if _, err := importtest.WriteEnterprisesCSV(&buf, 2000, 0); err != nil {
			t.Fatal(err)
		}
		buf.WriteString(importtest.CreditCode(5000) + ",\xff\xfe,internet_cafe,黄浦区,,,,,,,\n")
		rep, err = f.svc.ImportEnterprises(as(root), &buf, server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2001, inserted: 1999, updated: 1, rejected: 1}) // code 3 came from the file above
		checkErrors(t, rep, "2002  invalid_encoding")
	})
}

func TestImportEnterprises_WholeFileErrors(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for _, tt := range []struct {
			name, body string
			format     server.ImportFormat
			user       *server.User
			code       string
		}{
			{"MissingColumns", csvOf("credit_code,name", importtest.CreditCode(1)+",a"), server.ImportCSV, root, server.EINVALID},
			{"DuplicateColumn", csvOf("credit_code,name,名称,category,district"), server.ImportCSV, root, server.EINVALID},
			{"Empty", "", server.ImportCSV, root, server.EINVALID},
			{"NotXLSX", "credit_code,name", server.ImportXLSX, root, server.EINVALID},
			{"UnknownFormat", "x", "ods", root, server.EUNSUPPORTED},
			{"Forbidden", enterprisesCSV(), server.ImportCSV, &server.User{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &f.culture.ID}, server.EFORBIDDEN},
			{"Anonymous", enterprisesCSV(), server.ImportCSV, nil, server.EUNAUTHORIZED},
		} {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				if tt.user != nil {
					ctx = as(tt.user)
				}
				rep, err := f.svc.ImportEnterprises(ctx, strings.NewReader(tt.body), server.ImportOptions{Format: tt.format})
				if server.ErrorCode(err) != tt.code {
					t.Fatalf("%v %+v, want %s", err, rep, tt.code)
				}
				if msg := server.ErrorMessage(err); !strings.Contains(msg, "(") {
					t.Errorf("message %q should be Chinese then English", msg)
				}
			})
		}
		// Nothing was written by any of them.
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(enterprisesCSV()), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 10, inserted: 3, rejected: 7})
	})
}

// xlsxOf builds a workbook with excelize's StreamWriter.
func xlsxOf(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r == nil {
			continue // leave the row out: a gap in the sheet
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportEnterprises_XLSX(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := importtest.CreditCode
		book := xlsxOf(t,
			[]any{"统一社会信用代码", "企业名称", "类别", "所属区县", "纬度", "经度", "信用风险分类"},
			[]any{c(1), "星空网吧", "internet_cafe", "黄浦区", 31.230416, 121.473701, "A"}, // 2
			[]any{c(2), "银河网咖", "internet_cafe", "静安区"},                             // 3: trailing cells empty
			nil, // 4: missing row
			[]any{importtest.BadCreditCode(3), "坏码", "internet_cafe", "静安区"}, // 5
			[]any{c(4), "", "internet_cafe", "静安区"},                          // 6
			[]any{c(5), "多一列", "internet_cafe", "静安区", nil, nil, nil, "多余"},  // 7
		)
		rep, err := f.svc.ImportEnterprises(as(root), bytes.NewReader(book), server.ImportOptions{Format: server.ImportXLSX})
		checkReport(t, rep, err, counts{rows: 5, inserted: 2, rejected: 3})
		checkErrors(t, rep,
			"5 credit_code invalid_credit_code",
			"6 name missing_field",
			"7  wrong_column_count",
		)
		rep, err = f.svc.ImportEnterprises(as(root), bytes.NewReader(book), server.ImportOptions{Format: server.ImportXLSX})
		checkReport(t, rep, err, counts{rows: 5, unchanged: 2, rejected: 3})
	})
}

func inspectorsCSV() string {
	return csvOf(
		"部门代码,姓名,执法证号,执法证有效期起,执法证有效期止,执法领域,联系电话,状态",
		"culture,李四,C-0001,2024-01-01,2028-12-31,文化市场;网络文化,13900000001,在岗", // 2
		"market,王五,M-0001,2024/1/1,2028/12/31,市场监管、食品安全,,",                 // 3
		"culture,赵六,C-0002,2024-13-01,2028-12-31,,,",                       // 4: bad date
		"culture,钱七,C-0003,2028-01-01,2024-12-31,,,",                       // 5: ends before it starts
		"nowhere,孙八,X-0001,2024-01-01,2028-12-31,,,",                       // 6: unknown department
		"culture,周九,C-0004,2024-01-01,2028-12-31,,,retired",                // 7: bad status
		"culture,吴十,C-0005,2024-01-01",                                     // 8: too few columns
		"market,郑一,C-0001,2024-01-01,2028-12-31,,,",                        // 9: C-0001 is culture's
		"culture,,C-0006,2024-01-01,2028-12-31,,,",                         // 10: no name
	)
}

func TestImportInspectors(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		opt := server.ImportOptions{Format: server.ImportCSV}
		rep, err := f.svc.ImportInspectors(as(root), strings.NewReader(inspectorsCSV()), opt)
		checkReport(t, rep, err, counts{rows: 9, inserted: 2, rejected: 7})
		checkErrors(t, rep,
			"4 certificate_valid_from invalid_date",
			"5 certificate_valid_until invalid_date_range",
			"6 department unknown_department",
			"7 status invalid_status",
			"8  wrong_column_count",
			"9 certificate_number duplicate_key", // C-0001 is row 2's
			"10 name missing_field",
		)
		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(inspectorsCSV()), opt)
		checkReport(t, rep, err, counts{rows: 9, unchanged: 2, rejected: 7})
		// In a file of its own, the row is refused for what it is: C-0001 is culture's.
		other := csvOf("部门代码,姓名,执法证号,执法证有效期起,执法证有效期止", "market,郑一,C-0001,2024-01-01,2028-12-31")
		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(other), opt)
		checkReport(t, rep, err, counts{rows: 1, rejected: 1})
		checkErrors(t, rep, "2 certificate_number certificate_in_other_department")

		t.Run("DepartmentAdmin", func(t *testing.T) {
			admin := as(&server.User{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &f.culture.ID})
			body := strings.Replace(inspectorsCSV(), "文化市场;网络文化", "文化市场", 1)
			rep, err := f.svc.ImportInspectors(admin, strings.NewReader(body), opt)
			checkReport(t, rep, err, counts{rows: 9, updated: 1, rejected: 8})
			if e := rep.Errors[0]; e.Row != 3 || e.Code != "forbidden_department" {
				t.Fatalf("%+v", e)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			coord := as(&server.User{ID: 3, Role: server.RoleLeadCoordinator, DepartmentID: &f.culture.ID})
			if _, err := f.svc.ImportInspectors(coord, strings.NewReader(inspectorsCSV()), opt); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Fatalf("%v, want EFORBIDDEN", err)
			}
		})
		t.Run("XLSXDates", func(t *testing.T) {
			book := xlsxOf(t,
				[]any{"department", "name", "certificate_number", "certificate_valid_from", "certificate_valid_until", "domains"},
				[]any{"market", "陈二", "M-0002", 45292, "2028-12-31", "市场监管；价格"}, // 45292 is 2024-01-01
			)
			rep, err := f.svc.ImportInspectors(as(root), bytes.NewReader(book), server.ImportOptions{Format: server.ImportXLSX})
			checkReport(t, rep, err, counts{rows: 1, inserted: 1})
		})
	})
}

func TestImportEnterprises_OnRowError(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.svc.BatchSize = 1000
		var buf bytes.Buffer
		st, err := importtest.WriteEnterprisesCSV(&buf, 2000, 2)
		if err != nil {
			t.Fatal(err)
		}
		var seen []int
		f.svc.OnRowError = func(e server.ImportRowError) { seen = append(seen, e.Row) }
		rep, err := f.svc.ImportEnterprises(as(root), &buf, server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2000, inserted: st.Good, rejected: st.Bad})
		if fmt.Sprint(seen) != fmt.Sprint(st.BadRows) {
			t.Fatalf("OnRowError saw %d rows, want %d in order", len(seen), len(st.BadRows))
		}
	})
}

// countingStore is the real import store, counting its enterprise batches.
type countingStore struct {
	*store.ImportStore
	batches int
}

func (c *countingStore) UpsertEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (int, int, int, error) {
	if len(es) > 0 {
		c.batches++
	}
	return c.ImportStore.UpsertEnterprises(ctx, es, set)
}

// UpsertNewEnterprises: an import into an empty directory writes its batches here.
func (c *countingStore) UpsertNewEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (int, int, int, bool, error) {
	if len(es) > 0 {
		c.batches++
	}
	return c.ImportStore.UpsertNewEnterprises(ctx, es, set)
}

// TestImportEnterprises_StoreBatchSize checks that a service with no batch
// size of its own takes the store's: PostgreSQL writes a few thousand rows in
// one COPY and merge, SQLite in batches of DefaultBatchSize.
func TestImportEnterprises_StoreBatchSize(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		var buf bytes.Buffer
		st, err := importtest.WriteEnterprisesCSV(&buf, 2500, 50)
		if err != nil {
			t.Fatal(err)
		}
		cs := &countingStore{ImportStore: store.NewImportStore(db)}
		svc := importer.New(cs)
		svc.TempDir = t.TempDir()
		rep, err := svc.ImportEnterprises(as(root), &buf, server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2500, inserted: st.Good, rejected: st.Bad})
		want := 3
		if db.Dialect() == store.Postgres {
			want = 1
		}
		if cs.batches != want {
			t.Fatalf("%d batches, want %d", cs.batches, want)
		}
	})
}

// meddlingStore is the real import store, where someone else writes an
// enterprise of the file while the first batch of an import is written.
// It writes writers batches of new rows at once.
type meddlingStore struct {
	*store.ImportStore
	writers            int
	mu                 sync.Mutex // batches may be written side by side
	meddle             func()
	newCalls, oldCalls int
}

func (m *meddlingStore) ImportWriters() int { return m.writers }

func (m *meddlingStore) UpsertEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (int, int, int, error) {
	if len(es) > 0 {
		m.mu.Lock()
		m.oldCalls++
		m.mu.Unlock()
	}
	return m.ImportStore.UpsertEnterprises(ctx, es, set)
}

func (m *meddlingStore) UpsertNewEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (int, int, int, bool, error) {
	m.mu.Lock()
	m.newCalls++
	meddle := m.meddle
	m.meddle = nil
	m.mu.Unlock()
	if meddle != nil {
		meddle()
	}
	return m.ImportStore.UpsertNewEnterprises(ctx, es, set)
}

// TestImportEnterprises_IntoEmptyDirectory: an import into an empty
// directory writes its batches as new until one meets an enterprise
// written meanwhile by someone else; that batch and the rest are looked up,
// and the report is what it would have been all along. With two batches
// written at once, the one written alongside the batch that met the stored
// enterprise may have been begun as new too; the report is the same.
func TestImportEnterprises_IntoEmptyDirectory(t *testing.T) {
	for _, writers := range []int{1, 2} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			testImportIntoEmptyDirectory(t, writers)
		})
	}
}

func testImportIntoEmptyDirectory(t *testing.T, writers int) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		var buf bytes.Buffer
		st, err := importtest.WriteEnterprisesCSV(&buf, 2500, 50)
		if err != nil {
			t.Fatal(err)
		}
		ms := &meddlingStore{ImportStore: store.NewImportStore(db), writers: writers}
		// Row 1202 of the file (data row 1201, in the third batch of 500).
		other := &server.Enterprise{CreditCode: importtest.CreditCode(1201), Name: "别处写入", Category: server.CategoryInternetCafe,
			District: "区县01", Status: server.EnterpriseActive}
		ms.meddle = func() {
			if _, _, _, err := ms.ImportStore.UpsertEnterprises(as(root), []*server.Enterprise{other}, nil); err != nil {
				t.Error(err)
			}
		}
		svc := importer.New(ms)
		svc.BatchSize = 500
		svc.TempDir = t.TempDir()
		data := buf.Bytes()
		rep, err := svc.ImportEnterprises(as(root), bytes.NewReader(data), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2500, inserted: st.Good - 1, updated: 1, rejected: st.Bad})
		if got := findEnterprise(t, db, other.CreditCode); got.Name != "上网服务营业场所001201" {
			t.Fatalf("the file's row should win over the one written meanwhile: %q", got.Name)
		}
		// On PostgreSQL the third batch meets the stored row (and with two
		// writers the fourth may have begun as new alongside it); SQLite
		// looks every batch up.
		okCalls := ms.newCalls == 3 && ms.oldCalls == 2
		if writers == 2 {
			okCalls = okCalls || (ms.newCalls == 4 && ms.oldCalls == 1)
		}
		if db.Dialect() != store.Postgres {
			okCalls = ms.newCalls == 5 && ms.oldCalls == 0
		}
		if !okCalls {
			t.Fatalf("batches written as new %d, looked up %d", ms.newCalls, ms.oldCalls)
		}

		// Into a directory that is not empty, every batch is looked up.
		ms.newCalls, ms.oldCalls = 0, 0
		rep, err = svc.ImportEnterprises(as(root), bytes.NewReader(data), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2500, unchanged: st.Good, rejected: st.Bad})
		if ms.newCalls != 0 || ms.oldCalls != 5 {
			t.Fatalf("second import: batches written as new %d, looked up %d; want 0, 5", ms.newCalls, ms.oldCalls)
		}
	})
}
