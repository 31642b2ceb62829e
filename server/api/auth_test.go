package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
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

func TestRefresh(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		refresh := func(t *testing.T, body any, want int) *syncproto.Session {
			t.Helper()
			var s syncproto.Session
			r := h.Do(t, "POST", syncproto.PathRefresh, "", body)
			if r.Status != want {
				t.Fatalf("refresh: status %d, want %d: %s", r.Status, want, r.Body)
			}
			if want == http.StatusOK {
				if err := json.Unmarshal(r.Body, &s); err != nil {
					t.Fatal(err)
				}
			}
			return &s
		}

		t.Run("Rotation", func(t *testing.T) {
			s1 := h.Login(t, "root")
			s2 := refresh(t, acctRefresh(s1.RefreshToken, nil), http.StatusOK)
			if s2.RefreshToken == "" || s2.RefreshToken == s1.RefreshToken {
				t.Fatalf("refresh token did not rotate: %q", s2.RefreshToken)
			}
			if s2.User.Username != "root" || s2.AccessToken == "" {
				t.Fatalf("session %+v", s2)
			}
			h.MustDo(t, "GET", syncproto.PathMe, s2.AccessToken, nil, http.StatusOK, nil)
			s3 := refresh(t, acctRefresh(s2.RefreshToken, nil), http.StatusOK)
			if s3.RefreshToken == s2.RefreshToken || s3.RefreshToken == s1.RefreshToken {
				t.Fatal("refresh token did not rotate on the second use")
			}
		})

		t.Run("ErrReuseRevokesFamily", func(t *testing.T) {
			s1 := h.Login(t, "root")
			s2 := refresh(t, acctRefresh(s1.RefreshToken, nil), http.StatusOK)
			s3 := refresh(t, acctRefresh(s2.RefreshToken, nil), http.StatusOK)
			h.Advance(store.DefaultRefreshGrace + time.Second)
			r := h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s1.RefreshToken, nil))
			acctWant(t, r, http.StatusUnauthorized, syncproto.CodeTokenReused)
			// The newest token of the family is dead too, and so is every other.
			for _, tok := range []string{s3.RefreshToken, s2.RefreshToken, s1.RefreshToken} {
				acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(tok, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
			}
			// Another login of the same user is another family: untouched.
			other := h.Login(t, "root")
			refresh(t, acctRefresh(other.RefreshToken, nil), http.StatusOK)
		})

		t.Run("ErrReuseOfParentAfterChildUsed", func(t *testing.T) {
			// Within the grace window but after the child was used: the
			// response was not lost, so this is a replay.
			s1 := h.Login(t, "root")
			s2 := refresh(t, acctRefresh(s1.RefreshToken, nil), http.StatusOK)
			s3 := refresh(t, acctRefresh(s2.RefreshToken, nil), http.StatusOK)
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s1.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeTokenReused)
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s3.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		})

		t.Run("GraceRetry", func(t *testing.T) {
			s1 := h.Login(t, "root")
			s2 := refresh(t, acctRefresh(s1.RefreshToken, nil), http.StatusOK)
			// The response carrying s2 was lost in a tunnel; the device retries.
			h.Advance(store.DefaultRefreshGrace - time.Second)
			again := refresh(t, acctRefresh(s1.RefreshToken, nil), http.StatusOK)
			if again.RefreshToken != s2.RefreshToken {
				t.Fatal("a retry within the grace window got a different refresh token")
			}
			h.MustDo(t, "GET", syncproto.PathMe, again.AccessToken, nil, http.StatusOK, nil)
			// And the family lives on.
			refresh(t, acctRefresh(again.RefreshToken, nil), http.StatusOK)
		})

		t.Run("ConcurrentRefresh", func(t *testing.T) {
			s1 := h.Login(t, "root")
			const n = 8
			results := make([]acctResult, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					results[i] = acctPost(http.DefaultClient, h, syncproto.PathRefresh, acctRefresh(s1.RefreshToken, nil))
				})
			}
			close(start)
			wg.Wait()
			var child string
			for i, r := range results {
				if r.Err != nil || r.Status != http.StatusOK {
					t.Fatalf("refresh %d: %v status %d: %s", i, r.Err, r.Status, r.Body)
				}
				var s syncproto.Session
				if err := json.Unmarshal(r.Body, &s); err != nil {
					t.Fatal(err)
				}
				if child == "" {
					child = s.RefreshToken
				} else if s.RefreshToken != child {
					t.Fatalf("refresh %d got another child token", i)
				}
			}
			// The family was not revoked: the child refreshes.
			refresh(t, acctRefresh(child, nil), http.StatusOK)
		})

		t.Run("ErrBadToken", func(t *testing.T) {
			for _, body := range []any{
				acctRefresh("not-a-token", nil),
				`{"refresh_token":""}`,
				`{"refresh_token":"x","extra":1}`,
			} {
				r := h.Do(t, "POST", syncproto.PathRefresh, "", body)
				if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
			}
			// An access token is not a refresh token.
			s := h.Login(t, "root")
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.AccessToken[:200], nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		})

		t.Run("ErrExpired", func(t *testing.T) {
			s := h.Login(t, "root")
			h.Advance(store.DefaultRefreshTTL + time.Second)
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
			acctWant(t, h.Do(t, "GET", syncproto.PathMe, s.AccessToken, nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		})
	})
}

func TestDeviceBoundSession(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		insp := h.Token(t, "insp-a1")
		dev := acctRegisterDevice(t, h, insp, "执法终端-01")
		other := acctRegisterDevice(t, h, insp, "执法终端-02")
		s := acctDeviceLogin(t, h, "insp-a1", dev)

		t.Run("ErrNoOrWrongProof", func(t *testing.T) {
			noProof := acctRefresh(s.RefreshToken, nil)
			noProof.DeviceID = &dev.ID
			wrongKey := acctRefresh(s.RefreshToken, &other) // signed by another device's key
			wrongKey.DeviceID = &dev.ID
			wrongMsg := acctRefresh(s.RefreshToken, &dev)
			wrongMsg.DeviceProof = ed25519.Sign(dev.Key, []byte(s.RefreshToken)) // not the proof message
			for name, body := range map[string]syncproto.RefreshRequest{
				"NoDevice": acctRefresh(s.RefreshToken, nil), "NoProof": noProof,
				"WrongKey": wrongKey, "WrongMessage": wrongMsg, "OtherDevice": acctRefresh(s.RefreshToken, &other),
			} {
				if r := h.Do(t, "POST", syncproto.PathRefresh, "", body); r.Status != http.StatusUnauthorized {
					t.Fatalf("%s: status %d: %s", name, r.Status, r.Body)
				}
			}
		})
		var s2 syncproto.Session
		t.Run("OK", func(t *testing.T) {
			h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, &dev), http.StatusOK, &s2)
			if s2.DeviceID == nil || *s2.DeviceID != dev.ID {
				t.Fatalf("refreshed session lost its device: %+v", s2.DeviceID)
			}
			var d syncproto.Device
			h.MustDo(t, "GET", fmt.Sprintf("%s/%d", syncproto.PathDevices, dev.ID), s2.AccessToken, nil, http.StatusOK, &d)
			if d.LastSeenAt == nil {
				t.Fatal("refresh did not record the device as seen")
			}
		})
		t.Run("ErrOtherUsersDevice", func(t *testing.T) {
			r := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a2", Password: apptest.Password, DeviceID: &dev.ID})
			acctWant(t, r, http.StatusNotFound, syncproto.CodeNotFound)
		})
		t.Run("ErrRevoked", func(t *testing.T) {
			admin := h.Token(t, "admin-a")
			h.MustDo(t, "POST", fmt.Sprintf("%s/%d/revoke", syncproto.PathDevices, dev.ID), admin, RevokeBody("设备遗失 (device lost)"), http.StatusOK, nil)
			// Refresh fails at once, even with a valid proof...
			acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s2.RefreshToken, &dev)), http.StatusForbidden, syncproto.CodeDeviceRevoked)
			// ...and so does the unexpired access token, on the next request.
			acctWant(t, h.Do(t, "GET", syncproto.PathMe, s2.AccessToken, nil), http.StatusForbidden, syncproto.CodeDeviceRevoked)
			acctWant(t, h.Do(t, "GET", syncproto.PathDevices, s2.AccessToken, nil), http.StatusForbidden, syncproto.CodeDeviceRevoked)
			// Signing in again on that device fails; on another it works, so
			// the inspector can re-enrol.
			r := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "insp-a1", Password: apptest.Password, DeviceID: &dev.ID})
			acctWant(t, r, http.StatusForbidden, syncproto.CodeDeviceRevoked)
			s3 := acctDeviceLogin(t, h, "insp-a1", other)
			h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s3.RefreshToken, &other), http.StatusOK, nil)
		})
	})
}

// RevokeBody is the body of a device revocation.
func RevokeBody(reason string) map[string]string { return map[string]string{"reason": reason} }

func TestDisabledUser(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		s := h.Login(t, "coord-a")
		admin := h.Token(t, "admin-a")
		h.MustDo(t, "GET", syncproto.PathMe, s.AccessToken, nil, http.StatusOK, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/users/%d/disable", h.Users["coord-a"].ID), admin, nil, http.StatusOK, nil)
		// Refused at once: the unexpired access token, the refresh token, a new login.
		acctWant(t, h.Do(t, "GET", syncproto.PathMe, s.AccessToken, nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		r := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "coord-a", Password: apptest.Password})
		acctWant(t, r, http.StatusUnauthorized, syncproto.CodeUnauthorized)
		// The same answer as a wrong password: a disabled account is not revealed.
		wrong := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "coord-a", Password: "wrong-password"})
		if r.Error().Message != wrong.Error().Message {
			t.Fatalf("disabled %q vs wrong password %q", r.Error().Message, wrong.Error().Message)
		}
	})
}

func TestLogout(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		s1 := h.Login(t, "root")
		var s2 syncproto.Session
		h.MustDo(t, "POST", syncproto.PathRefresh, "", acctRefresh(s1.RefreshToken, nil), http.StatusOK, &s2)
		// Logging out with the spent token still ends the whole family.
		h.MustDo(t, "POST", syncproto.PathLogout, "", syncproto.LogoutRequest{RefreshToken: s1.RefreshToken}, http.StatusNoContent, nil)
		acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s2.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		// Within the grace window the spent one does not come back either.
		acctWant(t, h.Do(t, "POST", syncproto.PathRefresh, "", acctRefresh(s1.RefreshToken, nil)), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		// An unknown token logs out quietly.
		h.MustDo(t, "POST", syncproto.PathLogout, "", syncproto.LogoutRequest{RefreshToken: "unknown"}, http.StatusNoContent, nil)
	})
}

// TestLoginBackoff: only failed passwords count, per account and per
// address; after the free ones each further attempt waits 2^(n-free) seconds
// (capped), a correct password after the wait signs in and resets the
// account, and the counts live in the database, shared by every replica.
func TestLoginBackoff(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		here, there := acctClientFrom("127.0.0.1"), acctClientFrom("127.0.0.2")
		login := func(c *http.Client, user, password string, headers ...string) acctResult {
			r := acctPost(c, h, syncproto.PathLogin, syncproto.LoginRequest{Username: user, Password: password}, headers...)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			return r
		}
		want := func(t *testing.T, r acctResult, status int, retryAfter string) {
			t.Helper()
			if r.Status != status || r.Header.Get("Retry-After") != retryAfter {
				t.Fatalf("status %d Retry-After %q, want %d %q: %s", r.Status, r.Header.Get("Retry-After"), status, retryAfter, r.Body)
			}
			if status == http.StatusTooManyRequests && r.code() != syncproto.CodeRateLimited {
				t.Fatalf("code %q: %s", r.code(), r.Body)
			}
		}
		policy := store.DefaultLoginPolicy

		t.Run("SuccessesNotCounted", func(t *testing.T) {
			// A bureau signing in all morning is never held up.
			for range 3 * policy.AccountFailures {
				want(t, login(here, "admin-b", apptest.Password), http.StatusOK, "")
			}
		})
		t.Run("Burst", func(t *testing.T) {
			// Guesses sent all at once get the free tries between them, no more:
			// each is counted before its password is checked.
			results := make(chan acctResult, 3*policy.AccountFailures)
			for range cap(results) {
				go func() {
					results <- acctPost(here, h, syncproto.PathLogin, syncproto.LoginRequest{Username: "admin-b", Password: "wrong-password"})
				}()
			}
			statuses := map[int]int{}
			for range cap(results) {
				r := <-results
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				statuses[r.Status]++
			}
			if statuses[http.StatusUnauthorized] != policy.AccountFailures || statuses[http.StatusTooManyRequests] != cap(results)-policy.AccountFailures {
				t.Fatalf("statuses %v, want %d × 401 and the rest 429", statuses, policy.AccountFailures)
			}
			h.Advance(time.Second)
			want(t, login(there, "admin-b", apptest.Password), http.StatusOK, "")
		})
		t.Run("PerAccount", func(t *testing.T) {
			for range policy.AccountFailures {
				want(t, login(here, "admin-a", "wrong-password"), http.StatusUnauthorized, "")
			}
			// Now each attempt waits, even with the right password and from
			// another address: the wait is the account's.
			want(t, login(here, "admin-a", apptest.Password), http.StatusTooManyRequests, "1")
			want(t, login(there, "admin-a", apptest.Password), http.StatusTooManyRequests, "1")
			// Other accounts from the same address are not held up.
			want(t, login(here, "coord-a", apptest.Password), http.StatusOK, "")
			// After the wait the right password signs in and resets the count.
			h.Advance(time.Second)
			want(t, login(there, "admin-a", apptest.Password), http.StatusOK, "")
			for range policy.AccountFailures {
				want(t, login(here, "admin-a", "wrong-password"), http.StatusUnauthorized, "")
			}
			// The waits double with each further failure, up to the cap.
			wait := time.Second
			for wait < policy.MaxWait {
				h.Advance(wait)
				want(t, login(here, "admin-a", "wrong-password"), http.StatusUnauthorized, "")
				wait = min(2*wait, policy.MaxWait)
				want(t, login(here, "admin-a", "wrong-password"), http.StatusTooManyRequests, fmt.Sprint(int(wait.Seconds())))
			}
			h.Advance(policy.MaxWait)
			want(t, login(here, "admin-a", "wrong-password"), http.StatusUnauthorized, "")
			want(t, login(here, "admin-a", apptest.Password), http.StatusTooManyRequests, fmt.Sprint(int(policy.MaxWait.Seconds())))
			h.Advance(policy.MaxWait)
			want(t, login(here, "admin-a", apptest.Password), http.StatusOK, "")
		})
		t.Run("SharedByReplicas", func(t *testing.T) {
			// A second server on the same database: failures counted by one
			// hold back attempts on the other.
			dir := t.TempDir()
			other, err := app.New(context.Background(), app.Config{DataDir: dir, KeysDir: dir}, h.App.DB, nil)
			if err != nil {
				t.Fatal(err)
			}
			for range policy.AccountFailures {
				want(t, login(here, "coord-b", "wrong-password"), http.StatusUnauthorized, "")
			}
			_, err = other.Auth.Login(context.Background(), server.LoginRequest{Username: "coord-b", Password: apptest.Password, Address: "192.0.2.1"})
			if server.ErrorCode(err) != server.ERATELIMITED || server.RetryAfter(err) != time.Second {
				t.Fatalf("login on the other replica: %v (retry after %v), want %s after 1s", err, server.RetryAfter(err), server.ERATELIMITED)
			}
			h.Advance(time.Second)
			if _, err := other.Auth.Login(context.Background(), server.LoginRequest{Username: "coord-b", Password: apptest.Password, Address: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("OneAttemptPerWait", func(t *testing.T) {
			// When a wait is over, attempts racing for it (on any replica)
			// get one try between them, not one each.
			for range policy.AccountFailures {
				want(t, login(here, "insp-a2", "wrong-password"), http.StatusUnauthorized, "")
			}
			h.Advance(time.Second)
			results := make(chan acctResult, 8)
			for range cap(results) {
				go func() {
					results <- acctPost(here, h, syncproto.PathLogin, syncproto.LoginRequest{Username: "insp-a2", Password: "wrong-password"})
				}()
			}
			statuses := map[int]int{}
			for range cap(results) {
				r := <-results
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				statuses[r.Status]++
			}
			if statuses[http.StatusUnauthorized] != 1 || statuses[http.StatusTooManyRequests] != cap(results)-1 {
				t.Fatalf("statuses %v, want one 401 and the rest 429", statuses)
			}
		})
		h.Advance(policy.Forget) // every counter forgotten

		t.Run("PerAddress", func(t *testing.T) {
			// One address spraying many accounts; a forged X-Forwarded-For
			// does not make each attempt look like a new address.
			for i := range policy.AddressFailures {
				r := login(here, fmt.Sprintf("nobody-%d", i), "wrong-password", "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i), "X-Real-IP", fmt.Sprintf("10.0.1.%d", i))
				want(t, r, http.StatusUnauthorized, "")
			}
			want(t, login(here, "insp-b1", apptest.Password, "X-Forwarded-For", "10.9.9.9"), http.StatusTooManyRequests, "1")
			// Another address is not held up, not even for that account.
			want(t, login(there, "insp-b1", apptest.Password), http.StatusOK, "")
			h.Advance(time.Second)
			want(t, login(here, "insp-b1", apptest.Password), http.StatusOK, "")
		})

		t.Run("RefreshNotLimited", func(t *testing.T) {
			s := login(there, "root", apptest.Password)
			var sess syncproto.Session
			if err := json.Unmarshal(s.Body, &sess); err != nil {
				t.Fatal(err)
			}
			for range 40 {
				r := acctPost(there, h, syncproto.PathRefresh, acctRefresh(sess.RefreshToken, nil))
				if r.Status != http.StatusOK {
					t.Fatalf("refresh: %d %s", r.Status, r.Body)
				}
				if err := json.Unmarshal(r.Body, &sess); err != nil {
					t.Fatal(err)
				}
			}
		})
	})
}

// TestLoginBusy: password hashes run a bounded number at once; a login that
// finds no slot within the wait is answered 503 unavailable with
// Retry-After, and is not counted as a failed attempt.
func TestLoginBusy(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		a, err := app.New(context.Background(), app.Config{DataDir: dir, KeysDir: dir, HashConcurrency: 2, HashWait: time.Millisecond}, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.API.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		go a.API.Serve()
		t.Cleanup(func() { a.API.Shutdown(context.Background()) })
		h := &apptest.Harness{App: a, URL: "http://" + a.API.Addr().String()}
		_, password, err := a.EnsureAdmin(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		var held []func()
		for range 2 {
			release, err := a.Passwords.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, release)
		}
		for range store.DefaultLoginPolicy.AccountFailures + 1 {
			r := h.Do(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin", Password: "wrong-password"})
			if r.Status != http.StatusServiceUnavailable || r.Error().Code != syncproto.CodeUnavailable || r.Header.Get("Retry-After") == "" {
				t.Fatalf("login with every hashing slot taken: status %d Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
			}
		}
		for _, release := range held {
			release()
		}
		// None of those counted: the right password goes straight through.
		h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin", Password: password}, http.StatusOK, nil)
	})
}
