package syncproto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"time"
)

// Protocol versions. A request carries its version in HeaderProtocol; the
// server answers CodeUpgradeRequired (HTTP 426) to a version below
// MinProtocolVersion, so an old SDK fails loudly instead of misbehaving.
// Version 2 replaced the whole-visit seal of version 1 with one seal per
// department section and a sealed close (see record.go).
const (
	ProtocolVersion    = 2
	MinProtocolVersion = 2
	HeaderProtocol     = "Spotcheck-Protocol"
	// HeaderPushLimit and HeaderPullLimit, on every answer to a sync
	// request, say how many mutations a push and how many changes a pull
	// page this server takes (PushLimitMax, PullLimitMax). A client that has
	// not seen them uses MaxMutationsPerPush and MaxPullLimit, which every
	// server takes.
	HeaderPushLimit = "Spotcheck-Push-Limit"
	HeaderPullLimit = "Spotcheck-Pull-Limit"
	// HeaderOwnChanges: OwnChangesAck on a pull asks the server to send a
	// change whose content this device itself pushed as an acknowledgement
	// (Change.Ack) instead of in full. Without it every change comes in
	// full, as to clients from before acknowledgements.
	HeaderOwnChanges = "Spotcheck-Own-Changes"
	OwnChangesAck    = "ack"
)

// Paths of the sync endpoints.
const (
	PathPush               = "/v1/sync/push"
	PathPull               = "/v1/sync/pull"
	PathAttachmentsMissing = "/v1/sync/attachments/missing"
	// PathAttachmentsBatch takes several whole attachments in one request
	// (see BatchUploadResponse): a day's signatures, or on a fast link its
	// photos, without a request and a commit per file.
	PathAttachmentsBatch = "/v1/sync/attachments/batch"
	// PathUploads is the resumable-upload (tus 1.0) endpoint: POST creates an
	// upload, HEAD PathUploads/ID reports its offset, PATCH appends from it.
	PathUploads = "/v1/uploads"
	// PathAttachments + "/" + SHA256 serves a stored attachment to those who
	// may read a record that references it.
	PathAttachments = "/v1/attachments"
)

// Limits every side enforces.
const (
	MaxMutationsPerPush = 200     // what every server takes; see HeaderPushLimit
	MaxPushBytes        = 8 << 20 // decoded (after any gzip) push body
	MaxHashesPerQuery   = 1000
	MaxAttachmentBytes  = 32 << 20
	MaxPullLimit        = 500 // what every server takes; see HeaderPullLimit
	// PushLimitMax and PullLimitMax are this protocol's own bounds, which a
	// server announces in HeaderPushLimit and HeaderPullLimit: a device-day
	// (about 1,300 mutations) is then one push and one pull.
	PushLimitMax = 2000
	PullLimitMax = 2000
	MaxNoteBytes = 4000
	// MaxPullWaitSeconds bounds PullRequest.WaitSeconds. A server holds a
	// pull for at most its own, lower cap (25 s for this one).
	MaxPullWaitSeconds = 60
)

// Mutation kinds. Append only.
const (
	KindAnswer       = "answer"       // set one checklist item's answer (a draft of its section)
	KindCertificates = "certificates" // record that team members showed their enforcement certificates
	// KindClose and KindFinalize are protocol 1's unsealed close and
	// whole-visit seal. They still decode, so an outbox queued before an
	// update can be pushed, but a protocol 2 server rejects them with a
	// reason: the inspector seals each section and captures the close again.
	KindClose     = "close"
	KindFinalize  = "finalize"
	KindSeal      = "seal"       // seal one department's section (or a correction of it)
	KindSealClose = "seal_close" // the enterprise's confirmation, or its refusal, sealed once per visit
)

// Answer results for compliance items. Append only.
const (
	ResultCompliant     = "compliant"
	ResultNonCompliant  = "non_compliant"
	ResultNotApplicable = "not_applicable"
	// ResultNotChecked marks any item, of any answer type, as not checked;
	// the note says why. A section can be sealed only when every item has an
	// answer or this.
	ResultNotChecked = "not_checked"
)

// Visit outcomes: exactly one closes a visit. Append only.
const (
	OutcomeSigned       = "signed"         // signed (and stamped) by the legal representative
	OutcomeRefused      = "refused"        // refused to sign: a truthful note, and both inspectors sign
	OutcomeAbsent       = "absent_witness" // representative absent: a witness signs
	OutcomeNotLocatable = "not_locatable"  // 通过登记的住所无法联系
)

// Signer roles on a close. Append only.
const (
	SignerRepresentative = "legal_representative"
	SignerInspector      = "inspector"
	SignerWitness        = "witness"
)

// Push results. Append only.
const (
	StatusApplied   = "applied"
	StatusDuplicate = "duplicate" // already applied earlier: acknowledged, not applied again
	StatusRejected  = "rejected"  // can never be applied; Code and Message say why; the sequence still advances
	// StatusDeferred: not applied and the sequence not advanced, because it
	// references an attachment the server does not have yet. The device
	// uploads it and pushes again; nothing after it in the batch was processed.
	StatusDeferred = "deferred"
)

// Change kinds in a pull. Append only.
const (
	ChangePacket = "packet" // a packet assigned to the device's inspector, as PacketState
	ChangeAnswer = "answer" // the server's state of one checklist item, as AnswerState
	ChangeRecord = "record" // protocol 1: a whole-visit record; no longer sent
	// ChangeSection is a sealed section version, as SealedSection; Key is
	// department/version.
	ChangeSection = "section"
	// ChangeClose is a sealed close, as SealedClose; Key is its hash.
	ChangeClose = "close"
)

// AttachmentRef names an attachment by content.
type AttachmentRef struct {
	SHA256      string `json:"sha256"` // 64 lowercase hex digits
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"` // image/png, image/jpeg
}

// Location is a GPS fix as the device recorded it.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	AccuracyM float64 `json:"accuracy_m"`
}

// Mutation is one device write. Seq numbers a device's mutations 1, 2, 3…
// with no gaps; the server applies each exactly once, in order. Exactly one
// payload, the one Kind names, is set.
type Mutation struct {
	Seq        uint64    `json:"seq"`
	ID         string    `json:"id"` // random, for logs and support
	Kind       string    `json:"kind"`
	PacketID   string    `json:"packet_id"`
	DeviceTime time.Time `json:"device_time"` // recorded as data, never used for ordering

	Answer       *AnswerMutation       `json:"answer,omitempty"`
	Certificates *CertificatesMutation `json:"certificates,omitempty"`
	Seal         *SealMutation         `json:"seal,omitempty"`
	SealClose    *SealCloseMutation    `json:"seal_close,omitempty"`
	Close        *CloseMutation        `json:"close,omitempty"`    // protocol 1
	Finalize     *FinalizeMutation     `json:"finalize,omitempty"` // protocol 1
}

// AnswerMutation sets one checklist item. BaseVersion is the server version
// of the item the device last saw (0 for none): an answer on a stale base is
// a conflict with the versions it did not see, kept and shown, never silently
// dropped. SectionVersion is the version of the department's section the
// answer is a draft of: 1, or the correction being prepared (0, from
// protocol 1 outboxes, means 1). In a sealed section both are 0.
type AnswerMutation struct {
	Department  string          `json:"department"` // department code of the checklist section
	ItemCode    string          `json:"item_code"`
	ItemVersion int             `json:"item_version"`
	Result      string          `json:"result,omitempty"` // compliance items
	Value       string          `json:"value,omitempty"`  // text and number items
	Note        string          `json:"note,omitempty"`
	Photos      []AttachmentRef `json:"photos,omitempty"`
	BaseVersion int64           `json:"base_version"`
	// SectionVersion is omitted when 0, so a sealed section's answers hash
	// the same however they were drafted.
	SectionVersion int `json:"section_version,omitempty"`
}

// CertificateShown records that an inspector showed their enforcement certificate.
type CertificateShown struct {
	InspectorID       int64  `json:"inspector_id"`
	CertificateNumber string `json:"certificate_number"`
}

// CertificatesMutation records the certificates shown on arrival.
type CertificatesMutation struct {
	Shown    []CertificateShown `json:"shown"`
	Location *Location          `json:"location,omitempty"`
}

// Signature is one signature on the visit record.
type Signature struct {
	Role        string          `json:"role"` // SignerRepresentative, SignerInspector, SignerWitness
	Name        string          `json:"name"`
	InspectorID int64           `json:"inspector_id,omitempty"` // for SignerInspector
	Strokes     json.RawMessage `json:"strokes,omitempty"`      // pen strokes as the device captured them
	Image       AttachmentRef   `json:"image"`                  // PNG of the signature
}

// CloseMutation closes the visit with exactly one outcome.
type CloseMutation struct {
	Outcome    string         `json:"outcome"`
	Note       string         `json:"note,omitempty"`
	Signatures []Signature    `json:"signatures,omitempty"`
	Stamp      *AttachmentRef `json:"stamp,omitempty"` // photo of the enterprise's stamp
	Location   *Location      `json:"location,omitempty"`
}

// FinalizeMutation is protocol 1's whole-visit seal, kept so that old
// outboxes decode; a protocol 2 server rejects it (see KindFinalize).
type FinalizeMutation struct {
	Record    InspectionRecord `json:"record"`
	Hash      string           `json:"hash"`
	Signature []byte           `json:"signature"`
}

// InspectionRecord is protocol 1's whole-visit record.
type InspectionRecord struct {
	PacketID         string             `json:"packet_id"`
	Version          int                `json:"version"`            // 1, then 2, 3… for corrections
	Replaces         int                `json:"replaces,omitempty"` // the version a correction replaces
	CorrectionReason string             `json:"correction_reason,omitempty"`
	DeviceID         int64              `json:"device_id"`
	Answers          []AnswerMutation   `json:"answers"` // sorted by (department, item_code)
	Certificates     []CertificateShown `json:"certificates"`
	Close            CloseMutation      `json:"close"`
	Attachments      []string           `json:"attachments"` // every attachment's SHA-256, sorted, no repeats
	SealedAt         time.Time          `json:"sealed_at"`   // device time
}

// RecordHash is the SHA-256 (hex) of the record's canonical JSON (see
// CanonicalHash).
func RecordHash(r *InspectionRecord) (string, error) { return CanonicalHash(r) }

// CanonicalHash is the SHA-256 (hex) of v's canonical JSON: the
// encoding/json form of the struct (fields in declaration order, no HTML
// escaping, no trailing newline). Server and SDK share this one definition.
func CanonicalHash(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

// SealMessage is what a protocol 1 device signed to seal a record.
func SealMessage(recordHash string) []byte {
	return append([]byte("spotcheck/seal/v1\x00"), recordHash...)
}

// PushRequest carries a batch of a device's mutations, in Seq order.
type PushRequest struct {
	DeviceID  int64      `json:"device_id"`
	Mutations []Mutation `json:"mutations"`
}

// MutationResult is the outcome of one mutation.
type MutationResult struct {
	Seq     uint64 `json:"seq"`
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"` // for the inspector, Simplified Chinese first
}

// PushResponse answers a push. Results cover a prefix of the batch: the
// server stops at the first mutation it cannot take in order (a gap) and the
// device sends the rest again. LastAppliedSeq is the device's high-water mark.
type PushResponse struct {
	Results        []MutationResult `json:"results"`
	LastAppliedSeq uint64           `json:"last_applied_seq"`
}

// ExportFormat names the layout of a device's export archive (a .tar.gz:
// manifest.json, outbox.jsonl, records.jsonl, rejections.jsonl and
// attachments/SHA256), written by the SDK's Export and taken in by
// "POST /v1/devices/:id/import".
const ExportFormat = "spotcheck-field-export/v1"

// DeviceImportResponse answers an administrator's import of a device's
// export: the outbox mutations' results, in order, exactly as a push would
// answer them (so a second import of the same file is all duplicates), the
// device's high-water mark afterwards, and how many attachments the archive
// held.
type DeviceImportResponse struct {
	Results        []MutationResult `json:"results"`
	LastAppliedSeq uint64           `json:"last_applied_seq"`
	Attachments    int              `json:"attachments"`
}

// PullRequest asks for changes since Cursor ("" for everything).
//
// WaitSeconds > 0 makes it a long poll: when there is nothing after Cursor,
// the server holds the request until a change for the device's inspector
// commits, then answers with it, or answers with no changes once the wait
// (capped by the server) is over or the server is shutting down. 0, the
// default and what a server without long polls understands, answers at once.
type PullRequest struct {
	DeviceID    int64  `json:"device_id"`
	Cursor      string `json:"cursor"`
	Limit       int    `json:"limit"`
	WaitSeconds int    `json:"wait_seconds,omitempty"`
	// AckOwn is HeaderOwnChanges: OwnChangesAck, as the server read it; it
	// is never in the body.
	AckOwn bool `json:"-"`
}

// Change is one changed object visible to the device's inspector.
type Change struct {
	Seq      int64           `json:"seq"` // server order
	Kind     string          `json:"kind"`
	PacketID string          `json:"packet_id"`
	Key      string          `json:"key,omitempty"` // for answers: department/item_code
	Data     json.RawMessage `json:"data,omitempty"`
	// Ack, instead of Data, to a device that asked for acknowledgements
	// (HeaderOwnChanges): the object's state is what this device pushed,
	// plus what only the server knows, here.
	Ack *ChangeAck `json:"ack,omitempty"`
}

// AckAnswerDigest is how many hex digits of an answer's CanonicalHash an
// acknowledgement carries: enough to tell the device's own answers apart,
// which is all it is for.
const AckAnswerDigest = 16

// ChangeAck is what a device needs, besides what it pushed itself, to hold
// the server's state of an object it wrote: for an answer (its version is
// the item's winner, with no conflicting version) the AnswerState is
// {Version, Winner: {the answer whose CanonicalHash begins with Hash, the
// device, InspectorID, Seq, ReceivedAt, DeviceTime}}; for a section or a
// close (it sealed it) the SealedSection or SealedClose is the seal whose
// hash is Hash, with ReceivedAt and Flags. A device that no longer holds
// that content pulls the same page again without asking for
// acknowledgements.
type ChangeAck struct {
	Hash        string       `json:"hash"`
	Version     int64        `json:"version,omitempty"`
	Seq         uint64       `json:"seq,omitempty"`
	InspectorID int64        `json:"inspector_id,omitempty"`
	ReceivedAt  time.Time    `json:"received_at"`
	DeviceTime  time.Time    `json:"device_time,omitzero"`
	Flags       []RecordFlag `json:"flags,omitempty"`
}

// PullResponse returns changes in server order. With Reset the device must
// drop its server-derived state (not its outbox) and apply these changes as
// the whole state: its cursor was unusable. More means pull again.
type PullResponse struct {
	Changes        []Change `json:"changes"`
	Cursor         string   `json:"cursor"`
	More           bool     `json:"more"`
	Reset          bool     `json:"reset"`
	LastAppliedSeq uint64   `json:"last_applied_seq"` // read-your-writes: pushes up to here are reflected
}

// PacketState is a packet as a device receives it.
type PacketState struct {
	ID         string          `json:"id"`
	CampaignID int64           `json:"campaign_id"`
	Version    int             `json:"version"`
	TeamNumber int             `json:"team_number"`
	Content    json.RawMessage `json:"content"` // server.PacketContent
}

// AnswerVersion is one inspector's version of an item.
type AnswerVersion struct {
	Answer      AnswerMutation `json:"answer"`
	DeviceID    int64          `json:"device_id"`
	InspectorID int64          `json:"inspector_id"`
	Seq         uint64         `json:"seq"`
	ReceivedAt  time.Time      `json:"received_at"` // server time
	DeviceTime  time.Time      `json:"device_time"`
}

// AnswerState is the server's state of one checklist item: the winning
// version and, after concurrent offline edits, the others, kept and shown.
type AnswerState struct {
	Version   int64           `json:"version"`
	Winner    AnswerVersion   `json:"winner"`
	Conflicts []AnswerVersion `json:"conflicts,omitempty"`
}

// SealedRecord is protocol 1's sealed record.
type SealedRecord struct {
	Record     InspectionRecord `json:"record"`
	Hash       string           `json:"hash"`
	Signature  []byte           `json:"signature"`
	ReceivedAt time.Time        `json:"received_at"`
}

// MissingRequest asks which attachments the server lacks.
type MissingRequest struct {
	Hashes []string `json:"hashes"`
}

// MissingResponse lists the hashes the server lacks, in request order.
type MissingResponse struct {
	Missing []string `json:"missing"`
}

// A batch upload (POST PathAttachmentsBatch) is a multipart/mixed body,
// BatchMediaType with a boundary parameter, of at most MaxBatchBytes and
// MaxBatchFiles parts. Each part is one whole attachment with exactly the
// headers Content-Type (image/png or image/jpeg), Content-Length (its size
// in bytes, at least 1) and HeaderBatchSHA256 (its SHA-256, 64 lowercase
// hex digits). A malformed body is refused whole (400 invalid, 413
// too_large), and nothing in it is kept. Otherwise the answer is 200 with
// one BatchResult per part, in order: each file is stored, or refused on
// its own as a tus upload of it would be. A body cut off keeps the files
// that arrived whole; the device asks which are missing (PathAttachmentsMissing)
// and sends those again.
const (
	BatchMediaType    = "multipart/mixed"
	HeaderBatchSHA256 = "Spotcheck-Sha256"
	MaxBatchFiles     = 256
	MaxBatchBytes     = 16 << 20 // the parts' bytes, headers and boundaries included
)

// Outcomes of a file in a batch upload.
const (
	BatchStored  = "stored"  // the server holds the file (it may have held it before)
	BatchRefused = "refused" // not kept: Code and Message say why
)

// BatchUploadResponse is the answer to a batch upload: one result per part.
type BatchUploadResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is what became of one file of a batch. A refused file has
// Code CodeAttachmentRefused (its content is not the image it claims to
// be: sending it again cannot help) or CodeInvalid (its bytes do not hash
// to its SHA-256).
type BatchResult struct {
	SHA256  string `json:"sha256"`
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Upload metadata keys (tus Upload-Metadata).
const (
	UploadMetaSHA256      = "sha256"
	UploadMetaContentType = "content_type"
	// UploadMetaID, optional, names the upload: 32 lowercase hex digits the
	// device drew at random and remembered before sending the creation. The
	// upload is then at PathUploads/ID, so a creation carrying its first
	// chunk that is cut before its answer resumes from the server's offset
	// (HEAD) rather than starting again.
	UploadMetaID = "upload_id"
)

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidUploadID reports whether s is 32 lowercase hex digits.
func ValidUploadID(s string) bool { return uploadIDPattern.MatchString(s) }

// ValidSHA256 reports whether s is 64 lowercase hex digits.
func ValidSHA256(s string) bool { return sha256Pattern.MatchString(s) }
