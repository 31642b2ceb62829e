package store

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/draw"
)

// PublicRecordService serves the public record of committed campaigns to
// anyone, signed in or not: manifests, digests, randomness, seeds and
// results. Inspectors appear by certificate number only; nothing here reads
// a name or a phone number.
type PublicRecordService struct{ db *DB }

// NewPublicRecordService returns the public-record service on db.
func NewPublicRecordService(db *DB) *PublicRecordService { return &PublicRecordService{db: db} }

// PublicCampaign is a committed campaign as the public sees it.
type PublicCampaign struct {
	ID             int64
	Name           string
	Status         string
	WindowStart    string
	WindowEnd      string
	ManifestDigest string
	PopulationSize int
	Seed           string
}

// publicChunk is how many population or selection rows one keyset query
// reads. The rows are read before any is written, so a slow reader never
// holds a connection (SQLite has only one) while it reads.
var publicChunk = 20000

// FindPublicCampaigns lists committed (and later) campaigns, newest first.
func (s *PublicRecordService) FindPublicCampaigns(ctx context.Context) ([]PublicCampaign, error) {
	var rows []campaignRow
	err := s.db.gorm.WithContext(ctx).Select(campaignColumns).Where("status <> ?", string(server.CampaignDraft)).
		Order("id DESC").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]PublicCampaign, len(rows))
	for i, r := range rows {
		out[i] = PublicCampaign{ID: r.ID, Name: r.Name, Status: r.Status, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd}
		if r.ManifestDigest != nil {
			out[i].ManifestDigest = *r.ManifestDigest
		}
		if r.PopulationSize != nil {
			out[i].PopulationSize = *r.PopulationSize
		}
		if r.Seed != nil {
			out[i].Seed = *r.Seed
		}
	}
	return out, nil
}

// findPublicCampaign returns a committed campaign with its manifest head;
// ENOTFOUND for a draft or a missing one.
func (s *PublicRecordService) findPublicCampaign(ctx context.Context, id int64) (*campaignRow, error) {
	var r campaignRow
	err := s.db.gorm.WithContext(ctx).Where("id = ? AND status <> ?", id, string(server.CampaignDraft)).Take(&r).Error
	if err != nil {
		return nil, translate(err, objCampaign)
	}
	if r.ManifestHead == nil || r.ManifestDigest == nil {
		return nil, fmt.Errorf("campaign %d is %s without a manifest", id, r.Status)
	}
	return &r, nil
}

// WriteManifest writes the canonical manifest: the stored head, then the
// population lines in credit-code order. ENOTFOUND (before writing anything)
// for a draft.
func (s *PublicRecordService) WriteManifest(ctx context.Context, id int64, w io.Writer) error {
	r, err := s.findPublicCampaign(ctx, id)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(*r.ManifestHead)
	if err := s.eachPopulationLine(ctx, id, func(line string) { bw.WriteString(line) }); err != nil {
		return err
	}
	return bw.Flush()
}

// eachPopulationLine calls fn with each "population\tCODE\tSTRATUM\n" line of
// the committed campaign, in byte order of the credit codes, reading in
// keyset chunks along the primary key.
func (s *PublicRecordService) eachPopulationLine(ctx context.Context, id int64, fn func(line string)) error {
	after, first := "", true
	for {
		var rows []populationRow
		q := s.db.gorm.WithContext(ctx).Select("credit_code, stratum").Where("campaign_id = ?", id)
		if !first {
			q = q.Where("credit_code > ?", after)
		}
		if err := q.Order("credit_code").Limit(publicChunk).Find(&rows).Error; err != nil {
			return err
		}
		for _, p := range rows {
			if !first && p.CreditCode <= after {
				return fmt.Errorf("population of campaign %d is not in byte order at %q (check the database collation)", id, p.CreditCode)
			}
			fn("population\t" + p.CreditCode + "\t" + p.Stratum + "\n")
			after, first = p.CreditCode, false
		}
		if len(rows) < publicChunk {
			return nil
		}
	}
}

// WriteRecord writes the draw record (draw.Record as JSON) with the manifest
// embedded verbatim. ENOTFOUND (before writing anything) for a draft.
func (s *PublicRecordService) WriteRecord(ctx context.Context, id int64, w io.Writer) error {
	r, err := s.findPublicCampaign(ctx, id)
	if err != nil {
		return err
	}
	g := s.db.gorm.WithContext(ctx)

	// The small parts first, so a failure shows before anything is written.
	randomness := []string{}
	if r.RandomnessValues != nil {
		if err := json.Unmarshal([]byte(*r.RandomnessValues), &randomness); err != nil {
			return err
		}
	}
	replacements := []draw.RecordReplacement{}
	var reps []struct {
		Seq                                            int
		ReplacedCode, Reason, ReplacementCode, Stratum string
		Ticket                                         string
	}
	err = g.Raw(`SELECT tr.seq, tr.replaced_code, tr.reason, tr.replacement_code, ds.stratum, ds.ticket
FROM target_replacements tr JOIN draw_selections ds ON ds.campaign_id = tr.campaign_id AND ds.credit_code = tr.replacement_code
WHERE tr.campaign_id = ? ORDER BY tr.seq`, id).Scan(&reps).Error
	if err != nil {
		return err
	}
	for _, rp := range reps {
		replacements = append(replacements, draw.RecordReplacement{
			Seq: rp.Seq, Replaced: rp.ReplacedCode, Reason: rp.Reason,
			Replacement: draw.RecordItem{CreditCode: rp.ReplacementCode, Stratum: rp.Stratum, Ticket: rp.Ticket},
		})
	}
	// Recusals declared after commit: with a v1 manifest (committed before
	// commitments) in the clear as that manifest has them, else only their
	// salted commitments.
	v1 := strings.HasPrefix(*r.ManifestHead, draw.ManifestFormatV1+"\n")
	lateRecusals := []draw.Recusal{}
	lateCommitments := []string{}
	if v1 {
		var lr []struct{ CertificateNumber, CreditCode string }
		if err := g.Raw("SELECT certificate_number, credit_code FROM late_recusals WHERE campaign_id = ?", id).Scan(&lr).Error; err != nil {
			return err
		}
		for _, x := range lr {
			lateRecusals = append(lateRecusals, draw.Recusal{Certificate: x.CertificateNumber, CreditCode: x.CreditCode})
		}
		slices.SortFunc(lateRecusals, func(a, b draw.Recusal) int {
			if c := strings.Compare(a.Certificate, b.Certificate); c != 0 {
				return c
			}
			return strings.Compare(a.CreditCode, b.CreditCode)
		})
	} else {
		var lr []recusalOpeningRow
		if err := g.Where("campaign_id = ? AND late", id).Find(&lr).Error; err != nil {
			return err
		}
		for _, o := range lr {
			var salt [32]byte
			if _, err := hex.Decode(salt[:], []byte(o.Salt)); err != nil {
				return fmt.Errorf("campaign %d recusal salt: %w", id, err)
			}
			lateCommitments = append(lateCommitments, draw.RecusalCommitment(salt, o.CertificateNumber, o.CreditCode).String())
		}
		slices.Sort(lateCommitments)
	}
	// Certificate numbers only: the public record never reads names or phones.
	teams := []draw.RecordTeam{}
	var members []struct {
		TeamNo            int
		Code              string
		CertificateNumber string
		Ticket            string
	}
	err = g.Raw(`SELECT tm.team_no, d.code, tm.certificate_number, tm.ticket FROM team_members tm
JOIN departments d ON d.id = tm.department_id WHERE tm.campaign_id = ? ORDER BY tm.team_no, tm.position`, id).Scan(&members).Error
	if err != nil {
		return err
	}
	for _, m := range members {
		if n := len(teams); n == 0 || teams[n-1].Team != m.TeamNo {
			teams = append(teams, draw.RecordTeam{Team: m.TeamNo, Members: []draw.RecordMember{}})
		}
		t := &teams[len(teams)-1]
		t.Members = append(t.Members, draw.RecordMember{Department: m.Code, Certificate: m.CertificateNumber, Ticket: m.Ticket})
	}
	matches := []draw.RecordMatch{}
	var tt []struct {
		CreditCode string
		TeamNo     int
		Ticket     string
	}
	if err := g.Raw("SELECT credit_code, team_no, ticket FROM team_targets WHERE campaign_id = ? ORDER BY match_seq", id).Scan(&tt).Error; err != nil {
		return err
	}
	for _, m := range tt {
		matches = append(matches, draw.RecordMatch{CreditCode: m.CreditCode, Team: m.TeamNo, Ticket: m.Ticket})
	}
	// The publications of the campaign's results, each with the audit
	// chain's head just before it: anyone can later ask whether the chain
	// still runs through that head.
	var pubs []publicationRow
	if err := g.Where("campaign_id = ?", id).Order("id").Find(&pubs).Error; err != nil {
		return err
	}
	seed := ""
	if r.Seed != nil {
		seed = *r.Seed
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	field := func(name string, v any, last bool) {
		b, _ := json.Marshal(v) // strings, ints and draw record types always marshal
		bw.WriteString(strconv.Quote(name))
		bw.WriteByte(':')
		bw.Write(b)
		if !last {
			bw.WriteByte(',')
		}
	}
	bw.WriteByte('{')
	field("format", draw.RecordFormat, false)
	field("campaign_id", r.ID, false)
	field("algorithm", draw.AlgorithmID, false)
	bw.WriteString(`"manifest":"`)
	writeJSONStringBody(bw, *r.ManifestHead)
	if err := s.eachPopulationLine(ctx, id, func(line string) { writeJSONStringBody(bw, line) }); err != nil {
		return err
	}
	bw.WriteString(`",`)
	field("manifest_digest", *r.ManifestDigest, false)
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(draw.SourcesTimeLayout)
	}
	if r.SourcesAvailableAt != nil { // not for campaigns committed before the time was kept
		field("committed_at", at(r.CommittedAt), false)
		field("sources_available_at", at(r.SourcesAvailableAt), false)
		if r.DrawnAt != nil {
			field("drawn_at", at(r.DrawnAt), false)
		}
	}
	field("randomness", randomness, false)
	field("seed", seed, false)
	bw.WriteString(`"selection":[`)
	n := 0
	err = s.eachInitialSelection(ctx, id, func(it draw.RecordItem) {
		if n > 0 {
			bw.WriteByte(',')
		}
		b, _ := json.Marshal(it)
		bw.Write(b)
		n++
	})
	if err != nil {
		return err
	}
	bw.WriteString("],")
	field("replacements", replacements, false)
	if v1 {
		field("late_recusals", lateRecusals, false)
	} else if len(lateCommitments) > 0 {
		field("late_recusal_commitments", lateCommitments, false)
	}
	field("teams", teams, false)
	if len(pubs) == 0 {
		field("matches", matches, true)
	} else {
		field("matches", matches, false)
		list := make([]draw.RecordPublication, len(pubs))
		for i, p := range pubs {
			list[i] = draw.RecordPublication{PublishedAt: p.PublishedAt.UTC().Format(draw.SourcesTimeLayout), AuditSeq: p.AuditSeq,
				AuditHead: p.AuditHead, Results: p.Results, Corrections: p.Corrections}
		}
		field("publications", list, false)
		// The head at the latest publication, named on its own for a reader
		// who checks one value.
		field("audit_head_at_publication", list[len(list)-1].AuditHead, true)
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// eachInitialSelection calls fn with each first-draw selection in ascending
// (ticket, credit code), reading in keyset chunks of publicChunk rows (byte
// order made explicit on PostgreSQL), so no pooled connection is held while
// fn writes to a reader that may be slow or gone.
func (s *PublicRecordService) eachInitialSelection(ctx context.Context, id int64, fn func(draw.RecordItem)) error {
	order := "ticket, credit_code"
	after := "(ticket, credit_code) > (?, ?)"
	if s.db.dialect == Postgres {
		order = `ticket COLLATE "C", credit_code COLLATE "C"`
		after = `(ticket COLLATE "C", credit_code COLLATE "C") > (?, ?)`
	}
	var last *selectionRow
	for {
		var rows []selectionRow
		q := s.db.gorm.WithContext(ctx).Select("credit_code, stratum, ticket").Where("campaign_id = ? AND kind = 'initial'", id)
		if last != nil {
			q = q.Where(after, last.Ticket, last.CreditCode)
		}
		if err := q.Order(order).Limit(publicChunk).Find(&rows).Error; err != nil {
			return err
		}
		for i := range rows {
			fn(draw.RecordItem{CreditCode: rows[i].CreditCode, Stratum: rows[i].Stratum, Ticket: rows[i].Ticket})
		}
		if len(rows) < publicChunk {
			return nil
		}
		last = &rows[len(rows)-1]
	}
}

// writeJSONStringBody writes s escaped for the inside of a JSON string. s is
// valid UTF-8 (it came from the database); only quotes, backslashes and
// control characters need escaping.
func writeJSONStringBody(w *bufio.Writer, s string) {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.WriteString(s[start:i])
		switch c {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\t':
			w.WriteString(`\t`)
		default:
			w.WriteString(`\u00`)
			w.WriteByte(hex[c>>4])
			w.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	w.WriteString(s[start:])
}
