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

// TestImportStore_UpsertNewEnterprises: a batch taken to be new is written
// as UpsertEnterprises writes it, also when some of its credit codes are
// stored after all (on PostgreSQL the copy meets the unique index and the
// batch is written again, looked up).
func TestImportStore_UpsertNewEnterprises(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		s := store.NewImportStore(db)
		ctx := as(platformAdmin)
		if empty, err := s.NoEnterprises(ctx); err != nil || !empty {
			t.Fatalf("NoEnterprises on an empty directory: %v %v", empty, err)
		}
		var batch []*server.Enterprise
		for i := 1; i <= 5; i++ {
			batch = append(batch, testEnterprise(i))
		}
		ins, upd, same, found, err := s.UpsertNewEnterprises(ctx, batch, nil)
		if err != nil || ins != 5 || upd != 0 || same != 0 || found {
			t.Fatalf("new: %d/%d/%d found %v, %v", ins, upd, same, found, err)
		}
		if empty, err := s.NoEnterprises(ctx); err != nil || empty {
			t.Fatalf("NoEnterprises after an import: %v %v", empty, err)
		}

		// Stored after all: 2 unchanged, 3 changed (one only in a field the
		// row does not set, which keeps the stored value), 1 new.
		later := storetest.Now.Add(time.Hour)
		db.Now = func() time.Time { return later }
		changed := testEnterprise(3)
		changed.Status = server.EnterpriseRevoked
		keep := testEnterprise(4)
		keep.Address = "别处"
		batch = []*server.Enterprise{testEnterprise(1), testEnterprise(2), changed, keep, testEnterprise(6)}
		set := []server.ImportFields{server.ImportAllFields, server.ImportAllFields, server.ImportAllFields, 0, server.ImportAllFields}
		ins, upd, same, found, err = s.UpsertNewEnterprises(ctx, batch, set)
		if err != nil || ins != 1 || upd != 1 || same != 3 {
			t.Fatalf("stored after all: %d/%d/%d %v", ins, upd, same, err)
		}
		// SQLite always looks a batch up, so it finds nothing unexpected.
		if want := db.Dialect() == store.Postgres; found != want {
			t.Fatalf("found %v, want %v", found, want)
		}
		if n := updatedSince(t, db, "enterprises", storetest.Now); n != 2 {
			t.Fatalf("rows written: %d, want 2 (one changed, one new)", n)
		}
		if _, _, same, err := s.UpsertEnterprises(ctx, batch, set); err != nil || same != 5 {
			t.Fatalf("again: %d unchanged, %v", same, err)
		}

		// A new key twice in a batch taken to be new: the last row wins.
		first, last := testEnterprise(40), testEnterprise(40)
		first.Name, last.Name = "先", "后"
		ins, upd, same, _, err = s.UpsertNewEnterprises(ctx, []*server.Enterprise{testEnterprise(41), first, last}, nil)
		if err != nil || ins != 2 || upd != 1 || same != 0 {
			t.Fatalf("a key twice: %d/%d/%d %v", ins, upd, same, err)
		}
		if name, err := db.ImportedEnterpriseName(last.CreditCode); err != nil || name != "后" {
			t.Fatalf("last row should win: %q %v", name, err)
		}

		t.Run("ErrForbidden", func(t *testing.T) {
			dept := int64(1)
			u := &server.User{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &dept}
			if _, err := s.NoEnterprises(as(u)); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Errorf("NoEnterprises: %v, want EFORBIDDEN", err)
			}
			if _, _, _, _, err := s.UpsertNewEnterprises(as(u), []*server.Enterprise{testEnterprise(30)}, nil); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Errorf("UpsertNewEnterprises: %v, want EFORBIDDEN", err)
			}
		})
	})
}

// TestImportStore_UpsertEnterprisesFields checks, on a batch larger than
// one INSERT of the SQLite path and than a few PostgreSQL COPY buffers, that
// a row changes only the optional fields it sets, that a new row takes all
// of its values, and that counts and updated_at follow the values.
func TestImportStore_UpsertEnterprisesFields(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		s := store.NewImportStore(db)
		ctx := as(platformAdmin)
		const n = 2400
		var batch []*server.Enterprise
		for i := range n {
			batch = append(batch, testEnterprise(i))
		}
		if ins, upd, same, err := s.UpsertEnterprises(ctx, batch, nil); err != nil || ins != n || upd != 0 || same != 0 {
			t.Fatalf("first: %d/%d/%d %v", ins, upd, same, err)
		}

		later := storetest.Now.Add(time.Hour)
		db.Now = func() time.Time { return later }
		// Row i of the second batch: i%4 == 0 sets nothing optional but
		// renames (an update keeping every optional field); 1 sets the
		// address and clears the coordinates; 2 names the risk class it
		// already has (unchanged); 3 changes only fields it does not set
		// (unchanged). Then 100 new rows setting only the address.
		var again []*server.Enterprise
		var set []server.ImportFields
		for i := range n {
			e := testEnterprise(i)
			switch i % 4 {
			case 0:
				e.Name, e.Address, e.RiskClass, e.Latitude, e.Longitude = "改名", "", "", nil, nil
				set = append(set, 0)
			case 1:
				e.Address, e.Latitude, e.Longitude = "新地址", nil, nil
				set = append(set, server.ImportAddress|server.ImportCoordinates)
			case 2:
				e.Address = "不导入"
				set = append(set, server.ImportRiskClass)
			case 3:
				e.Status, e.LicenceNumber = server.EnterpriseRevoked, "L-1"
				set = append(set, server.ImportAddress)
			}
			again = append(again, e)
		}
		for i := n; i < n+100; i++ {
			e := testEnterprise(i)
			e.RiskClass, e.Latitude, e.Longitude = "", nil, nil
			again = append(again, e)
			set = append(set, server.ImportAddress)
		}
		ins, upd, same, err := s.UpsertEnterprises(ctx, again, set)
		if err != nil || ins != 100 || upd != n/2 || same != n/2 {
			t.Fatalf("second: %d/%d/%d %v", ins, upd, same, err)
		}
		if got := updatedSince(t, db, "enterprises", storetest.Now); got != n/2+100 {
			t.Fatalf("rows with updated_at = now: %d, want %d", got, n/2+100)
		}
		orig := testEnterprise(0)
		for i, want := range map[int]func(e *server.Enterprise){
			4: func(e *server.Enterprise) { e.Name = "改名" },
			5: func(e *server.Enterprise) { e.Address, e.Latitude, e.Longitude = "新地址", nil, nil },
			6: func(e *server.Enterprise) {},
			7: func(e *server.Enterprise) {},
			n + 7: func(e *server.Enterprise) {
				e.Name, e.RiskClass, e.Latitude, e.Longitude = testEnterprise(n+7).Name, "", nil, nil
			},
		} {
			code := importtest.CreditCode(i)
			got, err := db.ImportedEnterprise(code)
			if err != nil {
				t.Fatal(err)
			}
			w := *orig
			w.CreditCode, w.Name = code, testEnterprise(i).Name
			want(&w)
			if got.Name != w.Name || got.Address != w.Address || got.Status != w.Status || got.RiskClass != w.RiskClass ||
				got.LicenceNumber != w.LicenceNumber || (got.Latitude == nil) != (w.Latitude == nil) || (got.Longitude == nil) != (w.Longitude == nil) ||
				(got.Latitude != nil && *got.Latitude != *w.Latitude) {
				t.Errorf("row %d: got %+v, want %+v", i, got, w)
			}
		}

		// The same second batch again writes nothing.
		db.Now = func() time.Time { return later.Add(time.Hour) }
		if ins, upd, same, err := s.UpsertEnterprises(ctx, again, set); err != nil || ins != 0 || upd != 0 || same != n+100 {
			t.Fatalf("third: %d/%d/%d %v", ins, upd, same, err)
		}
		if got := updatedSince(t, db, "enterprises", later); got != 0 {
			t.Fatalf("%d rows rewritten by an unchanged import", got)
		}
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

// TestImportStore_EnterpriseValuesRoundTrip: every value of an imported
// enterprise reads back as written, through the insert (on PostgreSQL a
// binary COPY into enterprises) and the update (a binary COPY into the
// staging table, then the merge): text in Chinese and empty, coordinates
// absent, negative and with every digit, times to the microsecond.
func TestImportStore_EnterpriseValuesRoundTrip(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		s := store.NewImportStore(db)
		ctx := as(platformAdmin)
		created := time.Date(2026, 11, 2, 9, 30, 1, 123456000, time.UTC)
		db.Now = func() time.Time { return created }
		f := func(v float64) *float64 { return &v }
		batch := []*server.Enterprise{testEnterprise(1), testEnterprise(2), testEnterprise(3)}
		batch[0].Latitude, batch[0].Longitude = nil, nil
		batch[1].Latitude, batch[1].Longitude = f(-33.868819999999999), f(-151.20929000000001)
		batch[1].Address, batch[1].LegalRepresentative, batch[1].LicenceNumber, batch[1].RiskClass = "", "", "", ""
		batch[2].Name, batch[2].LegalRepresentative, batch[2].LicenceNumber = "𠀀「网吧」, \"引号\" \\ 反斜杠", "张三", "文网文[2026]000003号"
		batch[2].Status, batch[2].RiskClass = server.EnterpriseSuspended, "D"
		if ins, _, _, _, err := s.UpsertNewEnterprises(ctx, batch, nil); err != nil || ins != 3 {
			t.Fatalf("insert: %d %v", ins, err)
		}
		checkStored(t, db, batch, created, created)

		updated := created.Add(time.Hour + 654321*time.Microsecond)
		db.Now = func() time.Time { return updated }
		batch[0].Latitude, batch[0].Longitude = f(90), f(-180)
		batch[1].Latitude, batch[1].Longitude = nil, nil
		batch[1].Category, batch[1].District = server.CategoryInternetCafe, "浦东新区"
		batch[2].Name, batch[2].Address, batch[2].Status = "改名", "", server.EnterpriseRevoked
		if _, upd, _, err := s.UpsertEnterprises(ctx, batch, nil); err != nil || upd != 3 {
			t.Fatalf("update: %d %v", upd, err)
		}
		checkStored(t, db, batch, created, updated)
	})
}

// checkStored fails t unless each of want is stored with the same values,
// created and updated at the times given.
func checkStored(t *testing.T, db *store.DB, want []*server.Enterprise, created, updated time.Time) {
	t.Helper()
	for _, w := range want {
		got, err := db.ImportedEnterprise(w.CreditCode)
		if err != nil {
			t.Fatal(err)
		}
		same := func(a, b *float64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
		if got.Name != w.Name || got.Category != w.Category || got.District != w.District || got.Address != w.Address ||
			got.LegalRepresentative != w.LegalRepresentative || got.LicenceNumber != w.LicenceNumber ||
			got.Status != w.Status || got.RiskClass != w.RiskClass || !same(got.Latitude, w.Latitude) ||
			!same(got.Longitude, w.Longitude) || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(updated) {
			t.Errorf("stored %+v\nwant %+v, created %v, updated %v", got, w, created, updated)
		}
	}
}
