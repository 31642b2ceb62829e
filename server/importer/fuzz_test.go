package importer_test

import (
	"bytes"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// FuzzImportEnterprisesCSV feeds arbitrary bytes to the CSV import on a real
// SQLite database: it never panics, a whole-file failure is a client error,
// and every row read is accounted for exactly once in the report.
func FuzzImportEnterprisesCSV(f *testing.F) {
	f.Add([]byte(enterprisesCSV()))
	f.Add([]byte("credit_code,name,category,district\n91350100M000100Y43,网吧,internet_cafe,思明区\n"))
	f.Add([]byte("\xef\xbb\xbf统一社会信用代码,企业名称,类别,所属区县\n91350200776049653A,\"a,b\",网吧,湖里区\n"))
	f.Add([]byte("credit_code,name\n\"unterminated\n"))
	f.Add([]byte{})
	f.Add([]byte("credit_code,name,category,district\n91350100M000100Y43,\xd0\xc7\xbf\xd5,internet_cafe,\x00\n91350100M000100Y43,[清空],x,y\n"))
	db := storetest.MustOpenDB(f, store.SQLite)
	svc := importer.New(store.NewImportStore(db))
	svc.BatchSize = 3 // cross batch boundaries
	svc.TempDir = f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := svc.ImportEnterprises(as(root), bytes.NewReader(data), server.ImportOptions{Format: server.ImportCSV})
		if err != nil {
			if code := server.ErrorCode(err); code != server.EINVALID && code != server.ETOOLARGE {
				t.Fatalf("error %v has code %q", err, code)
			}
			return
		}
		if sum := rep.Inserted + rep.Updated + rep.Unchanged + rep.Rejected; sum != rep.Rows {
			t.Fatalf("report %+v accounts for %d of %d rows", rep, sum, rep.Rows)
		}
		if rep.Rejected < len(rep.Errors) {
			t.Fatalf("%d errors listed, %d rejected", len(rep.Errors), rep.Rejected)
		}
	})
}
