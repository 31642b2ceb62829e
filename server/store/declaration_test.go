package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

func TestDeclarationService_CreateDeclaration(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		e := f.mustCreateEnterprise(t, fixtureEnterprise(creditA, "星际网吧"))
		e2 := f.mustCreateEnterprise(t, fixtureEnterprise(creditB, "银河网吧"))
		t.Run("OK", func(t *testing.T) {
			d := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: e.ID, Reason: "配偶为该网吧股东"}
			if err := f.declarations.CreateDeclaration(as(f.adminA), d); err != nil {
				t.Fatal(err)
			}
			if d.ID == 0 || d.DeclaredBy != f.adminA.ID || !d.CreatedAt.Equal(storetest.Now) || d.WithdrawnAt != nil ||
				d.Status != server.DeclarationApproved || d.ReviewedBy == nil || *d.ReviewedBy != f.adminA.ID {
				t.Fatalf("created %+v", d)
			}
		})
		t.Run("OKInspectorForThemself", func(t *testing.T) {
			d := &server.Declaration{InspectorID: f.inspA2.ID, EnterpriseID: e.ID, Reason: "曾在该网吧任职"}
			if err := f.declarations.CreateDeclaration(as(f.userA2), d); err != nil {
				t.Fatal(err)
			}
			if d.DeclaredBy != f.userA2.ID || d.Status != server.DeclarationPending || d.ReviewedBy != nil {
				t.Fatalf("declared %+v", d)
			}
		})
		t.Run("ErrStanding", func(t *testing.T) {
			d := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: e.ID, Reason: "again"}
			wantErrorCode(t, f.declarations.CreateDeclaration(as(f.root), d), server.ECONFLICT)
		})
		t.Run("OKAfterWithdrawal", func(t *testing.T) {
			d := &server.Declaration{InspectorID: f.inspB1.ID, EnterpriseID: e2.ID, Reason: "亲属经营"}
			if err := f.declarations.CreateDeclaration(as(f.adminB), d); err != nil {
				t.Fatal(err)
			}
			if _, err := f.declarations.WithdrawDeclaration(as(f.adminB), d.ID, "撤回"); err != nil {
				t.Fatal(err)
			}
			again := &server.Declaration{InspectorID: f.inspB1.ID, EnterpriseID: e2.ID, Reason: "亲属重新入股"}
			if err := f.declarations.CreateDeclaration(as(f.adminB), again); err != nil {
				t.Fatal(err)
			}
			if again.ID == d.ID {
				t.Fatal("withdrawn declaration reused")
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, tc := range []struct {
				u    *server.User
				insp int64
			}{
				{f.adminA, f.inspB1.ID}, // another department's inspector
				{f.adminB, f.inspA2.ID},
				{f.userA1, f.inspA2.ID}, // an inspector declares only for themself
				{f.root, f.inspB1.ID + 100},
			} {
				d := &server.Declaration{InspectorID: tc.insp, EnterpriseID: e2.ID, Reason: "x"}
				wantErrorCode(t, f.declarations.CreateDeclaration(as(tc.u), d), server.ENOTFOUND)
			}
			d := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: e2.ID + 100, Reason: "x"}
			wantErrorCode(t, f.declarations.CreateDeclaration(as(f.adminA), d), server.ENOTFOUND)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, reason := range []string{"", "   ", strings.Repeat("很", 167)} { // 501 bytes
				d := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: e2.ID, Reason: reason}
				wantErrorCode(t, f.declarations.CreateDeclaration(as(f.adminA), d), server.EINVALID)
			}
			d := &server.Declaration{InspectorID: f.inspA1.ID, Reason: "x"}
			wantErrorCode(t, f.declarations.CreateDeclaration(as(f.adminA), d), server.EINVALID)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			d := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: e2.ID, Reason: "x"}
			wantErrorCode(t, f.declarations.CreateDeclaration(as(f.coordA), d), server.EFORBIDDEN)
		})
	})
}

// declarationFixture adds two enterprises and declarations: A1 and A2 (department
// A) and B1 (department B) each declare the first; A1's second one is withdrawn.
type declarationFixture struct {
	*dirFixture
	e1, e2                    *server.Enterprise
	dA1, dA2, dB1, dA1Retired *server.Declaration
}

func newDeclarationFixture(t *testing.T, db *store.DB) *declarationFixture {
	t.Helper()
	f := &declarationFixture{dirFixture: newDirFixture(t, db)}
	f.e1 = f.mustCreateEnterprise(t, fixtureEnterprise(creditA, "星际网吧"))
	f.e2 = f.mustCreateEnterprise(t, fixtureEnterprise(creditB, "银河网吧"))
	declare := func(u *server.User, in *server.Inspector, e *server.Enterprise) *server.Declaration {
		t.Helper()
		d := &server.Declaration{InspectorID: in.ID, EnterpriseID: e.ID, Reason: "利害关系"}
		if err := f.declarations.CreateDeclaration(as(u), d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	f.dA1 = declare(f.adminA, f.inspA1, f.e1)
	f.dA2 = declare(f.userA2, f.inspA2, f.e1)
	f.dB1 = declare(f.adminB, f.inspB1, f.e1)
	f.dA1Retired = declare(f.userA1, f.inspA1, f.e2)
	if _, err := f.declarations.WithdrawDeclaration(as(f.userA1), f.dA1Retired.ID, "撤回"); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDeclarationService_FindDeclarationByID(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDeclarationFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			for _, tc := range []struct {
				u *server.User
				d *server.Declaration
			}{
				{f.root, f.dB1}, {f.adminA, f.dA2}, {f.coordA, f.dA1}, {f.coordB, f.dB1}, {f.userA1, f.dA1}, {f.userA1, f.dA1Retired},
			} {
				got, err := f.declarations.FindDeclarationByID(as(tc.u), tc.d.ID)
				if err != nil || got.InspectorID != tc.d.InspectorID || got.EnterpriseID != tc.d.EnterpriseID {
					t.Fatalf("%s: %+v, %v", tc.u.Username, got, err)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, tc := range []struct {
				u  *server.User
				id int64
			}{
				{f.adminA, f.dB1.ID}, {f.adminB, f.dA1.ID}, {f.coordB, f.dA2.ID}, {f.userA1, f.dA2.ID}, {f.userB1, f.dA1.ID}, {f.root, f.dB1.ID + 100},
			} {
				_, err := f.declarations.FindDeclarationByID(as(tc.u), tc.id)
				wantErrorCode(t, err, server.ENOTFOUND)
			}
		})
	})
}

func TestDeclarationService_FindDeclarations(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDeclarationFixture(t, db)
		ids := func(t *testing.T, u *server.User, flt server.DeclarationFilter) []int64 {
			t.Helper()
			ds, n, err := f.declarations.FindDeclarations(as(u), flt)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(ds) {
				t.Fatalf("total %d for %d rows", n, len(ds))
			}
			out := make([]int64, len(ds))
			for i, d := range ds {
				out[i] = d.ID
			}
			return out
		}
		for _, tc := range []struct {
			name string
			u    *server.User
			f    server.DeclarationFilter
			want []int64
		}{
			{"Root", f.root, server.DeclarationFilter{}, []int64{f.dA1.ID, f.dA2.ID, f.dB1.ID}},
			{"RootWithdrawn", f.root, server.DeclarationFilter{IncludeRetired: true}, []int64{f.dA1.ID, f.dA2.ID, f.dB1.ID, f.dA1Retired.ID}},
			{"AdminA", f.adminA, server.DeclarationFilter{IncludeRetired: true}, []int64{f.dA1.ID, f.dA2.ID, f.dA1Retired.ID}},
			{"AdminB", f.adminB, server.DeclarationFilter{IncludeRetired: true}, []int64{f.dB1.ID}},
			{"CoordA", f.coordA, server.DeclarationFilter{}, []int64{f.dA1.ID, f.dA2.ID}},
			{"InspectorA1", f.userA1, server.DeclarationFilter{IncludeRetired: true}, []int64{f.dA1.ID, f.dA1Retired.ID}},
			{"InspectorA2", f.userA2, server.DeclarationFilter{}, []int64{f.dA2.ID}},
			{"AdminAFilterOtherInspector", f.adminA, server.DeclarationFilter{InspectorID: &f.inspB1.ID}, nil},
			{"AdminAFilterOtherDepartment", f.adminA, server.DeclarationFilter{DepartmentID: &f.deptB.ID}, nil},
			{"InspectorFilterColleague", f.userA1, server.DeclarationFilter{InspectorID: &f.inspA2.ID}, nil},
			{"FilterEnterprise", f.root, server.DeclarationFilter{EnterpriseID: &f.e2.ID, IncludeRetired: true}, []int64{f.dA1Retired.ID}},
			{"FilterInspector", f.root, server.DeclarationFilter{InspectorID: &f.inspA2.ID}, []int64{f.dA2.ID}},
			{"FilterDepartment", f.root, server.DeclarationFilter{DepartmentID: &f.deptB.ID}, []int64{f.dB1.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := ids(t, tc.u, tc.f)
				if len(got) != len(tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			})
		}
	})
}

func TestDeclarationService_WithdrawDeclaration(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDeclarationFixture(t, db)
		t.Run("OK", func(t *testing.T) {
			later := storetest.Now.Add(time.Hour)
			db.Now = func() time.Time { return later }
			defer func() { db.Now = func() time.Time { return storetest.Now } }()
			d, err := f.declarations.WithdrawDeclaration(as(f.adminA), f.dA1.ID, "撤回")
			if err != nil {
				t.Fatal(err)
			}
			if d.WithdrawnAt == nil || !d.WithdrawnAt.Equal(later) || d.Reason != f.dA1.Reason ||
				d.WithdrawnBy == nil || *d.WithdrawnBy != f.adminA.ID || d.WithdrawReason != "撤回" {
				t.Fatalf("withdrawn %+v", d)
			}
			// A second withdrawal keeps the first time.
			db.Now = func() time.Time { return later.Add(time.Hour) }
			again, err := f.declarations.WithdrawDeclaration(as(f.root), f.dA1.ID, "撤回")
			if err != nil || !again.WithdrawnAt.Equal(later) {
				t.Fatalf("again %+v, %v", again, err)
			}
			got, err := f.declarations.FindDeclarationByID(as(f.coordA), f.dA1.ID)
			if err != nil || got.WithdrawnAt == nil || !got.WithdrawnAt.Equal(later) {
				t.Fatalf("read back %+v, %v", got, err)
			}
		})
		t.Run("OKInspectorOwn", func(t *testing.T) {
			if d, err := f.declarations.WithdrawDeclaration(as(f.userA2), f.dA2.ID, "撤回"); err != nil || d.WithdrawnAt == nil {
				t.Fatalf("%+v, %v", d, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, tc := range []struct {
				u  *server.User
				id int64
			}{
				{f.adminA, f.dB1.ID}, {f.adminB, f.dA1.ID}, {f.userA1, f.dB1.ID}, {f.userB1, f.dA2.ID}, {f.root, f.dB1.ID + 100},
			} {
				_, err := f.declarations.WithdrawDeclaration(as(tc.u), tc.id, "撤回")
				wantErrorCode(t, err, server.ENOTFOUND)
			}
			if got, _ := f.declarations.FindDeclarationByID(as(f.root), f.dB1.ID); got.WithdrawnAt != nil {
				t.Fatal("withdrawn by someone who may not see it")
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			_, err := f.declarations.WithdrawDeclaration(as(f.coordB), f.dB1.ID, "撤回")
			wantErrorCode(t, err, server.EFORBIDDEN)
			// An inspector never withdraws what an admin entered about them.
			_, err = f.declarations.WithdrawDeclaration(as(f.userB1), f.dB1.ID, "撤回")
			wantErrorCode(t, err, server.EFORBIDDEN)
			if got, _ := f.declarations.FindDeclarationByID(as(f.root), f.dB1.ID); got.WithdrawnAt != nil {
				t.Fatal("withdrawn by a refused call")
			}
		})
		t.Run("ErrNoReason", func(t *testing.T) {
			_, err := f.declarations.WithdrawDeclaration(as(f.adminB), f.dB1.ID, "  ")
			wantErrorCode(t, err, server.EINVALID)
		})
	})
}

func TestDeclarationService_FindCreditCodes(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDeclarationFixture(t, db)
		e3 := f.mustCreateEnterprise(t, fixtureEnterprise(creditC, "未申报网吧"))
		ids := []int64{f.e1.ID, f.e2.ID, e3.ID}
		t.Run("OK", func(t *testing.T) {
			codes, err := f.declarations.FindCreditCodes(as(f.adminB), ids)
			if err != nil || len(codes) != 3 || codes[f.e2.ID] != creditB {
				t.Fatalf("%v, %v", codes, err)
			}
		})
		t.Run("InspectorOnlyDeclared", func(t *testing.T) {
			codes, err := f.declarations.FindCreditCodes(as(f.userA1), ids)
			if err != nil || len(codes) != 2 || codes[f.e1.ID] != creditA || codes[f.e2.ID] != creditB {
				t.Fatalf("A1: %v, %v", codes, err)
			}
			codes, err = f.declarations.FindCreditCodes(as(f.userA2), ids)
			if err != nil || len(codes) != 1 || codes[f.e1.ID] != creditA {
				t.Fatalf("A2: %v, %v", codes, err)
			}
		})
		t.Run("FindEnterpriseIDByCreditCode", func(t *testing.T) {
			if id, err := f.declarations.FindEnterpriseIDByCreditCode(as(f.userA1), creditC); err != nil || id != e3.ID {
				t.Fatalf("%d, %v", id, err)
			}
			_, err := f.declarations.FindEnterpriseIDByCreditCode(as(f.userA1), creditD)
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = f.declarations.FindEnterpriseIDByCreditCode(as(f.userA1), "91350203M0001QAY9B")
			wantErrorCode(t, err, server.EINVALID)
		})
	})
}
