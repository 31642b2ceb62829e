package api_test

import (
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestLogin(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		t.Run("OK", func(t *testing.T) {
			s := h.Login(t, "admin-a")
			if s.AccessToken == "" || s.RefreshToken == "" || s.User.Role != "department_admin" {
				t.Fatalf("session %+v", s)
			}
			var me syncproto.Me
			h.MustDo(t, "GET", syncproto.PathMe, s.AccessToken, nil, http.StatusOK, &me)
			if me.Username != "admin-a" || me.DepartmentID == nil || *me.DepartmentID != h.DeptA.ID {
				t.Fatalf("me %+v", me)
			}
		})
		t.Run("ErrWrongPassword", func(t *testing.T) {
			r := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin-a", Password: "wrong-password"})
			if r.Status != http.StatusUnauthorized || r.Error().Code != syncproto.CodeUnauthorized {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			r := h.Do(t, "POST", syncproto.PathLogin, "", `{"username":"a","password":"b","role":"platform_admin"}`)
			if r.Status != http.StatusBadRequest || r.Error().Code != syncproto.CodeInvalid {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
	})
}
