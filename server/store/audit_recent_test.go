package store_test

import (
	"fmt"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// The latest events, newest first, capped, for platform admins only.
func TestAuditService_RecentEvents(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		svc := store.NewAuditService(db)
		got, err := svc.RecentAuditEvents(as(platformAdmin), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("empty chain: %d events, %v", len(got), err)
		}
		depts := store.NewDepartmentService(db)
		for i := range 5 {
			if err := depts.CreateDepartment(as(platformAdmin), &server.Department{Code: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("部门%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		all := auditEvents(t, db)
		if len(all) != 5 {
			t.Fatalf("%d events in the chain, want 5", len(all))
		}
		got, err = svc.RecentAuditEvents(as(platformAdmin), 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d events, want 3", len(got))
		}
		for i, e := range got {
			want := all[len(all)-1-i]
			if e.Seq != want.Seq || e.Hash != want.Hash || e.Action != want.Action || e.ObjectID != want.ObjectID {
				t.Errorf("event %d: %+v, want %+v", i, e, want)
			}
		}
		if got[0].Action != "department.create" || got[0].ActorRole != string(server.RolePlatformAdmin) {
			t.Errorf("newest event %s by %s", got[0].Action, got[0].ActorRole)
		}
		// Out of range: the cap.
		if got, err := svc.RecentAuditEvents(as(platformAdmin), 0); err != nil || len(got) != 5 {
			t.Errorf("limit 0: %d events, %v", len(got), err)
		}
		dept := int64(1)
		for _, u := range []*server.User{
			{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &dept},
			{ID: 3, Role: server.RoleLeadCoordinator, DepartmentID: &dept},
			{ID: 4, Role: server.RoleInspector, DepartmentID: &dept},
		} {
			if _, err := svc.RecentAuditEvents(as(u), 10); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Errorf("recent as %s: %v", u.Role, err)
			}
		}
	})
}
