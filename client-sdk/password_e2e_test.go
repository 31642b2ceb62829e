package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestE2EOneTimePassword: after an administrator resets an inspector's
// password, enrolment says the one-time password must be changed (and
// registers no device); ChangePassword changes it, and the new one enrols.
func TestE2EOneTimePassword(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		r := h.MustDo(t, "POST", fmt.Sprintf("/v1/users/%d/password-reset", h.Users["insp-a1"].ID), h.Token(t, "admin-a"), nil, http.StatusOK, nil)
		var reset struct {
			Password string `json:"one_time_password"`
		}
		if err := json.Unmarshal(r.Body, &reset); err != nil || reset.Password == "" {
			t.Fatalf("reset: %v: %s", err, r.Body)
		}

		c := openE2E(t, h)
		if err := c.Enrol(ctx, h.URL, "insp-a1", reset.Password, "tablet"); !errors.Is(err, ErrPasswordChange) {
			t.Fatalf("enrol with a one-time password: %v, want ErrPasswordChange", err)
		}
		if _, err := c.device(c.db); !errors.Is(err, ErrNotEnrolled) {
			t.Fatalf("enrolled with a one-time password: %v", err)
		}
		if err := c.ChangePassword(ctx, h.URL, "insp-a1", "wrong-password", "chosen-password-1"); !errors.Is(err, ErrAuth) {
			t.Fatalf("change with a wrong password: %v, want ErrAuth", err)
		}
		if err := c.ChangePassword(ctx, h.URL, "insp-a1", reset.Password, "short"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("change to a short password: %v, want ErrInvalid", err)
		}
		if err := c.ChangePassword(ctx, h.URL, "insp-a1", reset.Password, "chosen-password-1"); err != nil {
			t.Fatal(err)
		}
		if err := c.Enrol(ctx, h.URL, "insp-a1", "chosen-password-1", "tablet"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.call(ctx, request{method: http.MethodGet, path: syncproto.PathMe, auth: true}); err != nil {
			t.Fatal(err)
		}
	})
}
