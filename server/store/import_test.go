package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

func testEnterprise(n int) *server.Enterprise {
	lat, lon := 31.2304, 121.4737
	return &server.Enterprise{
		CreditCode: importtest.CreditCode(n), Name: fmt.Sprintf("网吧%d", n), Category: server.CategoryInternetCafe,
		District: "黄浦区", Address: "南京东路1号", Status: server.EnterpriseActive, RiskClass: "B",
		Latitude: &lat, Longitude: &lon,
	}
}

func testInspector(cert string) *server.Inspector {
	return &server.Inspector{
		Name: "执法员" + cert, CertificateNumber: cert,
		CertificateValidFrom:  server.Date{Year: 2024, Month: 1, Day: 1},
		CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
		Domains:               []string{"文化市场", "网络文化"}, Phone: "13900000000", Status: server.InspectorActive,
	}
}

// updatedSince counts the rows of table with updated_at after since.
func updatedSince(t *testing.T, db *store.DB, table string, since time.Time) int {
	t.Helper()
	n, err := db.CountImportRows(table, since)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestImportStore_UpsertEnterprises(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		s := store.NewImportStore(db)
		ctx := as(platformAdmin)
		var batch []*server.Enterprise
		for i := 1; i <= 5; i++ {
			batch = append(batch, testEnterprise(i))
		}
		ins, upd, same, err := s.UpsertEnterprises(ctx, batch, nil)
		if err != nil || ins != 5 || upd != 0 || same != 0 {
			t.Fatalf("first: %d/%d/%d %v", ins, upd, same, err)
		}

		// The same rows again: nothing written, updated_at untouched.
		later := storetest.Now.Add(time.Hour)
		db.Now = func() time.Time { return later }
		ins, upd, same, err = s.UpsertEnterprises(ctx, batch, nil)
		if err != nil || ins != 0 || upd != 0 || same != 5 {
			t.Fatalf("again: %d/%d/%d %v", ins, upd, same, err)
		}
		if n := updatedSince(t, db, "enterprises", storetest.Now); n != 0 {
			t.Fatalf("%d rows rewritten by an unchanged import", n)
		}

		// One changed, one new, and a key twice in the batch: the last wins.
		changed := testEnterprise(2)
		changed.Status = server.EnterpriseDeregistered
		first, last := testEnterprise(9), testEnterprise(9)
		first.Name, last.Name = "先", "后"
		ins, upd, same, err = s.UpsertEnterprises(ctx, []*server.Enterprise{testEnterprise(1), changed, first, last}, nil)
		if err != nil || ins != 1 || upd != 2 || same != 1 {
			t.Fatalf("mixed: %d/%d/%d %v", ins, upd, same, err)
		}
		if n := updatedSince(t, db, "enterprises", storetest.Now); n != 2 {
			t.Fatalf("rows with updated_at = now: %d, want 2", n)
		}
		if name, err := db.ImportedEnterpriseName(last.CreditCode); err != nil || name != "后" {
			t.Fatalf("last row should win: %q %v", name, err)
		}

		t.Run("ErrForbidden", func(t *testing.T) {
			dept := int64(1)
			for _, u := range []*server.User{
				{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &dept},
				{ID: 3, Role: server.RoleLeadCoordinator, DepartmentID: &dept},
			} {
				if _, _, _, err := s.UpsertEnterprises(as(u), nil, nil); server.ErrorCode(err) != server.EFORBIDDEN {
					t.Errorf("%s: %v, want EFORBIDDEN", u.Role, err)
				}
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			bad := testEnterprise(20)
			bad.CreditCode = importtest.BadCreditCode(20)
			if _, _, _, err := s.UpsertEnterprises(ctx, []*server.Enterprise{testEnterprise(21), bad}, nil); server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("%v, want EINVALID", err)
			}
		})
		t.Run("ManyBatches", func(t *testing.T) {
			// More keys than one IN list or INSERT holds.
			var big []*server.Enterprise
			for i := 1000; i < 3500; i++ {
				big = append(big, testEnterprise(i))
			}
			if ins, _, _, err := s.UpsertEnterprises(ctx, big, nil); err != nil || ins != 2500 {
				t.Fatalf("%d %v", ins, err)
			}
			if _, _, same, err := s.UpsertEnterprises(ctx, big, nil); err != nil || same != 2500 {
				t.Fatalf("%d %v", same, err)
			}
		})
	})
}

func TestImportStore_UpsertInspectors(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		depts := store.NewDepartmentService(db)
		culture := &server.Department{Code: "culture", Name: "文化"}
		market := &server.Department{Code: "market", Name: "市场"}
		for _, d := range []*server.Department{culture, market} {
			if err := depts.CreateDepartment(as(platformAdmin), d); err != nil {
				t.Fatal(err)
			}
		}
		s := store.NewImportStore(db)
		root := as(platformAdmin)

		ins, upd, same, rej, err := s.UpsertInspectors(root,
			[]string{"culture", "market", "nowhere", "culture"},
			[]*server.Inspector{testInspector("C-1"), testInspector("M-1"), testInspector("X-1"), testInspector("C-2")}, nil)
		if err != nil || ins != 3 || upd != 0 || same != 0 || len(rej) != 1 {
			t.Fatalf("first: %d/%d/%d %v %v", ins, upd, same, rej, err)
		}
		if r := rej[0]; r.Row != 2 || r.Code != store.CodeUnknownDepartment || r.Column != "department" {
			t.Fatalf("rejection %+v", r)
		}

		// Again: unchanged. A row moving C-1 to market is refused, C-2 changes.
		c2 := testInspector("C-2")
		c2.Domains = []string{"文化市场"}
		ins, upd, same, rej, err = s.UpsertInspectors(root,
			[]string{"culture", "market", "market", "culture"},
			[]*server.Inspector{testInspector("C-1"), testInspector("M-1"), testInspector("C-1"), c2}, nil)
		if err != nil || ins != 0 || upd != 1 || same != 2 || len(rej) != 1 {
			t.Fatalf("second: %d/%d/%d %v %v", ins, upd, same, rej, err)
		}
		if r := rej[0]; r.Row != 2 || r.Code != store.CodeOtherDepartment {
			t.Fatalf("rejection %+v", r)
		}
		if id, err := db.ImportedInspectorDepartment("C-1"); err != nil || id != culture.ID {
			t.Fatalf("C-1 must stay in culture: %d %v", id, err)
		}

		t.Run("DepartmentAdmin", func(t *testing.T) {
			admin := as(&server.User{ID: 5, Role: server.RoleDepartmentAdmin, DepartmentID: &culture.ID})
			ins, _, same, rej, err := s.UpsertInspectors(admin,
				[]string{"culture", "market", "culture"},
				[]*server.Inspector{testInspector("C-1"), testInspector("M-9"), testInspector("C-3")}, nil)
			if err != nil || ins != 1 || same != 1 || len(rej) != 1 {
				t.Fatalf("%d/%d %v %v", ins, same, rej, err)
			}
			if r := rej[0]; r.Row != 1 || r.Code != store.CodeForbiddenDepartment {
				t.Fatalf("rejection %+v", r)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			coord := as(&server.User{ID: 6, Role: server.RoleLeadCoordinator, DepartmentID: &culture.ID})
			if _, _, _, _, err := s.UpsertInspectors(coord, nil, nil, nil); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Fatalf("%v, want EFORBIDDEN", err)
			}
		})
	})
}
