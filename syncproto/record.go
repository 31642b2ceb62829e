package syncproto

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The joint record (一企一表) of a packet is its sealed department sections
// plus its close. Each department's section is answered and sealed by that
// department's inspectors on one device; the close — the legal
// representative's signature and stamp, a refusal, an absent representative
// or an enterprise that cannot be located — is captured once, on any team
// member's device, and names by hash the sealed sections it covers. Sections
// and closes are sealed on the device: hashed (CanonicalHash) and signed with
// the device's Ed25519 key. Nothing sealed changes; a correction of a section
// is its next version, naming the one it replaces, with a reason.

// SectionRecord is one department's section of a visit, as sealed.
type SectionRecord struct {
	PacketID         string `json:"packet_id"`
	Department       string `json:"department"`
	Version          int    `json:"version"`            // 1, then 2, 3… for corrections
	Replaces         int    `json:"replaces,omitempty"` // the version a correction replaces
	CorrectionReason string `json:"correction_reason,omitempty"`
	DeviceID         int64  `json:"device_id"`
	InspectorID      int64  `json:"inspector_id"` // who sealed it
	// Answers holds one answer per item of the section, sorted by item_code,
	// with BaseVersion and SectionVersion 0.
	Answers []AnswerMutation `json:"answers"`
	// Certificates are those the department's members present showed, sorted
	// by inspector_id.
	Certificates []CertificateShown `json:"certificates"`
	Attachments  []string           `json:"attachments"` // every attachment's SHA-256, sorted, no repeats
	SealedAt     time.Time          `json:"sealed_at"`   // device time
}

// SealMutation seals a section: Hash is CanonicalHash(Section) and Signature
// the device's Ed25519 signature over SectionSealMessage(Hash).
type SealMutation struct {
	Section   SectionRecord `json:"section"`
	Hash      string        `json:"hash"`
	Signature []byte        `json:"signature"`
}

// SectionRef names a sealed section version by its hash.
type SectionRef struct {
	Department string `json:"department"`
	Version    int    `json:"version"`
	Hash       string `json:"hash"`
}

// CloseRecord is the close of a visit, as sealed: its one outcome and the
// sealed sections the enterprise's confirmation (or refusal) covers.
type CloseRecord struct {
	PacketID    string        `json:"packet_id"`
	DeviceID    int64         `json:"device_id"`
	InspectorID int64         `json:"inspector_id"` // who captured it
	Close       CloseMutation `json:"close"`
	Covers      []SectionRef  `json:"covers"`      // sorted by department, one per department
	Attachments []string      `json:"attachments"` // sorted, no repeats
	ClosedAt    time.Time     `json:"closed_at"`   // device time
}

// SealCloseMutation seals a close: Hash is CanonicalHash(Record) and
// Signature the device's signature over CloseSealMessage(Hash).
type SealCloseMutation struct {
	Record    CloseRecord `json:"record"`
	Hash      string      `json:"hash"`
	Signature []byte      `json:"signature"`
}

// SectionSealMessage is what a device signs to seal a section.
func SectionSealMessage(hash string) []byte {
	return append([]byte("spotcheck/seal/section/v2\x00"), hash...)
}

// CloseSealMessage is what a device signs to seal a close.
func CloseSealMessage(hash string) []byte {
	return append([]byte("spotcheck/seal/close/v2\x00"), hash...)
}

// Record flags: what the reviewer must see about a joint record or one of
// its parts. Append only.
const (
	// The device's clock or the server's receipt puts the seal outside the
	// campaign window (Asia/Shanghai dates). Accepted, never trusted.
	FlagDeviceTimeOutsideWindow = "device_time_outside_window"
	FlagReceivedOutsideWindow   = "received_outside_window"
	FlagSectionNotSealed        = "section_not_sealed"   // a department's section has no sealed version
	FlagSectionNotCovered       = "section_not_covered"  // no close covers the section's current version
	FlagNoClose                 = "no_close"             // the visit has no close
	FlagSeveralCloses           = "several_closes"       // two devices captured a close offline: both kept
	FlagCloseCoversUnknown      = "close_covers_unknown" // a close names a section version the server does not hold
)

// RecordFlag is one flag, with the department it concerns (if any) and a
// message for the reviewer.
type RecordFlag struct {
	Code       string `json:"code"`
	Department string `json:"department,omitempty"`
	Message    string `json:"message"`
}

// SealedSection is a sealed section version as the server holds it.
type SealedSection struct {
	SealMutation
	ReceivedAt time.Time    `json:"received_at"`
	Flags      []RecordFlag `json:"flags,omitempty"`
}

// SealedClose is a sealed close as the server holds it.
type SealedClose struct {
	SealCloseMutation
	ReceivedAt time.Time    `json:"received_at"`
	Flags      []RecordFlag `json:"flags,omitempty"`
}

// JointSection is one department's part of a joint record.
type JointSection struct {
	Department string          `json:"department"`
	Current    *SealedSection  `json:"current,omitempty"` // the latest sealed version
	History    []SealedSection `json:"history"`           // every sealed version, oldest first
	CoveredBy  []string        `json:"covered_by"`        // hashes of the closes covering the current version
}

// JointRecord is a packet's joint record: its sections in the packet's
// order, its closes in the order they were captured, every attachment once,
// and what the reviewer must see. Complete means every section is
// sealed and covered by exactly one close, with no other flag.
type JointRecord struct {
	PacketID    string         `json:"packet_id"`
	Sections    []JointSection `json:"sections"`
	Closes      []SealedClose  `json:"closes"`
	Attachments []string       `json:"attachments"`
	Flags       []RecordFlag   `json:"flags"`
	Complete    bool           `json:"complete"`
}

// AssembleJointRecord builds the joint record of a packet from every sealed
// section version and close the holder knows. Nothing is dropped: a section
// no close covers, a close naming a version nobody holds and two closes are
// all kept and flagged.
func AssembleJointRecord(packetID string, content *PacketContent, sections []SealedSection, closes []SealedClose) *JointRecord {
	jr := &JointRecord{PacketID: packetID, Sections: []JointSection{}, Closes: []SealedClose{}, Attachments: []string{}, Flags: []RecordFlag{}}
	byDept := map[string]*JointSection{}
	for _, s := range content.Sections {
		jr.Sections = append(jr.Sections, JointSection{Department: s.Department, History: []SealedSection{}, CoveredBy: []string{}})
	}
	for i := range jr.Sections {
		byDept[jr.Sections[i].Department] = &jr.Sections[i]
	}
	sorted := slices.Clone(sections)
	slices.SortStableFunc(sorted, func(a, b SealedSection) int { return a.Section.Version - b.Section.Version })
	held := map[SectionRef]bool{}
	var atts []string
	for _, s := range sorted {
		js := byDept[s.Section.Department]
		if js == nil {
			continue // validated on receipt; a section of no department of the packet cannot be held
		}
		js.History = append(js.History, s)
		js.Current = &js.History[len(js.History)-1]
		held[SectionRef{s.Section.Department, s.Section.Version, s.Hash}] = true
		atts = append(atts, s.Section.Attachments...)
	}
	// Closes in the order they were captured (device time), then by hash:
	// the same order on the server and on every device, whatever order
	// they arrived in.
	jr.Closes = append(jr.Closes, closes...)
	slices.SortStableFunc(jr.Closes, func(a, b SealedClose) int {
		if c := a.Record.ClosedAt.Compare(b.Record.ClosedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	for _, c := range jr.Closes {
		atts = append(atts, c.Record.Attachments...)
		for _, ref := range c.Record.Covers {
			if !held[ref] {
				jr.Flags = append(jr.Flags, RecordFlag{Code: FlagCloseCoversUnknown, Department: ref.Department,
					Message: fmt.Sprintf("结论覆盖的%s部分第%d版尚未收到或与之不符 (the close covers %s version %d, which the server does not hold).",
						ref.Department, ref.Version, ref.Department, ref.Version)})
				continue
			}
			if js := byDept[ref.Department]; js != nil && js.Current != nil && js.Current.Section.Version == ref.Version {
				js.CoveredBy = append(js.CoveredBy, c.Hash)
			}
		}
	}
	slices.Sort(atts)
	jr.Attachments = append(jr.Attachments, slices.Compact(atts)...)
	switch len(closes) {
	case 0:
		jr.Flags = append(jr.Flags, RecordFlag{Code: FlagNoClose, Message: "尚无检查结论（签字、拒签、缺席或无法联系） (the visit has no close yet)."})
	case 1:
	default:
		jr.Flags = append(jr.Flags, RecordFlag{Code: FlagSeveralCloses,
			Message: fmt.Sprintf("离线时记录了%d份结论，均予保留，须由复核人处理 (%d closes were captured offline; all are kept for the reviewer).", len(closes), len(closes))})
	}
	for i := range jr.Sections {
		js := &jr.Sections[i]
		switch {
		case js.Current == nil:
			jr.Flags = append(jr.Flags, RecordFlag{Code: FlagSectionNotSealed, Department: js.Department,
				Message: fmt.Sprintf("%s部分尚未封存 (the %s section is not sealed).", js.Department, js.Department)})
		case len(closes) > 0 && len(js.CoveredBy) == 0:
			jr.Flags = append(jr.Flags, RecordFlag{Code: FlagSectionNotCovered, Department: js.Department,
				Message: fmt.Sprintf("%s部分第%d版未经结论确认 (no close covers the %s section's version %d).",
					js.Department, js.Current.Section.Version, js.Department, js.Current.Section.Version)})
		}
		if js.Current != nil {
			for _, f := range js.Current.Flags {
				f.Department = js.Department
				jr.Flags = append(jr.Flags, f)
			}
		}
	}
	for _, c := range jr.Closes {
		jr.Flags = append(jr.Flags, c.Flags...)
	}
	jr.Complete = len(jr.Flags) == 0
	return jr
}

// WindowFlags flags a seal whose device time or server receipt falls
// outside the campaign window, by dates in Asia/Shanghai (UTC+8, no daylight
// saving). windowStart and windowEnd are YYYY-MM-DD; a zero received is not
// checked (the device's own view).
func WindowFlags(windowStart, windowEnd string, deviceTime, received time.Time) []RecordFlag {
	var out []RecordFlag
	outside := func(t time.Time) bool {
		d := t.In(shanghai).Format(time.DateOnly)
		return d < windowStart || d > windowEnd
	}
	if windowStart == "" || windowEnd == "" {
		return nil
	}
	if outside(deviceTime) {
		out = append(out, RecordFlag{Code: FlagDeviceTimeOutsideWindow,
			Message: fmt.Sprintf("设备时间%s不在检查期间%s至%s内 (the device's clock said %s, outside the window %s to %s).",
				deviceTime.In(shanghai).Format(time.DateTime), windowStart, windowEnd, deviceTime.In(shanghai).Format(time.DateTime), windowStart, windowEnd)})
	}
	if !received.IsZero() && outside(received) {
		out = append(out, RecordFlag{Code: FlagReceivedOutsideWindow,
			Message: fmt.Sprintf("服务器于%s收到，不在检查期间%s至%s内 (received %s, outside the window %s to %s).",
				received.In(shanghai).Format(time.DateTime), windowStart, windowEnd, received.In(shanghai).Format(time.DateTime), windowStart, windowEnd)})
	}
	return out
}

var shanghai = time.FixedZone("CST", 8*3600)

// Token is the short text a device shows (as a QR code, or to copy) so that
// a teammate's device can name this sealed section in a close offline:
// "sc1:DEPARTMENT:VERSION:HASH".
func (r SectionRef) Token() string {
	return "sc1:" + r.Department + ":" + strconv.Itoa(r.Version) + ":" + r.Hash
}

// ParseSectionToken reads a Token.
func ParseSectionToken(s string) (SectionRef, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 4 || parts[0] != "sc1" {
		return SectionRef{}, errorf("a section token looks like sc1:DEPARTMENT:VERSION:SHA256")
	}
	v, err := strconv.Atoi(parts[2])
	ref := SectionRef{Department: parts[1], Version: v, Hash: parts[3]}
	if err != nil {
		return SectionRef{}, errorf("section token version %q is not a number", parts[2])
	}
	if err := ref.Validate(); err != nil {
		return SectionRef{}, err
	}
	return ref, nil
}

// Validate checks a section reference.
func (r *SectionRef) Validate() error {
	switch {
	case !validCode(r.Department):
		return errorf("section department must be 1-32 letters, digits, - or _")
	case r.Version < 1 || r.Version > 1000:
		return errorf("section version must be 1-1000")
	case !ValidSHA256(r.Hash):
		return errorf("section hash must be 64 lowercase hex digits")
	}
	return nil
}

func validCode(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Refs returns every attachment the section references.
func (r *SectionRecord) Refs() []AttachmentRef {
	var out []AttachmentRef
	for _, a := range r.Answers {
		out = append(out, a.Photos...)
	}
	return out
}

// Validate checks a section seal is well formed and its hash is right:
// one answer per item (sorted), each answered or not checked with a reason,
// at least one certificate, and the attachment list. That the items are the
// section's, the certificates the department's members' and the signature
// the device's is checked by the server against the packet and the key.
func (m *SealMutation) Validate() error {
	r := &m.Section
	switch {
	case !validCode(r.Department):
		return errorf("section department must be 1-32 letters, digits, - or _")
	case r.Version < 1 || r.Version > 1000:
		return errorf("section version must be 1-1000")
	case r.Version == 1 && (r.Replaces != 0 || r.CorrectionReason != ""):
		return errorf("the first version replaces nothing")
	case r.Version > 1 && (r.Replaces != r.Version-1 || strings.TrimSpace(r.CorrectionReason) == ""):
		return errorf("a correction names the version it replaces and a reason")
	case !validText(r.CorrectionReason, MaxNoteBytes):
		return errorf("correction_reason too long or not UTF-8")
	case r.DeviceID <= 0 || r.InspectorID <= 0 || r.SealedAt.IsZero():
		return errorf("a sealed section needs device_id, inspector_id and sealed_at")
	case len(r.Answers) == 0 || len(r.Answers) > 500:
		return errorf("a sealed section has 1-500 answers")
	case len(r.Certificates) == 0 || len(r.Certificates) > 10:
		return errorf("a sealed section lists the 1-10 certificates its department's members present showed")
	case len(m.Signature) != 64:
		return errorf("signature must be 64 bytes")
	}
	for i := range r.Answers {
		a := &r.Answers[i]
		if err := a.Validate(); err != nil {
			return err
		}
		if a.Department != r.Department {
			return errorf("answer %s belongs to another department's section", a.ItemCode)
		}
		if a.BaseVersion != 0 || a.SectionVersion != 0 {
			return errorf("a sealed answer has base_version and section_version 0")
		}
		if i > 0 && r.Answers[i-1].ItemCode >= a.ItemCode {
			return errorf("answers must be sorted by item_code, one per item")
		}
	}
	for i, c := range r.Certificates {
		if err := c.Validate(); err != nil {
			return err
		}
		if i > 0 && r.Certificates[i-1].InspectorID >= c.InspectorID {
			return errorf("certificates must be sorted by inspector_id, one per inspector")
		}
	}
	if !slices.Equal(attachmentList(r.Refs()), r.Attachments) {
		return errorf("attachments must list every referenced attachment once, sorted")
	}
	if h, err := CanonicalHash(r); err != nil || h != m.Hash {
		return errorf("hash does not match the section")
	}
	return nil
}

// Validate checks a sealed close is well formed and its hash is right.
func (m *SealCloseMutation) Validate() error {
	r := &m.Record
	switch {
	case r.DeviceID <= 0 || r.InspectorID <= 0 || r.ClosedAt.IsZero():
		return errorf("a sealed close needs device_id, inspector_id and closed_at")
	case len(r.Covers) > 20:
		return errorf("a close covers at most 20 sections")
	case len(m.Signature) != 64:
		return errorf("signature must be 64 bytes")
	}
	if err := r.Close.Validate(); err != nil {
		return err
	}
	for i := range r.Covers {
		if err := r.Covers[i].Validate(); err != nil {
			return err
		}
		if i > 0 && r.Covers[i-1].Department >= r.Covers[i].Department {
			return errorf("covers must be sorted by department, one per department")
		}
	}
	if !slices.Equal(attachmentList(r.Close.Refs()), r.Attachments) {
		return errorf("attachments must list every referenced attachment once, sorted")
	}
	if h, err := CanonicalHash(r); err != nil || h != m.Hash {
		return errorf("hash does not match the close")
	}
	return nil
}

// Validate checks one certificate shown.
func (c *CertificateShown) Validate() error {
	if c.InspectorID <= 0 || c.CertificateNumber == "" || len(c.CertificateNumber) > 64 || !utf8Printable(c.CertificateNumber) {
		return errorf("each certificate needs an inspector_id and a certificate_number")
	}
	return nil
}

// AttachmentList returns the sorted, distinct hashes of refs: the
// Attachments of a sealed section or close.
func attachmentList(refs []AttachmentRef) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.SHA256)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// AttachmentList is attachmentList for devices building a seal.
func AttachmentList(refs []AttachmentRef) []string { return attachmentList(refs) }

// utf8Printable reports whether s is UTF-8 with no control characters.
func utf8Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
