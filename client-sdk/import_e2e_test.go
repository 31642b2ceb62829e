package sdk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// archiveEntry is one file of an export archive, for tampering with it.
type archiveEntry struct {
	name string
	body []byte
}

func readArchive(t *testing.T, b []byte) []archiveEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []archiveEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, archiveEntry{hdr.Name, body})
	}
}

func writeArchive(t *testing.T, entries []archiveEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// tamper returns a copy of the archive with fn applied to its files.
func tamper(t *testing.T, archive []byte, fn func(name string, body []byte) []byte) []byte {
	t.Helper()
	entries := readArchive(t, archive)
	for i := range entries {
		entries[i].body = fn(entries[i].name, bytes.Clone(entries[i].body))
	}
	return writeArchive(t, entries)
}

// withManifest changes one manifest field.
func withManifest(t *testing.T, archive []byte, key string, value any) []byte {
	return tamper(t, archive, func(name string, body []byte) []byte {
		if name != "manifest.json" {
			return body
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		m[key] = value
		b, _ := json.Marshal(m)
		return b
	})
}

func importArchive(t *testing.T, h *apptest.Harness, deviceID int64, token string, body []byte, contentType string) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/devices/%d/import", h.URL, deviceID), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	return h.Send(t, req)
}

// auditedImports returns the audit chain's device.import events of the
// device, after checking the chain verifies and that every section sealed
// by the device is recorded as its owner's.
func auditedImports(t *testing.T, h *apptest.Harness, deviceID int64) []*server.AuditEvent {
	t.Helper()
	if r, err := h.App.DB.VerifyAudit(context.Background(), nil); err != nil || !r.OK() {
		t.Fatalf("audit chain: %+v %v", r, err)
	}
	var out []*server.AuditEvent
	sealed := 0
	err := h.App.DB.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
		switch {
		case e.Action == "device.import" && e.ObjectID == strconv.FormatInt(deviceID, 10):
			out = append(out, e)
		case e.Action == "record.section_sealed" && strings.Contains(e.Payload, fmt.Sprintf(`"device_id":%d,`, deviceID)):
			sealed++
			if e.ActorRole != string(server.RoleInspector) {
				t.Errorf("a section sealed on the device recorded as %s's", e.ActorRole)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sealed != 1 {
		t.Errorf("%d record.section_sealed events of the device, want 1", sealed)
	}
	return out
}

// serverCounts is what an import may write, for checking that a refused one wrote nothing.
type serverCounts struct{ Mutations, Blobs, Answers, Sections, Closes, VisitEvents int64 }

func countServer(t *testing.T, h *apptest.Harness, deviceID int64) serverCounts {
	t.Helper()
	var c serverCounts
	err := h.App.DB.WithTx(context.Background(), func(tx *store.Tx) error {
		for q, dst := range map[string]*int64{
			"SELECT COUNT(*) FROM mutations WHERE device_id = ?":     &c.Mutations,
			"SELECT COUNT(*) FROM blobs":                             &c.Blobs,
			"SELECT COUNT(*) FROM answers WHERE device_id = ?":       &c.Answers,
			"SELECT COUNT(*) FROM section_seals WHERE device_id = ?": &c.Sections,
			"SELECT COUNT(*) FROM visit_closes WHERE device_id = ?":  &c.Closes,
			"SELECT COUNT(*) FROM visit_events WHERE device_id = ?":  &c.VisitEvents,
		} {
			var args []any
			if strings.Contains(q, "?") {
				args = append(args, deviceID)
			}
			if err := tx.Raw(q, args...).Scan(dst).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A revoked device's unsynced work reaches the server through its export:
// an administrator of the owner's department imports the archive, which is
// applied exactly once under every rule of a push; a tampered archive, or a
// caller who may not revoke the device, changes nothing.
func TestE2EImportExportAfterRevocation(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		c, username, packetID, seal := revokedWithWork(t, h, 93)
		dev := c.DeviceID()
		var buf bytes.Buffer
		m, err := c.Export(context.Background(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		archive := buf.Bytes()
		if m.Outbox != 5 || len(m.Attachments) != 2 {
			t.Fatalf("export manifest %+v", m)
		}

		adminA, adminB, root := h.Token(t, "admin-a"), h.Token(t, "admin-b"), h.Token(t, "root")
		before := countServer(t, h, dev)

		// Refused: nothing written, a stable code.
		otherKey, _, _ := ed25519.GenerateKey(nil)
		for _, tc := range []struct {
			name, token, contentType string
			body                     []byte
			status                   int
			code                     string
		}{
			{"another department's admin", adminB, "application/gzip", archive, http.StatusNotFound, syncproto.CodeNotFound},
			{"the inspector", h.Token(t, username), "application/gzip", archive, http.StatusForbidden, syncproto.CodeForbidden},
			{"not gzip", adminA, "application/gzip", []byte("not an archive"), http.StatusBadRequest, syncproto.CodeInvalid},
			{"JSON", adminA, "application/json", archive, http.StatusUnsupportedMediaType, syncproto.CodeUnsupportedType},
			{"a changed attachment byte", adminA, "application/gzip", tamper(t, archive, func(name string, b []byte) []byte {
				if strings.HasPrefix(name, "attachments/") {
					b[len(b)-1] ^= 1
				}
				return b
			}), http.StatusBadRequest, syncproto.CodeInvalid},
			{"a wrong device id", adminA, "application/gzip", withManifest(t, archive, "device_id", dev+1000), http.StatusBadRequest, syncproto.CodeInvalid},
			{"a wrong public key", adminA, "application/gzip", withManifest(t, archive, "public_key", base64.StdEncoding.EncodeToString(otherKey)), http.StatusBadRequest, syncproto.CodeInvalid},
			{"another format", adminA, "application/gzip", withManifest(t, archive, "format", "spotcheck-field-export/v0"), http.StatusBadRequest, syncproto.CodeInvalid},
			{"a malformed outbox line", adminA, "application/gzip", tamper(t, archive, func(name string, b []byte) []byte {
				if name == "outbox.jsonl" {
					return bytes.Replace(b, []byte(`"kind"`), []byte(`"kind2"`), 1)
				}
				return b
			}), http.StatusBadRequest, syncproto.CodeInvalid},
			{"seqs out of order", adminA, "application/gzip", tamper(t, archive, func(name string, b []byte) []byte {
				if name == "outbox.jsonl" {
					lines := bytes.SplitAfter(b, []byte("\n"))
					lines[0], lines[1] = lines[1], lines[0]
					return bytes.Join(lines, nil)
				}
				return b
			}), http.StatusBadRequest, syncproto.CodeInvalid},
		} {
			r := importArchive(t, h, dev, tc.token, tc.body, tc.contentType)
			if r.Status != tc.status || r.Error().Code != tc.code || r.Error().Message == "" {
				t.Errorf("%s: status %d, %s; want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
			if got := countServer(t, h, dev); got != before {
				t.Errorf("%s: the refused import wrote: %+v, before %+v", tc.name, got, before)
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		// The owner's department admin imports it.
		r := importArchive(t, h, dev, adminA, archive, "application/gzip")
		var got syncproto.DeviceImportResponse
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
			t.Fatalf("import: %d %s", r.Status, r.Body)
		}
		if got.Attachments != 2 || len(got.Results) != 5 || got.LastAppliedSeq != 5 {
			t.Fatalf("import answered %+v", got)
		}
		for _, res := range got.Results {
			if res.Status != syncproto.StatusApplied {
				t.Fatalf("import answered %+v", got)
			}
		}
		after := countServer(t, h, dev)
		if after.Mutations != before.Mutations+5 || after.Blobs != before.Blobs+2 || after.Answers != before.Answers+2 ||
			after.Sections != before.Sections+1 || after.Closes != before.Closes+1 || after.VisitEvents != before.VisitEvents+1 {
			t.Fatalf("after import %+v, before %+v", after, before)
		}
		// One audit event for the import, by the admin who made it; the
		// section sealed through it is the owner's, as on the device.
		imports := auditedImports(t, h, dev)
		if len(imports) != 1 || *imports[0].ActorID != h.Users["admin-a"].ID || !strings.Contains(imports[0].Payload, `"applied":5`) {
			t.Fatalf("device.import events after the import: %+v", imports)
		}
		// The server's sealed section verifies with the device's key, and its
		// attachments are blobs uploaded by the device's owner.
		pub, _ := base64.StdEncoding.DecodeString(m.PublicKey)
		owner := h.Users[username].ID
		err = h.App.DB.WithTx(ctx, func(tx *store.Tx) error {
			var rec struct {
				Hash      string
				Signature []byte
				Body      string
			}
			if err := tx.Raw("SELECT hash, signature, body FROM section_seals WHERE packet_id = ? AND device_id = ?", packetID, dev).Scan(&rec).Error; err != nil {
				return err
			}
			var sealed syncproto.SectionRecord
			if err := json.Unmarshal([]byte(rec.Body), &sealed); err != nil {
				return err
			}
			hash, _ := syncproto.CanonicalHash(&sealed)
			if rec.Hash != seal.Hash || hash != seal.Hash || !ed25519.Verify(pub, syncproto.SectionSealMessage(rec.Hash), rec.Signature) {
				t.Errorf("server section %+v does not verify", rec)
			}
			for _, sha := range seal.Section.Attachments {
				var by []int64
				if err := tx.Raw("SELECT uploaded_by FROM blobs WHERE sha256 = ?", sha).Scan(&by).Error; err != nil {
					return err
				}
				if len(by) != 1 || by[0] != owner {
					t.Errorf("blob %s uploaded by %v, want the owner %d", sha, by, owner)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The admin may read what was imported.
		h.MustDo(t, "GET", syncproto.PathAttachments+"/"+seal.Section.Attachments[0], root, nil, http.StatusOK, nil)

		// Again, by a platform admin: all duplicates, nothing changed.
		r = importArchive(t, h, dev, root, archive, "application/gzip")
		got = syncproto.DeviceImportResponse{}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || len(got.Results) != 5 || got.LastAppliedSeq != 5 {
			t.Fatalf("second import: %d %s", r.Status, r.Body)
		}
		for _, res := range got.Results {
			if res.Status != syncproto.StatusDuplicate {
				t.Fatalf("second import answered %+v", got)
			}
		}
		if again := countServer(t, h, dev); again != after {
			t.Fatalf("the second import wrote: %+v, after the first %+v", again, after)
		}
		if imports := auditedImports(t, h, dev); len(imports) != 2 || !strings.Contains(imports[1].Payload, `"duplicate":5`) {
			t.Fatalf("device.import events after the second import: %+v", imports)
		}
		// The device itself stays revoked.
		if err := c.Sync(ctx); !errors.Is(err, ErrRevoked) {
			t.Fatalf("sync after import: %v", err)
		}
	})
}
