package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// pullWatch is a transport that reads every pull answer on its way to the
// device: how many changes came as acknowledgements, how many pulls asked
// for them and how many did not, and, while failPulls is set, it fails
// pulls as a dead link would.
type pullWatch struct {
	acks, full, withHeader, withoutHeader atomic.Int64
	failPulls                             atomic.Bool
}

func (w *pullWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != syncproto.PathPull {
		return http.DefaultTransport.RoundTrip(r)
	}
	if w.failPulls.Load() {
		return nil, io.ErrUnexpectedEOF
	}
	if r.Header.Get(syncproto.HeaderOwnChanges) == syncproto.OwnChangesAck {
		w.withHeader.Add(1)
	} else {
		w.withoutHeader.Add(1)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	plain := b
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var pr syncproto.PullResponse
	if err := json.Unmarshal(plain, &pr); err == nil {
		for _, ch := range pr.Changes {
			if ch.Ack != nil {
				w.acks.Add(1)
			} else {
				w.full.Add(1)
			}
		}
	}
	return resp, nil
}

// serverCopies is everything a device holds of the server's state of the
// objects of a packet, as stored: each item's version and state, each
// pulled section and close.
func serverCopies(t *testing.T, c *Client, packetID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var answers []struct {
		Department, ItemCode, ServerState string
		ServerVersion                     int64
	}
	if err := c.db.Raw(`SELECT department, item_code, server_version, server_state FROM answers WHERE packet_id = ?`, packetID).Scan(&answers).Error; err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		out["answer "+a.Department+"/"+a.ItemCode] = a.ServerState
		out["version "+a.Department+"/"+a.ItemCode] = strconv.FormatInt(a.ServerVersion, 10)
	}
	var seals []struct{ Department, Hash, Body string }
	if err := c.db.Raw(`SELECT department, hash, body FROM section_seals WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&seals).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range seals {
		out["section "+s.Department+"/"+s.Hash] = s.Body
	}
	var closes []struct{ Hash, Body string }
	if err := c.db.Raw(`SELECT hash, body FROM closes WHERE packet_id = ? AND origin = 'server'`, packetID).Scan(&closes).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range closes {
		out["close "+s.Hash] = s.Body
	}
	return out
}

func sameCopies(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d objects, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is\n%s\nwant\n%s", what, k, got[k], v)
		}
	}
}

// A device's own answers, seal and close come back from the pull as
// acknowledgements, and it ends holding byte for byte the state a device
// pulling them in full holds (a second device of the same inspector), with
// the same joint record. A device that no longer holds what was
// acknowledged (its copy of an answer changed meanwhile) pulls that page
// again in full and holds the server's state too.
func TestE2EOwnChangesAcknowledged(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		watch := &pullWatch{}
		a, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 1, BackoffBase: time.Millisecond,
			HTTPClient: &http.Client{Transport: watch}, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		workSection(t, a, h, packetID, 40)
		if _, err := a.CloseVisit(ctx, packetID, CloseInput{Outcome: syncproto.OutcomeAbsent, Note: "法定代表人不在",
			Signatures: []SignatureInput{{Role: syncproto.SignerWitness, Name: "物业管理员", PNGPath: writePNG(t, t.TempDir(), 90)}}}); err != nil {
			t.Fatal(err)
		}
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// Two answers, the section and the close: all this device's own.
		if n := watch.acks.Load(); n != 4 {
			t.Fatalf("%d acknowledgements pulled, want 4 (answers, section, close)", n)
		}
		if n := watch.withoutHeader.Load(); n != 0 {
			t.Fatalf("%d pulls without acknowledgements", n)
		}
		b := enrolledE2E(t, h, username) // pulls the same objects in full
		want := serverCopies(t, b, packetID)
		if len(want) < 6 {
			t.Fatalf("the second device holds %d objects: %v", len(want), want)
		}
		sameCopies(t, "acknowledged", serverCopies(t, a, packetID), want)
		ja, err := a.JointRecord(ctx, packetID)
		if err != nil {
			t.Fatal(err)
		}
		jb, err := b.JointRecord(ctx, packetID)
		if err != nil {
			t.Fatal(err)
		}
		if x, y := mustJSON(t, ja), mustJSON(t, jb); x != y {
			t.Errorf("joint records differ:\n%s\n%s", x, y)
		}

		// A correction pushed, then its pull lost; meanwhile the device's
		// copy of the answer changes. The acknowledgement no longer
		// matches: the page comes again in full.
		if err := a.Correct(ctx, packetID, "补充说明"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Answer(ctx, packetID, AnswerInput{Department: h.DeptA.Code, ItemCode: "licence", Result: syncproto.ResultNonCompliant,
			Note: "许可证过期"}); err != nil {
			t.Fatal(err)
		}
		watch.failPulls.Store(true)
		if err := a.Sync(ctx); err == nil {
			t.Fatal("a sync whose pull failed succeeded")
		}
		watch.failPulls.Store(false)
		if err := a.db.Exec(`UPDATE answers SET answer = json_set(answer, '$.note', 'changed here') WHERE packet_id = ? AND item_code = 'licence'`, packetID).Error; err != nil {
			t.Fatal(err)
		}
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if n := watch.withoutHeader.Load(); n != 1 {
			t.Fatalf("%d pulls in full after an acknowledgement the device could not match, want 1", n)
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		sameCopies(t, "after a full page", serverCopies(t, a, packetID), serverCopies(t, b, packetID))
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
