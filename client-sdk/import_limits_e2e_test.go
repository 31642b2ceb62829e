package sdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// withExtraAttachments lists files in the manifest and appends them to the archive.
func withExtraAttachments(t *testing.T, archive []byte, files ...[]byte) ([]byte, []string) {
	t.Helper()
	entries := readArchive(t, archive)
	var shas []string
	for _, f := range files {
		sum := sha256.Sum256(f)
		sha := hex.EncodeToString(sum[:])
		shas = append(shas, sha)
		entries = append(entries, archiveEntry{"attachments/" + sha, f})
	}
	var m map[string]any
	if err := json.Unmarshal(entries[0].body, &m); err != nil {
		t.Fatal(err)
	}
	list, _ := m["attachments"].([]any)
	for _, sha := range shas {
		list = append(list, sha)
	}
	m["attachments"] = list
	entries[0].body, _ = json.Marshal(m)
	return writeArchive(t, entries), shas
}

// A device import stores only the attachments the outbox refers to, each
// checked like an upload: files the archive carries besides (a gigabyte of
// zeros named as PNGs, say) are read past and never stored, a referenced
// file that is not its image refuses the import, and below the disk floor
// the import waits.
func TestE2EImportStoresOnlyReferencedAttachments(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c, _, _, _ := revokedWithWork(t, h, 97)
		dev := c.DeviceID()
		var buf bytes.Buffer
		if _, err := c.Export(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		archive := buf.Bytes()
		admin := h.Token(t, "admin-a")
		before := countServer(t, h, dev)

		// An attachment before outbox.jsonl cannot be judged: refused.
		entries := readArchive(t, archive)
		var reordered []archiveEntry
		var atts []archiveEntry
		for _, e := range entries {
			if strings.HasPrefix(e.name, "attachments/") {
				atts = append(atts, e)
			} else {
				reordered = append(reordered, e)
			}
		}
		reordered = append(append([]archiveEntry{reordered[0]}, atts...), reordered[1:]...)
		if r := importArchive(t, h, dev, admin, writeArchive(t, reordered), "application/gzip"); r.Status != http.StatusBadRequest || r.Error().Code != syncproto.CodeInvalid {
			t.Fatalf("attachments first: %d %s", r.Status, r.Body)
		}

		// A referenced file swapped for a PNG signature and zeros under its
		// own hash: the outbox line names it, and it is refused before
		// anything is written.
		html := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 1<<20)...)
		sum := sha256.Sum256(html)
		htmlSHA := hex.EncodeToString(sum[:])
		swapped, _ := withExtraAttachments(t, archive, html)
		swapped = tamper(t, swapped, func(name string, b []byte) []byte {
			if name != "outbox.jsonl" {
				return b
			}
			// The first answer with a photo names the swapped file instead.
			lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
			for i, l := range lines {
				var m syncproto.Mutation
				if err := json.Unmarshal(l, &m); err != nil {
					t.Fatalf("outbox line %s: %v", l, err)
				}
				if m.Answer == nil || len(m.Answer.Photos) != 1 {
					continue
				}
				m.Answer.Photos[0] = syncproto.AttachmentRef{SHA256: htmlSHA, Size: int64(len(html)), ContentType: "image/png"}
				lines[i], _ = json.Marshal(m)
				return append(bytes.Join(lines, []byte("\n")), '\n')
			}
			t.Fatal("no outbox answer with a photo")
			return nil
		})
		r := importArchive(t, h, dev, admin, swapped, "application/gzip")
		if e := r.Error(); r.Status != http.StatusUnprocessableEntity || e.Code != syncproto.CodeAttachmentRefused {
			t.Fatalf("a referenced fake PNG: %d %s", r.Status, r.Body)
		}
		if got := countServer(t, h, dev); got != before {
			t.Fatalf("the refused import wrote: %+v, before %+v", got, before)
		}

		// Below the disk floor: 507, nothing written.
		h.App.API.MinFreeDisk = 1 << 40
		h.App.API.FreeDisk = func() (uint64, error) { return 1 << 30, nil }
		if r := importArchive(t, h, dev, admin, archive, "application/gzip"); r.Status != http.StatusInsufficientStorage || r.Error().Code != syncproto.CodeInsufficientSpace || r.Header.Get("Retry-After") == "" {
			t.Fatalf("below the disk floor: %d %s", r.Status, r.Body)
		}
		h.App.API.MinFreeDisk = 0

		// Forty unreferenced 1 MiB "PNGs" of zeros ride along: read past.
		zeros := make([][]byte, 40)
		for i := range zeros {
			zeros[i] = make([]byte, 1<<20)
			zeros[i][0] = byte(i) // forty different files
		}
		padded, shas := withExtraAttachments(t, archive, zeros...)
		if len(padded) > 2<<20 {
			t.Fatalf("the padded archive is %d bytes; the zeros should compress", len(padded))
		}
		r = importArchive(t, h, dev, admin, padded, "application/gzip")
		var got syncproto.DeviceImportResponse
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
			t.Fatalf("import: %d %s", r.Status, r.Body)
		}
		if got.Attachments != 2 || got.LastAppliedSeq != 5 {
			t.Fatalf("import answered %+v", got)
		}
		after := countServer(t, h, dev)
		if after.Blobs != before.Blobs+2 || after.Mutations != before.Mutations+5 {
			t.Fatalf("after import %+v, before %+v", after, before)
		}
		root := h.Token(t, "root")
		for _, sha := range shas[:3] {
			if r := h.Do(t, "GET", syncproto.PathAttachments+"/"+sha, root, nil); r.Status != http.StatusNotFound {
				t.Fatalf("unreferenced %s was stored: %d", sha, r.Status)
			}
		}
	})
}
