package sdk

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// Section states on the device: of the inspector's own department's
// section of a packet.
const (
	SectionOpen       = "open"       // being filled in
	SectionSealed     = "sealed"     // the current version is sealed (here or on a teammate's device)
	SectionCorrection = "correction" // a correction of a sealed version is being filled in
)

// PacketSummary is one line of Packets.
type PacketSummary struct {
	ID         string
	CampaignID int64
	TeamNumber int
	Enterprise string
	Department string // the inspector's department: the section they answer
	Items      int    // items of that section
	Answered   int    // of them, with an answer on the device
	State      string // of that section: SectionOpen, SectionSealed, SectionCorrection
	Version    int    // section version being edited or last sealed
	Closed     bool   // a close is known (captured here or pulled)
	Complete   bool   // the joint record as the device knows it has no flag
}

// Answer is one item's answer as the device shows it.
type Answer struct {
	// AnswerMutation is what the device shows: its own answer not yet
	// acknowledged, else the server's live version, else its own answer.
	syncproto.AnswerMutation
	Pending       bool // a local answer not yet acknowledged by the server
	ServerVersion int64
	// Server is the server's live version of the item, as last pulled.
	Server *syncproto.AnswerVersion
	// Conflicts are the versions a teammate wrote concurrently that the
	// server kept beside the live one.
	Conflicts []syncproto.AnswerVersion
	// Rejected is this device's answer the server refused, with its reason,
	// until the item is answered again; Server, if any, is what counts.
	Rejected *RejectedAnswer
}

// RejectedAnswer is a local answer the server refused.
type RejectedAnswer struct {
	Answer  syncproto.AnswerMutation
	Seq     uint64
	Code    string
	Message string
}

// Section is the state of the inspector's own department's section of a
// packet on this device.
type Section struct {
	Department       string
	Version          int    // being edited, or last sealed
	State            string // SectionOpen, SectionSealed, SectionCorrection
	CorrectionReason string
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
	// Section is the inspector's own department's section; nil when the
	// inspector is not on the packet's team.
	Section *Section
	// Record is the joint record as far as this device knows it: sealed
	// sections and closes captured here or pulled, with their flags.
	Record *syncproto.JointRecord
}

type packetRow struct {
	ID         string `gorm:"column:id"`
	CampaignID int64  `gorm:"column:campaign_id"`
	Version    int    `gorm:"column:version"`
	TeamNumber int    `gorm:"column:team_number"`
	Content    string `gorm:"column:content"`
}

type visitRow struct {
	PacketID     string `gorm:"column:packet_id"`
	Certificates string `gorm:"column:certificates"`
}

type sectionRow struct {
	PacketID         string `gorm:"column:packet_id"`
	Department       string `gorm:"column:department"`
	Version          int    `gorm:"column:version"`
	Sealed           int    `gorm:"column:sealed"`
	CorrectionReason string `gorm:"column:correction_reason"`
}

type answerRow struct {
	PacketID       string `gorm:"column:packet_id"`
	Department     string `gorm:"column:department"`
	ItemCode       string `gorm:"column:item_code"`
	Answer         string `gorm:"column:answer"`
	PendingSeq     *int64 `gorm:"column:pending_seq"`
	ServerVersion  int64  `gorm:"column:server_version"`
	ServerState    string `gorm:"column:server_state"`
	RejectedSeq    *int64 `gorm:"column:rejected_seq"`
	RejectedAnswer string `gorm:"column:rejected_answer"`
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

// me returns the signed-in inspector's member entry in the packet's team.
func (c *Client) me(content *PacketContent) (*PacketMember, error) {
	u, err := c.Me(context.Background())
	if err != nil {
		return nil, err
	}
	if u.InspectorID == nil {
		return nil, fmt.Errorf("%w: 只有执法人员可以记录检查 (only inspectors record field work)", ErrForbidden)
	}
	for i := range content.Team {
		if content.Team[i].InspectorID == *u.InspectorID {
			return &content.Team[i], nil
		}
	}
	return nil, fmt.Errorf("%w: 您不在该检查包的检查组中 (you are not on this packet's team)", ErrForbidden)
}

func loadSection(db *gorm.DB, packetID, dept string) (*sectionRow, error) {
	var rows []sectionRow
	if err := db.Raw(`SELECT * FROM sections WHERE packet_id = ? AND department = ?`, packetID, dept).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return &sectionRow{PacketID: packetID, Department: dept, Version: 1}, nil
	}
	return &rows[0], nil
}

func ensureSection(tx *gorm.DB, packetID, dept string) error {
	return tx.Exec(`INSERT INTO sections (packet_id, department) VALUES (?, ?) ON CONFLICT (packet_id, department) DO NOTHING`, packetID, dept).Error
}

func ensureVisit(tx *gorm.DB, packetID string) error {
	return tx.Exec(`INSERT INTO visits (packet_id) VALUES (?) ON CONFLICT (packet_id) DO NOTHING`, packetID).Error
}

// latestSealed returns the highest sealed version of the section the device
// knows (sealed here and not refused, or pulled), 0 for none.
func latestSealed(db *gorm.DB, packetID, dept string) (int, error) {
	var v int
	err := db.Raw(`SELECT COALESCE(MAX(version), 0) FROM section_seals WHERE packet_id = ? AND department = ? AND rejected = 0`,
		packetID, dept).Scan(&v).Error
	return v, err
}

// editableSection fails unless the department's section version being
// edited can still change.
func editableSection(db *gorm.DB, packetID, dept string) (*sectionRow, error) {
	s, err := loadSection(db, packetID, dept)
	if err != nil {
		return nil, err
	}
	if s.Sealed != 0 {
		return nil, fmt.Errorf("%w: %s部分第%d版已封存，如需修改请提出更正 (the %s section's version %d is sealed; open a correction to change it)",
			ErrSealed, dept, s.Version, dept, s.Version)
	}
	sealed, err := latestSealed(db, packetID, dept)
	if err != nil {
		return nil, err
	}
	if sealed >= s.Version {
		return nil, fmt.Errorf("%w: %s部分第%d版已由同部门其他设备封存 (the %s section's version %d was sealed on a teammate's device; open a correction to change it)",
			ErrSealed, dept, sealed, dept, sealed)
	}
	return s, nil
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
func (c *Client) Packets(ctx context.Context) ([]PacketSummary, error) {
	var rows []packetRow
	if err := c.db.WithContext(ctx).Raw(`SELECT * FROM packets ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]PacketSummary, 0, len(rows))
	for _, r := range rows {
		p, err := c.Packet(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		s := PacketSummary{ID: p.ID, CampaignID: p.CampaignID, TeamNumber: p.TeamNumber, Enterprise: p.Content.Enterprise.Name,
			Closed: len(p.Record.Closes) > 0, Complete: p.Record.Complete}
		if p.Section != nil {
			s.Department, s.State, s.Version = p.Section.Department, p.Section.State, p.Section.Version
			for _, sec := range p.Content.Sections {
				if sec.Department == s.Department {
					s.Items = len(sec.Items)
				}
			}
			for _, a := range p.Answers {
				if a.Department == s.Department && (a.Pending || a.Server != nil) {
					s.Answered++
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Packet returns a packet with its content decoded and the device's work on it.
func (c *Client) Packet(ctx context.Context, id string) (*Packet, error) {
	db := c.db.WithContext(ctx)
	r, content, err := loadPacket(db, id)
	if err != nil {
		return nil, err
	}
	p := &Packet{ID: r.ID, CampaignID: r.CampaignID, Version: r.Version, TeamNumber: r.TeamNumber, Content: *content}
	var answers []answerRow
	if err := db.Raw(`SELECT * FROM answers WHERE packet_id = ? ORDER BY department, item_code`, id).Scan(&answers).Error; err != nil {
		return nil, err
	}
	for _, a := range answers {
		ans, err := a.decode(db)
		if err != nil {
			return nil, err
		}
		p.Answers = append(p.Answers, ans)
	}
	var visits []visitRow
	if err := db.Raw(`SELECT packet_id, certificates FROM visits WHERE packet_id = ?`, id).Scan(&visits).Error; err != nil {
		return nil, err
	}
	if len(visits) > 0 && visits[0].Certificates != "" {
		p.Certificates = new(syncproto.CertificatesMutation)
		if err := json.Unmarshal([]byte(visits[0].Certificates), p.Certificates); err != nil {
			return nil, err
		}
	}
	if me, err := c.me(content); err == nil {
		s, err := loadSection(db, id, me.Department)
		if err != nil {
			return nil, err
		}
		sealed, err := latestSealed(db, id, me.Department)
		if err != nil {
			return nil, err
		}
		p.Section = &Section{Department: me.Department, Version: s.Version, State: SectionOpen, CorrectionReason: s.CorrectionReason}
		switch {
		case s.Sealed != 0 || sealed >= s.Version:
			p.Section.State, p.Section.Version = SectionSealed, max(s.Version, sealed)
		case s.Version > 1:
			p.Section.State = SectionCorrection
		}
	} else if !errors.Is(err, ErrForbidden) {
		return nil, err
	}
	if p.Record, err = jointRecord(db, id, content); err != nil {
		return nil, err
	}
	return p, nil
}

// JointRecord returns the packet's joint record as far as this device knows
// it (see syncproto.AssembleJointRecord).
func (c *Client) JointRecord(ctx context.Context, packetID string) (*syncproto.JointRecord, error) {
	db := c.db.WithContext(ctx)
	_, content, err := loadPacket(db, packetID)
	if err != nil {
		return nil, err
	}
	return jointRecord(db, packetID, content)
}

// jointRecord assembles the record from the sections and closes the device
// holds; of a section sealed here and pulled back, the server's copy (with
// its flags) counts. Seals the server refused are left out.
func jointRecord(db *gorm.DB, packetID string, content *PacketContent) (*syncproto.JointRecord, error) {
	var seals []struct {
		Department string
		Version    int
		Origin     string
		Hash       string
		Body       string
	}
	if err := db.Raw(`SELECT department, version, origin, hash, body FROM section_seals WHERE packet_id = ? AND rejected = 0
		ORDER BY department, version, origin DESC`, packetID).Scan(&seals).Error; err != nil {
		return nil, err
	}
	var sections []syncproto.SealedSection
	seen := map[string]bool{}
	for _, s := range seals {
		k := s.Department + "/" + s.Hash
		if seen[k] {
			continue // origin server sorts first
		}
		seen[k] = true
		var ss syncproto.SealedSection
		if err := json.Unmarshal([]byte(s.Body), &ss); err != nil {
			return nil, err
		}
		sections = append(sections, ss)
	}
	var closeRows []struct{ Hash, Origin, Body string }
	if err := db.Raw(`SELECT hash, origin, body FROM closes WHERE packet_id = ? AND rejected = 0 ORDER BY rowid`, packetID).Scan(&closeRows).Error; err != nil {
		return nil, err
	}
	// A close captured here and pulled back is one close; the server's copy
	// carries its flags.
	var order []string
	body := map[string]string{}
	for _, r := range closeRows {
		if _, ok := body[r.Hash]; !ok {
			order = append(order, r.Hash)
		}
		if _, ok := body[r.Hash]; !ok || r.Origin == "server" {
			body[r.Hash] = r.Body
		}
	}
	var closes []syncproto.SealedClose
	for _, h := range order {
		var sc syncproto.SealedClose
		if err := json.Unmarshal([]byte(body[h]), &sc); err != nil {
			return nil, err
		}
		closes = append(closes, sc)
	}
	return syncproto.AssembleJointRecord(packetID, content, sections, closes), nil
}

func (a answerRow) decode(db *gorm.DB) (Answer, error) {
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
		out.Server = &st.Winner
		out.Conflicts = st.Conflicts
	}
	if a.RejectedSeq != nil {
		rej := &RejectedAnswer{Seq: uint64(*a.RejectedSeq)}
		if err := json.Unmarshal([]byte(a.RejectedAnswer), &rej.Answer); err != nil {
			return out, err
		}
		var why []struct{ Code, Message string }
		if err := db.Raw(`SELECT code, message FROM rejections WHERE seq = ?`, *a.RejectedSeq).Scan(&why).Error; err != nil {
			return out, err
		}
		if len(why) > 0 {
			rej.Code, rej.Message = why[0].Code, why[0].Message
		}
		out.Rejected = rej
	}
	return out, nil
}

// counts reports whether the answer counts toward sealing: the device's own
// answer (pending or acknowledged) or the server's live version; not an
// answer the server refused with nothing in its place.
func (a answerRow) counts() bool {
	return a.PendingSeq != nil || a.ServerState != "" || a.RejectedSeq == nil
}

// AnswerInput is one checklist item's answer.
type AnswerInput struct {
	// Department is the section's department; empty means the inspector's
	// own, the only one they may answer.
	Department string
	ItemCode   string
	Result     string // compliance items: ResultCompliant…; any item: ResultNotChecked (with the reason in Note)
	Value      string // text and number items
	Note       string
	// Photos are local file paths (copied in) or SHA-256 refs of files
	// attached before.
	Photos []string
}

// Answer records an answer to one item of the inspector's own department's
// section and queues it, in one transaction.
func (c *Client) Answer(ctx context.Context, packetID string, in AnswerInput) (*syncproto.AnswerMutation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return nil, err
	}
	me, err := c.me(content)
	if err != nil {
		return nil, err
	}
	if in.Department == "" {
		in.Department = me.Department
	}
	if in.Department != me.Department {
		return nil, fmt.Errorf("%w: 只有%s部门的执法人员可以填写该部门的检查事项 (only inspectors of %s answer its items; you are of %s)",
			ErrForbidden, in.Department, in.Department, me.Department)
	}
	item, err := findItem(content, in.Department, in.ItemCode)
	if err != nil {
		return nil, err
	}
	a := syncproto.AnswerMutation{
		Department: in.Department, ItemCode: in.ItemCode, ItemVersion: item.Version,
		Result: in.Result, Value: in.Value, Note: in.Note,
	}
	switch {
	case in.Result == syncproto.ResultNotChecked:
		if strings.TrimSpace(in.Note) == "" || in.Value != "" {
			return nil, invalid("未检查须在备注中说明原因 (an item not checked needs the reason in its note)")
		}
	case item.AnswerType == syncproto.AnswerCompliance || item.AnswerType == "":
		if in.Value != "" {
			return nil, invalid("item %s/%s is answered compliant, non_compliant, not_applicable or not_checked", in.Department, in.ItemCode)
		}
	case in.Result != "":
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
		sec, err := editableSection(tx, packetID, a.Department)
		if err != nil {
			return err
		}
		a.SectionVersion = sec.Version
		// The base is the item's version as last pulled; the server tells
		// this device's own successive edits from a teammate's by device.
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
		if err := ensureSection(tx, packetID, a.Department); err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO answers (packet_id, department, item_code, answer, pending_seq) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (packet_id, department, item_code) DO UPDATE SET answer = excluded.answer, pending_seq = excluded.pending_seq,
			rejected_seq = NULL, rejected_answer = ''`,
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
			ref, err = c.AttachFile(context.Background(), e, "")
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

// RecordCertificates records that team members showed their enforcement
// certificates on arrival (with an optional GPS fix). Each must be a team
// member's own certificate. What is recorded adds to what was recorded
// before on this device.
func (c *Client) RecordCertificates(ctx context.Context, packetID string, shown []syncproto.CertificateShown, loc *syncproto.Location) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return err
	}
	if _, err := c.me(content); err != nil {
		return err
	}
	for _, s := range shown {
		i := slices.IndexFunc(content.Team, func(m PacketMember) bool { return m.InspectorID == s.InspectorID })
		if i < 0 {
			return invalid("执法人员%d不在本检查组 (inspector %d is not on this team)", s.InspectorID, s.InspectorID)
		}
		if content.Team[i].CertificateNumber != s.CertificateNumber {
			return invalid("执法证号%q不是执法人员%d的证件 (certificate %q is not inspector %d's)", s.CertificateNumber, s.InspectorID, s.CertificateNumber, s.InspectorID)
		}
	}
	cm := syncproto.CertificatesMutation{Shown: shown, Location: loc}
	if err := cm.Validate(); err != nil {
		return invalid("%v", err)
	}
	err = c.tx(func(tx *gorm.DB) error {
		m := syncproto.Mutation{Kind: syncproto.KindCertificates, PacketID: packetID, Certificates: &cm}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		if err := ensureVisit(tx, packetID); err != nil {
			return err
		}
		var v []visitRow
		if err := tx.Raw(`SELECT packet_id, certificates FROM visits WHERE packet_id = ?`, packetID).Scan(&v).Error; err != nil {
			return err
		}
		all := syncproto.CertificatesMutation{Location: loc}
		if len(v) > 0 && v[0].Certificates != "" {
			if err := json.Unmarshal([]byte(v[0].Certificates), &all); err != nil {
				return err
			}
			if loc != nil {
				all.Location = loc
			}
		}
		for _, s := range shown {
			if !slices.ContainsFunc(all.Shown, func(x syncproto.CertificateShown) bool { return x.InspectorID == s.InspectorID }) {
				all.Shown = append(all.Shown, s)
			}
		}
		body, _ := json.Marshal(all)
		return tx.Exec(`UPDATE visits SET certificates = ? WHERE packet_id = ?`, string(body), packetID).Error
	})
	if err == nil {
		c.notify()
	}
	return err
}

// SealSection seals this device's section of the inspector's department:
// every item must have an answer or be marked not checked with a reason,
// and the certificates of the department's members present must have been
// recorded. The section is hashed (syncproto.CanonicalHash), signed with the
// device key, stored immutably and queued, in one transaction. The result's
// Ref().Token() is what a teammate's device needs to name this section in
// the close offline.
func (c *Client) SealSection(ctx context.Context, packetID string) (*syncproto.SealMutation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return nil, err
	}
	me, err := c.me(content)
	if err != nil {
		return nil, err
	}
	var items []PacketItem
	for _, s := range content.Sections {
		if s.Department == me.Department {
			items = s.Items
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: no section %q in this packet", ErrNotFound, me.Department)
	}
	var seal *syncproto.SealMutation
	err = c.tx(func(tx *gorm.DB) error {
		d, err := c.device(tx)
		if err != nil {
			return err
		}
		if !d.DeviceID.Valid {
			return ErrNotEnrolled
		}
		sec, err := editableSection(tx, packetID, me.Department)
		if err != nil {
			return err
		}
		rec := syncproto.SectionRecord{
			PacketID: packetID, Department: me.Department, Version: sec.Version, DeviceID: d.DeviceID.Int64, InspectorID: me.InspectorID,
			Answers: []syncproto.AnswerMutation{}, Certificates: []syncproto.CertificateShown{}, SealedAt: c.now().UTC(),
		}
		if sec.Version > 1 {
			rec.Replaces, rec.CorrectionReason = sec.Version-1, sec.CorrectionReason
		}
		var rows []answerRow
		if err := tx.Raw(`SELECT * FROM answers WHERE packet_id = ? AND department = ?`, packetID, me.Department).Scan(&rows).Error; err != nil {
			return err
		}
		byItem := map[string]answerRow{}
		for _, r := range rows {
			if r.counts() {
				byItem[r.ItemCode] = r
			}
		}
		var unanswered []string
		for _, it := range items {
			r, ok := byItem[it.Code]
			if !ok {
				unanswered = append(unanswered, it.Code)
				continue
			}
			var am syncproto.AnswerMutation
			if err := json.Unmarshal([]byte(r.Answer), &am); err != nil {
				return err
			}
			am.BaseVersion, am.SectionVersion = 0, 0
			rec.Answers = append(rec.Answers, am)
		}
		if len(unanswered) > 0 {
			return invalid("%s部分还有%d项未回答：%s；请回答或注明未检查的原因 (%d of %d items have no answer: %s; answer them or mark them not checked with a reason)",
				me.Department, len(unanswered), strings.Join(unanswered, ", "), len(unanswered), len(items), strings.Join(unanswered, ", "))
		}
		slices.SortFunc(rec.Answers, func(x, y syncproto.AnswerMutation) int { return strings.Compare(x.ItemCode, y.ItemCode) })
		var v []visitRow
		if err := tx.Raw(`SELECT packet_id, certificates FROM visits WHERE packet_id = ?`, packetID).Scan(&v).Error; err != nil {
			return err
		}
		if len(v) > 0 && v[0].Certificates != "" {
			var cm syncproto.CertificatesMutation
			if err := json.Unmarshal([]byte(v[0].Certificates), &cm); err != nil {
				return err
			}
			for _, s := range cm.Shown {
				i := slices.IndexFunc(content.Team, func(m PacketMember) bool { return m.InspectorID == s.InspectorID })
				if i >= 0 && content.Team[i].Department == me.Department {
					rec.Certificates = append(rec.Certificates, s)
				}
			}
		}
		if len(rec.Certificates) == 0 {
			return invalid("封存前须记录本部门在场执法人员出示的执法证 (record the certificates your department's inspectors present showed before sealing)")
		}
		slices.SortFunc(rec.Certificates, func(x, y syncproto.CertificateShown) int { return cmp.Compare(x.InspectorID, y.InspectorID) })
		rec.Attachments = syncproto.AttachmentList(rec.Refs())
		hash, err := syncproto.CanonicalHash(&rec)
		if err != nil {
			return err
		}
		sig := ed25519.Sign(ed25519.PrivateKey(d.PrivateKey), syncproto.SectionSealMessage(hash))
		seal = &syncproto.SealMutation{Section: rec, Hash: hash, Signature: sig}
		m := syncproto.Mutation{Kind: syncproto.KindSeal, PacketID: packetID, Seal: seal}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		body, _ := json.Marshal(syncproto.SealedSection{SealMutation: *seal})
		if err := tx.Exec(`INSERT INTO section_seals (packet_id, department, version, origin, body, hash) VALUES (?, ?, ?, 'local', ?, ?)`,
			packetID, rec.Department, rec.Version, string(body), hash).Error; err != nil {
			return err
		}
		if err := ensureSection(tx, packetID, me.Department); err != nil {
			return err
		}
		return tx.Exec(`UPDATE sections SET sealed = 1 WHERE packet_id = ? AND department = ?`, packetID, me.Department).Error
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return seal, nil
}

// Correct opens a correction of the inspector's department's sealed
// section: the next version, naming the one it replaces, with a reason.
// Answers can then change, and SealSection seals the correction.
func (c *Client) Correct(ctx context.Context, packetID, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" || len(reason) > syncproto.MaxNoteBytes {
		return invalid("a correction needs a reason (at most %d bytes)", syncproto.MaxNoteBytes)
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return err
	}
	me, err := c.me(content)
	if err != nil {
		return err
	}
	return c.tx(func(tx *gorm.DB) error {
		s, err := loadSection(tx, packetID, me.Department)
		if err != nil {
			return err
		}
		sealed, err := latestSealed(tx, packetID, me.Department)
		if err != nil {
			return err
		}
		if sealed == 0 {
			return invalid("packet %s has no sealed %s section to correct", packetID, me.Department)
		}
		if s.Sealed == 0 && s.Version > sealed {
			return invalid("a correction (version %d) is already open", s.Version)
		}
		if err := ensureSection(tx, packetID, me.Department); err != nil {
			return err
		}
		return tx.Exec(`UPDATE sections SET version = ?, sealed = 0, correction_reason = ? WHERE packet_id = ? AND department = ?`,
			sealed+1, reason, packetID, me.Department).Error
	})
}

// SignatureInput is one signature captured on the device.
type SignatureInput struct {
	Role        string // SignerRepresentative, SignerInspector, SignerWitness
	Name        string
	InspectorID int64
	PNGPath     string // the signature as a PNG file (or the SHA-256 of one attached before)
	Strokes     json.RawMessage
}

// CloseInput closes a visit with exactly one outcome.
type CloseInput struct {
	Outcome    string // OutcomeSigned…
	Note       string
	Signatures []SignatureInput
	StampPath  string // photo of the stamp (or the SHA-256 of one attached before)
	Location   *syncproto.Location
	// Covers are tokens (syncproto.SectionRef.Token) of sections sealed on
	// teammates' devices, read from their screens offline. Sections this
	// device sealed or pulled are covered without them.
	Covers []string
}

// CloseVisit captures the visit's close, once per visit: the outcome's rules
// are checked, the close names every sealed section this device knows (and
// those in.Covers name), and it is sealed with the device key, stored
// immutably and queued, in one transaction.
func (c *Client) CloseVisit(ctx context.Context, packetID string, in CloseInput) (*syncproto.SealCloseMutation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, content, err := loadPacket(c.db, packetID)
	if err != nil {
		return nil, err
	}
	me, err := c.me(content)
	if err != nil {
		return nil, err
	}
	covers := map[string]syncproto.SectionRef{}
	for _, t := range in.Covers {
		ref, err := syncproto.ParseSectionToken(t)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if _, err := findSection(content, ref.Department); err != nil {
			return nil, err
		}
		if old, ok := covers[ref.Department]; ok && old != ref {
			return nil, invalid("two tokens for the %s section", ref.Department)
		}
		covers[ref.Department] = ref
	}
	for _, s := range in.Signatures {
		if s.Role == syncproto.SignerInspector && !slices.ContainsFunc(content.Team, func(m PacketMember) bool { return m.InspectorID == s.InspectorID }) {
			return nil, invalid("签字的执法人员%d不在本检查组 (the signing inspector %d is not on this team)", s.InspectorID, s.InspectorID)
		}
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
	var sealed *syncproto.SealCloseMutation
	err = c.tx(func(tx *gorm.DB) error {
		d, err := c.device(tx)
		if err != nil {
			return err
		}
		if !d.DeviceID.Valid {
			return ErrNotEnrolled
		}
		var n int64
		if err := tx.Raw(`SELECT COUNT(*) FROM closes WHERE packet_id = ? AND rejected = 0`, packetID).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return invalid("该检查已有结论，结论每次检查只记录一次 (the visit already has a close; it is captured once per visit)")
		}
		for _, s := range content.Sections {
			var known []struct {
				Version int
				Hash    string
			}
			if err := tx.Raw(`SELECT version, hash FROM section_seals WHERE packet_id = ? AND department = ? AND rejected = 0 ORDER BY version DESC LIMIT 1`,
				packetID, s.Department).Scan(&known).Error; err != nil {
				return err
			}
			if len(known) > 0 && known[0].Version >= covers[s.Department].Version {
				covers[s.Department] = syncproto.SectionRef{Department: s.Department, Version: known[0].Version, Hash: known[0].Hash}
			}
		}
		rec := syncproto.CloseRecord{PacketID: packetID, DeviceID: d.DeviceID.Int64, InspectorID: me.InspectorID, Close: *cm,
			Covers: []syncproto.SectionRef{}, ClosedAt: c.now().UTC()}
		for _, ref := range covers {
			rec.Covers = append(rec.Covers, ref)
		}
		slices.SortFunc(rec.Covers, func(x, y syncproto.SectionRef) int { return strings.Compare(x.Department, y.Department) })
		rec.Attachments = syncproto.AttachmentList(rec.Close.Refs())
		hash, err := syncproto.CanonicalHash(&rec)
		if err != nil {
			return err
		}
		sig := ed25519.Sign(ed25519.PrivateKey(d.PrivateKey), syncproto.CloseSealMessage(hash))
		sealed = &syncproto.SealCloseMutation{Record: rec, Hash: hash, Signature: sig}
		m := syncproto.Mutation{Kind: syncproto.KindSealClose, PacketID: packetID, SealClose: sealed}
		if err := c.enqueue(tx, &m); err != nil {
			return err
		}
		body, _ := json.Marshal(syncproto.SealedClose{SealCloseMutation: *sealed})
		return tx.Exec(`INSERT INTO closes (packet_id, hash, origin, body) VALUES (?, ?, 'local', ?)`, packetID, hash, string(body)).Error
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return sealed, nil
}

func findSection(content *PacketContent, dept string) (*PacketSection, error) {
	for i := range content.Sections {
		if content.Sections[i].Department == dept {
			return &content.Sections[i], nil
		}
	}
	return nil, fmt.Errorf("%w: no section %q in this packet", ErrNotFound, dept)
}
