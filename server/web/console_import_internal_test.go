package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

// An import's report is its importer's, for a day.
func TestImportReportKeeping(t *testing.T) {
	p := New(api.Services{}, []byte("0123456789abcdef0123456789abcdef"), nil)
	p.ReportDir = filepath.Join(t.TempDir(), "reports")
	alice := &server.User{ID: 7, Username: "alice", Role: server.RoleDepartmentAdmin}
	bob := &server.User{ID: 8, Username: "bob", Role: server.RolePlatformAdmin}
	rep := &server.ImportReport{Rows: 2, Inserted: 1, Rejected: 1, Errors: []server.ImportRowError{{Row: 3, Column: "name", Code: "invalid_name", Message: "姓名不能为空 (name required)."}}}
	id, err := p.saveImportReport(server.NewContextWithUser(context.Background(), alice), &storedImport{Kind: "inspectors", FileName: "a.csv", Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	load := func(u *server.User, id string) (*storedImport, error) {
		req := httptest.NewRequest(http.MethodGet, "/console/imports/"+id, nil)
		req = req.WithContext(server.NewContextWithUser(req.Context(), u))
		c := echo.New().NewContext(req, httptest.NewRecorder())
		c.SetParamNames("id")
		c.SetParamValues(id)
		_, si, err := p.loadImportReport(c)
		return si, err
	}
	if si, err := load(alice, id); err != nil || si.Report.Rejected != 1 || si.Report.Errors[0].Row != 3 {
		t.Fatalf("the importer's own report: %+v %v", si, err)
	}
	for name, try := range map[string]func() (*storedImport, error){
		"another user":   func() (*storedImport, error) { return load(bob, id) },
		"a made-up id":   func() (*storedImport, error) { return load(alice, "AAAAAAAAAAAAAAAAAAAAAAAAAA") },
		"a path":         func() (*storedImport, error) { return load(alice, "../"+id) },
		"a lowercase id": func() (*storedImport, error) { return load(alice, strings.ToLower(id)) },
	} {
		if _, err := try(); server.ErrorCode(err) != server.ENOTFOUND {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}

	// A day later it has expired, and the next import removes its file.
	path := filepath.Join(p.ReportDir, id+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-reportTTL - time.Minute)
	stale := bytes.Replace(b, []byte(`"at":"`), []byte(`"at":"`+old.UTC().Format(time.RFC3339Nano)+`","was":"`), 1)
	if err := os.WriteFile(path, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(alice, id); server.ErrorCode(err) != server.ENOTFOUND {
		t.Errorf("an expired report: %v", err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := p.saveImportReport(server.NewContextWithUser(context.Background(), alice), &storedImport{Kind: "inspectors", Report: rep}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the expired report's file is still there: %v", err)
	}
}

// The report as CSV: Chinese messages, and no cell a spreadsheet would run
// as a formula.
func TestImportErrorsCSV(t *testing.T) {
	var buf bytes.Buffer
	rep := &server.ImportReport{Errors: []server.ImportRowError{
		{Row: 2, Column: "name", Code: "invalid_name", Message: `姓名不能以=、+、-、@开头 (name may not start with =, +, - or @): "=cmd"`},
		{Row: 5, Code: "wrong_column_count", Message: "=1+1不是日期 (not a date)."},
	}}
	if err := writeImportErrorsCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff行号,列,错误代码,说明\n2,name,invalid_name,姓名不能以=、+、-、@开头\n5,,wrong_column_count,'=1+1不是日期\n"
	if got := buf.String(); got != want {
		t.Errorf("CSV:\n%q\nwant\n%q", got, want)
	}
}
