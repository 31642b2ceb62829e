package sdk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

func openE2E(t *testing.T, h *apptest.Harness) *Client {
	t.Helper()
	c, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 2, BackoffBase: 10 * time.Millisecond, ChunkSize: 1 << 10, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Enrolment against a real server: a device-bound session, a refresh with the
// device proof when the access token is refused, a lost refresh answer
// retried with the same token, and revocation stopping the device.
func TestE2EEnrolRefreshRevoke(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		c := openE2E(t, h)
		if err := c.Enrol(ctx, h.URL, "insp-a1", "wrong", "tablet"); !errors.Is(err, ErrAuth) {
			t.Fatalf("bad password: %v, want ErrAuth", err)
		}
		if err := c.Enrol(ctx, h.URL, "insp-a1", apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if c.DeviceID() <= 0 {
			t.Fatal("no device id")
		}
		me := func() error {
			_, err := c.call(ctx, request{method: http.MethodGet, path: syncproto.PathMe, auth: true})
			return err
		}
		if err := me(); err != nil {
			t.Fatal(err)
		}
		// A refused access token is refreshed with the device proof.
		d, _ := c.device(c.db)
		oldRefresh := d.RefreshToken
		c.db.Exec(`UPDATE device SET access_token = 'expired'`)
		if err := me(); err != nil {
			t.Fatalf("after refresh: %v", err)
		}
		d, _ = c.device(c.db)
		if d.RefreshToken == oldRefresh || d.AccessToken == "expired" {
			t.Fatal("the refresh token was not rotated")
		}
		// The answer to a refresh was lost: the device still holds the spent
		// token and retries with it; the server hands back the same successor.
		newRefresh := d.RefreshToken
		c.db.Exec(`UPDATE device SET access_token = 'expired', refresh_token = ?`, oldRefresh)
		if err := me(); err != nil {
			t.Fatalf("retried refresh: %v", err)
		}
		d, _ = c.device(c.db)
		if d.RefreshToken != newRefresh {
			t.Fatal("a retried refresh did not get the same new token")
		}
		// Signing in again keeps the same device.
		id := c.DeviceID()
		if err := c.Enrol(ctx, h.URL, "insp-a1", apptest.Password, "tablet"); err != nil || c.DeviceID() != id {
			t.Fatalf("re-login: device %d→%d, %v", id, c.DeviceID(), err)
		}
		// Revoked: the device stops and says so.
		h.MustDo(t, "POST", fmt.Sprintf("/v1/devices/%d/revoke", id), h.Token(t, "admin-a"), map[string]string{"reason": "丢失 (lost)"}, http.StatusOK, nil)
		if err := me(); !errors.Is(err, ErrRevoked) {
			t.Fatalf("after revocation: %v, want ErrRevoked", err)
		}
		if err := c.Sync(ctx); !errors.Is(err, ErrRevoked) {
			t.Fatalf("sync after revocation: %v, want ErrRevoked", err)
		}
		if st, _ := c.Status(); !st.Revoked {
			t.Fatal("status does not show the revocation")
		}
	})
}

// issuePackets issues a two-department campaign and returns the username of
// a department-A inspector on a team with a packet, and that packet's id.
func issuePackets(t *testing.T, h *apptest.Harness) (username, packetID string) {
	t.Helper()
	is := h.IssueCampaign(t, apptest.CampaignSpec{
		Cafes: 12, Ratio: "0.5", TargetsPerTeam: 4,
		Items: map[string][]string{h.DeptA.Code: {"licence", "minors"}, h.DeptB.Code: {"prices"}},
	})
	for _, p := range is.Packets {
		if users := is.MembersOf(p.ID, h.DeptA); len(users) > 0 {
			return users[0], p.ID
		}
	}
	t.Fatalf("no packet with a department-A inspector among %d packets", len(is.Packets))
	return "", ""
}

// enrolledE2E is an e2e client enrolled as username that has pulled its packets.
func enrolledE2E(t *testing.T, h *apptest.Harness, username string) *Client {
	t.Helper()
	c := openE2E(t, h)
	if err := c.Enrol(context.Background(), h.URL, username, apptest.Password, "tablet"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// revokedWithWork is a device that answered an item with a photo, closed the
// visit signed and sealed it, all unsynced, and was then revoked by its
// department's admin. pngSeed keeps its pictures apart from other tests'.
func revokedWithWork(t *testing.T, h *apptest.Harness, pngSeed uint8) (c *Client, username, packetID string, fin *syncproto.FinalizeMutation) {
	t.Helper()
	ctx := context.Background()
	username, packetID = issuePackets(t, h)
	c = enrolledE2E(t, h, username)
	dir := t.TempDir()
	if _, err := c.Answer(ctx, packetID, AnswerInput{Department: h.DeptA.Code, ItemCode: "minors", Result: syncproto.ResultNonCompliant,
		Note: "发现未成年人", Photos: []string{writePNG(t, dir, pngSeed)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloseVisit(packetID, CloseInput{Outcome: syncproto.OutcomeSigned,
		Signatures: []SignatureInput{{Role: syncproto.SignerRepresentative, Name: "王五", PNGPath: writePNG(t, dir, pngSeed+1)}}}); err != nil {
		t.Fatal(err)
	}
	fin, err := c.Finalize(packetID)
	if err != nil {
		t.Fatal(err)
	}
	h.MustDo(t, "POST", fmt.Sprintf("/v1/devices/%d/revoke", c.DeviceID()), h.Token(t, "admin-a"), map[string]string{"reason": "调离 (transferred)"}, http.StatusOK, nil)
	if err := c.Sync(ctx); !errors.Is(err, ErrRevoked) {
		t.Fatalf("sync after revocation: %v", err)
	}
	return c, username, packetID, fin
}

// The day in the field end to end: enrol, sync the packet, work offline
// (answers with a photo, certificates, signature and stamp, finalize), sync,
// and the server holds the sealed record.
func TestE2EFieldDay(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		c := openE2E(t, h)
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		// A server without the sync API fails here: the field day needs it.
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := c.Packet(packetID)
		if err != nil {
			t.Fatalf("the packet did not arrive: %v", err)
		}

		// Offline from here: nothing below talks to the server.
		dir := t.TempDir()
		photo := writePNG(t, dir, 40)
		var dept string
		for _, s := range p.Content.Sections {
			if s.Department == h.DeptA.Code {
				dept = s.Department
				for _, it := range s.Items {
					in := AnswerInput{Department: dept, ItemCode: it.Code, Result: syncproto.ResultCompliant}
					if it.Code == "minors" {
						in.Result, in.Note, in.Photos = syncproto.ResultNonCompliant, "发现未成年人上网", []string{photo}
					}
					if _, err := c.Answer(ctx, packetID, in); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if dept == "" {
			t.Fatalf("no section of department %s in %+v", h.DeptA.Code, p.Content.Sections)
		}
		var shown []syncproto.CertificateShown
		for _, m := range p.Content.Team {
			shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
		}
		if err := c.RecordCertificates(packetID, shown, &syncproto.Location{Latitude: 24.5, Longitude: 118.1, AccuracyM: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CloseVisit(packetID, CloseInput{Outcome: syncproto.OutcomeSigned,
			Signatures: []SignatureInput{{Role: syncproto.SignerRepresentative, Name: "张三", PNGPath: writePNG(t, dir, 41)}},
			StampPath:  writePNG(t, dir, 42)}); err != nil {
			t.Fatal(err)
		}
		fin, err := c.Finalize(packetID)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := c.Status(); st.Outbox == 0 || st.PendingUploads != 3 {
			t.Fatalf("before sync: %+v", st)
		}

		// Back in the vehicle.
		if err := c.Sync(ctx); err != nil {
			rs, _ := c.Rejections()
			t.Fatalf("sync: %v (rejections %+v)", err, rs)
		}
		st, _ := c.Status()
		if st.Outbox != 0 || st.PendingUploads != 0 || st.Rejections != 0 {
			t.Fatalf("after sync: %+v", st)
		}
		// The server sends the sealed record back: same hash, same signature.
		var rec struct {
			Hash      string
			Signature []byte
		}
		if err := c.db.Raw(`SELECT hash, signature FROM records WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&rec).Error; err != nil {
			t.Fatal(err)
		}
		if rec.Hash != fin.Hash || string(rec.Signature) != string(fin.Signature) {
			t.Fatalf("server record hash %q, want %q", rec.Hash, fin.Hash)
		}
		// A second sync is a no-op and pushes nothing twice.
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// Attachments are readable by the inspector who may read the record.
		resp, err := c.call(ctx, request{method: http.MethodGet, path: syncproto.PathAttachments + "/" + fin.Record.Attachments[0], auth: true})
		if err != nil {
			t.Fatalf("read attachment back: %v", err)
		}
		want, _ := os.ReadFile(filepath.Join(c.Dir(), "attachments", fin.Record.Attachments[0]))
		if string(resp.body) != string(want) {
			t.Fatal("the attachment read back differs")
		}
	})
}

func testLogger() *slog.Logger {
	if os.Getenv("SDK_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// flakyTransport is a real transport whose link can be cut.
type flakyTransport struct {
	// events, when set, receives (at most one pending value) after each
	// request, failed or not: the device's state changes only around them.
	events chan struct{}
	down   atomic.Bool
	sent   atomic.Int64
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.events != nil {
		defer func() {
			select {
			case f.events <- struct{}{}:
			default:
			}
		}()
	}
	f.sent.Add(1)
	if f.down.Load() {
		return nil, errors.New("network is unreachable")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// No attachments: the visit could not be located. Work done while the link
// is down is synced by Watch as soon as it is back; a change the server
// refuses is listed with its reason and does not stall the queue.
func TestE2EWatchReconnectsAndRejectionsAreVisible(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		username, packetID := issuePackets(t, h)
		link := &flakyTransport{events: make(chan struct{}, 1)}
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 2, BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
			HTTPClient: &http.Client{Transport: link, Timeout: 10 * time.Second}, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		link.down.Store(true)
		if err := c.Sync(ctx); !errors.Is(err, ErrOffline) {
			t.Fatalf("sync with the link down: %v, want ErrOffline", err)
		}
		p, _ := c.Packet(packetID)
		dept := p.Content.Sections[0]
		for _, s := range p.Content.Sections {
			if s.Department == h.DeptA.Code {
				dept = s
			}
		}
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: dept.Department, ItemCode: dept.Items[0].Code, Result: syncproto.ResultNotApplicable}); err != nil {
			t.Fatal(err)
		}
		// An answer naming an item version the server never issued.
		c.db.Exec(`UPDATE packets SET content = json_set(content, '$.sections[0].items[0].version', 99) WHERE id = ?`, packetID)
		p, _ = c.Packet(packetID)
		bad := p.Content.Sections[0]
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: bad.Department, ItemCode: bad.Items[0].Code, Result: syncproto.ResultCompliant, Note: "bad version"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CloseVisit(packetID, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所已拆除，电话无人接听"}); err != nil {
			t.Fatal(err)
		}
		fin, err := c.Finalize(packetID)
		if err != nil {
			t.Fatal(err)
		}

		done := make(chan error, 1)
		// A bound for failure reports only; nothing is asserted about time.
		bound := time.NewTimer(time.Minute)
		defer bound.Stop()
		next := func(what string) {
			t.Helper()
			select {
			case <-link.events:
			case <-bound.C:
				st, _ := c.Status()
				t.Fatalf("%s: %+v", what, st)
			}
		}
		for len(link.events) > 0 { // what the syncs before left
			<-link.events
		}
		go func() { done <- c.Watch(ctx, time.Hour) }()
		next("Watch did not try the link while it was down")
		if st, _ := c.Status(); st.Outbox != 4 {
			t.Fatalf("outbox %d while offline, want 4", st.Outbox)
		}
		link.down.Store(false) // the vehicle is back in coverage
		// The outbox changes only around the device's requests; Watch keeps
		// a pull open once it is empty, so there is always a next request.
		for st, _ := c.Status(); st.Outbox != 0; st, _ = c.Status() {
			next("Watch did not sync after the link came back")
		}
		cancel()
		<-done
		rs, _ := c.Rejections()
		if len(rs) != 1 || rs[0].Mutation.Answer == nil || rs[0].Mutation.Answer.Note != "bad version" || rs[0].Message == "" {
			t.Fatalf("rejections: %+v", rs)
		}
		// The record reached the server: the next pull brings it back sealed.
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		var hash string
		c.db.Raw(`SELECT hash FROM records WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&hash)
		if hash != fin.Hash {
			t.Fatalf("server record hash %q, want %q", hash, fin.Hash)
		}
	})
}

// lossyTransport delivers every request but loses the answer to some: the
// server did the work, the device never heard.
type lossyTransport struct {
	n    atomic.Int64
	lost atomic.Int64
}

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	lose := (r.Method == http.MethodPatch && l.n.Add(1)%2 == 0) ||
		(r.URL.Path == syncproto.PathPush && l.n.Add(1)%2 == 1)
	if lose {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l.lost.Add(1)
		return nil, errors.New("connection reset by peer")
	}
	return resp, nil
}

// Answers to uploads and pushes lost on the way back: uploads resume from the
// server's offset, pushes are acknowledged as duplicates, nothing is lost or
// applied twice.
func TestE2ELostResponses(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		link := &lossyTransport{}
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 3, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
			ChunkSize: 100, HTTPClient: &http.Client{Transport: link}, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		p, _ := c.Packet(packetID)
		dir := t.TempDir()
		for _, s := range p.Content.Sections {
			if s.Department != h.DeptA.Code {
				continue
			}
			for i, it := range s.Items {
				if _, err := c.Answer(ctx, packetID, AnswerInput{Department: s.Department, ItemCode: it.Code, Result: syncproto.ResultNonCompliant,
					Photos: []string{writePNG(t, dir, uint8(60+i))}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := c.CloseVisit(packetID, CloseInput{Outcome: syncproto.OutcomeAbsent, Note: "法定代表人不在",
			Signatures: []SignatureInput{{Role: syncproto.SignerWitness, Name: "物业管理员", PNGPath: writePNG(t, dir, 70)}}}); err != nil {
			t.Fatal(err)
		}
		fin, err := c.Finalize(packetID)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			err := c.Sync(ctx)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrOffline) || i > 20 {
				t.Fatalf("sync %d: %v", i, err)
			}
		}
		st, _ := c.Status()
		rs, _ := c.Rejections()
		if st.Outbox != 0 || st.PendingUploads != 0 || len(rs) != 0 {
			t.Fatalf("after sync: %+v, rejections %+v", st, rs)
		}
		var hash string
		c.db.Raw(`SELECT hash FROM records WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&hash)
		if hash != fin.Hash {
			t.Fatalf("server record hash %q, want %q", hash, fin.Hash)
		}
		if link.lost.Load() < 3 {
			t.Fatalf("only %d answers lost; the test did not test", link.lost.Load())
		}
		t.Logf("%d answers lost on the way back", link.lost.Load())
	})
}

// A seal queued when the device was revoked is sealed again for the device
// that replaces it, so the server takes it from the new one; the original
// seal stays on the device.
func TestE2EReenrolReseals(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		c := enrolledE2E(t, h, username)
		oldID := c.DeviceID()
		if _, err := c.CloseVisit(packetID, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所已拆除，电话无人接听"}); err != nil {
			t.Fatal(err)
		}
		fin, err := c.Finalize(packetID)
		if err != nil {
			t.Fatal(err)
		}
		h.MustDo(t, "POST", fmt.Sprintf("/v1/devices/%d/revoke", oldID), h.Token(t, "admin-a"), map[string]string{"reason": "误报丢失 (reported lost by mistake)"}, http.StatusOK, nil)
		if err := c.Sync(ctx); !errors.Is(err, ErrRevoked) {
			t.Fatalf("sync after revocation: %v, want ErrRevoked", err)
		}
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		newID := c.DeviceID()
		if newID == oldID {
			t.Fatal("re-enrolment after revocation kept the revoked device")
		}
		if err := c.Sync(ctx); err != nil {
			rs, _ := c.Rejections()
			t.Fatalf("sync after re-enrolment: %v (rejections %+v)", err, rs)
		}
		var server struct {
			DeviceID int64  `gorm:"column:device_id"`
			Hash     string `gorm:"column:hash"`
			Body     string `gorm:"column:body"`
		}
		if err := h.App.DB.WithTx(ctx, func(tx *store.Tx) error {
			return tx.Raw(`SELECT device_id, hash, body FROM records WHERE packet_id = ?`, packetID).Scan(&server).Error
		}); err != nil {
			t.Fatal(err)
		}
		var rec syncproto.InspectionRecord
		if err := json.Unmarshal([]byte(server.Body), &rec); err != nil {
			t.Fatal(err)
		}
		if server.DeviceID != newID || rec.DeviceID != newID || server.Hash == fin.Hash {
			t.Fatalf("server record from device %d (body names %d), hash %s; want the new device %d and a new seal", server.DeviceID, rec.DeviceID, server.Hash, newID)
		}
		if !rec.SealedAt.Equal(fin.Record.SealedAt) || rec.Close.Note != fin.Record.Close.Note {
			t.Fatalf("the re-sealed record changed: %+v", rec)
		}
		var original []string
		c.db.Raw(`SELECT hash FROM records WHERE packet_id = ? AND origin = 'local'`, packetID).Scan(&original)
		if len(original) != 1 || original[0] != fin.Hash {
			t.Fatalf("local seals %v, want the original %s kept", original, fin.Hash)
		}
	})
}

// A revoked device cannot sync; Export carries its unsynced work out: the
// outbox in order, the sealed record (verifiable with the device's public
// key) and every attachment, whole.
func TestE2EExportAfterRevocation(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c, username, _, fin := revokedWithWork(t, h, 91)
		before, _ := c.Status()

		var buf bytes.Buffer
		m, err := c.Export(&buf)
		if err != nil {
			t.Fatal(err)
		}
		entries := readArchive(t, buf.Bytes())
		if entries[0].name != "manifest.json" {
			t.Fatalf("archive starts with %s", entries[0].name)
		}
		files := map[string][]byte{}
		for _, e := range entries {
			files[e.name] = e.body
		}
		var got ExportManifest
		if err := json.Unmarshal(files["manifest.json"], &got); err != nil {
			t.Fatal(err)
		}
		if got.Format != ExportFormat || !got.Revoked || got.Username != username || got.DeviceID != c.DeviceID() ||
			got.Outbox != before.Outbox || got.Records != 1 || len(got.Attachments) != 2 || got.Outbox != m.Outbox {
			t.Fatalf("manifest %+v; status before %+v", got, before)
		}
		lines := strings.Split(strings.TrimSpace(string(files["outbox.jsonl"])), "\n")
		if len(lines) != before.Outbox {
			t.Fatalf("%d outbox lines, %d queued", len(lines), before.Outbox)
		}
		for i, l := range lines {
			var mu syncproto.Mutation
			if err := json.Unmarshal([]byte(l), &mu); err != nil || mu.Seq != uint64(i+1) || mu.Validate() != nil {
				t.Fatalf("outbox line %d: %v %+v", i, err, mu)
			}
		}
		var sr syncproto.SealedRecord
		if err := json.Unmarshal(bytes.TrimSpace(files["records.jsonl"]), &sr); err != nil {
			t.Fatal(err)
		}
		pub, _ := base64.StdEncoding.DecodeString(got.PublicKey)
		hash, _ := syncproto.RecordHash(&sr.Record)
		if sr.Hash != fin.Hash || hash != fin.Hash || !ed25519.Verify(pub, syncproto.SealMessage(sr.Hash), sr.Signature) {
			t.Fatal("the exported seal does not verify with the exported public key")
		}
		for _, sha := range got.Attachments {
			sum := sha256.Sum256(files["attachments/"+sha])
			if hex.EncodeToString(sum[:]) != sha {
				t.Fatalf("attachment %s not whole in the export", sha)
			}
		}
		if after, _ := c.Status(); after.Outbox != before.Outbox {
			t.Fatal("export changed the outbox")
		}
	})
}
