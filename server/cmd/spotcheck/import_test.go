package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// runImport runs "spotcheck import …" in-process and returns the exit code,
// stdout and stderr.
func runImport(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"import"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestImportCommand(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"SPOTCHECK_DATA_DIR": filepath.Join(dir, "data"), "SPOTCHECK_LOG_LEVEL": "error"}
			if dialect == "postgres" {
				env["SPOTCHECK_DATABASE_URL"] = storetest.NewDSN(t, dialect)
			}
			file := filepath.Join(dir, "enterprises.csv")
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			st, err := importtest.WriteEnterprisesCSV(f, 500, 20)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			errFile := filepath.Join(dir, "errors.csv")

			code, stdout, stderr := runImport(t, env, "enterprises", file, "--errors", errFile, "--progress")
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, stdout, stderr)
			}
			if want := "500 rows"; !strings.Contains(stdout, want) || !strings.Contains(stdout, "475 inserted") || !strings.Contains(stdout, "25 rejected") {
				t.Fatalf("summary: %s", stdout)
			}
			if !strings.Contains(stderr, "row 21\t") || strings.Count(stderr, "\n  row ") != 20 || !strings.Contains(stderr, "and 5 more") {
				t.Fatalf("stderr should list the first 20 rejected rows:\n%s", stderr)
			}
			if !strings.Contains(stderr, "importing") {
				t.Errorf("no progress bar on stderr:\n%s", stderr)
			}
			ef, err := os.Open(errFile)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(ef).ReadAll()
			ef.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != st.Bad+1 || recs[1][0] != "21" || recs[1][3] == "" {
				t.Fatalf("errors file has %d records, want %d; first %q", len(recs), st.Bad+1, recs[1])
			}

			// Again, flags first: nothing changes.
			code, stdout, _ = runImport(t, env, "--progress=false", "enterprises", file)
			if code != 0 || !strings.Contains(stdout, "0 inserted, 0 updated, 475 unchanged, 25 rejected") {
				t.Fatalf("exit %d: %s", code, stdout)
			}

			// Whole-file errors exit 1; command-line mistakes exit 2.
			bad := filepath.Join(dir, "bad.csv")
			os.WriteFile(bad, []byte("credit_code,name\n"), 0o600)
			if code, _, stderr := runImport(t, env, "enterprises", bad); code != 1 || !strings.Contains(stderr, "missing required columns") {
				t.Fatalf("missing columns: exit %d: %s", code, stderr)
			}
			if code, _, _ := runImport(t, env, "enterprises", filepath.Join(dir, "nope.csv")); code != 1 {
				t.Fatalf("missing file: exit %d", code)
			}
			if code, _, _ := runImport(t, env, "enterprises", filepath.Join(dir, "file.txt")); code != 2 {
				t.Fatalf("unknown format: exit %d", code)
			}
			if code, _, _ := runImport(t, env, "shops", file); code != 2 {
				t.Fatalf("unknown kind: exit %d", code)
			}

			// Inspectors, format forced for a file without an extension.
			ins := filepath.Join(dir, "roster")
			os.WriteFile(ins, []byte("部门,姓名,执法证号,执法证有效期起,执法证有效期止\nculture,李四,C-1,2024-01-01,2028-12-31\n"), 0o600)
			code, stdout, stderr = runImport(t, env, "inspectors", "--format", "csv", ins)
			if code != 0 || !strings.Contains(stdout, "1 rejected") || !strings.Contains(stderr, "unknown_department") {
				t.Fatalf("inspectors: exit %d: %s%s", code, stdout, stderr)
			}

			// --encoding names a CSV file's encoding: "星空" in GBK is not UTF-8.
			gbk := filepath.Join(dir, "gbk.csv")
			os.WriteFile(gbk, []byte("credit_code,name,category,district\n"+importtest.CreditCode(90001)+",\xd0\xc7\xbf\xd5,internet_cafe,x\n"), 0o600)
			code, stdout, stderr = runImport(t, env, "enterprises", "--encoding", "utf-8", gbk)
			if code != 0 || !strings.Contains(stdout, "1 rejected") || !strings.Contains(stderr, "invalid_encoding") {
				t.Fatalf("GBK as UTF-8: exit %d: %s%s", code, stdout, stderr)
			}
			code, stdout, stderr = runImport(t, env, "enterprises", "--encoding", "gbk", gbk)
			if code != 0 || !strings.Contains(stdout, "1 inserted") {
				t.Fatalf("GBK: exit %d: %s%s", code, stdout, stderr)
			}
			if code, _, stderr := runImport(t, env, "enterprises", "--encoding", "big5", gbk); code != 1 || !strings.Contains(stderr, "unsupported encoding") {
				t.Fatalf("unknown encoding: exit %d: %s", code, stderr)
			}
		})
	}
}
