package store

import (
	"fmt"
	"io"
	"os"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// attachedFiles is a table that attaches stored blobs to a record: letter
// delivery proofs to a campaign, evidence to a follow-up task. The caller
// checks who may attach or read first; these only keep the table.
type attachedFiles struct {
	table, owner  string // the table and its column naming the record
	audit, object string // the audit action of an attachment and its object kind
	missing       string // the message when the record has no such file
}

var (
	letterProofs = attachedFiles{table: "letter_proofs", owner: "campaign_id",
		audit: "letter.proof_add", object: "campaign", missing: "送达回证不存在 (proof not found)."}
	followUpEvidence = attachedFiles{table: "followup_evidence", owner: "followup_id",
		audit: "followup.evidence_added", object: "followup", missing: "附件不存在 (attachment not found)."}
)

// attach records the stored blob sha as attached to record id by actor,
// audited; attaching it again changes nothing.
func (a attachedFiles) attach(tx *Tx, id int64, sha string, actor *server.User) error {
	res := tx.Exec("INSERT INTO "+a.table+" ("+a.owner+", sha256, uploaded_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		id, sha, actor.ID, tx.Now)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		addAudit(tx, a.audit, a.object, id, auditData{"sha256": sha})
	}
	return nil
}

// find returns the blob sha attached to record id: EINVALID for a
// malformed hash, ENOTFOUND if the record has no such file.
func (a attachedFiles) find(tx *Tx, id int64, sha string) (*server.Blob, error) {
	if !syncproto.ValidSHA256(sha) {
		return nil, server.Errorf(server.EINVALID, "sha256格式无效 (sha256 is malformed).")
	}
	var rows []blobRow
	if err := tx.Raw("SELECT b.* FROM blobs b JOIN "+a.table+" x ON x.sha256 = b.sha256 WHERE x."+a.owner+" = ? AND b.sha256 = ?",
		id, sha).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, server.Errorf(server.ENOTFOUND, "%s", a.missing)
	}
	return rows[0].domain(), nil
}

// openFile opens the stored file of a blob the caller may read.
func (s *BlobService) openFile(b *server.Blob) (*server.Blob, io.ReadSeekCloser, error) {
	f, err := os.Open(s.Path(b.SHA256))
	if err != nil {
		return nil, nil, fmt.Errorf("blob %s: %w", b.SHA256, err)
	}
	return b, f, nil
}
