package server

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// CampaignMaterials is what one participating department asks every target
// to prepare for its check items (营业执照, 上网消费者登记记录 …), in the
// department's order. It is set on the draft and frozen into the manifest
// at commit; the notification letters print it from there.
type CampaignMaterials struct {
	DepartmentID int64
	Items        []string
}

// Limits on materials.
const (
	MaxMaterialsPerDepartment = 30
	MaxMaterialBytes          = 200
)

// ManifestMaterials is one department's materials as a committed manifest
// holds them: by department code.
type ManifestMaterials struct {
	DepartmentCode string
	Items          []string
}

// LeadContact is the lead department's office that targets call about a
// letter: an office name and its office telephone, never an inspector's
// phone. It is printing data, not draw data: not in the manifest, and it
// may change after the commit.
type LeadContact struct {
	Office string // e.g. 市文化市场综合执法支队办公室
	Phone  string // e.g. 0592-5550123
}

// IsZero reports whether no contact is set.
func (c LeadContact) IsZero() bool { return c == LeadContact{} }

// officePhone is a Chinese landline with its area code (and an optional
// extension), a 400/800 service number, or the 12345 government hotline.
var officePhone = regexp.MustCompile(`^(0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(-[0-9]{1,6})?|[48]00-?[0-9]{3}-?[0-9]{4}|12345)$`)

// mobilePhone is a mainland mobile number: a person's, not an office's.
var mobilePhone = regexp.MustCompile(`^(\+?86)?1[3-9][0-9]{9}$`)

// Validate returns EINVALID unless c is empty or names an office (1–100
// characters) and its office telephone. A mobile number is refused: letters
// go to every target and are kept, so they must never carry a person's
// phone.
func (c *LeadContact) Validate() error {
	c.Office, c.Phone = strings.TrimSpace(c.Office), strings.TrimSpace(c.Phone)
	if c.IsZero() {
		return nil
	}
	n := utf8.RuneCountInString(c.Office)
	switch {
	case !utf8.ValidString(c.Office) || n == 0 || n > 100 || strings.ContainsAny(c.Office, "\t\r\n"):
		return Errorf(EINVALID, "联系部门名称须为1-100字 (contact office must be 1-100 characters).")
	case mobilePhone.MatchString(strings.ReplaceAll(c.Phone, "-", "")):
		return Errorf(EINVALID, "联系电话须为牵头部门的办公电话，不得填写个人手机号 (contact phone must be the lead department's office line, not a mobile number).")
	case !officePhone.MatchString(c.Phone):
		return Errorf(EINVALID, "联系电话须为带区号的办公电话，如0592-5550123 (contact phone must be an office line with its area code, e.g. 0592-5550123).")
	}
	return nil
}

// String is the line a letter prints: "办公室 电话".
func (c LeadContact) String() string {
	if c.IsZero() {
		return ""
	}
	return c.Office + "  联系电话：" + c.Phone
}

// DeliveryMethod is how a notification letter reached its target. Append only.
type DeliveryMethod string

const (
	DeliveryInPerson   DeliveryMethod = "in_person"  // 直接送达
	DeliveryPost       DeliveryMethod = "post"       // 邮寄送达
	DeliveryElectronic DeliveryMethod = "electronic" // 电子送达
)

// Valid reports whether m is a known method.
func (m DeliveryMethod) Valid() bool {
	return m == DeliveryInPerson || m == DeliveryPost || m == DeliveryElectronic
}

// Label is the method's Chinese name, as printed.
func (m DeliveryMethod) Label() string {
	switch m {
	case DeliveryInPerson:
		return "直接送达"
	case DeliveryPost:
		return "邮寄送达"
	case DeliveryElectronic:
		return "电子送达"
	}
	return string(m)
}

// MaxDeliveryNote bounds a delivery's note and a correction's reason.
const MaxDeliveryNote = 500

// LetterDelivery is the record that a target's notification letter was
// served (送达记录). Records are append only: a later record for the same
// target is a correction that names its reason, and the newest is current.
type LetterDelivery struct {
	ID          int64
	CampaignID  int64
	CreditCode  string
	Version     int // 1 for the first record of the target, then 2, 3 … for corrections
	DeliveredOn Date
	Method      DeliveryMethod
	// ProofSHA256 is the scanned receipt (PDF, JPEG or PNG) uploaded to the
	// campaign's letters, or "".
	ProofSHA256 string
	Note        string
	// CorrectionReason is why this record replaces the previous one; "" for
	// version 1.
	CorrectionReason string
	RecordedBy       int64
	RecordedAt       time.Time
	Current          bool // the newest record of its target
}

// Validate returns EINVALID for a record that cannot be kept, whatever the
// campaign's state.
func (d *LetterDelivery) Validate() error {
	d.Note, d.CorrectionReason = strings.TrimSpace(d.Note), strings.TrimSpace(d.CorrectionReason)
	switch {
	case d.CreditCode == "":
		return Errorf(EINVALID, "须指定送达对象的统一社会信用代码 (credit_code required).")
	case d.DeliveredOn.IsZero():
		return Errorf(EINVALID, "须指定送达日期 (delivered_on required).")
	case !d.Method.Valid():
		return Errorf(EINVALID, "送达方式须为in_person（直接送达）、post（邮寄送达）或electronic（电子送达） (method must be in_person, post or electronic).")
	case !utf8.ValidString(d.Note) || utf8.RuneCountInString(d.Note) > MaxDeliveryNote,
		!utf8.ValidString(d.CorrectionReason) || utf8.RuneCountInString(d.CorrectionReason) > MaxDeliveryNote:
		return Errorf(EINVALID, "备注和更正理由各不得超过%d字 (note and correction_reason must be at most %d characters each).", MaxDeliveryNote, MaxDeliveryNote)
	case d.ProofSHA256 != "" && !validHex64(d.ProofSHA256):
		return Errorf(EINVALID, "送达回证哈希格式无效 (proof_sha256 must be 64 lowercase hex digits).")
	}
	return nil
}

func validHex64(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// UnservedTarget is a target whose letter has no delivery record yet.
type UnservedTarget struct {
	CreditCode string
	Name       string
	Address    string
	TeamNumber int
}

// LetterService keeps what goes with the notification letters (告知书): the
// materials as committed, and the record of each letter's delivery. The
// campaign's lead coordinators (and platform admins) record deliveries and
// upload proofs; staff of participating departments read; anyone else finds
// nothing (ENOTFOUND).
type LetterService interface {
	// CanRecordDeliveries returns nil if the caller may record the
	// campaign's deliveries (checked before an upload's body is read).
	CanRecordDeliveries(ctx context.Context, campaignID int64) error
	// FindManifestMaterials returns the materials of the campaign's
	// committed manifest, by department code; none for a manifest committed
	// before materials were part of it (v1, v2). ECONFLICT for a draft.
	FindManifestMaterials(ctx context.Context, campaignID int64) ([]ManifestMaterials, error)
	// AddProof records blob sha256 (already stored) as a delivery proof
	// uploaded to the campaign's letters.
	AddProof(ctx context.Context, campaignID int64, sha256 string) error
	// OpenProof returns a proof of the campaign's letters.
	OpenProof(ctx context.Context, campaignID int64, sha256 string) (*Blob, io.ReadSeekCloser, error)
	// RecordDelivery records d, a delivery of a target's letter. A repeat of
	// the current record is answered with it (created false); a different
	// record is a correction and needs a reason (else ECONFLICT). ECONFLICT
	// before the packets (and so the letters) exist.
	RecordDelivery(ctx context.Context, d *LetterDelivery) (created bool, err error)
	// FindDeliveries lists the campaign's delivery records, every version,
	// by credit code then version; with creditCode only that target's.
	FindDeliveries(ctx context.Context, campaignID int64, creditCode string) ([]*LetterDelivery, error)
	// FindUnservedTargets lists the targets with a letter and no delivery
	// record, by credit code. ECONFLICT before the packets exist.
	FindUnservedTargets(ctx context.Context, campaignID int64) ([]*UnservedTarget, error)
}
