package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// A whole campaign after the draw, through the SDK on the team's devices and
// the HTTP API for staff: packets issued; a joint team's record with a
// signature, another with a refusal, another not locatable; sync; entry of
// each department's result, one returned (the enterer's device sees why)
// and entered again; review; publication with no personal data in public;
// a follow-up opened for the problems found and closed by a second person;
// and an audit chain that verifies.
func TestE2EAfterTheVisit(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		h.Advance(time.Since(h.Now())) // the devices keep real time
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 3, TargetsPerTeam: 3, InspectorsPerDepartment: 2,
			Items: map[string][]string{h.DeptA.Code: {"licence", "minors"}, h.DeptB.Code: {"prices"}}})
		if len(is.Packets) != 3 {
			t.Fatalf("%d packets", len(is.Packets))
		}
		culture, market, closer := enrolledE2E(t, h, "insp-a1"), enrolledE2E(t, h, "insp-b1"), enrolledE2E(t, h, "insp-a2")
		files := t.TempDir()
		members := map[string]PacketMember{}
		for _, m := range is.Packets[0].Content.Team {
			for _, u := range []string{"insp-a1", "insp-a2", "insp-b1", "insp-b2"} {
				if *h.Users[u].InspectorID == m.InspectorID {
					members[u] = m
				}
			}
		}

		// On site, offline: the culture section finds problems on the first
		// enterprise; the closes are a signature, a refusal, not locatable.
		outcomes := []string{OutcomeSigned, OutcomeRefused, OutcomeNotLocatable}
		for i, p := range is.Packets {
			var tokens []string
			for _, d := range []struct {
				c    *Client
				user string
			}{{culture, "insp-a1"}, {market, "insp-b1"}} {
				pk, err := d.c.Packet(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, sec := range pk.Content.Sections {
					if sec.Department != pk.Section.Department {
						continue
					}
					for _, it := range sec.Items {
						in := AnswerInput{ItemCode: it.Code, Result: ResultCompliant}
						if i == 0 && sec.Department == h.DeptA.Code {
							in.Result, in.Note, in.Photos = ResultNonCompliant, "接纳未成年人上网", []string{writePNG(t, files, uint8(10*i+len(tokens)))}
						}
						if _, err := d.c.Answer(ctx, p.ID, in); err != nil {
							t.Fatal(err)
						}
					}
				}
				m := members[d.user]
				if err := d.c.RecordCertificates(ctx, p.ID, []Certificate{{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber}}, nil); err != nil {
					t.Fatal(err)
				}
				seal, err := d.c.SealSection(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, SectionRef{Department: seal.Section.Department, Version: seal.Section.Version, Hash: seal.Hash}.Token())
			}
			in := CloseInput{Outcome: outcomes[i], Covers: tokens}
			switch outcomes[i] {
			case OutcomeSigned:
				in.Signatures = []SignatureInput{{Role: SignerRepresentative, Name: "赵法人", PNGPath: writePNG(t, files, 90)}}
				in.Location = &Location{Latitude: 39.6318, Longitude: 118.1802, AccuracyM: 6}
			case OutcomeRefused:
				in.Note = "法定代表人拒绝签字"
				for k, u := range []string{"insp-a1", "insp-b1"} {
					in.Signatures = append(in.Signatures, SignatureInput{Role: SignerInspector, Name: members[u].Name,
						InspectorID: members[u].InspectorID, PNGPath: writePNG(t, files, uint8(100+k))})
				}
			case OutcomeNotLocatable:
				in.Note = "登记住所已拆除，电话无人接听"
			}
			if _, err := closer.CloseVisit(ctx, p.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []*Client{culture, market, closer} {
			if err := c.Sync(ctx); err != nil {
				rs, _ := c.Rejections(ctx)
				t.Fatalf("sync: %v %+v", err, rs)
			}
		}

		// Entry and review: one result per department and packet.
		token := func(u string) string { return h.Token(t, u) }
		var list syncproto.ResultList
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results?campaign_id=%d", is.Campaign.ID), token("root"), nil, http.StatusOK, &list)
		if len(list.Results) != 6 {
			t.Fatalf("%d results drafted, want 6: %+v", len(list.Results), list.Results)
		}
		act := func(who string, id int64, action string, body any) syncproto.Result {
			t.Helper()
			var r syncproto.Result
			h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/%s", id, action), token(who), body, http.StatusOK, &r)
			return r
		}
		var problem syncproto.Result
		for _, r := range list.Results {
			code := r.SuggestedCode
			enterer, reviewer := "insp-a1", "admin-a"
			if r.Department == h.DeptB.Code {
				enterer, reviewer = "insp-b1", "admin-b"
			}
			act(enterer, r.ID, "enter", map[string]any{"code": code, "summary": "现场检查情况已记录"})
			if r.PacketID == is.Packets[0].ID && r.Department == h.DeptA.Code {
				if code != "problem_pending" {
					t.Fatalf("the problems found suggest %q", code)
				}
				problem = r
				// Returned by the teammate, with a reason the enterer's device shows.
				act("insp-a2", r.ID, "return", map[string]any{"reason": "请写明责令改正的期限"})
				mine, err := culture.Results(ctx)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(mine, func(x syncproto.Result) bool { return x.ID == r.ID })
				if i < 0 || mine[i].State != "returned" || mine[i].ReturnReason != "请写明责令改正的期限" {
					t.Fatalf("the enterer's device shows %+v", mine)
				}
				act(enterer, r.ID, "enter", map[string]any{"code": code, "summary": "已责令七日内改正"})
				reviewer = "insp-a2"
			}
			if got := act(reviewer, r.ID, "approve", map[string]any{"resolutions": []any{}}); got.State != "approved" {
				t.Fatalf("approval: %+v", got)
			}
		}

		// Publication by the lead coordinator: every approved result, no
		// personal data.
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", is.Campaign.ID), token("coord-a"), nil, http.StatusCreated, nil)
		var pub server.PublicCampaignResults
		body := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", is.Campaign.ID), "", nil, http.StatusOK, &pub).Body
		if len(pub.Results) != 6 || len(pub.Publications) != 1 {
			t.Fatalf("public listing: %d results, %d publications", len(pub.Results), len(pub.Publications))
		}
		export := h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/publication-export?format=csv", is.Campaign.ID), token("coord-a"), nil, http.StatusOK, nil).Body
		if n := strings.Count(strings.TrimSpace(string(export)), "\n"); n != 6 {
			t.Fatalf("the export has %d rows, want 6:\n%s", n, export)
		}
		for _, p := range is.Packets {
			if !strings.Contains(string(export), p.Content.Enterprise.CreditCode) {
				t.Errorf("the export lacks %s", p.Content.Enterprise.CreditCode)
			}
		}
		var secrets []string
		for _, m := range members {
			secrets = append(secrets, m.Name, m.CertificateNumber)
		}
		for _, u := range []string{"insp-a1", "insp-a2", "insp-b1", "insp-b2"} {
			secrets = append(secrets, h.Inspectors[u].Phone)
		}
		secrets = append(secrets, "赵法人", "39.6318", "118.1802", "接纳未成年人上网", "法定代表人拒绝签字")
		// The representative's signature, by its hash.
		if b, err := os.ReadFile(filepath.Join(files, "sig-"+string(rune('a'+90%26))+".png")); err != nil {
			t.Fatal(err)
		} else {
			sum := sha256.Sum256(b)
			secrets = append(secrets, hex.EncodeToString(sum[:]))
		}
		for _, s := range secrets {
			for what, b := range map[string][]byte{"the public listing": body, "the export": export} {
				if s != "" && strings.Contains(string(b), s) {
					t.Errorf("%s holds %q", what, s)
				}
			}
		}

		// The problems found open a follow-up for the culture department:
		// assigned, worked with evidence, closed by a second person.
		var tasks struct{ Followups []server.FollowUp }
		h.MustDo(t, "GET", fmt.Sprintf("/v1/followups?campaign_id=%d", is.Campaign.ID), token("admin-a"), nil, http.StatusOK, &tasks)
		if len(tasks.Followups) != 1 || tasks.Followups[0].ResultID != problem.ID || tasks.Followups[0].State != "open" {
			t.Fatalf("follow-ups after approval: %+v", tasks.Followups)
		}
		task := tasks.Followups[0].ID
		step := func(who, action string, body any) server.FollowUp {
			t.Helper()
			var f server.FollowUp
			h.MustDo(t, "POST", fmt.Sprintf("/v1/followups/%d/%s", task, action), token(who), body, http.StatusOK, &f)
			return f
		}
		step("admin-a", "assign", map[string]any{"assignee_id": h.Users["insp-a1"].ID})
		step("insp-a1", "start", map[string]any{})
		after, err := os.ReadFile(writePNG(t, files, 120))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/followups/%d/evidence", h.URL, task), strings.NewReader(string(after)))
		req.Header.Set("Authorization", "Bearer "+token("insp-a1"))
		req.Header.Set("Content-Type", "image/png")
		up := h.Send(t, req)
		var ev AttachmentRef
		if up.Status != http.StatusCreated || json.Unmarshal(up.Body, &ev) != nil {
			t.Fatalf("evidence: %d %s", up.Status, up.Body)
		}
		step("insp-a1", "request-closure", map[string]any{"text": "已整改，悬挂许可证", "evidence": []string{ev.SHA256}})
		if r := h.Do(t, "POST", fmt.Sprintf("/v1/followups/%d/close", task), token("insp-a1"), map[string]any{"text": "自己关闭"}); r.Status != http.StatusForbidden {
			t.Fatalf("the assignee closed their own task: %d %s", r.Status, r.Body)
		}
		if f := step("admin-a", "close", map[string]any{"text": "整改到位"}); f.State != "closed" {
			t.Fatalf("closed: %+v", f)
		}

		// The audit chain of all of it verifies; a tampered, a deleted and a
		// swapped row are each found at their index.
		r, err := h.App.DB.VerifyAudit(ctx, nil)
		if err != nil || !r.OK() || r.Count < 20 {
			t.Fatalf("audit chain: %+v %v", r, err)
		}
		tamperAudit(t, h)
	})
}

// tamperAudit edits, deletes and swaps rows of the audit chain (with the
// database's guards lifted, as an intruder with the database would) and
// checks the walk names the first broken link each time, then puts them back.
func tamperAudit(t *testing.T, h *apptest.Harness) {
	t.Helper()
	ctx := context.Background()
	var events []*server.AuditEvent
	if err := h.App.DB.WalkAudit(ctx, func(e *server.AuditEvent) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := h.App.DB.WithTx(ctx, func(tx *store.Tx) error { return tx.Exec(sql, args...).Error }); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if h.App.DB.Dialect() == store.Postgres {
		exec("ALTER TABLE audit_events DISABLE TRIGGER USER")
	} else {
		exec("DROP TRIGGER audit_events_no_update")
		exec("DROP TRIGGER audit_events_no_delete")
	}
	broken := func(index int64, problem string) {
		t.Helper()
		r, err := h.App.DB.VerifyAudit(ctx, nil)
		if err != nil || r.OK() || r.Break.Index != index || r.Break.Problem != problem {
			t.Fatalf("want a break at index %d (%s), got %+v %v", index, problem, r, err)
		}
	}
	whole := func() {
		t.Helper()
		if r, err := h.App.DB.VerifyAudit(ctx, nil); err != nil || !r.OK() || r.Count != int64(len(events)) {
			t.Fatalf("after putting it back: %+v %v", r, err)
		}
	}
	e := events[9]
	exec("UPDATE audit_events SET payload = ? WHERE seq = ?", `{"changed":true}`, e.Seq)
	broken(9, server.AuditBrokenHash)
	exec("UPDATE audit_events SET payload = ? WHERE seq = ?", e.Payload, e.Seq)
	whole()

	e = events[14]
	exec("DELETE FROM audit_events WHERE seq = ?", e.Seq)
	broken(14, server.AuditBrokenSeq)
	exec(`INSERT INTO audit_events (seq, occurred_at, actor_id, actor_role, actor_department_id, action, object_type, object_id, payload, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.OccurredAt, e.ActorID, e.ActorRole, e.ActorDepartmentID, e.Action, e.ObjectType, e.ObjectID, e.Payload, e.PrevHash, e.Hash)
	whole()

	a, b, spare := events[4].Seq, events[5].Seq, int64(len(events)+100)
	swap := func() {
		exec("UPDATE audit_events SET seq = ? WHERE seq = ?", spare, a)
		exec("UPDATE audit_events SET seq = ? WHERE seq = ?", a, b)
		exec("UPDATE audit_events SET seq = ? WHERE seq = ?", b, spare)
	}
	swap()
	broken(4, server.AuditBrokenPrev)
	swap()
	whole()
}
