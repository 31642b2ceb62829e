package store

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The joint record on the server: department sections answered and sealed
// by that department's inspectors, and closes that name the sealed sections
// they cover (see syncproto/record.go). Rows of migration 00006.

type sectionSealRow struct {
	PacketID    string
	Department  string
	Version     int
	Hash        string
	Signature   []byte
	Body        string
	Flags       string
	DeviceID    int64
	InspectorID int64
	ReceivedAt  time.Time
}

func (sectionSealRow) TableName() string { return "section_seals" }

type visitCloseRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	PacketID    string
	Hash        string
	Signature   []byte
	Body        string
	Flags       string
	DeviceID    int64
	InspectorID int64
	ReceivedAt  time.Time
}

func (visitCloseRow) TableName() string { return "visit_closes" }

// member returns the team member with the inspector id, or nil.
func (pk *pushPacket) member(inspectorID int64) *server.PacketMember {
	for i := range pk.content.Team {
		if pk.content.Team[i].InspectorID == inspectorID {
			return &pk.content.Team[i]
		}
	}
	return nil
}

// section returns the packet's section of the department, or nil.
func (pk *pushPacket) section(dept string) *server.PacketSection {
	for i := range pk.content.Sections {
		if pk.content.Sections[i].Department == dept {
			return &pk.content.Sections[i]
		}
	}
	return nil
}

func otherDepartment(dept string) *server.Error {
	return server.Errorf(server.EFORBIDDEN, "只有%s部门的执法人员可以填写或封存该部门的检查部分 (only inspectors of %s may answer or seal its section).", dept, dept)
}

// sealedSectionVersion returns the department section's latest sealed
// version, 0 for none.
func sealedSectionVersion(tx *Tx, packetID, dept string) (int, error) {
	var v []int
	if err := tx.Raw("SELECT COALESCE(MAX(version), 0) FROM section_seals WHERE packet_id = ? AND department = ?", packetID, dept).
		Scan(&v).Error; err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, nil
	}
	return v[0], nil
}

// checkAnswer rejects an answer by another department's inspector, to an
// item not in the packet, or to a section version already sealed.
func (p *pusher) checkAnswer(m *syncproto.Mutation, pk *pushPacket, me *server.PacketMember) (*server.Error, error) {
	a := m.Answer
	if a.Department != me.Department {
		return otherDepartment(a.Department), nil
	}
	if !itemInPacket(&pk.content, a) {
		return server.Errorf(server.EINVALID, "检查事项%s/%s（版本%d）不在该检查包中 (check item %s/%s version %d is not in this packet).",
			a.Department, a.ItemCode, a.ItemVersion, a.Department, a.ItemCode, a.ItemVersion), nil
	}
	if rej := checkItemAnswer(pk.section(a.Department), a); rej != nil {
		return rej, nil
	}
	draft := max(a.SectionVersion, 1) // protocol 1 outboxes carry none: their answers were for version 1
	sealed, err := p.sealedVersion(m.PacketID, a.Department)
	if err != nil {
		return nil, err
	}
	switch {
	case draft <= sealed:
		return server.Errorf(server.ECONFLICT, "%s部分第%d版已封存，该回答未计入；如需修改请提出更正 (the %s section's version %d is sealed, so this answer does not count; open a correction to change it).",
			a.Department, sealed, a.Department, sealed), nil
	case draft > sealed+1:
		return server.Errorf(server.EINVALID, "%s部分第%d版尚未开放 (the %s section's version %d is not open).", a.Department, draft, a.Department, draft), nil
	}
	return nil, nil
}

// checkItemAnswer rejects an answer of the wrong shape for its item: a value
// for a compliance item, a result for a text or number item. Any item may be
// not checked, with a reason.
func checkItemAnswer(sec *server.PacketSection, a *syncproto.AnswerMutation) *server.Error {
	if sec == nil {
		return nil
	}
	for _, it := range sec.Items {
		if it.Code != a.ItemCode {
			continue
		}
		compliance := it.AnswerType == syncproto.AnswerCompliance || it.AnswerType == ""
		if a.Result == syncproto.ResultNotChecked || compliance == (a.Result != "") {
			return nil
		}
		return server.Errorf(server.EINVALID, "检查事项%s的回答类型不符 (item %s is answered with the wrong kind of answer).", a.ItemCode, a.ItemCode)
	}
	return nil
}

// checkCertificates rejects a certificate that is not a team member's own
// (with dept set, a member of that department's).
func checkCertificates(pk *pushPacket, shown []syncproto.CertificateShown, dept string) *server.Error {
	for _, c := range shown {
		m := pk.member(c.InspectorID)
		if m == nil || (dept != "" && m.Department != dept) {
			return server.Errorf(server.EINVALID, "执法人员%d不是本检查组%s的成员 (inspector %d is not a member of this team%s).",
				c.InspectorID, dept, c.InspectorID, map[bool]string{true: " of " + dept, false: ""}[dept != ""])
		}
		if m.CertificateNumber != c.CertificateNumber {
			return server.Errorf(server.EINVALID, "执法证号%q与执法人员%d的证件不符 (certificate number %q is not inspector %d's).",
				c.CertificateNumber, c.InspectorID, c.CertificateNumber, c.InspectorID)
		}
	}
	return nil
}

// checkSeal rejects a section seal that is not this device's and inspector's,
// not of the inspector's department, not the next version, incomplete (an
// item without an answer or a reasoned "not checked"), without the
// department's certificates, or whose signature does not verify with the
// device's key.
func (p *pusher) checkSeal(m *syncproto.Mutation, pk *pushPacket, me *server.PacketMember) (*server.Error, error) {
	s := &m.Seal.Section
	if s.Department != me.Department {
		return otherDepartment(s.Department), nil
	}
	if s.DeviceID != p.device.ID || s.InspectorID != me.InspectorID {
		return server.Errorf(server.EINVALID, "该部分须由本设备和本人封存 (the section must be sealed by this device and this inspector)."), nil
	}
	sec := pk.section(s.Department)
	if sec == nil {
		return server.Errorf(server.EINVALID, "该检查包没有%s部分 (this packet has no %s section).", s.Department, s.Department), nil
	}
	if len(s.Answers) != len(sec.Items) {
		return server.Errorf(server.EINVALID, "%s部分共%d项，封存时只有%d项有回答或注明未检查 (the %s section has %d items; %d have an answer or a reason for not checking).",
			s.Department, len(sec.Items), len(s.Answers), s.Department, len(sec.Items), len(s.Answers)), nil
	}
	for i := range s.Answers {
		a := &s.Answers[i]
		if !itemInPacket(&pk.content, a) {
			return server.Errorf(server.EINVALID, "检查事项%s（版本%d）不在该检查包中 (check item %s version %d is not in this packet).",
				a.ItemCode, a.ItemVersion, a.ItemCode, a.ItemVersion), nil
		}
		if rej := checkItemAnswer(sec, a); rej != nil {
			return rej, nil
		}
	}
	if rej := checkCertificates(pk, s.Certificates, s.Department); rej != nil {
		return rej, nil
	}
	current, err := p.sealedVersion(m.PacketID, s.Department)
	if err != nil {
		return nil, err
	}
	if s.Version != current+1 {
		return server.Errorf(server.ECONFLICT, "%s部分的下一版本应为%d，收到%d (the %s section's next version is %d, got %d).",
			s.Department, current+1, s.Version, s.Department, current+1, s.Version), nil
	}
	if !p.verifies(syncproto.SectionSealMessage(m.Seal.Hash), m.Seal.Signature) {
		return errBadSeal, nil
	}
	return nil, nil
}

var errBadSeal = server.Errorf(server.EINVALID, "封存签名无效 (the seal's signature does not verify with this device's key).")

func (p *pusher) verifies(msg, sig []byte) bool {
	return len(p.device.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(p.device.PublicKey, msg, sig)
}

// checkClose rejects a close that is not this device's and inspector's,
// signed by an "inspector" who is not on the team, covering a department
// the packet does not have, or whose signature does not verify. A close may
// name a section version the server does not hold yet (the teammate's device
// has not synced): that is shown on the joint record, not refused.
func (p *pusher) checkClose(m *syncproto.Mutation, pk *pushPacket) *server.Error {
	r := &m.SealClose.Record
	if r.DeviceID != p.device.ID || r.InspectorID != *p.actor.InspectorID {
		return server.Errorf(server.EINVALID, "结论须由本设备和本人记录 (the close must be captured by this device and this inspector).")
	}
	for _, s := range r.Close.Signatures {
		if s.Role == syncproto.SignerInspector && pk.member(s.InspectorID) == nil {
			return server.Errorf(server.EINVALID, "签字的执法人员%d不在本检查组 (the signing inspector %d is not on this team).", s.InspectorID, s.InspectorID)
		}
	}
	for _, c := range r.Covers {
		if pk.section(c.Department) == nil {
			return server.Errorf(server.EINVALID, "该检查包没有%s部分 (this packet has no %s section).", c.Department, c.Department)
		}
	}
	if !p.verifies(syncproto.CloseSealMessage(m.SealClose.Hash), m.SealClose.Signature) {
		return errBadSeal
	}
	return nil
}

// unusableBlobs returns the hashes the pushing device may not refer to, in
// order, each once: those neither uploaded from this device nor already
// referenced by a packet the inspector's team holds.
func (p *pusher) unusableBlobs(hashes []string) ([]string, error) {
	for _, h := range hashes {
		if !p.usable[h] {
			// Not known usable from the start of the push: ask, with this
			// push's references written.
			if err := p.flushRefs(); err != nil {
				return nil, err
			}
			return unusableBlobs(p.tx, p.actor, p.device.ID, hashes)
		}
	}
	return nil, nil
}

func unusableBlobs(tx *Tx, actor *server.User, deviceID int64, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	ok := map[string]bool{}
	for batch := range slices.Chunk(hashes, 500) {
		var got []string
		if err := tx.Raw(`SELECT sha256 FROM blob_uploads WHERE sha256 IN ? AND (device_id = ? OR (device_id IS NULL AND user_id = ?))
			UNION SELECT ar.sha256 FROM attachment_refs ar JOIN packets p ON p.id = ar.packet_id
			JOIN team_members tm ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
			WHERE ar.sha256 IN ? AND tm.inspector_id = ?`, batch, deviceID, actor.ID, batch, *actor.InspectorID).Scan(&got).Error; err != nil {
			return nil, err
		}
		for _, h := range got {
			ok[h] = true
		}
	}
	var out []string
	for _, h := range hashes {
		if !ok[h] {
			out = append(out, h)
			ok[h] = true // each once
		}
	}
	return out, nil
}

// applyAnswer adds a version of the item and re-decides its live state with
// server.ResolveAnswer from each device's newest version.
func (p *pusher) applyAnswer(m *syncproto.Mutation) error {
	a := m.Answer
	body, err := canonicalJSON(a)
	if err != nil {
		return err
	}
	return p.addAnswerVersion(m.PacketID, a.Department, a.ItemCode, a.BaseVersion, body, int64(m.Seq), m.DeviceTime.UTC(), false)
}

// addAnswerVersion stores the next version of an item, from this device and
// inspector, then marks the winner and the conflicts. With supersede, the
// version has seen every earlier one (a seal's answers: the sealed section is
// the section's live state).
func (p *pusher) addAnswerVersion(packetID, dept, item string, base int64, body string, seq int64, deviceTime time.Time, supersede bool) error {
	k := answerKey{packetID, dept, item}
	rows, err := p.itemVersions(k)
	if err != nil {
		return err
	}
	var current int64
	for _, r := range rows {
		current = max(current, r.Version)
	}
	if supersede {
		base = current
	}
	rows = append(rows, &answerRow{
		PacketID: packetID, Department: dept, ItemCode: item, Version: current + 1, BaseVersion: base,
		DeviceID: p.device.ID, InspectorID: *p.actor.InspectorID, Seq: seq, Body: body,
		DeviceTime: deviceTime, ReceivedAt: p.tx.Now,
	})
	// Each device's newest version competes. rows are in version order
	// (the new one last), so the heads are too, whatever the map's order.
	newest := map[int64]int{}
	for i := range rows {
		newest[rows[i].DeviceID] = i
	}
	var heads []server.AnswerHead
	var sortedRows []int
	for i := range rows {
		if newest[rows[i].DeviceID] != i {
			continue
		}
		var am syncproto.AnswerMutation
		if err := json.Unmarshal([]byte(rows[i].Body), &am); err != nil {
			return fmt.Errorf("answer %s %s/%s v%d: %w", packetID, dept, item, rows[i].Version, err)
		}
		heads = append(heads, server.AnswerHead{
			AnswerCandidate: server.AnswerCandidate{Answer: am, DeviceID: rows[i].DeviceID, AuthorDepartment: dept},
			Version:         rows[i].Version, BaseVersion: rows[i].BaseVersion,
		})
		sortedRows = append(sortedRows, i)
	}
	w, conflicts := server.ResolveAnswer(heads)
	winner := map[int]bool{sortedRows[w]: true}
	conflict := map[int]bool{}
	if len(conflicts) > 0 {
		conflict[sortedRows[w]] = true
		for _, c := range conflicts {
			conflict[sortedRows[c]] = true
		}
	}
	for i, r := range rows[:len(rows)-1] {
		if r.Winner == winner[i] && r.Conflict == conflict[i] {
			continue
		}
		r.Winner, r.Conflict = winner[i], conflict[i]
		if r.ID == 0 {
			continue // queued in this push: written with the new values
		}
		if err := p.tx.Model(&answerRow{}).Where("id = ?", r.ID).
			Updates(map[string]any{"winner": winner[i], "conflict": conflict[i]}).Error; err != nil {
			return err
		}
	}
	last := rows[len(rows)-1]
	last.Winner, last.Conflict = winner[len(rows)-1], conflict[len(rows)-1]
	p.newAnswers = append(p.newAnswers, last)
	p.answers[packetID][k] = rows
	return addSyncChange(p.tx, packetID, syncproto.ChangeAnswer, dept+"/"+item)
}

// applySeal stores the sealed section, flagged if its dates fall outside the
// campaign window, and makes its answers the section's live state.
func (p *pusher) applySeal(m *syncproto.Mutation, pk *pushPacket) error {
	s := &m.Seal.Section
	body, err := canonicalJSON(s)
	if err != nil {
		return err
	}
	flags, err := json.Marshal(nonNilFlags(syncproto.WindowFlags(pk.content.WindowStart, pk.content.WindowEnd, s.SealedAt, p.tx.Now)))
	if err != nil {
		return err
	}
	p.seals = append(p.seals, sectionSealRow{
		PacketID: m.PacketID, Department: s.Department, Version: s.Version, Hash: m.Seal.Hash, Signature: m.Seal.Signature,
		Body: body, Flags: string(flags), DeviceID: p.device.ID, InspectorID: *p.actor.InspectorID, ReceivedAt: p.tx.Now,
	})
	p.sealed[answerKey{packet: m.PacketID, dept: s.Department}] = s.Version
	for i := range s.Answers {
		a := s.Answers[i]
		versions, err := p.itemVersions(answerKey{m.PacketID, a.Department, a.ItemCode})
		if err != nil {
			return err
		}
		var winners []*answerRow
		for _, r := range versions {
			if r.Winner {
				winners = append(winners, r)
			}
		}
		ab, err := canonicalJSON(&a)
		if err != nil {
			return err
		}
		if len(winners) == 1 && sameAnswer(winners[0].Body, &a) && !winners[0].Conflict {
			continue
		}
		if err := p.addAnswerVersion(m.PacketID, a.Department, a.ItemCode, 0, ab, int64(m.Seq), m.DeviceTime.UTC(), true); err != nil {
			return err
		}
	}
	addAudit(p.tx, "record.section_sealed", "packet", m.PacketID, auditData{"department": s.Department, "version": s.Version, "hash": m.Seal.Hash, "device_id": p.device.ID})
	// The department's result is drafted from its first sealed version.
	p.drafted = append(p.drafted, answerKey{packet: m.PacketID, dept: s.Department})
	return addSyncChange(p.tx, m.PacketID, syncproto.ChangeSection, s.Department+"/"+strconv.Itoa(s.Version))
}

// sameAnswer reports whether the stored answer says what a says, bases aside.
func sameAnswer(body string, a *syncproto.AnswerMutation) bool {
	var b syncproto.AnswerMutation
	if json.Unmarshal([]byte(body), &b) != nil {
		return false
	}
	b.BaseVersion, b.SectionVersion = 0, 0
	x, err1 := canonicalJSON(&b)
	y, err2 := canonicalJSON(a)
	return err1 == nil && err2 == nil && x == y
}

// applyClose stores the sealed close, flagged if its dates fall outside the
// campaign window.
func (p *pusher) applyClose(m *syncproto.Mutation, pk *pushPacket) error {
	r := &m.SealClose.Record
	body, err := canonicalJSON(r)
	if err != nil {
		return err
	}
	flags, err := json.Marshal(nonNilFlags(syncproto.WindowFlags(pk.content.WindowStart, pk.content.WindowEnd, r.ClosedAt, p.tx.Now)))
	if err != nil {
		return err
	}
	p.closes = append(p.closes, visitCloseRow{
		PacketID: m.PacketID, Hash: m.SealClose.Hash, Signature: m.SealClose.Signature, Body: body, Flags: string(flags),
		DeviceID: p.device.ID, InspectorID: *p.actor.InspectorID, ReceivedAt: p.tx.Now,
	})
	addAudit(p.tx, "record.closed", "packet", m.PacketID, auditData{"hash": m.SealClose.Hash, "outcome": r.Close.Outcome, "covers": r.Covers, "device_id": p.device.ID})
	return addSyncChange(p.tx, m.PacketID, syncproto.ChangeClose, m.SealClose.Hash)
}

func nonNilFlags(f []syncproto.RecordFlag) []syncproto.RecordFlag {
	if f == nil {
		return []syncproto.RecordFlag{}
	}
	return f
}

func (r *sectionSealRow) sealed() (*syncproto.SealedSection, error) {
	out := &syncproto.SealedSection{ReceivedAt: r.ReceivedAt.UTC()}
	out.Hash, out.Signature = r.Hash, r.Signature
	if err := json.Unmarshal([]byte(r.Body), &out.Section); err != nil {
		return nil, fmt.Errorf("section %s %s v%d: %w", r.PacketID, r.Department, r.Version, err)
	}
	if err := json.Unmarshal([]byte(r.Flags), &out.Flags); err != nil {
		return nil, fmt.Errorf("section %s %s v%d flags: %w", r.PacketID, r.Department, r.Version, err)
	}
	return out, nil
}

func (r *visitCloseRow) sealed() (*syncproto.SealedClose, error) {
	out := &syncproto.SealedClose{ReceivedAt: r.ReceivedAt.UTC()}
	out.Hash, out.Signature = r.Hash, r.Signature
	if err := json.Unmarshal([]byte(r.Body), &out.Record); err != nil {
		return nil, fmt.Errorf("close %s %s: %w", r.PacketID, r.Hash, err)
	}
	if err := json.Unmarshal([]byte(r.Flags), &out.Flags); err != nil {
		return nil, fmt.Errorf("close %s %s flags: %w", r.PacketID, r.Hash, err)
	}
	return out, nil
}

// FindJointRecord returns a packet's assembled joint record to anyone who
// may read the packet (ENOTFOUND for anyone else).
func (s *SyncService) FindJointRecord(ctx context.Context, packetID string) (*syncproto.JointRecord, error) {
	var out *syncproto.JointRecord
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		ok, err := canReadPacket(tx, server.UserFromContext(ctx), packetID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(objPacket)
		}
		out, err = jointRecord(tx, packetID)
		return err
	})
	return out, err
}

func jointRecord(tx *Tx, packetID string) (*syncproto.JointRecord, error) {
	var pk packetRow
	if err := tx.Where("id = ?", packetID).Take(&pk).Error; err != nil {
		return nil, err
	}
	var content server.PacketContent
	if err := json.Unmarshal([]byte(pk.Content), &content); err != nil {
		return nil, fmt.Errorf("packet %s: content: %w", packetID, err)
	}
	var srows []sectionSealRow
	if err := tx.Where("packet_id = ?", packetID).Order("department, version").Find(&srows).Error; err != nil {
		return nil, err
	}
	var crows []visitCloseRow
	if err := tx.Where("packet_id = ?", packetID).Order("id").Find(&crows).Error; err != nil {
		return nil, err
	}
	sections := make([]syncproto.SealedSection, 0, len(srows))
	for i := range srows {
		s, err := srows[i].sealed()
		if err != nil {
			return nil, err
		}
		sections = append(sections, *s)
	}
	closes := make([]syncproto.SealedClose, 0, len(crows))
	for i := range crows {
		c, err := crows[i].sealed()
		if err != nil {
			return nil, err
		}
		closes = append(closes, *c)
	}
	return syncproto.AssembleJointRecord(packetID, &content, sections, closes), nil
}
