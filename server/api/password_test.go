package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestAccessTokenEndsWithSession: an access token dies with its session at
// the next request (the clock does not move), not when it expires.
func TestAccessTokenEndsWithSession(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		me := func(t *testing.T, token string, want int) {
			t.Helper()
			r := h.Do(t, "GET", syncproto.PathMe, token, nil)
			if r.Status != want {
				t.Fatalf("GET /v1/me: status %d, want %d: %s", r.Status, want, r.Body)
			}
		}
		t.Run("Logout", func(t *testing.T) {
			s, other := h.Login(t, "admin-a"), h.Login(t, "admin-a")
			me(t, s.AccessToken, http.StatusOK)
			h.MustDo(t, "POST", syncproto.PathLogout, "", syncproto.LogoutRequest{RefreshToken: s.RefreshToken}, http.StatusNoContent, nil)
			me(t, s.AccessToken, http.StatusUnauthorized)
			// Another login of the same account goes on.
			me(t, other.AccessToken, http.StatusOK)
		})
		t.Run("Refreshed", func(t *testing.T) {
			// Tokens issued by a refresh belong to the same session.
			s := h.Login(t, "admin-b")
			var next syncproto.Session
			h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil), http.StatusOK, &next)
			me(t, s.AccessToken, http.StatusOK)
			me(t, next.AccessToken, http.StatusOK)
			h.MustDo(t, "POST", syncproto.PathLogout, "", syncproto.LogoutRequest{RefreshToken: next.RefreshToken}, http.StatusNoContent, nil)
			me(t, s.AccessToken, http.StatusUnauthorized)
			me(t, next.AccessToken, http.StatusUnauthorized)
		})
		t.Run("FamilyRevoked", func(t *testing.T) {
			s := h.Login(t, "coord-a")
			var next syncproto.Session
			h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil), http.StatusOK, &next)
			h.Advance(2 * time.Minute) // past the grace window: a replay of the spent token revokes the family
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeTokenReused)
			me(t, next.AccessToken, http.StatusUnauthorized)
		})
	})
}

// TestPasswordChange: a user changes their own password with the current
// one; their other sessions end at once, this one goes on.
func TestPasswordChange(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		s, other := h.Login(t, "insp-a1"), h.Login(t, "insp-a1")
		change := func(token, current, next string) *apptest.Response {
			return h.Do(t, "POST", syncproto.PathPassword, token, syncproto.ChangePasswordRequest{CurrentPassword: current, NewPassword: next})
		}
		acctWant(t, change(s.AccessToken, "wrong-password", "new-password-123"), http.StatusBadRequest, syncproto.CodeInvalid)
		acctWant(t, change(s.AccessToken, apptest.Password, "short"), http.StatusBadRequest, syncproto.CodeInvalid)
		acctWant(t, change(s.AccessToken, apptest.Password, apptest.Password), http.StatusBadRequest, syncproto.CodeInvalid)
		acctWant(t, h.Do(t, "POST", syncproto.PathPassword, s.AccessToken, `{"current_password":"x"}`), http.StatusBadRequest, syncproto.CodeInvalid)
		acctWant(t, change("", apptest.Password, "new-password-123"), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		// Nothing changed so far.
		h.Login(t, "insp-a1")

		h.MustDo(t, "POST", syncproto.PathPassword, s.AccessToken, syncproto.ChangePasswordRequest{CurrentPassword: apptest.Password, NewPassword: "new-password-123"}, http.StatusNoContent, nil)
		h.MustDo(t, "GET", syncproto.PathMe, s.AccessToken, nil, http.StatusOK, nil)
		acctWant(t, h.Do(t, "GET", syncproto.PathMe, other.AccessToken, nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(other.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		acctWant(t, h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a1", Password: apptest.Password}), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a1", Password: "new-password-123"}, http.StatusOK, nil)
	})
}

// TestPasswordReset: an admin of the user's department (or a platform
// admin) gives a one-time password; until it is changed the account reaches
// only /v1/me and the change-password route.
func TestPasswordReset(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, adminB := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, inspA2 := h.Token(t, "coord-a"), h.Token(t, "insp-a2")
		victim := h.Users["insp-a1"]
		old := h.Login(t, "insp-a1")
		reset := func(id int64) string { return fmt.Sprintf("/v1/users/%d/password-reset", id) }

		acctWant(t, h.Do(t, "POST", reset(victim.ID), adminB, nil), http.StatusNotFound, syncproto.CodeNotFound)
		acctWant(t, h.Do(t, "POST", reset(victim.ID), coordA, nil), http.StatusForbidden, syncproto.CodeForbidden)
		acctWant(t, h.Do(t, "POST", reset(victim.ID), inspA2, nil), http.StatusForbidden, syncproto.CodeForbidden)
		acctWant(t, h.Do(t, "POST", reset(h.Users["root"].ID), adminA, nil), http.StatusNotFound, syncproto.CodeNotFound)
		acctWant(t, h.Do(t, "POST", reset(h.Users["admin-a"].ID), adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
		h.MustDo(t, "GET", syncproto.PathMe, old.AccessToken, nil, http.StatusOK, nil)

		var got api.PasswordReset
		r := h.MustDo(t, "POST", reset(victim.ID), adminA, nil, http.StatusOK, &got)
		if got.Password == "" || got.User.ID != victim.ID || !got.User.PasswordChangeRequired || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("reset %+v, Cache-Control %q", got, r.Header.Get("Cache-Control"))
		}
		// The old password and the old sessions are gone at once.
		acctWant(t, h.Do(t, "GET", syncproto.PathMe, old.AccessToken, nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		acctWant(t, h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a1", Password: apptest.Password}), http.StatusUnauthorized, syncproto.CodeUnauthorized)

		var s syncproto.Session
		h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a1", Password: got.Password}, http.StatusOK, &s)
		if !s.User.PasswordChangeRequired {
			t.Fatalf("session user %+v", s.User)
		}
		var me syncproto.Me
		h.MustDo(t, "GET", syncproto.PathMe, s.AccessToken, nil, http.StatusOK, &me)
		if !me.PasswordChangeRequired {
			t.Fatalf("me %+v", me)
		}
		for _, rt := range []struct{ method, path string }{
			{"GET", "/v1/declarations"}, {"GET", syncproto.PathDevices}, {"GET", fmt.Sprintf("/v1/users/%d", victim.ID)},
			{"POST", syncproto.PathDevices},
		} {
			acctWant(t, h.Do(t, rt.method, rt.path, s.AccessToken, nil), http.StatusForbidden, syncproto.CodePasswordChangeRequired)
		}
		// A refreshed token is held back the same way.
		var next syncproto.Session
		h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil), http.StatusOK, &next)
		acctWant(t, h.Do(t, "GET", "/v1/declarations", next.AccessToken, nil), http.StatusForbidden, syncproto.CodePasswordChangeRequired)

		h.MustDo(t, "POST", syncproto.PathPassword, next.AccessToken, syncproto.ChangePasswordRequest{CurrentPassword: got.Password, NewPassword: "chosen-password-1"}, http.StatusNoContent, nil)
		h.MustDo(t, "GET", "/v1/declarations", next.AccessToken, nil, http.StatusOK, nil)
		me = syncproto.Me{}
		h.MustDo(t, "GET", syncproto.PathMe, next.AccessToken, nil, http.StatusOK, &me)
		if me.ID != victim.ID || me.PasswordChangeRequired {
			t.Fatalf("me after the change %+v", me)
		}
		// A platform admin resets anyone but themself.
		h.MustDo(t, "POST", reset(h.Users["admin-b"].ID), root, nil, http.StatusOK, nil)
		acctWant(t, h.Do(t, "POST", reset(h.Users["root"].ID), root, nil), http.StatusBadRequest, syncproto.CodeInvalid)
	})
}

// TestFirstAdminOneTimePassword: the first start's admin password works
// once, for changing it.
func TestFirstAdminOneTimePassword(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		a, err := app.New(context.Background(), app.Config{DataDir: dir, KeysDir: dir}, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.API.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		go a.API.Serve()
		t.Cleanup(func() { a.API.Shutdown(context.Background()) })
		h := &apptest.Harness{App: a, URL: "http://" + a.API.Addr().String()}

		name, password, err := a.EnsureAdmin(context.Background())
		if err != nil || name != "admin" || password == "" {
			t.Fatalf("%q %q %v", name, password, err)
		}
		var s syncproto.Session
		h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin", Password: password}, http.StatusOK, &s)
		if !s.User.PasswordChangeRequired {
			t.Fatalf("first admin %+v", s.User)
		}
		acctWant(t, h.Do(t, "GET", "/v1/users", s.AccessToken, nil), http.StatusForbidden, syncproto.CodePasswordChangeRequired)
		acctWant(t, h.Do(t, "GET", "/v1/departments", s.AccessToken, nil), http.StatusForbidden, syncproto.CodePasswordChangeRequired)
		h.MustDo(t, "POST", syncproto.PathPassword, s.AccessToken, syncproto.ChangePasswordRequest{CurrentPassword: password, NewPassword: "my-own-admin-password"}, http.StatusNoContent, nil)
		h.MustDo(t, "GET", "/v1/users", s.AccessToken, nil, http.StatusOK, nil)
		// The printed password no longer works.
		acctWant(t, h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin", Password: password}), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin", Password: "my-own-admin-password"}, http.StatusOK, nil)
	})
}

// TestUsernames: names are stored normalized (NFKC, case-folded, trimmed),
// login normalizes the same way, and a name that looks like an existing one
// is refused.
func TestUsernames(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root := h.Token(t, "root")
		create := func(name string) *apptest.Response {
			return h.Do(t, "POST", "/v1/users", root, map[string]any{
				"username": name, "password": apptest.Password, "role": "department_admin", "department_id": h.DeptA.ID,
			})
		}
		var u api.User
		h.MustDo(t, "POST", "/v1/users", root, map[string]any{
			"username": "  Zhang.Wei ", "password": apptest.Password, "role": "department_admin", "department_id": h.DeptA.ID,
		}, http.StatusCreated, &u)
		if u.Username != "zhang.wei" {
			t.Fatalf("stored %q", u.Username)
		}
		for _, name := range []string{"zhang.wei ", "ZHANG.WEI", "Ｚｈａｎｇ.Ｗｅｉ", "zhаng.wei" /* Cyrillic а */, "zhang.weі" /* Ukrainian і */} {
			acctWant(t, create(name), http.StatusConflict, syncproto.CodeConflict)
		}
		// The fixture's "root" too: a Cyrillic о, and a zero.
		acctWant(t, create("rоot"), http.StatusConflict, syncproto.CodeConflict)
		acctWant(t, create("r0ot"), http.StatusConflict, syncproto.CodeConflict)
		for _, name := range []string{"", "   ", "two words", "tab\tname", "zero\u200bwidth"} {
			acctWant(t, create(name), http.StatusBadRequest, syncproto.CodeInvalid)
		}
		// Login takes any spelling that normalizes to the stored name, and no look-alike.
		for _, name := range []string{"zhang.wei", " ZHANG.WEI ", "Ｚｈａｎｇ.Ｗｅｉ"} {
			h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: name, Password: apptest.Password}, http.StatusOK, nil)
		}
		acctWant(t, h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "zhаng.wei", Password: apptest.Password}), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		// A different name is fine.
		h.MustDo(t, "POST", "/v1/users", root, map[string]any{
			"username": "li.na", "password": apptest.Password, "role": "department_admin", "department_id": h.DeptA.ID,
		}, http.StatusCreated, nil)
	})
}
