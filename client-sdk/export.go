package sdk

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// ExportFormat names the layout Export writes.
const ExportFormat = syncproto.ExportFormat

// ExportManifest is manifest.json in an export: whose data it is and what
// the archive holds. Sealed records verify with PublicKey
// (ed25519, syncproto.SealMessage of the record's hash).
type ExportManifest struct {
	Format      string    `json:"format"`
	ExportedAt  time.Time `json:"exported_at"` // device time
	ServerURL   string    `json:"server_url"`
	Username    string    `json:"username"`
	DeviceID    int64     `json:"device_id,omitempty"`
	PublicKey   string    `json:"public_key"` // base64, standard encoding
	Revoked     bool      `json:"revoked"`
	Outbox      int       `json:"outbox"`      // unsynced mutations in outbox.jsonl
	Records     int       `json:"records"`     // this device's sealed sections and closes in records.jsonl
	Rejections  int       `json:"rejections"`  // rejected mutations in rejections.jsonl
	Attachments []string  `json:"attachments"` // files under attachments/, by SHA-256
}

// Export writes, as a gzip-compressed tar, everything this device made that
// matters as evidence: the unsynced outbox (outbox.jsonl, one
// syncproto.Mutation a line, in order), this device's sealed records
// (records.jsonl: {"section": syncproto.SealedSection} or {"close":
// syncproto.SealedClose} a line), the rejections with their reasons
// (rejections.jsonl) and every attachment those refer to
// (attachments/SHA256), with manifest.json first. It is the way out for data
// that cannot be synced: a revoked device, another account to enrol, a
// server gone. It reads a consistent snapshot and changes nothing.
func (c *Client) Export(ctx context.Context, w io.Writer) (*ExportManifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	var m ExportManifest
	err := c.db.Transaction(func(tx *gorm.DB) error {
		d, err := c.device(tx)
		if err != nil {
			return err
		}
		m = ExportManifest{
			Format: ExportFormat, ExportedAt: c.now().UTC(), ServerURL: d.ServerURL, Username: d.Username,
			DeviceID: d.DeviceID.Int64, PublicKey: base64.StdEncoding.EncodeToString(d.PublicKey), Revoked: d.RevokedAt != "",
			Attachments: []string{},
		}
		var outbox []outboxRow
		if err := tx.Raw(`SELECT seq, body FROM outbox ORDER BY seq`).Scan(&outbox).Error; err != nil {
			return err
		}
		var records []struct{ Kind, Body string }
		if err := tx.Raw(`SELECT 'section' AS kind, body FROM section_seals WHERE origin = 'local'
			UNION ALL SELECT 'close' AS kind, body FROM closes WHERE origin = 'local'`).Scan(&records).Error; err != nil {
			return err
		}
		var rejections []struct {
			Seq                             uint64
			MutationID, Kind, PacketID      string
			Code, Message, Body, RejectedAt string
		}
		if err := tx.Raw(`SELECT seq, mutation_id, kind, packet_id, code, message, body, rejected_at FROM rejections ORDER BY seq`).Scan(&rejections).Error; err != nil {
			return err
		}
		m.Outbox, m.Records, m.Rejections = len(outbox), len(records), len(rejections)

		// Every attachment the exported data refers to, once.
		seen := map[string]bool{}
		refer := func(refs []syncproto.AttachmentRef) {
			for _, r := range refs {
				if !seen[r.SHA256] {
					seen[r.SHA256] = true
					m.Attachments = append(m.Attachments, r.SHA256)
				}
			}
		}
		var outLines, recLines, rejLines []byte
		for _, o := range outbox {
			var mu syncproto.Mutation
			if err := json.Unmarshal([]byte(o.Body), &mu); err != nil {
				return fmt.Errorf("outbox %d: %w", o.Seq, err)
			}
			refer(mu.Refs())
			outLines = append(append(outLines, o.Body...), '\n')
		}
		for _, r := range records {
			switch r.Kind {
			case "section":
				var ss syncproto.SealedSection
				if err := json.Unmarshal([]byte(r.Body), &ss); err != nil {
					return fmt.Errorf("sealed section: %w", err)
				}
				refer(ss.Section.Refs())
			default:
				var sc syncproto.SealedClose
				if err := json.Unmarshal([]byte(r.Body), &sc); err != nil {
					return fmt.Errorf("sealed close: %w", err)
				}
				refer(sc.Record.Close.Refs())
			}
			line, err := json.Marshal(map[string]json.RawMessage{r.Kind: json.RawMessage(r.Body)})
			if err != nil {
				return err
			}
			recLines = append(append(recLines, line...), '\n')
		}
		for _, r := range rejections {
			line, err := json.Marshal(map[string]any{
				"seq": r.Seq, "mutation_id": r.MutationID, "kind": r.Kind, "packet_id": r.PacketID,
				"code": r.Code, "message": r.Message, "rejected_at": r.RejectedAt, "mutation": json.RawMessage(r.Body),
			})
			if err != nil {
				return err
			}
			rejLines = append(append(rejLines, line...), '\n')
		}

		manifest, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		for _, f := range []struct {
			name string
			body []byte
		}{{"manifest.json", manifest}, {"outbox.jsonl", outLines}, {"records.jsonl", recLines}, {"rejections.jsonl", rejLines}} {
			if err := writeTarFile(tw, f.name, int64(len(f.body)), m.ExportedAt, func(w io.Writer) error { _, err := w.Write(f.body); return err }); err != nil {
				return err
			}
		}
		for _, sha := range m.Attachments {
			if err := c.exportAttachment(tw, sha, m.ExportedAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &m, nil
}

// exportAttachment copies one attachment file into the archive; a file
// missing from the device fails the export rather than leave a silent gap.
func (c *Client) exportAttachment(tw *tar.Writer, sha string, at time.Time) error {
	f, err := os.Open(c.attachmentPath(sha))
	if err != nil {
		return fmt.Errorf("attachment %s is missing from the device: %w", sha, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return writeTarFile(tw, "attachments/"+sha, st.Size(), at, func(w io.Writer) error { _, err := io.Copy(w, f); return err })
}

func writeTarFile(tw *tar.Writer, name string, size int64, at time.Time, body func(io.Writer) error) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: at, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	return body(tw)
}
