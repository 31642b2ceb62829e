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
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
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
		if st, _ := c.Status(context.Background()); !st.Revoked {
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

// workSection answers every item of department A's section of the packet
// (minors non-compliant, with a photo), records the certificates of the
// team and seals the section.
func workSection(t *testing.T, c *Client, h *apptest.Harness, packetID string, pngSeed uint8) *syncproto.SealMutation {
	t.Helper()
	ctx := context.Background()
	p, err := c.Packet(ctx, packetID)
	if err != nil {
		t.Fatalf("the packet did not arrive: %v", err)
	}
	dir := t.TempDir()
	for _, s := range p.Content.Sections {
		if s.Department != h.DeptA.Code {
			continue
		}
		for _, it := range s.Items {
			in := AnswerInput{Department: s.Department, ItemCode: it.Code, Result: syncproto.ResultCompliant}
			if it.Code == "minors" {
				in.Result, in.Note, in.Photos = syncproto.ResultNonCompliant, "发现未成年人上网", []string{writePNG(t, dir, pngSeed)}
			}
			if _, err := c.Answer(ctx, packetID, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	var shown []syncproto.CertificateShown
	for _, m := range p.Content.Team {
		shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
	}
	if err := c.RecordCertificates(ctx, packetID, shown, &syncproto.Location{Latitude: 39.6, Longitude: 118.2, AccuracyM: 10}); err != nil {
		t.Fatal(err)
	}
	seal, err := c.SealSection(ctx, packetID)
	if err != nil {
		t.Fatal(err)
	}
	return seal
}

// serverSeal is the hash of the section seal the device pulled back, "" for none.
func serverSeal(t *testing.T, c *Client, packetID, dept string) string {
	t.Helper()
	var hash string
	if err := c.db.Raw(`SELECT hash FROM section_seals WHERE packet_id = ? AND department = ? AND origin = 'server' ORDER BY version DESC LIMIT 1`,
		packetID, dept).Scan(&hash).Error; err != nil {
		t.Fatal(err)
	}
	return hash
}

// serverClose is the hash of the close the device pulled back, "" for none.
func serverClose(t *testing.T, c *Client, packetID string) string {
	t.Helper()
	var hash string
	if err := c.db.Raw(`SELECT hash FROM closes WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&hash).Error; err != nil {
		t.Fatal(err)
	}
	return hash
}

// revokedWithWork is a device that answered its section (a photo among the
// answers), sealed it, closed the visit signed, all unsynced, and was then
// revoked by its department's admin. pngSeed keeps its pictures apart from
// other tests'.
func revokedWithWork(t *testing.T, h *apptest.Harness, pngSeed uint8) (c *Client, username, packetID string, seal *syncproto.SealMutation) {
	t.Helper()
	ctx := context.Background()
	username, packetID = issuePackets(t, h)
	c = enrolledE2E(t, h, username)
	seal = workSection(t, c, h, packetID, pngSeed)
	if _, err := c.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeSigned,
		Signatures: []SignatureInput{{Role: syncproto.SignerRepresentative, Name: "王五", PNGPath: writePNG(t, t.TempDir(), pngSeed+1)}}}); err != nil {
		t.Fatal(err)
	}
	h.MustDo(t, "POST", fmt.Sprintf("/v1/devices/%d/revoke", c.DeviceID()), h.Token(t, "admin-a"), map[string]string{"reason": "调离 (transferred)"}, http.StatusOK, nil)
	if err := c.Sync(ctx); !errors.Is(err, ErrRevoked) {
		t.Fatalf("sync after revocation: %v", err)
	}
	return c, username, packetID, seal
}

// The day in the field end to end: enrol, sync the packet, work offline
// (answers with a photo, certificates, the section sealed, the close signed
// and stamped), sync, and the server holds the sealed section and close.
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

		// Offline from here: nothing below talks to the server.
		seal := workSection(t, c, h, packetID, 40)
		dir := t.TempDir()
		sc, err := c.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeSigned,
			Signatures: []SignatureInput{{Role: syncproto.SignerRepresentative, Name: "张三", PNGPath: writePNG(t, dir, 41)}},
			StampPath:  writePNG(t, dir, 42)})
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := c.Status(context.Background()); st.Outbox == 0 || st.PendingUploads != 3 {
			t.Fatalf("before sync: %+v", st)
		}

		// Back in the vehicle.
		if err := c.Sync(ctx); err != nil {
			rs, _ := c.Rejections(context.Background())
			t.Fatalf("sync: %v (rejections %+v)", err, rs)
		}
		st, _ := c.Status(context.Background())
		if st.Outbox != 0 || st.PendingUploads != 0 || st.Rejections != 0 {
			t.Fatalf("after sync: %+v", st)
		}
		// The server sends the seals back: same hashes.
		if got := serverSeal(t, c, packetID, h.DeptA.Code); got != seal.Hash {
			t.Fatalf("server section hash %q, want %q", got, seal.Hash)
		}
		if got := serverClose(t, c, packetID); got != sc.Hash {
			t.Fatalf("server close hash %q, want %q", got, sc.Hash)
		}
		// A second sync is a no-op and pushes nothing twice.
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// Attachments are readable by the inspector who may read the record.
		resp, err := c.call(ctx, request{method: http.MethodGet, path: syncproto.PathAttachments + "/" + seal.Section.Attachments[0], auth: true})
		if err != nil {
			t.Fatalf("read attachment back: %v", err)
		}
		want, _ := os.ReadFile(filepath.Join(c.Dir(), "attachments", seal.Section.Attachments[0]))
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
		p, _ := c.Packet(ctx, packetID)
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
		p, _ = c.Packet(ctx, packetID)
		bad := p.Content.Sections[0]
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: bad.Department, ItemCode: bad.Items[0].Code, Result: syncproto.ResultCompliant, Note: "bad version"}); err != nil {
			t.Fatal(err)
		}
		sc, err := c.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所已拆除，电话无人接听"})
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
				st, _ := c.Status(context.Background())
				t.Fatalf("%s: %+v", what, st)
			}
		}
		for len(link.events) > 0 { // what the syncs before left
			<-link.events
		}
		go func() { done <- c.Watch(ctx, time.Hour) }()
		next("Watch did not try the link while it was down")
		if st, _ := c.Status(context.Background()); st.Outbox != 3 {
			t.Fatalf("outbox %d while offline, want 3", st.Outbox)
		}
		link.down.Store(false) // the vehicle is back in coverage
		// The outbox changes only around the device's requests; Watch keeps
		// a pull open once it is empty, so there is always a next request.
		for st, _ := c.Status(context.Background()); st.Outbox != 0; st, _ = c.Status(context.Background()) {
			next("Watch did not sync after the link came back")
		}
		cancel()
		<-done
		rs, _ := c.Rejections(context.Background())
		if len(rs) != 1 || rs[0].Mutation.Answer == nil || rs[0].Mutation.Answer.Note != "bad version" || rs[0].Message == "" {
			t.Fatalf("rejections: %+v", rs)
		}
		// The close reached the server: the next pull brings it back sealed.
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if hash := serverClose(t, c, packetID); hash != sc.Hash {
			t.Fatalf("server close hash %q, want %q", hash, sc.Hash)
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
	upload := r.Method == http.MethodPatch || (r.Method == http.MethodPost && r.URL.Path == syncproto.PathUploads)
	lose := (upload && l.n.Add(1)%2 == 0) ||
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
		p, _ := c.Packet(ctx, packetID)
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
		me, _ := c.Me(context.Background())
		for _, m := range p.Content.Team {
			if m.InspectorID == *me.InspectorID {
				if err := c.RecordCertificates(ctx, packetID, []syncproto.CertificateShown{{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber}}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		seal, err := c.SealSection(ctx, packetID)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := c.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeAbsent, Note: "法定代表人不在",
			Signatures: []SignatureInput{{Role: syncproto.SignerWitness, Name: "物业管理员", PNGPath: writePNG(t, dir, 70)}}})
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
		st, _ := c.Status(context.Background())
		rs, _ := c.Rejections(context.Background())
		if st.Outbox != 0 || st.PendingUploads != 0 || len(rs) != 0 {
			t.Fatalf("after sync: %+v, rejections %+v", st, rs)
		}
		if got := serverSeal(t, c, packetID, h.DeptA.Code); got != seal.Hash {
			t.Fatalf("server section hash %q, want %q", got, seal.Hash)
		}
		if got := serverClose(t, c, packetID); got != sc.Hash {
			t.Fatalf("server close hash %q, want %q", got, sc.Hash)
		}
		if link.lost.Load() < 3 {
			t.Fatalf("only %d answers lost; the test did not test", link.lost.Load())
		}
		t.Logf("%d answers lost on the way back", link.lost.Load())
	})
}

// Seals queued when the device was revoked are sealed again for the device
// that replaces it, so the server takes them from the new one (the close
// naming the section's new hash); the original seals stay on the device.
func TestE2EReenrolReseals(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		c := enrolledE2E(t, h, username)
		oldID := c.DeviceID()
		seal := workSection(t, c, h, packetID, 80)
		sc, err := c.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所已拆除，电话无人接听"})
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
			rs, _ := c.Rejections(context.Background())
			t.Fatalf("sync after re-enrolment: %v (rejections %+v)", err, rs)
		}
		root := ctxAs(h, "root")
		jr, err := h.App.Sync.FindJointRecord(root, packetID)
		if err != nil {
			t.Fatal(err)
		}
		got := jr.Sections[0].Current
		if got == nil || got.Section.DeviceID != newID || got.Hash == seal.Hash || !got.Section.SealedAt.Equal(seal.Section.SealedAt) ||
			len(got.Section.Answers) != len(seal.Section.Answers) {
			t.Fatalf("server section %+v; want the new device %d and a new seal of the same content", got, newID)
		}
		if len(jr.Closes) != 1 || jr.Closes[0].Hash == sc.Hash || jr.Closes[0].Record.DeviceID != newID ||
			jr.Closes[0].Record.Covers[0].Hash != got.Hash || len(jr.Sections[0].CoveredBy) != 1 {
			t.Fatalf("server close %+v; want it resealed, covering the resealed section", jr.Closes)
		}
		var original []string
		c.db.Raw(`SELECT hash FROM section_seals WHERE packet_id = ? AND origin = 'local'`, packetID).Scan(&original)
		if len(original) != 1 || original[0] != seal.Hash {
			t.Fatalf("local seals %v, want the original %s kept", original, seal.Hash)
		}
	})
}

// A revoked device cannot sync; Export carries its unsynced work out: the
// outbox in order, the sealed record (verifiable with the device's public
// key) and every attachment, whole.
func TestE2EExportAfterRevocation(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c, username, _, seal := revokedWithWork(t, h, 91)
		before, _ := c.Status(context.Background())

		var buf bytes.Buffer
		m, err := c.Export(context.Background(), &buf)
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
			got.Outbox != before.Outbox || got.Records != 2 || len(got.Attachments) != 2 || got.Outbox != m.Outbox {
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
		recs := strings.Split(strings.TrimSpace(string(files["records.jsonl"])), "\n")
		var sec struct {
			Section *syncproto.SealedSection `json:"section"`
		}
		if len(recs) != 2 || json.Unmarshal([]byte(recs[0]), &sec) != nil || sec.Section == nil {
			t.Fatalf("records.jsonl: %q", recs)
		}
		pub, _ := base64.StdEncoding.DecodeString(got.PublicKey)
		hash, _ := syncproto.CanonicalHash(&sec.Section.Section)
		if sec.Section.Hash != seal.Hash || hash != seal.Hash || !ed25519.Verify(pub, syncproto.SectionSealMessage(hash), sec.Section.Signature) {
			t.Fatal("the exported seal does not verify with the exported public key")
		}
		for _, sha := range got.Attachments {
			sum := sha256.Sum256(files["attachments/"+sha])
			if hex.EncodeToString(sum[:]) != sha {
				t.Fatalf("attachment %s not whole in the export", sha)
			}
		}
		if after, _ := c.Status(context.Background()); after.Outbox != before.Outbox {
			t.Fatal("export changed the outbox")
		}
	})
}

// ctxAs acts as a harness user, for reading the server's state directly.
func ctxAs(h *apptest.Harness, username string) context.Context {
	return server.NewContextWithUser(context.Background(), h.Users[username])
}

// The joint record's field rules as the SDK applies them before anything is
// queued, and as the server answers them after sync: another department's
// section, an incomplete section, no certificates, another device's
// attachment hash, and a visit dated outside the campaign window (accepted,
// and flagged on the record on every device).
func TestE2EJointFieldRules(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, TargetsPerTeam: 1,
			Items: map[string][]string{h.DeptA.Code: {"licence", "minors"}, h.DeptB.Code: {"prices"}}})
		p, q := is.Packets[0], is.Packets[1]
		if p.TeamNumber == q.TeamNumber {
			t.Fatal("the two packets went to one team")
		}
		cultureUser, marketUser := is.MembersOf(p.ID, h.DeptA)[0], is.MembersOf(p.ID, h.DeptB)[0]
		// The culture device's clock is two weeks behind the window.
		early := func() time.Time { return h.Now().AddDate(0, 0, -14) }
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, Now: early, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Enrol(ctx, h.URL, cultureUser, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		m := enrolledE2E(t, h, marketUser)
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		queued := func(cl *Client) int { st, _ := cl.Status(context.Background()); return st.Outbox }

		// Another department's item: refused on the device, nothing queued.
		if _, err := c.Answer(ctx, p.ID, AnswerInput{Department: h.DeptB.Code, ItemCode: "prices", Result: ResultCompliant}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("a culture inspector answering the market section: %v", err)
		}
		// Another device's attachment: the market device holds a photo; the
		// culture device names its hash.
		dir := t.TempDir()
		shot := writePNG(t, dir, 120)
		ref, err := m.AttachPhoto(context.Background(), shot)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Answer(ctx, p.ID, AnswerInput{ItemCode: "licence", Result: ResultNonCompliant, Photos: []string{ref.SHA256}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an answer naming another device's attachment: %v", err)
		}
		if n := queued(c); n != 0 {
			t.Fatalf("%d changes queued after refused answers", n)
		}
		// Unanswered items and missing certificates: no seal.
		if _, err := c.Answer(ctx, p.ID, AnswerInput{ItemCode: "licence", Result: ResultCompliant}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SealSection(ctx, p.ID); !errors.Is(err, ErrInvalid) {
			t.Fatalf("seal with minors unanswered: %v", err)
		}
		// The same photo taken again on the culture device: the bytes are
		// the device's own, so it may use them; the server asks this device
		// to upload them (its "missing" answers for its own uploads only) and
		// stores them once.
		if _, err := c.Answer(ctx, p.ID, AnswerInput{ItemCode: "minors", Result: ResultNonCompliant, Note: "见照片", Photos: []string{shot}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SealSection(ctx, p.ID); !errors.Is(err, ErrInvalid) {
			t.Fatalf("seal without certificates: %v", err)
		}
		me, _ := c.Me(context.Background())
		var mine Certificate
		for _, tm := range p.Content.Team {
			if tm.InspectorID == *me.InspectorID {
				mine = Certificate{InspectorID: tm.InspectorID, CertificateNumber: tm.CertificateNumber}
			}
		}
		if err := c.RecordCertificates(ctx, p.ID, []Certificate{mine}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SealSection(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := m.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			rs, _ := c.Rejections(ctx)
			t.Fatalf("sync: %v %+v", err, rs)
		}
		if st, _ := c.Status(ctx); st.PendingUploads != 0 || st.Outbox != 0 {
			t.Fatalf("after sync: %+v", st)
		}
		// An inspector of another team took the same picture: the server
		// holds the bytes, but "missing" answers for this device's own
		// uploads, so it uploads them too; they are stored once.
		s := enrolledE2E(t, h, is.MembersOf(q.ID, h.DeptB)[0])
		copyOf := filepath.Join(t.TempDir(), "same.png")
		if b, err := os.ReadFile(shot); err != nil || os.WriteFile(copyOf, b, 0o600) != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(ctx, q.ID, AnswerInput{ItemCode: "prices", Result: ResultNonCompliant, Note: "同样的照片", Photos: []string{copyOf}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		var uploads, blobs int64
		if err := h.App.DB.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.Raw("SELECT COUNT(*) FROM blob_uploads WHERE sha256 = ?", ref.SHA256).Scan(&uploads).Error; err != nil {
				return err
			}
			return tx.Raw("SELECT COUNT(*) FROM blobs WHERE sha256 = ?", ref.SHA256).Scan(&blobs).Error
		}); err != nil || uploads != 2 || blobs != 1 {
			t.Fatalf("the photo: uploaded from %d devices, stored %d times (%v); want 2 and 1", uploads, blobs, err)
		}
		// Dated outside the window: accepted, flagged for the reviewer, and
		// the flag reaches the other department's device.
		if err := m.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []*Client{c, m} {
			jr, err := cl.JointRecord(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(jr.Flags, func(f RecordFlag) bool { return f.Code == FlagDeviceTimeOutsideWindow && f.Department == h.DeptA.Code }) {
				t.Fatalf("the record of a seal dated two weeks early: flags %+v", jr.Flags)
			}
		}
	})
}

// failingFirst fails the first n requests as a restarting server does
// (connection refused), then passes them on.
type failingFirst struct{ n atomic.Int64 }

func (f *failingFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.n.Add(-1) >= 0 {
		return nil, errors.New("connect: connection refused")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A server restart is ridden out: requests are retried for RetryFor (30 s
// by default), not a fixed count, so a sync during a restart succeeds
// instead of reporting the device offline; with a short RetryFor it is
// reported.
func TestE2ERestartIsNotOffline(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, _ := issuePackets(t, h)
		down := &failingFirst{}
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			HTTPClient: &http.Client{Transport: down}, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		down.n.Store(8) // more than the four tries that used to be all
		if err := c.Sync(ctx); err != nil {
			t.Fatalf("sync through a restart: %v", err)
		}
		short, err := Open(t.TempDir(), Config{ServerURL: h.URL, BackoffBase: 20 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
			RetryFor: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: down}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { short.Close() })
		down.n.Store(1 << 30)
		if err := short.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); !errors.Is(err, ErrOffline) {
			t.Fatalf("a server that stays down: %v, want ErrOffline", err)
		}
	})
}

// The server moves to a new address: the app points the device there, the
// session and the outbox are kept, and syncing goes on.
func TestE2ESetServerURL(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		c := enrolledE2E(t, h, username)
		if _, err := c.Answer(ctx, packetID, AnswerInput{ItemCode: "licence", Result: ResultCompliant}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "ftp://x", "http://", "http://h/?q=1", "not a url"} {
			if err := c.SetServerURL(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("SetServerURL(%q): %v, want ErrInvalid", bad, err)
			}
		}
		moved := strings.Replace(h.URL, "127.0.0.1", "localhost", 1)
		if moved == h.URL {
			t.Fatalf("the harness URL %s is not on 127.0.0.1", h.URL)
		}
		if err := c.SetServerURL(ctx, moved+"/"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		st, _ := c.Status(context.Background())
		if st.ServerURL != moved || st.Outbox != 0 || !st.Enrolled {
			t.Fatalf("after moving: %+v", st)
		}
	})
}

// Watch tells the app as things happen: a refused change (with its reason,
// once), and "all synced" when nothing is left to send.
func TestE2EWatchEvents(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		username, packetID := issuePackets(t, h)
		events := make(chan Event, 64)
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, Logger: testLogger(), OnEvent: func(ev Event) { events <- ev }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if ev := <-events; ev.Kind != EventSynced {
			t.Fatalf("first event %s", ev)
		}
		// An answer on an item version the server never issued, then a good one.
		c.db.Exec(`UPDATE packets SET content = json_set(content, '$.sections[0].items[0].version', 99) WHERE id = ?`, packetID)
		p, _ := c.Packet(ctx, packetID)
		bad := p.Content.Sections[0]
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: bad.Department, ItemCode: bad.Items[0].Code, Result: ResultCompliant, Note: "bad version"}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Watch(ctx, time.Hour) }()
		var rejected, synced bool
		for !rejected || !synced {
			select {
			case ev := <-events:
				switch ev.Kind {
				case EventRejected:
					if rejected || len(ev.Rejections) != 1 || ev.Rejections[0].Mutation.Answer.Note != "bad version" || ev.Rejections[0].Message == "" {
						t.Fatalf("rejection event %+v", ev)
					}
					rejected = true
				case EventSynced:
					synced = rejected // "all synced" after the rejection was told
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("events: rejected %v, synced %v", rejected, synced)
			}
		}
		cancel()
		<-done
		p, _ = c.Packet(context.Background(), packetID)
		if a := p.Answers[0]; a.Rejected == nil || a.Rejected.Answer.Note != "bad version" {
			t.Fatalf("the device does not mark the refused answer: %+v", a)
		}
	})
}
