package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

// adminWalk holds the objects the directory and administration screens are
// walked on, all in department A (the walk's actors' but root's).
type adminWalk struct {
	cafe        *server.Enterprise
	declaration *server.Declaration
	device      *server.Device
	spare       *server.User
}

func (w *walk) as(username string) context.Context {
	return server.NewContextWithUser(context.Background(), w.h.Users[username])
}

func (w *walk) departmentA(*testing.T) string { return fmt.Sprint(w.h.DeptA.ID) }

func (w *walk) enterprise(t *testing.T) string {
	if w.admin.cafe == nil {
		w.admin.cafe = w.h.AddCafe(t, "巡查网吧")
	}
	return fmt.Sprint(w.admin.cafe.ID)
}

func (w *walk) inspector(*testing.T) string { return fmt.Sprint(w.h.Inspectors["insp-a1"].ID) }

// importReport is an id of the right shape that no one made: not found
// for everyone the page is for.
func (w *walk) importReport(*testing.T) string { return "ABCDEFGHIJKLMNOPQRSTUVWXYZ" }

// declaration is insp-a1's own, pending.
func (w *walk) declaration(t *testing.T) string {
	if w.admin.declaration == nil {
		w.enterprise(t)
		d := &server.Declaration{InspectorID: w.h.Inspectors["insp-a1"].ID, EnterpriseID: w.admin.cafe.ID, Reason: "亲属经营"}
		if err := w.h.App.Declarations.CreateDeclaration(w.as("insp-a1"), d); err != nil {
			t.Fatal(err)
		}
		w.admin.declaration = d
	}
	return fmt.Sprint(w.admin.declaration.ID)
}

// device is insp-a1's.
func (w *walk) device(t *testing.T) string {
	if w.admin.device == nil {
		w.admin.device = registerDevice(t, w.h.App.Devices, w.as("insp-a1"), "巡查终端")
	}
	return fmt.Sprint(w.admin.device.ID)
}

func registerDevice(t *testing.T, svc server.DeviceService, ctx context.Context, name string) *server.Device {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := &server.Device{Name: name, PublicKey: pub}
	if err := svc.RegisterDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// spareUser is a coordinator of department A no test signs in as.
func (w *walk) spareUser(t *testing.T) string {
	if w.admin.spare == nil {
		w.admin.spare = w.h.AddUser(t, &server.User{Username: "spare-a", Role: server.RoleLeadCoordinator, DepartmentID: &w.h.DeptA.ID})
	}
	return fmt.Sprint(w.admin.spare.ID)
}
