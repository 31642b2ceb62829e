package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// pullRaw pulls one page from cursor with the given extra headers, through a
// client that never asks for gzip itself, and returns the answer's headers
// and its body as sent.
func (d *fieldDevice) pullRaw(t *testing.T, cursor string, header map[string]string) (http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(syncproto.PullRequest{DeviceID: d.ID, Cursor: cursor})
	req := d.request(t, "POST", syncproto.PathPull, b)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pull: %d %s", resp.StatusCode, body)
	}
	return resp.Header, body
}

func decodePull(t *testing.T, body []byte) *syncproto.PullResponse {
	t.Helper()
	var out syncproto.PullResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return &out
}

// A pull answer is gzip only for a client that asks (Accept-Encoding), and
// then holds the same JSON; every sync answer names the batch limits.
func TestSync_PullGzipWhenAsked(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		a1 := newFieldDevice(t, h, "insp-a1")
		hdr, plain := a1.pullRaw(t, "", nil)
		if enc := hdr.Get("Content-Encoding"); enc != "" {
			t.Fatalf("Content-Encoding %q for a client that did not ask", enc)
		}
		if hdr.Get(syncproto.HeaderPushLimit) != strconv.Itoa(syncproto.PushLimitMax) || hdr.Get(syncproto.HeaderPullLimit) != strconv.Itoa(syncproto.PullLimitMax) {
			t.Fatalf("limits: push %q, pull %q", hdr.Get(syncproto.HeaderPushLimit), hdr.Get(syncproto.HeaderPullLimit))
		}
		hdr, packed := a1.pullRaw(t, "", map[string]string{"Accept-Encoding": "gzip"})
		if enc := hdr.Get("Content-Encoding"); enc != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip (%d bytes plain)", enc, len(plain))
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			t.Fatal(err)
		}
		unpacked, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(unpacked, plain) {
			t.Fatalf("the gzip answer holds other JSON:\n%s\n%s", unpacked, plain)
		}
		if len(packed) >= len(plain)/2 {
			t.Fatalf("gzip answer %d bytes for %d plain", len(packed), len(plain))
		}
	})
}

// With Spotcheck-Own-Changes: ack, the device's own answer comes as an
// acknowledgement (no data) that names the state the full change holds; a
// teammate's comes in full; without the header everything comes in full.
func TestSync_PullAcknowledgesOwnChanges(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		a1 := newFieldDevice(t, h, "insp-a1")
		// A packet of insp-a1's and the department B inspector on its team
		// (teams follow the draw, so who that is depends on the seed).
		pid := f.packetOf(t, "insp-a1")[0].ID
		i := slices.IndexFunc(f.Team[pid], func(u string) bool { return strings.HasPrefix(u, "insp-b") })
		if i < 0 {
			t.Fatalf("packet %s has no department B inspector: %v", pid, f.Team[pid])
		}
		b1 := newFieldDevice(t, h, f.Team[pid][i])
		_, start := a1.pullAll(t, 0)
		mine := a1.answer(pid, answerOf(f, h.DeptA.Code, syncproto.ResultCompliant, 0))
		a1.push(t, mine)
		b1.push(t, b1.answer(pid, answerOf(f, h.DeptB.Code, syncproto.ResultNonCompliant, 0)))

		ackHeader := map[string]string{syncproto.HeaderOwnChanges: syncproto.OwnChangesAck}
		_, body := a1.pullRaw(t, start.Cursor, ackHeader)
		acked := decodePull(t, body)
		_, body = a1.pullRaw(t, start.Cursor, nil)
		full := decodePull(t, body)
		if len(acked.Changes) != 2 || len(full.Changes) != 2 {
			t.Fatalf("changes: %d acknowledged page, %d full page, want 2 each", len(acked.Changes), len(full.Changes))
		}
		for i, ch := range full.Changes {
			if ch.Ack != nil || len(ch.Data) == 0 {
				t.Fatalf("without the header change %d: %+v", i, ch)
			}
			ack := acked.Changes[i]
			if ack.Seq != ch.Seq || ack.Key != ch.Key || ack.PacketID != ch.PacketID {
				t.Fatalf("change %d: %+v and %+v", i, ack, ch)
			}
			var st syncproto.AnswerState
			if err := json.Unmarshal(ch.Data, &st); err != nil {
				t.Fatal(err)
			}
			if st.Winner.DeviceID != a1.ID {
				// The teammate's: in full, as without the header.
				if ack.Ack != nil || !bytes.Equal(ack.Data, ch.Data) {
					t.Fatalf("the teammate's answer: %+v, want %s", ack, ch.Data)
				}
				continue
			}
			if ack.Ack == nil || ack.Data != nil {
				t.Fatalf("own answer not acknowledged: %+v", ack)
			}
			hash, _ := syncproto.CanonicalHash(&st.Winner.Answer)
			a := ack.Ack
			switch {
			case len(a.Hash) != syncproto.AckAnswerDigest || !strings.HasPrefix(hash, a.Hash):
				t.Errorf("ack hash %q, answer hash %q", a.Hash, hash)
			case a.Version != st.Version || a.Seq != mine.Seq || a.Seq != st.Winner.Seq || a.InspectorID != st.Winner.InspectorID:
				t.Errorf("ack %+v, state %+v", a, st)
			case !a.ReceivedAt.Equal(st.Winner.ReceivedAt) || !a.DeviceTime.Equal(st.Winner.DeviceTime):
				t.Errorf("ack times %v %v, state %v %v", a.ReceivedAt, a.DeviceTime, st.Winner.ReceivedAt, st.Winner.DeviceTime)
			}
		}
		// The teammate asking for acknowledgements gets a1's answer in full.
		_, body = b1.pullRaw(t, start.Cursor, ackHeader)
		for _, ch := range decodePull(t, body).Changes {
			var st syncproto.AnswerState
			if ch.Ack != nil {
				continue
			}
			if err := json.Unmarshal(ch.Data, &st); err != nil || st.Winner.DeviceID != a1.ID {
				continue
			}
			return
		}
		t.Fatal("the teammate did not get a1's answer in full")
	})
}
