package store_test

import (
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

func TestInspectorService_CreateInspector(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			in := fixtureInspector(f.deptA, "CULTURE-0100", "13900001100")
			in.Domains = []string{"文化市场", "网络安全"}
			if err := f.inspectors.CreateInspector(as(f.adminA), in); err != nil {
				t.Fatal(err)
			}
			got, err := f.inspectors.FindInspectorByID(as(f.adminA), in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.DepartmentID != f.deptA.ID || got.CertificateNumber != "CULTURE-0100" || got.Phone != "13900001100" ||
				got.CertificateValidUntil != (server.Date{Year: 2028, Month: 12, Day: 31}) || len(got.Domains) != 2 ||
				got.Domains[1] != "网络安全" || !got.CreatedAt.Equal(storetest.Now) {
				t.Fatalf("read back %+v", got)
			}
		})
		t.Run("OKPlatformAdminAnyDepartment", func(t *testing.T) {
			in := fixtureInspector(f.deptB, "MARKET-0100", "")
			in.Domains = nil
			if err := f.inspectors.CreateInspector(as(f.root), in); err != nil {
				t.Fatal(err)
			}
			if in.Domains == nil || len(in.Domains) != 0 {
				t.Fatalf("domains %#v", in.Domains)
			}
		})
		t.Run("ErrCertificateTaken", func(t *testing.T) {
			wantErrorCode(t, f.inspectors.CreateInspector(as(f.adminA), fixtureInspector(f.deptA, "CULTURE-0001", "")), server.ECONFLICT)
		})
		t.Run("ErrOtherDepartment", func(t *testing.T) {
			wantErrorCode(t, f.inspectors.CreateInspector(as(f.adminA), fixtureInspector(f.deptB, "MARKET-0200", "")), server.EFORBIDDEN)
		})
		t.Run("ErrMissingDepartment", func(t *testing.T) {
			in := fixtureInspector(f.deptB, "NOWHERE-0001", "")
			in.DepartmentID = f.deptB.ID + 100
			wantErrorCode(t, f.inspectors.CreateInspector(as(f.root), in), server.EINVALID)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			in := fixtureInspector(f.deptA, "CULTURE-0300", "")
			in.CertificateValidUntil = server.Date{Year: 2023, Month: 12, Day: 31}
			wantErrorCode(t, f.inspectors.CreateInspector(as(f.adminA), in), server.EINVALID)
			in = fixtureInspector(f.deptA, "CULTURE-0300", "")
			in.Status = "retired"
			wantErrorCode(t, f.inspectors.CreateInspector(as(f.adminA), in), server.EINVALID)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			for _, u := range []*server.User{f.coordA, f.userA1} {
				wantErrorCode(t, f.inspectors.CreateInspector(as(u), fixtureInspector(f.deptA, "CULTURE-0400", "")), server.EFORBIDDEN)
			}
		})
	})
}

func TestInspectorService_FindInspectorByID(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			for _, tc := range []struct {
				u         *server.User
				in        *server.Inspector
				wantPhone bool
			}{
				{f.root, f.inspB1, true},
				{f.adminA, f.inspA1, true},
				{f.adminB, f.inspB1, true},
				{f.coordA, f.inspA2, false}, // coordinators plan; they get no phones
				{f.userA1, f.inspA1, true},  // an inspector's own record
			} {
				got, err := f.inspectors.FindInspectorByID(as(tc.u), tc.in.ID)
				if err != nil {
					t.Fatalf("%s: %v", tc.u.Username, err)
				}
				if got.CertificateNumber != tc.in.CertificateNumber || (got.Phone != "") != tc.wantPhone {
					t.Fatalf("%s: %+v", tc.u.Username, got)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, tc := range []struct {
				u  *server.User
				id int64
			}{
				{f.adminA, f.inspB1.ID},
				{f.adminB, f.inspA1.ID},
				{f.coordB, f.inspA1.ID},
				{f.userA1, f.inspA2.ID}, // a colleague
				{f.userA1, f.inspB1.ID},
				{f.root, f.inspB1.ID + 100},
			} {
				_, err := f.inspectors.FindInspectorByID(as(tc.u), tc.id)
				wantErrorCode(t, err, server.ENOTFOUND)
			}
		})
	})
}

func TestInspectorService_FindInspectors(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		onLeave := fixtureInspector(f.deptA, "CULTURE-0003", "13900001003")
		onLeave.Status = server.InspectorOnLeave
		if err := f.inspectors.CreateInspector(as(f.adminA), onLeave); err != nil {
			t.Fatal(err)
		}
		find := func(t *testing.T, u *server.User, flt server.InspectorFilter) ([]*server.Inspector, int) {
			t.Helper()
			ins, n, err := f.inspectors.FindInspectors(as(u), flt)
			if err != nil {
				t.Fatal(err)
			}
			return ins, n
		}
		certs := func(ins []*server.Inspector) []string {
			out := make([]string, len(ins))
			for i, in := range ins {
				out[i] = in.CertificateNumber
			}
			return out
		}
		t.Run("Scope", func(t *testing.T) {
			for _, tc := range []struct {
				u    *server.User
				want int
			}{
				{f.root, 4}, {f.adminA, 3}, {f.adminB, 1}, {f.coordA, 3}, {f.userA1, 1}, {f.userB1, 1},
			} {
				ins, n := find(t, tc.u, server.InspectorFilter{})
				if n != tc.want || len(ins) != tc.want {
					t.Fatalf("%s: %v (total %d), want %d", tc.u.Username, certs(ins), n, tc.want)
				}
				for _, in := range ins {
					if tc.u.DepartmentID != nil && in.DepartmentID != *tc.u.DepartmentID {
						t.Fatalf("%s sees %s of department %d", tc.u.Username, in.CertificateNumber, in.DepartmentID)
					}
					if tc.u.InspectorID != nil && in.ID != *tc.u.InspectorID {
						t.Fatalf("%s sees %s", tc.u.Username, in.CertificateNumber)
					}
					if (in.Phone == "") != (tc.u.Role == server.RoleLeadCoordinator) {
						t.Fatalf("%s: phone %q on %s", tc.u.Username, in.Phone, in.CertificateNumber)
					}
				}
			}
		})
		t.Run("ErrOtherDepartmentFilterIsEmpty", func(t *testing.T) {
			if ins, n := find(t, f.adminA, server.InspectorFilter{DepartmentID: &f.deptB.ID}); n != 0 || len(ins) != 0 {
				t.Fatalf("got %v", certs(ins))
			}
		})
		t.Run("Filters", func(t *testing.T) {
			st := server.InspectorOnLeave
			if ins, n := find(t, f.root, server.InspectorFilter{Status: &st}); n != 1 || ins[0].ID != onLeave.ID {
				t.Fatalf("status: %v", certs(ins))
			}
			cert := "MARKET-0001"
			if ins, n := find(t, f.root, server.InspectorFilter{CertificateNumber: &cert}); n != 1 || ins[0].ID != f.inspB1.ID {
				t.Fatalf("certificate: %v", certs(ins))
			}
			if ins, n := find(t, f.root, server.InspectorFilter{DepartmentID: &f.deptA.ID, Offset: 1, Limit: 1}); n != 3 || len(ins) != 1 || ins[0].ID != f.inspA2.ID {
				t.Fatalf("page: %v (total %d)", certs(ins), n)
			}
		})
	})
}

func TestInspectorService_UpdateInspector(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			later := storetest.Now.Add(24 * time.Hour)
			db.Now = func() time.Time { return later }
			defer func() { db.Now = func() time.Time { return storetest.Now } }()
			until := server.Date{Year: 2030, Month: 6, Day: 30}
			domains := []string{"网络文化"}
			phone, status := "13911112222", server.InspectorOnLeave
			got, err := f.inspectors.UpdateInspector(as(f.adminA), f.inspA1.ID, server.InspectorUpdate{
				CertificateValidUntil: &until, Domains: &domains, Phone: &phone, Status: &status,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.CertificateValidUntil != until || got.CertificateValidFrom != f.inspA1.CertificateValidFrom ||
				got.Phone != phone || got.Status != status || len(got.Domains) != 1 || got.Domains[0] != "网络文化" ||
				got.DepartmentID != f.deptA.ID || got.Name != f.inspA1.Name || !got.UpdatedAt.Equal(later) {
				t.Fatalf("updated %+v", got)
			}
			again, err := f.inspectors.FindInspectorByID(as(f.userA1), f.inspA1.ID)
			if err != nil || again.Phone != phone || again.Status != status {
				t.Fatalf("read back %+v, %v", again, err)
			}
		})
		t.Run("OKPlatformAdmin", func(t *testing.T) {
			name := "王五"
			if got, err := f.inspectors.UpdateInspector(as(f.root), f.inspB1.ID, server.InspectorUpdate{Name: &name}); err != nil || got.Name != name {
				t.Fatalf("%+v, %v", got, err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			from := server.Date{Year: 2031, Month: 1, Day: 1} // after the certificate's end
			_, err := f.inspectors.UpdateInspector(as(f.adminA), f.inspA2.ID, server.InspectorUpdate{CertificateValidFrom: &from})
			wantErrorCode(t, err, server.EINVALID)
			empty := ""
			_, err = f.inspectors.UpdateInspector(as(f.adminA), f.inspA2.ID, server.InspectorUpdate{Name: &empty})
			wantErrorCode(t, err, server.EINVALID)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			name := "x"
			_, err := f.inspectors.UpdateInspector(as(f.adminA), f.inspB1.ID, server.InspectorUpdate{Name: &name})
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = f.inspectors.UpdateInspector(as(f.adminB), f.inspA1.ID, server.InspectorUpdate{Name: &name})
			wantErrorCode(t, err, server.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			name := "x"
			for _, u := range []*server.User{f.coordA, f.userA1} {
				_, err := f.inspectors.UpdateInspector(as(u), f.inspA1.ID, server.InspectorUpdate{Name: &name})
				wantErrorCode(t, err, server.EFORBIDDEN)
			}
		})
	})
}
