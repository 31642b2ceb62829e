package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// acctResult is a response read without a *testing.T, so goroutines can use it.
type acctResult struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

func (r acctResult) code() string {
	var e syncproto.Error
	_ = json.Unmarshal(r.Body, &e)
	return e.Code
}

// acctClientFrom returns an HTTP client whose connections come from the
// loopback address ip (any of 127.0.0.0/8 works on Linux), so a test can be
// two different client addresses.
func acctClientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// acctPost sends body as JSON with client and the extra headers (name, value, …).
func acctPost(client *http.Client, h *apptest.Harness, path string, body any, headers ...string) acctResult {
	buf, err := json.Marshal(body)
	if err != nil {
		return acctResult{Err: err}
	}
	req, err := http.NewRequest("POST", h.URL+path, bytes.NewReader(buf))
	if err != nil {
		return acctResult{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return acctResult{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return acctResult{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// acctWant fails the test unless r has the status and, if not empty, the error code.
func acctWant(t *testing.T, r *apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.Error().Code != code) {
		t.Fatalf("status %d %s, want %d %s: %s", r.Status, r.Error().Code, status, code, r.Body)
	}
}

// acctNoSecrets fails the test if a response body mentions a password or a hash.
func acctNoSecrets(t *testing.T, bodies ...[]byte) {
	t.Helper()
	for _, b := range bodies {
		s := strings.ToLower(string(b))
		if strings.Contains(s, `"password`) || strings.Contains(s, "argon2") || strings.Contains(s, apptest.Password) {
			t.Fatalf("response leaks a password or hash: %s", b)
		}
	}
}

// acctDevice is a registered device and its private key.
type acctDevice struct {
	syncproto.Device
	Key ed25519.PrivateKey
}

// acctRegisterDevice registers a new device for the user whose token it is.
func acctRegisterDevice(t *testing.T, h *apptest.Harness, token, name string) acctDevice {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var d syncproto.Device
	h.MustDo(t, "POST", syncproto.PathDevices, token, syncproto.RegisterDeviceRequest{Name: name, PublicKey: pub}, http.StatusCreated, &d)
	if !bytes.Equal(d.PublicKey, pub) || d.Name != name || d.ID == 0 {
		t.Fatalf("registered device %+v", d)
	}
	return acctDevice{Device: d, Key: priv}
}

// acctDeviceLogin signs username in on device d.
func acctDeviceLogin(t *testing.T, h *apptest.Harness, username string, d acctDevice) *syncproto.Session {
	t.Helper()
	var s syncproto.Session
	h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: username, Password: apptest.Password, DeviceID: &d.ID}, http.StatusOK, &s)
	if s.DeviceID == nil || *s.DeviceID != d.ID {
		t.Fatalf("session not bound to device %d: %+v", d.ID, s.DeviceID)
	}
	return &s
}

// acctRefresh is the body that refreshes token on d, with a valid proof.
func acctRefresh(token string, d *acctDevice) syncproto.RefreshRequest {
	req := syncproto.RefreshRequest{RefreshToken: token}
	if d != nil {
		req.DeviceID = &d.ID
		req.DeviceProof = ed25519.Sign(d.Key, syncproto.RefreshProofMessage(token))
	}
	return req
}
