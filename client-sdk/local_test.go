package sdk

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

func TestSchemaAppliedOnceAndOutboxSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	c.db.Raw(`PRAGMA journal_mode`).Scan(&mode)
	var syncMode, fk int
	c.db.Raw(`PRAGMA synchronous`).Scan(&syncMode)
	c.db.Raw(`PRAGMA foreign_keys`).Scan(&fk)
	if mode != "wal" || syncMode != 2 || fk != 1 {
		t.Fatalf("journal_mode %q synchronous %d foreign_keys %d; want wal, 2 (FULL), 1", mode, syncMode, fk)
	}
	c.Close()
	c, err = Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	files, err := fs.Glob(schemaFS, "schema/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, `SELECT COUNT(*) FROM schema_migrations`); n != len(files) {
		t.Fatalf("%d schema versions recorded, want %d", n, len(files))
	}
	// Columns nothing writes are gone (0003).
	if n := count(t, c, `SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name IN ('attempts', 'last_error')`); n != 0 {
		t.Fatalf("outbox still has %d never-written columns", n)
	}
}

// Each field action writes its state and its outbox entry together, with
// consecutive seqs; when the outbox insert fails, the state is not written.
func TestLocalWriteAndOutboxAreAtomic(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	photo := writePNG(t, t.TempDir(), 9)

	if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultNonCompliant, Note: "过期", Photos: []string{photo}}); err != nil {
		t.Fatal(err)
	}
	if got := count(t, c, `SELECT COUNT(*) FROM answers WHERE pending_seq = 1`); got != 1 || len(outbox(t, c)) != 1 {
		t.Fatalf("after an answer: %d pending answers, %d outbox rows", got, len(outbox(t, c)))
	}
	if err := c.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 11, CertificateNumber: "C-11"}, {InspectorID: 12, CertificateNumber: "M-12"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := count(t, c, `SELECT COUNT(*) FROM visits WHERE certificates != ''`); got != 1 || len(outbox(t, c)) != 2 {
		t.Fatalf("after certificates: %d visits, %d outbox rows", got, len(outbox(t, c)))
	}
	if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: "c2", Result: syncproto.ResultNotChecked, Note: "营业场所停电，无法查验"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SealSection(ctx, testPacket); err != nil {
		t.Fatal(err)
	}
	if count(t, c, `SELECT COUNT(*) FROM section_seals WHERE origin = 'local'`) != 1 || len(outbox(t, c)) != 4 {
		t.Fatal("after the seal: no local seal or no outbox row")
	}
	signedClose(t, c)
	ms := outbox(t, c)
	if len(ms) != 5 || count(t, c, `SELECT COUNT(*) FROM closes WHERE origin = 'local'`) != 1 {
		t.Fatalf("after the close: %d outbox rows", len(ms))
	}
	for i, m := range ms {
		if m.Seq != uint64(i+1) {
			t.Fatalf("seqs %v are not 1, 2, 3…", ms)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("outbox mutation %d: %v", m.Seq, err)
		}
	}
	var kinds []string
	for _, m := range ms {
		kinds = append(kinds, m.Kind)
	}
	if want := []string{"answer", "certificates", "answer", "seal", "seal_close"}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}

	// Break the outbox: the answer's state must not appear without it.
	c2 := newTestClient(t, nil)
	if err := c2.db.Exec(`CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox broken'); END`).Error; err != nil {
		t.Fatal(err)
	}
	_, err := c2.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant})
	if err == nil || !strings.Contains(err.Error(), "outbox broken") {
		t.Fatalf("answer with a broken outbox: %v", err)
	}
	err = c2.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 11, CertificateNumber: "C-11"}}, nil)
	if err == nil {
		t.Fatal("certificates with a broken outbox succeeded")
	}
	if n := count(t, c2, `SELECT COUNT(*) FROM answers`) + count(t, c2, `SELECT COUNT(*) FROM visits`); n != 0 {
		t.Fatalf("%d state rows written without their outbox entry", n)
	}
	var next int
	c2.db.Raw(`SELECT next_seq FROM sync_state`).Scan(&next)
	if next != 1 {
		t.Fatalf("next_seq %d after failed writes, want 1", next)
	}
}

// A section is sealed by its own department, complete, with the
// certificates shown, and with the device key; then it is immutable until a
// correction, which is its next version.
func TestSealSectionWithTheDeviceKey(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	photo := writePNG(t, t.TempDir(), 5)
	// Another department's items are not this inspector's.
	if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "market", ItemCode: "m2", Value: "120"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("answer of the market section by a culture inspector: %v, want ErrForbidden", err)
	}
	if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: "c2", Result: syncproto.ResultCompliant, Photos: []string{photo}}); err != nil {
		t.Fatal(err)
	}
	// One item of two answered: refused, naming the missing item.
	if _, err := c.SealSection(ctx, testPacket); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "c1") {
		t.Fatalf("seal with c1 unanswered: %v, want ErrInvalid naming c1", err)
	}
	if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: "c1", Result: syncproto.ResultNotChecked}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("not checked without a reason: %v", err)
	}
	if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: "c1", Result: syncproto.ResultNotApplicable, Photos: []string{photo}}); err != nil {
		t.Fatal(err)
	}
	// No certificate of a culture member shown yet.
	if err := c.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 12, CertificateNumber: "M-12"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SealSection(ctx, testPacket); !errors.Is(err, ErrInvalid) {
		t.Fatalf("seal without the department's certificates: %v, want ErrInvalid", err)
	}
	if err := c.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 11, CertificateNumber: "FAKE"}}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a certificate number that is not the member's: %v", err)
	}
	if err := c.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 11, CertificateNumber: "C-11"}}, nil); err != nil {
		t.Fatal(err)
	}
	seal, err := c.SealSection(ctx, testPacket)
	if err != nil {
		t.Fatal(err)
	}
	if err := seal.Validate(); err != nil {
		t.Fatalf("SealMutation.Validate: %v", err)
	}
	pub, _ := c.PublicKey(context.Background())
	if !ed25519.Verify(pub, syncproto.SectionSealMessage(seal.Hash), seal.Signature) {
		t.Fatal("the seal does not verify with the device's public key")
	}
	r := seal.Section
	if r.Department != "culture" || r.Answers[0].ItemCode != "c1" || len(r.Answers) != 2 || len(r.Attachments) != 1 || r.DeviceID != 7 ||
		r.InspectorID != 11 || r.Version != 1 || len(r.Certificates) != 1 || r.Certificates[0].InspectorID != 11 {
		t.Fatalf("section: %+v", r)
	}
	ms := outbox(t, c)
	last := ms[len(ms)-1]
	if h, _ := syncproto.CanonicalHash(&last.Seal.Section); h != seal.Hash || last.Validate() != nil {
		t.Fatal("the section's hash changes through JSON")
	}

	// Sealed: no more answers, no second seal; the stored seal cannot change.
	if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant}); !errors.Is(err, ErrSealed) {
		t.Fatalf("answer after the seal: %v, want ErrSealed", err)
	}
	if _, err := c.SealSection(ctx, testPacket); !errors.Is(err, ErrSealed) {
		t.Fatalf("second seal: %v, want ErrSealed", err)
	}
	if err := c.db.Exec(`UPDATE section_seals SET body = 'x'`).Error; err == nil {
		t.Fatal("a sealed section was updated")
	}
	if err := c.db.Exec(`DELETE FROM section_seals`).Error; err == nil {
		t.Fatal("a sealed section was deleted")
	}

	// A correction is version 2, naming version 1, with the reason.
	if err := c.Correct(ctx, testPacket, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("correction without a reason: %v", err)
	}
	if err := c.Correct(ctx, testPacket, "c1 应为合格"); err != nil {
		t.Fatal(err)
	}
	a, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant})
	if err != nil || a.SectionVersion != 2 {
		t.Fatalf("correction answer %+v: %v", a, err)
	}
	seal2, err := c.SealSection(ctx, testPacket)
	if err != nil {
		t.Fatal(err)
	}
	if r := seal2.Section; r.Version != 2 || r.Replaces != 1 || r.CorrectionReason != "c1 应为合格" || r.Answers[0].Result != syncproto.ResultCompliant {
		t.Fatalf("correction: %+v", r)
	}
	p, err := c.Packet(ctx, testPacket)
	if err != nil {
		t.Fatal(err)
	}
	if p.Section.State != SectionSealed || p.Section.Version != 2 || len(p.Record.Sections[0].History) != 2 {
		t.Fatalf("section %+v, record %+v", p.Section, p.Record.Sections[0])
	}
}

// The close is captured once per visit; it covers the sections sealed on
// the device and those named by a teammate's token, and is sealed.
func TestCloseCoversSections(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	seal := sealCulture(t, c)
	market := syncproto.SectionRef{Department: "market", Version: 1, Hash: strings.Repeat("ab", 32)}
	if _, err := c.CloseVisit(ctx, testPacket, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "无人", Covers: []string{"sc1:police:1:" + market.Hash}}); err == nil {
		t.Fatal("a token of a department not in the packet was accepted")
	}
	sc := signedClose(t, c, market.Token())
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	pub, _ := c.PublicKey(context.Background())
	if !ed25519.Verify(pub, syncproto.CloseSealMessage(sc.Hash), sc.Signature) {
		t.Fatal("the close does not verify with the device key")
	}
	want := []syncproto.SectionRef{{Department: "culture", Version: 1, Hash: seal.Hash}, market}
	if !slices.Equal(sc.Record.Covers, want) || sc.Record.InspectorID != 11 {
		t.Fatalf("covers %+v", sc.Record.Covers)
	}
	// Once per visit on this device.
	if _, err := c.CloseVisit(ctx, testPacket, CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: "无人"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second close: %v", err)
	}
	// The device's view of the joint record: the market section it names is
	// not on this device yet.
	jr, err := c.JointRecord(ctx, testPacket)
	if err != nil {
		t.Fatal(err)
	}
	if len(jr.Closes) != 1 || jr.Complete || jr.Sections[0].Current == nil || len(jr.Sections[0].CoveredBy) != 1 {
		t.Fatalf("joint record %+v", jr)
	}
}

// An invalid close is refused before anything is written: no outbox row, no
// close, no attachment copied.
func TestInvalidCloseWritesNothing(t *testing.T) {
	c := newTestClient(t, nil)
	dir := t.TempDir()
	cases := []CloseInput{
		{Outcome: syncproto.OutcomeRefused, Signatures: []SignatureInput{ // no note
			{Role: syncproto.SignerInspector, Name: "李四", InspectorID: 11, PNGPath: writePNG(t, dir, 3)},
			{Role: syncproto.SignerInspector, Name: "王五", InspectorID: 12, PNGPath: writePNG(t, dir, 4)}}},
		{Outcome: syncproto.OutcomeRefused, Note: "拒绝签字", Signatures: []SignatureInput{ // one inspector
			{Role: syncproto.SignerInspector, Name: "李四", InspectorID: 11, PNGPath: writePNG(t, dir, 3)}}},
		{Outcome: syncproto.OutcomeSigned, StampPath: writePNG(t, dir, 6)}, // no representative
		{Outcome: syncproto.OutcomeAbsent, Note: "不在", Signatures: []SignatureInput{ // no witness
			{Role: syncproto.SignerRepresentative, Name: "张三", PNGPath: writePNG(t, dir, 7)}}},
		{Outcome: syncproto.OutcomeNotLocatable},
		{Outcome: "maybe", Note: "x"},
	}
	for i, in := range cases {
		if _, err := c.CloseVisit(context.Background(), testPacket, in); !errors.Is(err, ErrInvalid) {
			t.Fatalf("case %d: %v, want ErrInvalid", i, err)
		}
	}
	files, _ := os.ReadDir(filepath.Join(c.Dir(), "attachments"))
	if n := count(t, c, `SELECT COUNT(*) FROM outbox`) + count(t, c, `SELECT COUNT(*) FROM closes`) + count(t, c, `SELECT COUNT(*) FROM attachments`); n != 0 || len(files) != 0 {
		t.Fatalf("an invalid close wrote %d rows and %d files", n, len(files))
	}
	// A valid refusal then goes through.
	_, err := c.CloseVisit(context.Background(), testPacket, CloseInput{Outcome: syncproto.OutcomeRefused, Note: "当事人拒绝签字", Signatures: []SignatureInput{
		{Role: syncproto.SignerInspector, Name: "李四", InspectorID: 11, PNGPath: writePNG(t, dir, 3)},
		{Role: syncproto.SignerInspector, Name: "王五", InspectorID: 12, PNGPath: writePNG(t, dir, 4)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, c)) != 1 || count(t, c, `SELECT COUNT(*) FROM attachments`) != 2 {
		t.Fatal("the valid refusal was not stored with its two signatures")
	}
}

func TestAnswerRules(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	for _, in := range []AnswerInput{
		{Department: "culture", ItemCode: "nope", Result: syncproto.ResultCompliant},
		{Department: "police", ItemCode: "c1", Result: syncproto.ResultCompliant},
		{Department: "culture", ItemCode: "c1", Result: "fine"},
		{Department: "culture", ItemCode: "c1", Value: "12"},
		{Department: "market", ItemCode: "m2", Result: syncproto.ResultCompliant},
		{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant, Photos: []string{"/no/such/file.jpg"}},
		{Department: "culture", ItemCode: "c1", Result: syncproto.ResultNotChecked},
		{Department: "market", ItemCode: "m1", Result: syncproto.ResultCompliant}, // another department's section
	} {
		if _, err := c.Answer(ctx, testPacket, in); err == nil {
			t.Fatalf("%+v accepted", in)
		}
	}
	if _, err := c.Answer(ctx, "p-missing", AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown packet: %v", err)
	}
	if n := len(outbox(t, c)); n != 0 {
		t.Fatalf("%d outbox rows after refused answers", n)
	}
}

// A full device gives ErrStorageFull, keeps every earlier write whole, and
// leaves the database intact.
func TestStorageFull(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	var pages int
	c.db.Raw(`PRAGMA page_count`).Scan(&pages)
	if err := c.db.Exec(`PRAGMA max_page_count = ` + itoa(pages+3)).Error; err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("记", 1300) // 3900 bytes
	ok := 0
	var err error
	for i := 0; i < 200; i++ {
		item := []string{"c1", "c2"}[i%2]
		if _, err = c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: item, Result: syncproto.ResultCompliant, Note: note}); err != nil {
			break
		}
		ok++
	}
	if !errors.Is(err, ErrStorageFull) {
		t.Fatalf("after %d answers: %v, want ErrStorageFull", ok, err)
	}
	var check string
	c.db.Raw(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Fatalf("integrity_check: %s", check)
	}
	if n := len(outbox(t, c)); n != ok {
		t.Fatalf("%d outbox rows for %d successful answers", n, ok)
	}
	var next int
	c.db.Raw(`SELECT next_seq FROM sync_state`).Scan(&next)
	if next != ok+1 {
		t.Fatalf("next_seq %d after %d answers", next, ok)
	}
	// Space freed: writing works again.
	c.db.Exec(`PRAGMA max_page_count = 1000000`)
	if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant}); err != nil {
		t.Fatal(err)
	}
}

// The device clock, however wrong, orders nothing: seqs follow the order of
// the writes and the cursor is whatever the server issued.
func TestDeviceClockSkewDoesNotOrder(t *testing.T) {
	base := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	skews := []time.Duration{12 * time.Hour, -12 * time.Hour, 0, -11 * time.Hour, 11 * time.Hour}
	i := -1
	c := newTestClient(t, func() time.Time { i++; return base.Add(skews[i%len(skews)]) })
	ctx := context.Background()
	for j, item := range []string{"c1", "c2", "c1", "c2", "c1"} {
		if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: item, Result: syncproto.ResultCompliant, Note: itoa(j)}); err != nil {
			t.Fatal(err)
		}
	}
	ms := outbox(t, c)
	for j, m := range ms {
		if m.Seq != uint64(j+1) || m.Answer.Note != itoa(j) {
			t.Fatalf("mutation %d: seq %d note %q", j, m.Seq, m.Answer.Note)
		}
	}
	if !ms[1].DeviceTime.Before(ms[0].DeviceTime) {
		t.Fatal("the test clock did not go backwards")
	}
	// The latest write wins locally, whatever its device time.
	p, _ := c.Packet(ctx, testPacket)
	if p.Answers[0].ItemCode != "c1" || p.Answers[0].Note != "4" {
		t.Fatalf("shown answer %+v", p.Answers[0])
	}
	pullPacket(t, c, testPacket, "server-cursor-42")
	st, _ := c.Status(context.Background())
	if st.Cursor != "server-cursor-42" || st.NextSeq != 6 || st.Outbox != 5 {
		t.Fatalf("status %+v", st)
	}
}

// Pulled server state: the device shows the server's winner unless it has a
// newer unacknowledged answer; conflicts are listed.
func TestPullKeepsPendingAnswersAndListsConflicts(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	if _, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant, Note: "mine"}); err != nil {
		t.Fatal(err)
	}
	theirs := syncproto.AnswerMutation{Department: "culture", ItemCode: "c1", ItemVersion: 1, Result: syncproto.ResultNonCompliant, Note: "theirs"}
	mine := syncproto.AnswerMutation{Department: "culture", ItemCode: "c1", ItemVersion: 1, Result: syncproto.ResultCompliant, Note: "mine"}
	state := syncproto.AnswerState{Version: 2, Winner: syncproto.AnswerVersion{Answer: theirs, DeviceID: 8, Seq: 3},
		Conflicts: []syncproto.AnswerVersion{{Answer: mine, DeviceID: 7, Seq: 1}}}
	data, _ := json.Marshal(state)
	page := syncproto.PullResponse{Changes: []syncproto.Change{{Seq: 9, Kind: syncproto.ChangeAnswer, PacketID: testPacket, Key: "culture/c1", Data: data}}, Cursor: "c2"}
	apply := func() {
		if err := c.tx(func(tx *gorm.DB) error { return applyPull(tx, &page) }); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	p, _ := c.Packet(ctx, testPacket)
	if a := p.Answers[0]; a.Note != "mine" || !a.Pending || a.ServerVersion != 2 {
		t.Fatalf("pending answer replaced by the pull: %+v", a)
	}
	// Acknowledged: the next pull shows the server's winner.
	if _, _, _, err := c.applyPushResults(outboxRows(t, c), &syncproto.PushResponse{Results: []syncproto.MutationResult{{Seq: 1, Status: syncproto.StatusApplied}}, LastAppliedSeq: 1}); err != nil {
		t.Fatal(err)
	}
	apply()
	p, _ = c.Packet(ctx, testPacket)
	if a := p.Answers[0]; a.Note != "theirs" || a.Pending || len(a.Conflicts) != 1 {
		t.Fatalf("after ack and pull: %+v", a)
	}
	cs, _ := c.Conflicts(context.Background())
	if len(cs) != 1 || cs[0].State.Conflicts[0].Answer.Note != "mine" {
		t.Fatalf("conflicts %+v", cs)
	}
	// The next answer on this item builds on server version 2.
	a, err := c.Answer(ctx, testPacket, AnswerInput{Department: "culture", ItemCode: "c1", Result: syncproto.ResultCompliant})
	if err != nil || a.BaseVersion != 2 {
		t.Fatalf("base version %d, %v", a.BaseVersion, err)
	}
	// A reset keeps the outbox and the pending answer, and drops the rest.
	page = syncproto.PullResponse{Reset: true, Cursor: "c3"}
	apply()
	if len(outbox(t, c)) != 1 || count(t, c, `SELECT COUNT(*) FROM answers WHERE pending_seq IS NOT NULL`) != 1 || count(t, c, `SELECT COUNT(*) FROM packets`) != 0 {
		t.Fatal("reset touched the outbox or kept server state")
	}
}

// Push results: acknowledged entries leave the outbox, a rejection is kept
// for the inspector (also when it comes back as a duplicate, its first
// answer lost), a deferral leaves the rest queued.
func TestPushResults(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	photo := writePNG(t, t.TempDir(), 8)
	for _, item := range []string{"c1", "c2", "c1", "c2"} {
		if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: item, Result: syncproto.ResultCompliant, Photos: []string{photo}}); err != nil {
			t.Fatal(err)
		}
	}
	c.db.Exec(`UPDATE attachments SET on_server = 1`)
	rej, def, acked, err := c.applyPushResults(outboxRows(t, c), &syncproto.PushResponse{Results: []syncproto.MutationResult{
		{Seq: 1, Status: syncproto.StatusDuplicate},
		{Seq: 2, Status: syncproto.StatusRejected, Code: "conflict", Message: "检查包已关闭"},
		{Seq: 3, Status: syncproto.StatusDuplicate, Code: "invalid", Message: "重复推送的拒绝"},
		{Seq: 4, Status: syncproto.StatusDeferred},
	}, LastAppliedSeq: 3})
	if err != nil || rej != 2 || def != 4 || acked != 3 {
		t.Fatalf("rejected %d deferred %d acked %d: %v", rej, def, acked, err)
	}
	rs, _ := c.Rejections(context.Background())
	if len(rs) != 2 || rs[0].Seq != 2 || rs[0].Message != "检查包已关闭" || rs[0].Mutation.Answer.ItemCode != "c2" || rs[1].Seq != 3 || rs[1].Code != "invalid" {
		t.Fatalf("rejections %+v", rs)
	}
	st, _ := c.Status(context.Background())
	if st.Outbox != 1 || st.PendingUploads != 1 || st.Rejections != 2 {
		t.Fatalf("status %+v", st)
	}
	// The refused answer to c1 is marked, with its reason.
	p, _ := c.Packet(ctx, testPacket)
	if a := p.Answers[0]; a.ItemCode != "c1" || a.Rejected == nil || a.Rejected.Code != "invalid" || a.Rejected.Seq != 3 {
		t.Fatalf("c1 after its rejection: %+v", a)
	}
	// Reported once as new.
	if fresh, _ := c.NewRejections(ctx); len(fresh) != 2 {
		t.Fatalf("new rejections %+v", fresh)
	}
	if fresh, _ := c.NewRejections(ctx); len(fresh) != 0 {
		t.Fatalf("rejections reported twice: %+v", fresh)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
