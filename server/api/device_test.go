package api_test

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestDeviceAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, adminB, coordA := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b"), h.Token(t, "coord-a")
		inspA1, inspA2, inspB1 := h.Token(t, "insp-a1"), h.Token(t, "insp-a2"), h.Token(t, "insp-b1")
		var bodies [][]byte
		devPath := func(id int64) string { return fmt.Sprintf("%s/%d", syncproto.PathDevices, id) }
		list := func(t *testing.T, path, token string) api.List[syncproto.Device] {
			t.Helper()
			var l api.List[syncproto.Device]
			r := h.MustDo(t, "GET", path, token, nil, http.StatusOK, &l)
			bodies = append(bodies, r.Body)
			return l
		}

		a1 := acctRegisterDevice(t, h, inspA1, "文化执法终端-1")
		a2 := acctRegisterDevice(t, h, inspA2, "文化执法终端-2")
		b1 := acctRegisterDevice(t, h, inspB1, "市场执法终端-1")

		t.Run("ErrRegister", func(t *testing.T) {
			key32 := make([]byte, 32)
			for name, tc := range map[string]struct {
				token  string
				body   any
				status int
				code   string
			}{
				"ErrAdmin":       {adminA, syncproto.RegisterDeviceRequest{Name: "x", PublicKey: key32}, 403, syncproto.CodeForbidden},
				"ErrCoordinator": {coordA, syncproto.RegisterDeviceRequest{Name: "x", PublicKey: key32}, 403, syncproto.CodeForbidden},
				"ErrShortKey":    {inspA1, syncproto.RegisterDeviceRequest{Name: "x", PublicKey: key32[:31]}, 400, syncproto.CodeInvalid},
				"ErrNoName":      {inspA1, syncproto.RegisterDeviceRequest{PublicKey: key32}, 400, syncproto.CodeInvalid},
				"ErrNotBase64":   {inspA1, `{"name":"x","public_key":"!!not base64!!"}`, 400, syncproto.CodeInvalid},
				"ErrOwner":       {inspA1, `{"name":"x","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","user_id":1}`, 400, syncproto.CodeInvalid},
				"ErrNoToken":     {"", syncproto.RegisterDeviceRequest{Name: "x", PublicKey: key32}, 401, syncproto.CodeUnauthorized},
			} {
				t.Run(name, func(t *testing.T) {
					acctWant(t, h.Do(t, "POST", syncproto.PathDevices, tc.token, tc.body), tc.status, tc.code)
				})
			}
		})
		t.Run("ErrWeakKey", func(t *testing.T) {
			// Small-order points (any signature check against them is
			// meaningless), a non-canonical encoding of a good point, and a
			// point off the curve.
			for name, hexKey := range map[string]string{
				"Zero":              "0000000000000000000000000000000000000000000000000000000000000000",
				"Identity":          "0100000000000000000000000000000000000000000000000000000000000000",
				"Order2":            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
				"Order8":            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
				"Order8Other":       "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
				"IdentityNegZero":   "0100000000000000000000000000000000000000000000000000000000000080",
				"NonCanonicalYOver": "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
				"OffCurve":          "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
			} {
				key, err := hex.DecodeString(hexKey)
				if err != nil {
					t.Fatal(err)
				}
				r := h.Do(t, "POST", syncproto.PathDevices, inspA1, syncproto.RegisterDeviceRequest{Name: "弱密钥终端", PublicKey: key})
				if r.Status != http.StatusBadRequest || r.Error().Code != syncproto.CodeInvalid {
					t.Errorf("%s key: status %d: %s", name, r.Status, r.Body)
				}
			}
			var l api.List[syncproto.Device]
			h.MustDo(t, "GET", syncproto.PathDevices, inspA1, nil, http.StatusOK, &l)
			for _, d := range l.Items {
				if d.Name == "弱密钥终端" {
					t.Fatalf("a weak key was registered: %+v", d)
				}
			}
		})

		t.Run("Index", func(t *testing.T) {
			for _, tc := range []struct {
				who, token string
				want       []int64
			}{
				{"insp-a1", inspA1, []int64{a1.ID}},
				{"insp-a2", inspA2, []int64{a2.ID}},
				{"insp-b1", inspB1, []int64{b1.ID}},
				{"admin-a", adminA, []int64{a1.ID, a2.ID}},
				{"admin-b", adminB, []int64{b1.ID}},
				{"root", root, []int64{a1.ID, a2.ID, b1.ID}},
				{"coord-a", coordA, nil},
			} {
				l := list(t, syncproto.PathDevices, tc.token)
				if l.Total != len(tc.want) || len(l.Items) != len(tc.want) {
					t.Fatalf("%s sees %d devices, want %d", tc.who, l.Total, len(tc.want))
				}
				for i, d := range l.Items {
					if d.ID != tc.want[i] {
						t.Fatalf("%s sees device %d, want %d", tc.who, d.ID, tc.want[i])
					}
				}
			}
			// Filters narrow but never widen.
			if l := list(t, fmt.Sprintf("%s?user_id=%d", syncproto.PathDevices, h.Users["insp-b1"].ID), inspA1); l.Total != 0 {
				t.Fatalf("insp-a1 filtering on insp-b1 sees %d devices", l.Total)
			}
			if l := list(t, fmt.Sprintf("%s?department_id=%d", syncproto.PathDevices, h.DeptB.ID), adminA); l.Total != 0 {
				t.Fatalf("admin-a filtering on department B sees %d devices", l.Total)
			}
			if l := list(t, fmt.Sprintf("%s?department_id=%d", syncproto.PathDevices, h.DeptB.ID), root); l.Total != 1 {
				t.Fatalf("root filtering on department B sees %d devices", l.Total)
			}
			acctWant(t, h.Do(t, "GET", syncproto.PathDevices+"?user_id=me", root, nil), http.StatusBadRequest, syncproto.CodeInvalid)
		})

		t.Run("View", func(t *testing.T) {
			for _, tok := range []string{inspA1, adminA, root} {
				var d syncproto.Device
				r := h.MustDo(t, "GET", devPath(a1.ID), tok, nil, http.StatusOK, &d)
				bodies = append(bodies, r.Body)
				if d.ID != a1.ID || d.UserID != h.Users["insp-a1"].ID || string(d.PublicKey) != string(a1.PublicKey) {
					t.Fatalf("got %+v", d)
				}
			}
			for _, tc := range []struct{ token, path string }{
				{inspA1, devPath(a2.ID)}, {inspA2, devPath(a1.ID)}, {inspA1, devPath(b1.ID)},
				{adminA, devPath(b1.ID)}, {adminB, devPath(a1.ID)}, {coordA, devPath(a1.ID)},
				{root, devPath(999999)}, {root, syncproto.PathDevices + "/x"},
			} {
				acctWant(t, h.Do(t, "GET", tc.path, tc.token, nil), http.StatusNotFound, syncproto.CodeNotFound)
			}
		})

		t.Run("Revoke", func(t *testing.T) {
			reason := RevokeBody("设备遗失 (device lost)")
			acctWant(t, h.Do(t, "POST", devPath(b1.ID)+"/revoke", adminA, reason), http.StatusNotFound, syncproto.CodeNotFound)
			acctWant(t, h.Do(t, "POST", devPath(a1.ID)+"/revoke", inspA1, reason), http.StatusForbidden, syncproto.CodeForbidden)
			acctWant(t, h.Do(t, "POST", devPath(a1.ID)+"/revoke", coordA, reason), http.StatusForbidden, syncproto.CodeForbidden)
			acctWant(t, h.Do(t, "POST", devPath(a1.ID)+"/revoke", adminA, RevokeBody("")), http.StatusBadRequest, syncproto.CodeInvalid)
			acctWant(t, h.Do(t, "POST", devPath(a1.ID)+"/revoke", adminA, nil), http.StatusUnsupportedMediaType, syncproto.CodeUnsupportedType)

			var d syncproto.Device
			r := h.MustDo(t, "POST", devPath(a1.ID)+"/revoke", adminA, reason, http.StatusOK, &d)
			bodies = append(bodies, r.Body)
			if d.RevokedAt == nil || d.RevokeReason != "设备遗失 (device lost)" {
				t.Fatalf("after revoke: %+v", d)
			}
			// A second revocation keeps the first one's time and reason.
			h.Advance(time.Minute)
			var again syncproto.Device
			h.MustDo(t, "POST", devPath(a1.ID)+"/revoke", root, RevokeBody("再次 (again)"), http.StatusOK, &again)
			if !again.RevokedAt.Equal(*d.RevokedAt) || again.RevokeReason != d.RevokeReason {
				t.Fatalf("second revoke changed it: %+v", again)
			}
			// The others are untouched.
			var other syncproto.Device
			h.MustDo(t, "GET", devPath(a2.ID), adminA, nil, http.StatusOK, &other)
			if other.RevokedAt != nil {
				t.Fatal("revoked the wrong device")
			}
		})

		acctNoSecrets(t, bodies...)
	})
}
