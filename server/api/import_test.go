package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/report"
	"github.com/spotcheck/spotcheck/syncproto"
)

// upload posts body as the raw request body with the content type.
func importUpload(t *testing.T, h *apptest.Harness, path, token, contentType string, body io.Reader) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", h.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.Send(t, req)
}

func importReport(t *testing.T, r *apptest.Response) server.ImportReport {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var rep server.ImportReport
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestImportEnterprises(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root := h.Token(t, "root")
		var buf bytes.Buffer
		st, err := importtest.WriteEnterprisesCSV(&buf, 300, 10)
		if err != nil {
			t.Fatal(err)
		}
		file := buf.Bytes()

		t.Run("OK", func(t *testing.T) {
			rep := importReport(t, importUpload(t, h, "/v1/imports/enterprises", root, "text/csv; charset=utf-8", bytes.NewReader(file)))
			if rep.Rows != 300 || rep.Inserted != st.Good || rep.Rejected != st.Bad || len(rep.Errors) != st.Bad {
				t.Fatalf("report %+v", rep)
			}
			if e := rep.Errors[0]; e.Row != st.BadRows[0] || e.Code == "" || e.Message == "" {
				t.Fatalf("first error %+v, want row %d", e, st.BadRows[0])
			}
			// The same file again changes nothing.
			rep = importReport(t, importUpload(t, h, "/v1/imports/enterprises", root, "text/csv", bytes.NewReader(file)))
			if rep.Inserted != 0 || rep.Updated != 0 || rep.Unchanged != st.Good || rep.Rejected != st.Bad {
				t.Fatalf("second report %+v", rep)
			}
		})
		t.Run("XLSX", func(t *testing.T) {
			f := excelize.NewFile()
			defer f.Close()
			f.SetSheetRow("Sheet1", "A1", &[]any{"统一社会信用代码", "企业名称", "类别", "区县"})
			f.SetSheetRow("Sheet1", "A2", &[]any{importtest.CreditCode(9001), "星空网吧", "internet_cafe", "黄浦区"})
			var book bytes.Buffer
			if err := f.Write(&book); err != nil {
				t.Fatal(err)
			}
			rep := importReport(t, importUpload(t, h, "/v1/imports/enterprises", root, report.MediaTypeXLSX, &book))
			if rep.Rows != 1 || rep.Inserted != 1 {
				t.Fatalf("report %+v", rep)
			}
		})
		for _, tt := range []struct {
			name, user, contentType, body string
			status                        int
			code                          string
		}{
			{"ErrUnsupportedType", "root", "application/json", `{}`, http.StatusUnsupportedMediaType, syncproto.CodeUnsupportedType},
			{"ErrMissingColumns", "root", "text/csv", "credit_code,name\n", http.StatusBadRequest, syncproto.CodeInvalid},
			{"ErrNotXLSX", "root", report.MediaTypeXLSX, "credit_code,name\n", http.StatusBadRequest, syncproto.CodeInvalid},
			{"ErrDepartmentAdmin", "admin-a", "text/csv", string(file), http.StatusForbidden, syncproto.CodeForbidden},
			{"ErrCoordinator", "coord-a", "text/csv", string(file), http.StatusForbidden, syncproto.CodeForbidden},
			{"ErrNoToken", "", "text/csv", string(file), http.StatusUnauthorized, syncproto.CodeUnauthorized},
		} {
			t.Run(tt.name, func(t *testing.T) {
				token := ""
				if tt.user != "" {
					token = h.Token(t, tt.user)
				}
				r := importUpload(t, h, "/v1/imports/enterprises", token, tt.contentType, strings.NewReader(tt.body))
				if r.Status != tt.status || r.Error().Code != tt.code {
					t.Fatalf("status %d: %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
				}
			})
		}
	})
}

func TestImportInspectors(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		file := "部门,姓名,执法证号,执法证有效期起,执法证有效期止,执法领域,电话,状态\n" +
			"culture,李四,IMP-C-1,2024-01-01,2028-12-31,文化市场、网络文化,13900000001,\n" + // 2
			"market,王五,IMP-M-1,2024-01-01,2028-12-31,市场监管,,\n" + // 3
			"culture,赵六,IMP-C-2,2024-01-01,2023-12-31,,,\n" + // 4: ends before it starts
			"nowhere,孙八,IMP-X-1,2024-01-01,2028-12-31,,,\n" // 5

		t.Run("DepartmentAdmin", func(t *testing.T) {
			rep := importReport(t, importUpload(t, h, "/v1/imports/inspectors", h.Token(t, "admin-a"), "text/csv", strings.NewReader(file)))
			if rep.Rows != 4 || rep.Inserted != 1 || rep.Rejected != 3 {
				t.Fatalf("report %+v", rep)
			}
			want := []string{"3 department forbidden_department", "4 certificate_valid_until invalid_date_range", "5 department unknown_department"}
			for i, e := range rep.Errors {
				if got := fmt.Sprintf("%d %s %s", e.Row, e.Column, e.Code); got != want[i] {
					t.Errorf("error %d: %s, want %s", i, got, want[i])
				}
			}
		})
		t.Run("PlatformAdmin", func(t *testing.T) {
			rep := importReport(t, importUpload(t, h, "/v1/imports/inspectors", h.Token(t, "root"), "text/csv", strings.NewReader(file)))
			if rep.Rows != 4 || rep.Inserted != 1 || rep.Unchanged != 1 || rep.Rejected != 2 {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run("ErrCoordinator", func(t *testing.T) {
			r := importUpload(t, h, "/v1/imports/inspectors", h.Token(t, "coord-a"), "text/csv", strings.NewReader(file))
			if r.Status != http.StatusForbidden || r.Error().Code != syncproto.CodeForbidden {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
	})
}

// TestImport_BadCellsPerRow: a NUL cell (which PostgreSQL cannot store) is
// one rejected row, not a 500 that loses the good rows; an inspector file
// without a status column leaves an inspector on leave; a GBK file is read
// as its charset says.
func TestImport_BadCellsPerRow(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root := h.Token(t, "root")
		c := importtest.CreditCode
		body := "credit_code,name,category,district\n" +
			c(1) + ",星空网吧,internet_cafe,路南区\n" +
			c(2) + ",银河\x00网咖,internet_cafe,路北区\n" +
			c(3) + ",云端网咖,internet_cafe,古冶区\n"
		rep := importReport(t, importUpload(t, h, "/v1/imports/enterprises", root, "text/csv", strings.NewReader(body)))
		if rep.Inserted != 2 || rep.Rejected != 1 || rep.Errors[0].Row != 3 || rep.Errors[0].Code != "invalid_character" {
			t.Fatalf("report %+v", rep)
		}

		gbk := "credit_code,name,category,district\n" + c(4) + ",\xd0\xc7\xbf\xd5,internet_cafe,\xc2\xb7\xc4\xcf\xc7\xf8\n" // 星空, 路南区
		rep = importReport(t, importUpload(t, h, "/v1/imports/enterprises?encoding=utf-8", root, "text/csv", strings.NewReader(gbk)))
		if rep.Inserted != 0 || rep.Rejected != 1 || rep.Errors[0].Code != "invalid_encoding" {
			t.Fatalf("GBK said to be UTF-8: %+v", rep)
		}
		rep = importReport(t, importUpload(t, h, "/v1/imports/enterprises", root, "text/csv; charset=GBK", strings.NewReader(gbk)))
		if rep.Inserted != 1 {
			t.Fatalf("GBK: %+v", rep)
		}
		if r := importUpload(t, h, "/v1/imports/enterprises?encoding=ebcdic", root, "text/csv", strings.NewReader(gbk)); r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("unknown encoding: %d %s", r.Status, r.Body)
		}

		admin := h.Token(t, "admin-a")
		in := h.Inspectors["insp-a1"]
		h.MustDo(t, "PATCH", fmt.Sprintf("/v1/inspectors/%d", in.ID), admin, map[string]any{"status": "on_leave"}, http.StatusOK, nil)
		roster := "department,name,certificate_number,certificate_valid_from,certificate_valid_until\n" +
			fmt.Sprintf("culture,%s,%s,2024-01-01,2028-12-31\n", in.Name, in.CertificateNumber)
		rep = importReport(t, importUpload(t, h, "/v1/imports/inspectors", admin, "text/csv", strings.NewReader(roster)))
		if rep.Unchanged != 1 {
			t.Fatalf("roster: %+v", rep)
		}
		var got api.Inspector
		h.MustDo(t, "GET", fmt.Sprintf("/v1/inspectors/%d", in.ID), admin, nil, http.StatusOK, &got)
		if got.Status != "on_leave" || got.Phone != in.Phone || len(got.Domains) != len(in.Domains) {
			t.Fatalf("a roster without status, phone and domains changed them: %+v", got)
		}
	})
}
