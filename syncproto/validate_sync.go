package syncproto

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// Validate reports the first rule the push breaks.
func (r *PushRequest) Validate() error {
	switch {
	case r.DeviceID <= 0:
		return errorf("device_id is required")
	case len(r.Mutations) == 0:
		return errorf("a push needs at least one mutation")
	case len(r.Mutations) > PushLimitMax:
		return errorf("at most %d mutations per push", PushLimitMax)
	}
	for i := range r.Mutations {
		m := &r.Mutations[i]
		if i > 0 && m.Seq != r.Mutations[i-1].Seq+1 {
			return errorf("mutation seq %d does not follow %d", m.Seq, r.Mutations[i-1].Seq)
		}
		if err := m.Validate(); err != nil {
			return errorf("mutation %d: %v", m.Seq, err)
		}
	}
	return nil
}

// Validate reports the first rule the mutation breaks, independent of any
// server state.
func (m *Mutation) Validate() error {
	switch {
	case m.Seq == 0:
		return errorf("seq starts at 1")
	case m.ID == "" || len(m.ID) > 64:
		return errorf("id must be 1-64 bytes")
	case !validPacketID(m.PacketID):
		return errorf("packet_id is malformed")
	case m.DeviceTime.IsZero():
		return errorf("device_time is required")
	}
	if field, ok := controlField(reflect.ValueOf(m), ""); ok {
		return errorf("%s contains a control character such as NUL", field)
	}
	set := 0
	for _, p := range []bool{m.Answer != nil, m.Certificates != nil, m.Seal != nil, m.SealClose != nil, m.Close != nil, m.Finalize != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return errorf("exactly one payload must be set")
	}
	switch m.Kind {
	case KindAnswer:
		if m.Answer == nil {
			return errorf("kind answer needs an answer payload")
		}
		return m.Answer.Validate()
	case KindCertificates:
		if m.Certificates == nil {
			return errorf("kind certificates needs a certificates payload")
		}
		return m.Certificates.Validate()
	case KindSeal:
		if m.Seal == nil {
			return errorf("kind seal needs a seal payload")
		}
		if m.Seal.Section.PacketID != m.PacketID {
			return errorf("the sealed section is for another packet")
		}
		return m.Seal.Validate()
	case KindSealClose:
		if m.SealClose == nil {
			return errorf("kind seal_close needs a seal_close payload")
		}
		if m.SealClose.Record.PacketID != m.PacketID {
			return errorf("the sealed close is for another packet")
		}
		return m.SealClose.Validate()
	case KindClose:
		if m.Close == nil {
			return errorf("kind close needs a close payload")
		}
		return m.Close.Validate()
	case KindFinalize:
		if m.Finalize == nil {
			return errorf("kind finalize needs a finalize payload")
		}
		if m.Finalize.Record.PacketID != m.PacketID {
			return errorf("the sealed record is for another packet")
		}
		return m.Finalize.Validate()
	}
	return errorf("unknown mutation kind %q", m.Kind)
}

func validPacketID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func validText(s string, max int) bool { return len(s) <= max && utf8.ValidString(s) }

// Validate checks an attachment reference.
func (a *AttachmentRef) Validate() error {
	switch {
	case !ValidSHA256(a.SHA256):
		return errorf("attachment sha256 must be 64 lowercase hex digits")
	case a.Size <= 0 || a.Size > MaxAttachmentBytes:
		return errorf("attachment size must be 1-%d bytes", MaxAttachmentBytes)
	case !AttachmentType(a.ContentType):
		return errorf("attachment content_type must be image/png or image/jpeg")
	}
	return nil
}

// Validate checks a location's ranges.
func (l *Location) Validate() error {
	if math.IsNaN(l.Latitude) || math.IsNaN(l.Longitude) || l.Latitude < -90 || l.Latitude > 90 ||
		l.Longitude < -180 || l.Longitude > 180 || !(l.AccuracyM >= 0) || l.AccuracyM > 1e6 {
		return errorf("location out of range")
	}
	return nil
}

// Validate checks an answer.
func (a *AnswerMutation) Validate() error {
	switch {
	case a.Department == "" || len(a.Department) > 32:
		return errorf("answer department must be 1-32 bytes")
	case a.ItemCode == "" || len(a.ItemCode) > 64:
		return errorf("answer item_code must be 1-64 bytes")
	case a.ItemVersion < 1:
		return errorf("answer item_version starts at 1")
	case (a.Result == "") == (a.Value == ""):
		return errorf("an answer has either a result or a value")
	case a.Result != "" && a.Result != ResultCompliant && a.Result != ResultNonCompliant && a.Result != ResultNotApplicable && a.Result != ResultNotChecked:
		return errorf("unknown result %q", a.Result)
	case a.Result == ResultNotChecked && strings.TrimSpace(a.Note) == "":
		return errorf("an item not checked needs the reason in its note")
	case a.SectionVersion < 0 || a.SectionVersion > 1000:
		return errorf("section_version must be 0-1000")
	case !validText(a.Value, 1000) || !validText(a.Note, MaxNoteBytes):
		return errorf("answer value or note too long or not UTF-8")
	case len(a.Photos) > 20:
		return errorf("at most 20 photos per answer")
	case a.BaseVersion < 0:
		return errorf("base_version must not be negative")
	}
	for i := range a.Photos {
		if err := a.Photos[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the certificates shown.
func (c *CertificatesMutation) Validate() error {
	if len(c.Shown) == 0 || len(c.Shown) > 10 {
		return errorf("1-10 certificates")
	}
	for _, s := range c.Shown {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	if c.Location != nil {
		return c.Location.Validate()
	}
	return nil
}

// Validate checks the outcome's rules: signed needs the representative's
// signature; refused needs a truthful note and two inspectors' signatures;
// absent needs a witness's name and signature; not locatable needs a note.
func (c *CloseMutation) Validate() error {
	if !validText(c.Note, MaxNoteBytes) {
		return errorf("note too long or not UTF-8")
	}
	if len(c.Signatures) > 10 {
		return errorf("at most 10 signatures")
	}
	count := map[string]int{}
	inspectors := map[int64]bool{}
	for _, s := range c.Signatures {
		switch s.Role {
		case SignerRepresentative, SignerWitness:
		case SignerInspector:
			if s.InspectorID <= 0 {
				return errorf("an inspector's signature needs inspector_id")
			}
			if inspectors[s.InspectorID] {
				return errorf("inspector %d signed twice", s.InspectorID)
			}
			inspectors[s.InspectorID] = true
		default:
			return errorf("unknown signer role %q", s.Role)
		}
		if s.Name == "" || !validText(s.Name, 100) || len(s.Strokes) > 256<<10 {
			return errorf("each signature needs a name (and strokes under 256 KiB)")
		}
		if err := s.Image.Validate(); err != nil {
			return err
		}
		count[s.Role]++
	}
	if c.Stamp != nil {
		if err := c.Stamp.Validate(); err != nil {
			return err
		}
	}
	if c.Location != nil {
		if err := c.Location.Validate(); err != nil {
			return err
		}
	}
	switch c.Outcome {
	case OutcomeSigned:
		if count[SignerRepresentative] != 1 {
			return errorf("a signed record needs the legal representative's signature")
		}
	case OutcomeRefused:
		if c.Note == "" {
			return errorf("a refusal to sign must be explained in the note")
		}
		if count[SignerRepresentative] != 0 || count[SignerInspector] < 2 {
			return errorf("a refusal is signed by at least two inspectors and not by the representative")
		}
	case OutcomeAbsent:
		if count[SignerWitness] != 1 || count[SignerRepresentative] != 0 {
			return errorf("an absent representative needs one witness's signature")
		}
	case OutcomeNotLocatable:
		if c.Note == "" {
			return errorf("say in the note how the enterprise could not be located")
		}
	default:
		return errorf("unknown outcome %q", c.Outcome)
	}
	return nil
}

// Refs returns every attachment the mutation refers to.
func (m *Mutation) Refs() []AttachmentRef {
	switch {
	case m.Answer != nil:
		return m.Answer.Photos
	case m.Seal != nil:
		return m.Seal.Section.Refs()
	case m.SealClose != nil:
		return m.SealClose.Record.Close.Refs()
	case m.Close != nil:
		return m.Close.Refs()
	case m.Finalize != nil:
		return m.Finalize.Record.Refs()
	}
	return nil
}

// Refs returns every attachment the close references.
func (c *CloseMutation) Refs() []AttachmentRef {
	var out []AttachmentRef
	for _, s := range c.Signatures {
		out = append(out, s.Image)
	}
	if c.Stamp != nil {
		out = append(out, *c.Stamp)
	}
	return out
}

// Refs returns every attachment the record references.
func (r *InspectionRecord) Refs() []AttachmentRef {
	var out []AttachmentRef
	for _, a := range r.Answers {
		out = append(out, a.Photos...)
	}
	return append(out, r.Close.Refs()...)
}

// Validate checks a sealed record is complete and its hash is right. The
// signature is checked by the server against the device's key.
func (f *FinalizeMutation) Validate() error {
	r := &f.Record
	switch {
	case r.Version < 1:
		return errorf("record version starts at 1")
	case r.Version == 1 && (r.Replaces != 0 || r.CorrectionReason != ""):
		return errorf("the first version replaces nothing")
	case r.Version > 1 && (r.Replaces != r.Version-1 || r.CorrectionReason == ""):
		return errorf("a correction names the version it replaces and a reason")
	case !validText(r.CorrectionReason, MaxNoteBytes):
		return errorf("correction_reason too long")
	case r.DeviceID <= 0 || r.SealedAt.IsZero():
		return errorf("record needs device_id and sealed_at")
	case len(r.Answers) > 500:
		return errorf("at most 500 answers")
	case len(f.Signature) != 64:
		return errorf("signature must be 64 bytes")
	}
	for i := range r.Answers {
		if err := r.Answers[i].Validate(); err != nil {
			return err
		}
		if i > 0 {
			p, a := r.Answers[i-1], r.Answers[i]
			if p.Department > a.Department || (p.Department == a.Department && p.ItemCode >= a.ItemCode) {
				return errorf("answers must be sorted by department and item_code, one per item")
			}
		}
	}
	if err := r.Close.Validate(); err != nil {
		return err
	}
	var want []string
	for _, ref := range r.Refs() {
		want = append(want, ref.SHA256)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(want, r.Attachments) {
		return errorf("attachments must list every referenced attachment once, sorted")
	}
	h, err := RecordHash(r)
	if err != nil || h != f.Hash {
		return errorf("hash does not match the record")
	}
	return nil
}

// Validate reports the first rule the pull breaks.
func (r *PullRequest) Validate() error {
	switch {
	case r.DeviceID <= 0:
		return errorf("device_id is required")
	case len(r.Cursor) > 64:
		return errorf("cursor too long")
	case r.Limit < 0 || r.Limit > PullLimitMax:
		return errorf("limit must be 0-%d", PullLimitMax)
	case r.WaitSeconds < 0 || r.WaitSeconds > MaxPullWaitSeconds:
		return errorf("wait_seconds must be 0-%d", MaxPullWaitSeconds)
	}
	return nil
}

// Validate reports the first rule the query breaks.
func (r *MissingRequest) Validate() error {
	if len(r.Hashes) == 0 || len(r.Hashes) > MaxHashesPerQuery {
		return errorf("1-%d hashes", MaxHashesPerQuery)
	}
	for _, h := range r.Hashes {
		if !ValidSHA256(h) {
			return errorf("hash %q is not 64 lowercase hex digits", h)
		}
	}
	return nil
}
