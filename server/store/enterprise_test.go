package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// Credit codes that pass both check characters.
const (
	creditA = "91350100M000100Y43"
	creditB = "91350200776049653A"
	creditC = "913502000728319549"
	creditD = "91440101MA5CJQ4N59"
)

// fixtureHasher stands in for argon2id, which is slow and beside the point here.
type fixtureHasher struct{}

func (fixtureHasher) Hash(_ context.Context, p string) (string, error) { return "plain:" + p, nil }
func (fixtureHasher) Verify(_ context.Context, h, p string) (bool, error) {
	return h == "plain:"+p, nil
}

// dirFixture is two departments, A and B, each with an admin, a lead
// coordinator and inspectors with accounts, plus a platform admin.
type dirFixture struct {
	db                     *store.DB
	enterprises            *store.EnterpriseService
	inspectors             *store.InspectorService
	declarations           *store.DeclarationService
	deptA, deptB           *server.Department
	root                   *server.User
	adminA, adminB         *server.User
	coordA, coordB         *server.User
	inspA1, inspA2, inspB1 *server.Inspector
	userA1, userA2, userB1 *server.User
	system                 context.Context
}

func newDirFixture(t *testing.T, db *store.DB) *dirFixture {
	t.Helper()
	f := &dirFixture{
		db: db, enterprises: store.NewEnterpriseService(db), inspectors: store.NewInspectorService(db),
		declarations: store.NewDeclarationService(db),
		system:       as(&server.User{Username: "system", Role: server.RolePlatformAdmin}),
	}
	users := store.NewUserService(db, fixtureHasher{})
	addUser := func(u *server.User) *server.User {
		t.Helper()
		if err := users.CreateUserUnchecked(context.Background(), u, "password", false); err != nil {
			t.Fatalf("add user %s: %v", u.Username, err)
		}
		return u
	}
	departments := store.NewDepartmentService(db)
	f.deptA = &server.Department{Code: "culture", Name: "市文化广电旅游局"}
	f.deptB = &server.Department{Code: "market", Name: "市市场监督管理局"}
	for _, d := range []*server.Department{f.deptA, f.deptB} {
		if err := departments.CreateDepartment(f.system, d); err != nil {
			t.Fatal(err)
		}
	}
	f.root = addUser(&server.User{Username: "root", Role: server.RolePlatformAdmin})
	f.adminA = addUser(&server.User{Username: "admin-a", Role: server.RoleDepartmentAdmin, DepartmentID: &f.deptA.ID})
	f.adminB = addUser(&server.User{Username: "admin-b", Role: server.RoleDepartmentAdmin, DepartmentID: &f.deptB.ID})
	f.coordA = addUser(&server.User{Username: "coord-a", Role: server.RoleLeadCoordinator, DepartmentID: &f.deptA.ID})
	f.coordB = addUser(&server.User{Username: "coord-b", Role: server.RoleLeadCoordinator, DepartmentID: &f.deptB.ID})
	f.inspA1 = f.mustCreateInspector(t, f.deptA, "CULTURE-0001", "13900001001")
	f.inspA2 = f.mustCreateInspector(t, f.deptA, "CULTURE-0002", "13900001002")
	f.inspB1 = f.mustCreateInspector(t, f.deptB, "MARKET-0001", "13900002001")
	f.userA1 = addUser(&server.User{Username: "insp-a1", Role: server.RoleInspector, DepartmentID: &f.deptA.ID, InspectorID: &f.inspA1.ID})
	f.userA2 = addUser(&server.User{Username: "insp-a2", Role: server.RoleInspector, DepartmentID: &f.deptA.ID, InspectorID: &f.inspA2.ID})
	f.userB1 = addUser(&server.User{Username: "insp-b1", Role: server.RoleInspector, DepartmentID: &f.deptB.ID, InspectorID: &f.inspB1.ID})
	return f
}

func fixtureInspector(dept *server.Department, cert, phone string) *server.Inspector {
	return &server.Inspector{
		DepartmentID: dept.ID, Name: "执法员" + cert, CertificateNumber: cert,
		CertificateValidFrom:  server.Date{Year: 2024, Month: 1, Day: 1},
		CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
		Domains:               []string{"文化市场"}, Phone: phone, Status: server.InspectorActive,
	}
}

func (f *dirFixture) mustCreateInspector(t *testing.T, dept *server.Department, cert, phone string) *server.Inspector {
	t.Helper()
	in := fixtureInspector(dept, cert, phone)
	if err := f.inspectors.CreateInspector(f.system, in); err != nil {
		t.Fatalf("create inspector %s: %v", cert, err)
	}
	return in
}

func fixtureEnterprise(code, name string) *server.Enterprise {
	return &server.Enterprise{
		CreditCode: code, Name: name, Category: server.CategoryInternetCafe, District: "思明区",
		Address: "厦门市思明区湖滨南路1号", LegalRepresentative: "张三", LicenceNumber: "闽文网 350203-001",
		Status: server.EnterpriseActive, RiskClass: "B",
	}
}

func (f *dirFixture) mustCreateEnterprise(t *testing.T, e *server.Enterprise) *server.Enterprise {
	t.Helper()
	if err := f.enterprises.CreateEnterprise(as(f.root), e); err != nil {
		t.Fatalf("create enterprise %s: %v", e.CreditCode, err)
	}
	return e
}

// wantErrorCode fails the test unless err carries code.
func wantErrorCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := server.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}

func TestEnterpriseService_CreateEnterprise(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			lat, lng := 24.4798, 118.0894
			e := fixtureEnterprise(creditA, "星际网吧")
			e.Latitude, e.Longitude = &lat, &lng
			f.mustCreateEnterprise(t, e)
			if e.ID == 0 || !e.CreatedAt.Equal(storetest.Now) || !e.UpdatedAt.Equal(storetest.Now) {
				t.Fatalf("created %+v", e)
			}
			got, err := f.enterprises.FindEnterpriseByID(as(f.adminA), e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CreditCode != creditA || got.Name != "星际网吧" || got.District != "思明区" || got.RiskClass != "B" ||
				got.LegalRepresentative != "张三" || got.Latitude == nil || *got.Latitude != lat || *got.Longitude != lng {
				t.Fatalf("read back %+v", got)
			}
		})
		t.Run("ErrCreditCodeTaken", func(t *testing.T) {
			wantErrorCode(t, f.enterprises.CreateEnterprise(as(f.root), fixtureEnterprise(creditA, "另一家")), server.ECONFLICT)
		})
		t.Run("ErrBadCreditCode", func(t *testing.T) {
			wantErrorCode(t, f.enterprises.CreateEnterprise(as(f.root), fixtureEnterprise("91350203M0001QAY9B", "错码网吧")), server.EINVALID)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			e := fixtureEnterprise(creditB, "")
			wantErrorCode(t, f.enterprises.CreateEnterprise(as(f.root), e), server.EINVALID)
			e = fixtureEnterprise(creditB, "网吧")
			e.Status = "closed"
			wantErrorCode(t, f.enterprises.CreateEnterprise(as(f.root), e), server.EINVALID)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			for _, u := range []*server.User{f.adminA, f.coordA, f.userA1} {
				wantErrorCode(t, f.enterprises.CreateEnterprise(as(u), fixtureEnterprise(creditB, "网吧")), server.EFORBIDDEN)
			}
		})
		t.Run("ErrUnauthorized", func(t *testing.T) {
			wantErrorCode(t, f.enterprises.CreateEnterprise(context.Background(), fixtureEnterprise(creditB, "网吧")), server.EUNAUTHORIZED)
		})
	})
}

func TestEnterpriseService_FindEnterprises(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		a := f.mustCreateEnterprise(t, fixtureEnterprise(creditA, "星际网吧"))
		b := fixtureEnterprise(creditB, "100%Net网咖")
		b.District = "湖里区"
		f.mustCreateEnterprise(t, b)
		c := fixtureEnterprise(creditC, "Galaxy网吧")
		c.Status = server.EnterpriseDeregistered
		f.mustCreateEnterprise(t, c)
		d := fixtureEnterprise(creditD, "超市")
		d.Category = "supermarket"
		f.mustCreateEnterprise(t, d)

		ids := func(t *testing.T, u *server.User, flt server.EnterpriseFilter) ([]int64, int) {
			t.Helper()
			es, n, err := f.enterprises.FindEnterprises(as(u), flt)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]int64, len(es))
			for i, e := range es {
				out[i] = e.ID
			}
			return out, n
		}
		str := func(s string) *string { return &s }
		t.Run("OK", func(t *testing.T) {
			for _, u := range []*server.User{f.root, f.adminA, f.coordB} {
				if got, n := ids(t, u, server.EnterpriseFilter{}); n != 4 || len(got) != 4 || got[0] != a.ID {
					t.Fatalf("%s: %v (total %d)", u.Username, got, n)
				}
			}
		})
		t.Run("Filters", func(t *testing.T) {
			deregistered := server.EnterpriseDeregistered
			for name, tc := range map[string]struct {
				f    server.EnterpriseFilter
				want []int64
			}{
				"CreditCode": {server.EnterpriseFilter{CreditCode: str(creditB)}, []int64{b.ID}},
				"Category":   {server.EnterpriseFilter{Category: str("supermarket")}, []int64{d.ID}},
				"District":   {server.EnterpriseFilter{District: str("湖里区")}, []int64{b.ID}},
				"Status":     {server.EnterpriseFilter{Status: &deregistered}, []int64{c.ID}},
				"Query":      {server.EnterpriseFilter{Query: str("网吧")}, []int64{a.ID, c.ID}},
				"QueryCase":  {server.EnterpriseFilter{Query: str("galaxy")}, []int64{c.ID}},
				// % and _ in the query are literal characters, not wildcards.
				"QueryLiteral": {server.EnterpriseFilter{Query: str("0%N")}, []int64{b.ID}},
				"QueryNoWild":  {server.EnterpriseFilter{Query: str("_")}, nil},
				"Combined":     {server.EnterpriseFilter{Category: str(server.CategoryInternetCafe), District: str("思明区"), Status: new(server.EnterpriseActive)}, []int64{a.ID}},
			} {
				t.Run(name, func(t *testing.T) {
					got, n := ids(t, f.root, tc.f)
					if n != len(tc.want) || len(got) != len(tc.want) {
						t.Fatalf("got %v (total %d), want %v", got, n, tc.want)
					}
					for i := range got {
						if got[i] != tc.want[i] {
							t.Fatalf("got %v, want %v", got, tc.want)
						}
					}
				})
			}
		})
		t.Run("Paging", func(t *testing.T) {
			got, n := ids(t, f.root, server.EnterpriseFilter{Offset: 1, Limit: 2})
			if n != 4 || len(got) != 2 || got[0] != b.ID || got[1] != c.ID {
				t.Fatalf("got %v (total %d)", got, n)
			}
		})
		t.Run("ErrForbiddenForInspectors", func(t *testing.T) {
			_, _, err := f.enterprises.FindEnterprises(as(f.userA1), server.EnterpriseFilter{})
			wantErrorCode(t, err, server.EFORBIDDEN)
		})
	})
}

func TestEnterpriseService_FindEnterpriseByID(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		e := f.mustCreateEnterprise(t, fixtureEnterprise(creditA, "星际网吧"))
		t.Run("OK", func(t *testing.T) {
			for _, u := range []*server.User{f.root, f.adminB, f.coordA} {
				if got, err := f.enterprises.FindEnterpriseByID(as(u), e.ID); err != nil || got.CreditCode != creditA {
					t.Fatalf("%s: %+v, %v", u.Username, got, err)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := f.enterprises.FindEnterpriseByID(as(f.root), e.ID+100)
			wantErrorCode(t, err, server.ENOTFOUND)
		})
		t.Run("ErrForbiddenForInspectors", func(t *testing.T) {
			_, err := f.enterprises.FindEnterpriseByID(as(f.userA1), e.ID)
			wantErrorCode(t, err, server.EFORBIDDEN)
		})
	})
}

func TestEnterpriseService_UpdateEnterprise(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		e := f.mustCreateEnterprise(t, fixtureEnterprise(creditA, "星际网吧"))
		t.Run("OK", func(t *testing.T) {
			later := storetest.Now.Add(time.Hour)
			db.Now = func() time.Time { return later }
			defer func() { db.Now = func() time.Time { return storetest.Now } }()
			name, status, risk := "星际网咖", server.EnterpriseSuspended, server.RiskClass("D")
			lat, lng := 24.5, 118.1
			got, err := f.enterprises.UpdateEnterprise(as(f.root), e.ID, server.EnterpriseUpdate{
				Name: &name, Status: &status, RiskClass: &risk, Latitude: &lat, Longitude: &lng,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != name || got.Status != status || got.RiskClass != risk || got.CreditCode != creditA ||
				got.District != "思明区" || *got.Latitude != lat || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(storetest.Now) {
				t.Fatalf("updated %+v", got)
			}
			again, err := f.enterprises.FindEnterpriseByID(as(f.root), e.ID)
			if err != nil || again.Name != name || again.Address != e.Address {
				t.Fatalf("read back %+v, %v", again, err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			bad := server.EnterpriseStatus("closed")
			_, err := f.enterprises.UpdateEnterprise(as(f.root), e.ID, server.EnterpriseUpdate{Status: &bad})
			wantErrorCode(t, err, server.EINVALID)
			lat := 24.5 // without longitude
			fresh := f.mustCreateEnterprise(t, fixtureEnterprise(creditB, "无坐标网吧"))
			_, err = f.enterprises.UpdateEnterprise(as(f.root), fresh.ID, server.EnterpriseUpdate{Latitude: &lat})
			wantErrorCode(t, err, server.EINVALID)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			name := "x"
			_, err := f.enterprises.UpdateEnterprise(as(f.root), e.ID+100, server.EnterpriseUpdate{Name: &name})
			wantErrorCode(t, err, server.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			name := "x"
			for _, u := range []*server.User{f.adminA, f.coordA, f.userA1} {
				_, err := f.enterprises.UpdateEnterprise(as(u), e.ID, server.EnterpriseUpdate{Name: &name})
				wantErrorCode(t, err, server.EFORBIDDEN)
			}
		})
	})
}
