package sdk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// A packet's content as the server sends it (see syncproto.PacketContent).
type (
	PacketContent      = syncproto.PacketContent
	EnterpriseSnapshot = syncproto.EnterpriseSnapshot
	PacketMember       = syncproto.PacketMember
	PacketSection      = syncproto.PacketSection
	PacketItem         = syncproto.PacketItem
)

// Visit states of a packet on the device.
const (
	VisitOpen       = "open"       // being filled in
	VisitSealed     = "sealed"     // the current version is sealed
	VisitCorrection = "correction" // a correction of a sealed version is being filled in
)

// PacketSummary is one line of Packets.
type PacketSummary struct {
	ID         string
	CampaignID int64
	TeamNumber int
	Enterprise string
	Items      int
	Answered   int
	State      string
	Version    int // record version being edited or last sealed
}

// Answer is one item's answer as the device shows it.
type Answer struct {
	syncproto.AnswerMutation
	Pending       bool // a local answer not yet acknowledged by the server
	ServerVersion int64
	Conflicts     []syncproto.AnswerVersion
}

// Packet is a packet with the device's work on it.
type Packet struct {
	ID           string
	CampaignID   int64
	Version      int
	TeamNumber   int
	Content      PacketContent
	Answers      []Answer
	Certificates *syncproto.CertificatesMutation
	Close        *syncproto.CloseMutation
	State        string
	// RecordVersion is the record version being edited (or sealed last).
	RecordVersion int
	// Records are the sealed versions this device knows (its own and pulled).
	Records []SealedRecord
}

// SealedRecord is a sealed record version on the device.
type SealedRecord struct {
	syncproto.SealedRecord
	Local bool // sealed on this device
}

type packetRow struct {
	ID         string `gorm:"column:id"`
	CampaignID int64  `gorm:"column:campaign_id"`
	Version    int    `gorm:"column:version"`
	TeamNumber int    `gorm:"column:team_number"`
	Content    string `gorm:"column:content"`
}

type visitRow struct {
	PacketID         string `gorm:"column:packet_id"`
	Version          int    `gorm:"column:version"`
	Sealed           int    `gorm:"column:sealed"`
	CorrectionReason string `gorm:"column:correction_reason"`
	Certificates     string `gorm:"column:certificates"`
	Close            string `gorm:"column:close"`
}

type answerRow struct {
	PacketID      string `gorm:"column:packet_id"`
	Department    string `gorm:"column:department"`
	ItemCode      string `gorm:"column:item_code"`
	Answer        string `gorm:"column:answer"`
	PendingSeq    *int64 `gorm:"column:pending_seq"`
	ServerVersion int64  `gorm:"column:server_version"`
	ServerState   string `gorm:"column:server_state"`
}

func loadPacket(db *gorm.DB, id string) (*packetRow, *PacketContent, error) {
	var rows []packetRow
	if err := db.Raw(`SELECT * FROM packets WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%w: packet %s is not on this device (sync first?)", ErrNotFound, id)
	}
	var content PacketContent
	if err := json.Unmarshal([]byte(rows[0].Content), &content); err != nil {
		return nil, nil, fmt.Errorf("packet %s: undecodable content: %w", id, err)
	}
	return &rows[0], &content, nil
}

func loadVisit(db *gorm.DB, packetID string) (*visitRow, error) {
	var rows []visitRow
	if err := db.Raw(`SELECT * FROM visits WHERE packet_id = ?`, packetID).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return &visitRow{PacketID: packetID, Version: 1}, nil
	}
	return &rows[0], nil
}

func ensureVisit(tx *gorm.DB, packetID string) error {
	return tx.Exec(`INSERT INTO visits (packet_id) VALUES (?) ON CONFLICT (packet_id) DO NOTHING`, packetID).Error
}

// editable fails unless the packet's current record version can still change.
func editable(db *gorm.DB, packetID string) (*visitRow, error) {
	v, err := loadVisit(db, packetID)
	if err != nil {
		return nil, err
	}
	if v.Sealed != 0 {
		return nil, fmt.Errorf("%w: 记录已封存，如需修改请提出更正 (packet %s version %d is sealed; open a correction to change it)", ErrSealed, packetID, v.Version)
	}
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM records WHERE packet_id = ? AND version >= ?`, packetID, v.Version).Scan(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("%w: 该记录已由其他设备封存 (packet %s version %d was sealed on another device; open a correction)", ErrSealed, packetID, v.Version)
	}
	return v, nil
}

// enqueue gives m the next seq, a random id and the device time, validates
// it and adds it to the outbox, inside tx.
func (c *Client) enqueue(tx *gorm.DB, m *syncproto.Mutation) error {
	var next uint64
	if err := tx.Raw(`SELECT next_seq FROM sync_state WHERE id = 1`).Scan(&next).Error; err != nil {
		return err
	}
	var id [16]byte
	rand.Read(id[:])
	m.Seq, m.ID, m.DeviceTime = next, hex.EncodeToString(id[:]), c.now().UTC()
	if err := m.Validate(); err != nil {
		return invalid("%v", err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO outbox (seq, mutation_id, kind, packet_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.Seq, m.ID, m.Kind, m.PacketID, string(body), ts(m.DeviceTime)).Error; err != nil {
		return err
	}
	return tx.Exec(`UPDATE sync_state SET next_seq = ? WHERE id = 1`, next+1).Error
}

// Packets lists the packets on the device.
func (c *Client) Packets() ([]PacketSummary, error) {
	var rows []packetRow
	if err := c.db.Raw(`SELECT * FROM packets ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]PacketSummary, 0, len(rows))
	for _, r := range rows {
		p, err := c.Packet(r.ID)
		if err != nil {
			return nil, err
		}
		s := PacketSummary{ID: p.ID, CampaignID: p.CampaignID, TeamNumber: p.TeamNumber, Enterprise: p.Content.Enterprise.Name,
			State: p.State, Version: p.RecordVersion, Answered: len(p.Answers)}
		for _, sec := range p.Content.Sections {
			s.Items += len(sec.Items)
		}
		out = append(out, s)
	}
	return out, nil
}

// Packet returns a packet with its content decoded and the device's work on it.
func (c *Client) Packet(id string) (*Packet, error) {
	r, content, err := loadPacket(c.db, id)
	if err != nil {
		return nil, err
	}
	p := &Packet{ID: r.ID, CampaignID: r.CampaignID, Version: r.Version, TeamNumber: r.TeamNumber, Content: *content}
	var answers []answerRow
	if err := c.db.Raw(`SELECT * FROM answers WHERE packet_id = ? ORDER BY department, item_code`, id).Scan(&answers).Error; err != nil {
		return nil, err
	}
	for _, a := range answers {
		ans, err := a.decode()
		if err != nil {
			return nil, err
		}
		p.Answers = append(p.Answers, ans)
	}
	v, err := loadVisit(c.db, id)
	if err != nil {
		return nil, err
	}
	p.RecordVersion = v.Version
	p.State = VisitOpen
	if v.Version > 1 {
		p.State = VisitCorrection
	}
	if v.Sealed != 0 {
		p.State = VisitSealed
	}
	if v.Certificates != "" {
		p.Certificates = new(syncproto.CertificatesMutation)
		if err := json.Unmarshal([]byte(v.Certificates), p.Certificates); err != nil {
			return nil, err
		}
	}
	if v.Close != "" {
		p.Close = new(syncproto.CloseMutation)
		if err := json.Unmarshal([]byte(v.Close), p.Close); err != nil {
			return nil, err
		}
	}
	var recs []struct {
		Record    string
		Hash      string
		Signature []byte
		Origin    string
	}
	if err := c.db.Raw(`SELECT record, hash, signature, origin FROM records WHERE packet_id = ? ORDER BY version, origin`, id).Scan(&recs).Error; err != nil {
		return nil, err
	}
	for _, rec := range recs {
		var sr SealedRecord
		if err := json.Unmarshal([]byte(rec.Record), &sr.SealedRecord); err != nil {
			return nil, err
		}
		sr.Local = rec.Origin == "local"
		if sr.Local {
			sr.Hash, sr.Signature = rec.Hash, rec.Signature
		}
		p.Records = append(p.Records, sr)
		if sr.Record.Version >= v.Version && v.Sealed == 0 {
			p.State = VisitSealed
		}
	}
	return p, nil
}

func (a answerRow) decode() (Answer, error) {
	var out Answer
	if err := json.Unmarshal([]byte(a.Answer), &out.AnswerMutation); err != nil {
		return out, err
	}
	out.Pending = a.PendingSeq != nil
	out.ServerVersion = a.ServerVersion
	if a.ServerState != "" {
		var st syncproto.AnswerState
		if err := json.Unmarshal([]byte(a.ServerState), &st); err != nil {
			return out, err
		}
		out.Conflicts = st.Conflicts
	}
	return out, nil
}

// AnswerInput is one checklist item's answer.
type AnswerInput struct {
	Department string
	ItemCode   string
	Result     string // compliance items: syncproto.ResultCompliant…
	Value      string // text and number items
	Note       string
	// Photos are local file paths (copied in) or SHA-256 refs of files
	// attached before.
	Photos []string
}

// Answer records an answer to one item and queues it, in one transaction.
func (c *Client) Answer(ctx context.Context, packetID string, in AnswerInput) (*syncproto.AnswerMutation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return nil, err
	}
	item, err := findItem(content, in.Department, in.ItemCode)
	if err != nil {
		return nil, err
	}
	a := syncproto.AnswerMutation{
		Department: in.Department, ItemCode: in.ItemCode, ItemVersion: item.Version,
		Result: in.Result, Value: in.Value, Note: in.Note,
	}
	if item.AnswerType == syncproto.AnswerCompliance || item.AnswerType == "" {
		if in.Value != "" {
			return nil, invalid("item %s/%s is answered compliant, non_compliant or not_applicable", in.Department, in.ItemCode)
		}
	} else if in.Result != "" {
		return nil, invalid("item %s/%s takes a %s value, not a result", in.Department, in.ItemCode, item.AnswerType)
	}
	refs, err := c.resolveFiles(in.Photos, false)
	if err != nil {
		return nil, err
	}
	a.Photos = refs
	if err := a.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	// Photos given as paths are stored first: content-addressed, so a file
	// left behind by a failed transaction below is harmless.
	if _, err := c.resolveFiles(in.Photos, true); err != nil {
		return nil, err
	}
	err = c.tx(func(tx *gorm.DB) error {
		if _, err := editable(tx, packetID); err != nil {
			return err
		}
		var base int64
		if err := tx.Raw(`SELECT COALESCE(MAX(server_version), 0) FROM answers WHERE packet_id = ? AND department = ? AND item_code = ?`,
			packetID, a.Department, a.ItemCode).Scan(&base).Error; err != nil {
			return err
		}
		a.BaseVersion = base
		m := syncproto.Mutation{Kind: syncproto.KindAnswer, PacketID: packetID, Answer: &a}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		body, _ := json.Marshal(a)
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO answers (packet_id, department, item_code, answer, pending_seq) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (packet_id, department, item_code) DO UPDATE SET answer = excluded.answer, pending_seq = excluded.pending_seq`,
			packetID, a.Department, a.ItemCode, string(body), m.Seq).Error
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return &a, nil
}

func findItem(content *PacketContent, dept, code string) (*PacketItem, error) {
	for _, s := range content.Sections {
		if s.Department != dept {
			continue
		}
		for i := range s.Items {
			if s.Items[i].Code == code {
				return &s.Items[i], nil
			}
		}
		return nil, fmt.Errorf("%w: no item %q in section %s", ErrNotFound, code, dept)
	}
	return nil, fmt.Errorf("%w: no section %q in this packet", ErrNotFound, dept)
}

// resolveFiles turns each entry (a file path or the SHA-256 of an attached
// file) into a ref; with store, files are copied into the store.
func (c *Client) resolveFiles(entries []string, store bool) ([]syncproto.AttachmentRef, error) {
	var out []syncproto.AttachmentRef
	for _, e := range entries {
		if syncproto.ValidSHA256(e) {
			ref, err := c.attachment(c.db, e)
			if err != nil {
				return nil, err
			}
			out = append(out, *ref)
			continue
		}
		var ref *syncproto.AttachmentRef
		var err error
		if store {
			ref, err = c.AttachFile(e, "")
		} else {
			ref, _, err = inspectFile(e, "")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *ref)
	}
	return out, nil
}

// RecordCertificates records that the team showed their enforcement
// certificates on arrival (with an optional GPS fix).
func (c *Client) RecordCertificates(packetID string, shown []syncproto.CertificateShown, loc *syncproto.Location) error {
	if _, _, err := loadPacket(c.db, packetID); err != nil {
		return err
	}
	cm := syncproto.CertificatesMutation{Shown: shown, Location: loc}
	if err := cm.Validate(); err != nil {
		return invalid("%v", err)
	}
	err := c.tx(func(tx *gorm.DB) error {
		if _, err := editable(tx, packetID); err != nil {
			return err
		}
		m := syncproto.Mutation{Kind: syncproto.KindCertificates, PacketID: packetID, Certificates: &cm}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		body, _ := json.Marshal(cm)
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		return tx.Exec(`UPDATE visits SET certificates = ? WHERE packet_id = ?`, string(body), packetID).Error
	})
	if err == nil {
		c.notify()
	}
	return err
}

// SignatureInput is one signature captured on the device.
type SignatureInput struct {
	Role        string // syncproto.SignerRepresentative, SignerInspector, SignerWitness
	Name        string
	InspectorID int64
	PNGPath     string // the signature as a PNG file (or the SHA-256 of one attached before)
	Strokes     json.RawMessage
}

// CloseInput closes a visit with exactly one outcome.
type CloseInput struct {
	Outcome    string // syncproto.OutcomeSigned…
	Note       string
	Signatures []SignatureInput
	StampPath  string // photo of the stamp (or the SHA-256 of one attached before)
	Location   *syncproto.Location
}

// CloseVisit closes the visit. The outcome's rules are checked before
// anything is written; then the close and its outbox entry are one
// transaction.
func (c *Client) CloseVisit(packetID string, in CloseInput) (*syncproto.CloseMutation, error) {
	if _, _, err := loadPacket(c.db, packetID); err != nil {
		return nil, err
	}
	if _, err := editable(c.db, packetID); err != nil {
		return nil, err
	}
	build := func(store bool) (*syncproto.CloseMutation, error) {
		cm := &syncproto.CloseMutation{Outcome: in.Outcome, Note: in.Note, Location: in.Location}
		for _, s := range in.Signatures {
			if s.PNGPath == "" {
				return nil, invalid("the signature of %q needs a PNG", s.Name)
			}
			refs, err := c.resolveFiles([]string{s.PNGPath}, store)
			if err != nil {
				return nil, err
			}
			if refs[0].ContentType != "image/png" {
				return nil, invalid("the signature of %q must be a PNG", s.Name)
			}
			cm.Signatures = append(cm.Signatures, syncproto.Signature{Role: s.Role, Name: s.Name, InspectorID: s.InspectorID, Strokes: s.Strokes, Image: refs[0]})
		}
		if in.StampPath != "" {
			refs, err := c.resolveFiles([]string{in.StampPath}, store)
			if err != nil {
				return nil, err
			}
			cm.Stamp = &refs[0]
		}
		return cm, nil
	}
	cm, err := build(false)
	if err != nil {
		return nil, err
	}
	if err := cm.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	if cm, err = build(true); err != nil {
		return nil, err
	}
	err = c.tx(func(tx *gorm.DB) error {
		if _, err := editable(tx, packetID); err != nil {
			return err
		}
		m := syncproto.Mutation{Kind: syncproto.KindClose, PacketID: packetID, Close: cm}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		body, _ := json.Marshal(cm)
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		return tx.Exec(`UPDATE visits SET close = ? WHERE packet_id = ?`, string(body), packetID).Error
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return cm, nil
}

// Finalize seals the visit's current record version: the record is built
// from the device's state, hashed (syncproto.RecordHash) and signed with the
// device key, stored immutably and queued, in one transaction.
func (c *Client) Finalize(packetID string) (*syncproto.FinalizeMutation, error) {
	if _, _, err := loadPacket(c.db, packetID); err != nil {
		return nil, err
	}
	var fin *syncproto.FinalizeMutation
	err := c.tx(func(tx *gorm.DB) error {
		d, err := c.device(tx)
		if err != nil {
			return err
		}
		if !d.DeviceID.Valid {
			return ErrNotEnrolled
		}
		v, err := editable(tx, packetID)
		if err != nil {
			return err
		}
		if v.Close == "" {
			return invalid("close the visit (signed, refused, absent or not locatable) before finalizing")
		}
		rec := syncproto.InspectionRecord{
			PacketID: packetID, Version: v.Version, DeviceID: d.DeviceID.Int64,
			Answers: []syncproto.AnswerMutation{}, Certificates: []syncproto.CertificateShown{}, Attachments: []string{},
			SealedAt: c.now().UTC(),
		}
		if v.Version > 1 {
			rec.Replaces, rec.CorrectionReason = v.Version-1, v.CorrectionReason
		}
		var answers []answerRow
		if err := tx.Raw(`SELECT * FROM answers WHERE packet_id = ?`, packetID).Scan(&answers).Error; err != nil {
			return err
		}
		for _, a := range answers {
			var am syncproto.AnswerMutation
			if err := json.Unmarshal([]byte(a.Answer), &am); err != nil {
				return err
			}
			rec.Answers = append(rec.Answers, am)
		}
		slices.SortFunc(rec.Answers, func(x, y syncproto.AnswerMutation) int {
			if c := strings.Compare(x.Department, y.Department); c != 0 {
				return c
			}
			return strings.Compare(x.ItemCode, y.ItemCode)
		})
		if v.Certificates != "" {
			var cm syncproto.CertificatesMutation
			if err := json.Unmarshal([]byte(v.Certificates), &cm); err != nil {
				return err
			}
			rec.Certificates = cm.Shown
		}
		if err := json.Unmarshal([]byte(v.Close), &rec.Close); err != nil {
			return err
		}
		for _, ref := range rec.Refs() {
			rec.Attachments = append(rec.Attachments, ref.SHA256)
		}
		slices.Sort(rec.Attachments)
		rec.Attachments = slices.Compact(rec.Attachments)
		hash, err := syncproto.RecordHash(&rec)
		if err != nil {
			return err
		}
		sig := ed25519.Sign(ed25519.PrivateKey(d.PrivateKey), syncproto.SealMessage(hash))
		fin = &syncproto.FinalizeMutation{Record: rec, Hash: hash, Signature: sig}
		m := syncproto.Mutation{Kind: syncproto.KindFinalize, PacketID: packetID, Finalize: fin}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		sr, _ := json.Marshal(syncproto.SealedRecord{Record: rec, Hash: hash, Signature: sig})
		if err := tx.Exec(`INSERT INTO records (packet_id, version, origin, record, hash, signature) VALUES (?, ?, 'local', ?, ?, ?)`,
			packetID, rec.Version, string(sr), hash, sig).Error; err != nil {
			return err
		}
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		return tx.Exec(`UPDATE visits SET sealed = 1 WHERE packet_id = ?`, packetID).Error
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return fin, nil
}

// Correct opens a correction of the packet's sealed record: the next version,
// naming the one it replaces, with a reason. Answers and the close can then
// change, and Finalize seals the correction.
func (c *Client) Correct(packetID, reason string) error {
	if strings.TrimSpace(reason) == "" || len(reason) > syncproto.MaxNoteBytes {
		return invalid("a correction needs a reason (at most %d bytes)", syncproto.MaxNoteBytes)
	}
	if _, _, err := loadPacket(c.db, packetID); err != nil {
		return err
	}
	return c.tx(func(tx *gorm.DB) error {
		v, err := loadVisit(tx, packetID)
		if err != nil {
			return err
		}
		var sealed int
		if err := tx.Raw(`SELECT COALESCE(MAX(version), 0) FROM records WHERE packet_id = ?`, packetID).Scan(&sealed).Error; err != nil {
			return err
		}
		if sealed == 0 {
			return invalid("packet %s has no sealed record to correct", packetID)
		}
		if v.Sealed == 0 && v.Version > sealed {
			return invalid("a correction (version %d) is already open", v.Version)
		}
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		return tx.Exec(`UPDATE visits SET version = ?, sealed = 0, correction_reason = ? WHERE packet_id = ?`, sealed+1, reason, packetID).Error
	})
}
