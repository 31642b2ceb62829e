package store_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// auditEvents reads the whole chain.
func auditEvents(t testing.TB, db *store.DB) []*server.AuditEvent {
	t.Helper()
	var out []*server.AuditEvent
	if err := db.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// verifyAudit walks the chain, expecting want if not nil.
func verifyAudit(t testing.TB, db *store.DB, want *server.AuditCheckpoint) *server.AuditReport {
	t.Helper()
	r, err := db.VerifyAudit(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testCreditCode returns a valid credit code unique to n.
func testCreditCode(n int) string {
	body := fmt.Sprintf("%08d", n)
	first17 := "91350203" + body + string(server.OrgCodeCheckChar(body))
	return first17 + string(server.CreditCodeCheckChar(first17))
}

// auditedHarness runs a harness through one of every audited change, each
// through its real service: the fixtures (departments, users, inspectors),
// a campaign from check items to packets, directory edits and an import,
// declarations, devices and accounts, and a push that seals a section and
// closes the visit. It returns the harness and the one-time password the
// reset handed out, which must appear nowhere in the chain.
func auditedHarness(t *testing.T, db *store.DB) (*apptest.Harness, string) {
	t.Helper()
	h := apptest.New(t, db)
	is := h.IssueCampaign(t, apptest.CampaignSpec{})
	root, adminA := as(h.Users["root"]), as(h.Users["admin-a"])

	c := &server.Campaign{
		Name: "草稿任务", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID},
		WindowStart: is.Campaign.WindowStart, WindowEnd: is.Campaign.WindowEnd,
		Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.5"},
		RandomnessSources: []string{"走查用随机数"}, SourcesAvailableAt: h.SourcesAvailableAt(),
	}
	if err := h.App.Campaigns.CreateCampaign(root, c); err != nil {
		t.Fatal(err)
	}
	name := "草稿任务（改）"
	if _, err := h.App.Campaigns.UpdateCampaign(root, c.ID, server.CampaignUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Campaigns.FileGroupingReport(adminA, is.Campaign.ID, strings.Repeat("ab", 32)); err != nil {
		t.Fatal(err)
	}

	cafe := h.AddCafe(t, "审计网吧")
	addr := "新地址"
	if _, err := h.App.Enterprises.UpdateEnterprise(root, cafe.ID, server.EnterpriseUpdate{Address: &addr}); err != nil {
		t.Fatal(err)
	}
	phone := "13912345678"
	if _, err := h.App.Inspectors.UpdateInspector(adminA, h.Inspectors["insp-a2"].ID, server.InspectorUpdate{Phone: &phone}); err != nil {
		t.Fatal(err)
	}
	csv := "credit_code,name,category,district\n" + testCreditCode(900001) + ",导入网吧,internet_cafe,思明区\n"
	if _, err := h.App.Imports.ImportEnterprises(root, strings.NewReader(csv), server.ImportOptions{Format: server.ImportCSV}); err != nil {
		t.Fatal(err)
	}
	item := &server.CheckItem{DepartmentID: h.DeptA.ID, Code: "AUDIT-1", Title: "审计事项"}
	if err := h.App.CheckItems.CreateCheckItem(adminA, item); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.CheckItems.RetireCheckItem(adminA, item.ID); err != nil {
		t.Fatal(err)
	}
	rename := "市文化和旅游局"
	if _, err := h.App.Departments.UpdateDepartment(root, h.DeptA.ID, server.DepartmentUpdate{Name: &rename}); err != nil {
		t.Fatal(err)
	}

	// Declarations: an admin's (approved at once) withdrawn; an
	// inspector's approved, another rejected.
	decl := &server.Declaration{InspectorID: h.Inspectors["insp-a2"].ID, EnterpriseID: cafe.ID, Reason: "亲属经营"}
	if err := h.App.Declarations.CreateDeclaration(adminA, decl); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Declarations.WithdrawDeclaration(adminA, decl.ID, "误报"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []server.DeclarationStatus{server.DeclarationApproved, server.DeclarationRejected} {
		d := &server.Declaration{InspectorID: h.Inspectors["insp-a1"].ID, EnterpriseID: h.AddCafe(t, "声明网吧").ID, Reason: "曾任职"}
		if err := h.App.Declarations.CreateDeclaration(as(h.Users["insp-a1"]), d); err != nil {
			t.Fatal(err)
		}
		if _, err := h.App.Declarations.ReviewDeclaration(adminA, d.ID, to, "核实"); err != nil {
			t.Fatal(err)
		}
	}

	// Field work: insp-a1 seals the culture section of a packet and
	// closes the visit in one push.
	p := is.PacketsOf("insp-a1")[0]
	ctx, dev, key := fieldDevice(t, h, "insp-a1")
	inspector := *h.Users["insp-a1"].InspectorID
	seal := sealCulture(t, dev, inspector, key, p, syncproto.Mutation{Seq: 1, ID: "seal", PacketID: p.ID, DeviceTime: storetest.Now})
	rec := syncproto.CloseRecord{
		PacketID: p.ID, DeviceID: dev, InspectorID: inspector,
		Close:  syncproto.CloseMutation{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所无人"},
		Covers: []syncproto.SectionRef{{Department: "culture", Version: 1, Hash: seal.Seal.Hash}}, Attachments: []string{}, ClosedAt: storetest.Now,
	}
	hash, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	closeM := syncproto.Mutation{Seq: 2, ID: "close", Kind: syncproto.KindSealClose, PacketID: p.ID, DeviceTime: storetest.Now,
		SealClose: &syncproto.SealCloseMutation{Record: rec, Hash: hash, Signature: ed25519.Sign(key, syncproto.CloseSealMessage(hash))}}
	r, err := h.App.Sync.Push(ctx, &syncproto.PushRequest{DeviceID: dev, Mutations: []syncproto.Mutation{seal, closeM}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range r.Results {
		if res.Status != syncproto.StatusApplied {
			t.Fatalf("push: mutation %d %s %s", res.Seq, res.Status, res.Message)
		}
	}
	if _, err := h.App.Devices.RevokeDevice(adminA, dev, "设备遗失"); err != nil {
		t.Fatal(err)
	}

	// Accounts.
	u := h.AddUser(t, &server.User{Username: "audit-user", Role: server.RoleLeadCoordinator, DepartmentID: &h.DeptA.ID})
	oneTime, err := h.App.Users.ResetPassword(adminA, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.App.Users.ChangePassword(as(h.Users["coord-a"]), apptest.Password, "another-horse-battery"); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Users.DisableUser(adminA, u.ID); err != nil {
		t.Fatal(err)
	}
	return h, oneTime
}

// A chain built through the real services verifies; it holds an event for
// every kind of change, with the actor as they were, and no secret.
func TestAudit_ChainThroughServices(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		h, oneTime := auditedHarness(t, db)
		events := auditEvents(t, db)
		r := verifyAudit(t, db, nil)
		if !r.OK() {
			t.Fatalf("a chain built by the services does not verify: %v", r.Break)
		}
		if r.Count != int64(len(events)) || r.HeadSeq != int64(len(events)) || r.HeadHash != events[len(events)-1].Hash {
			t.Fatalf("report %+v for %d events", r, len(events))
		}
		seq, hash, err := db.AuditHead(context.Background())
		if err != nil || seq != r.HeadSeq || hash != r.HeadHash {
			t.Fatalf("AuditHead = %d %s %v, want %d %s", seq, hash, err, r.HeadSeq, r.HeadHash)
		}
		if events[0].PrevHash != server.AuditGenesis {
			t.Fatalf("first prev_hash %s", events[0].PrevHash)
		}

		actions := map[string][]*server.AuditEvent{}
		for _, e := range events {
			actions[e.Action] = append(actions[e.Action], e)
			for _, secret := range []string{apptest.Password, "another-horse-battery", oneTime, "argon2", "13912345678", "亲属经营"} {
				if strings.Contains(e.Payload, secret) {
					t.Errorf("event %d (%s) holds a secret or personal data %q: %s", e.Seq, e.Action, secret, e.Payload)
				}
			}
		}
		for _, want := range []string{
			"department.create", "department.update", "user.create", "user.disable", "user.password_change", "user.password_reset",
			"inspector.create", "inspector.update", "enterprise.create", "enterprise.update", "enterprise.import",
			"check_item.create", "check_item.retire",
			"campaign.create", "campaign.update", "campaign.commit", "campaign.draw", "campaign.confirm",
			"campaign.teams_drawn", "campaign.packets_issued", "campaign.grouping_filed",
			"declaration.create", "declaration.approve", "declaration.reject", "declaration.withdraw",
			"device.register", "device.revoke", "record.section_sealed", "record.closed",
		} {
			if len(actions[want]) == 0 {
				t.Errorf("no %s event", want)
			}
		}

		// The actor as recorded: the system for the fixtures, the platform
		// admin for the campaign, the inspector (with their department) for
		// the seal, which comes just before the close of the same push.
		if e := actions["department.create"][0]; e.ActorID != nil || e.ActorRole != server.AuditSystemRole {
			t.Errorf("department.create by %v %s, want the system", e.ActorID, e.ActorRole)
		}
		if e := actions["campaign.commit"][0]; e.ActorID == nil || *e.ActorID != h.Users["root"].ID || e.ActorRole != string(server.RolePlatformAdmin) {
			t.Errorf("campaign.commit by %v %s, want root", e.ActorID, e.ActorRole)
		}
		sealed, closed := actions["record.section_sealed"][0], actions["record.closed"][0]
		a1 := h.Users["insp-a1"]
		if sealed.ActorID == nil || *sealed.ActorID != a1.ID || sealed.ActorDepartmentID == nil || *sealed.ActorDepartmentID != h.DeptA.ID {
			t.Errorf("record.section_sealed by %v of %v, want insp-a1 of culture", sealed.ActorID, sealed.ActorDepartmentID)
		}
		if closed.Seq != sealed.Seq+1 || closed.ObjectID != sealed.ObjectID || sealed.ObjectType != "packet" {
			t.Errorf("seal %d %s/%s and close %d %s in one push", sealed.Seq, sealed.ObjectType, sealed.ObjectID, closed.Seq, closed.ObjectID)
		}
		for _, want := range []string{`"department":"culture"`, `"version":1`, `"hash":"`} {
			if !strings.Contains(sealed.Payload, want) {
				t.Errorf("record.section_sealed payload %s lacks %s", sealed.Payload, want)
			}
		}
		if e := actions["enterprise.import"]; len(e) != 1 || !strings.Contains(e[0].Payload, `"inserted":1`) {
			t.Errorf("enterprise.import events %v", e)
		}
		if e := actions["inspector.update"][0]; e.Payload != `{"fields":["phone"]}` {
			t.Errorf("inspector.update payload %s, want only the field's name", e.Payload)
		}
	})
}

// tamperable makes audit_events writable again, as an intruder with the
// rights to change the schema would; first it checks the database refuses
// to change or remove a row.
func tamperable(t *testing.T, db *store.DB) {
	t.Helper()
	if err := store.ExecRaw(db, "UPDATE audit_events SET payload = '{}' WHERE seq = 1"); err == nil {
		t.Fatal("the database let an audit event be changed")
	}
	if err := store.ExecRaw(db, "DELETE FROM audit_events WHERE seq = 1"); err == nil {
		t.Fatal("the database let an audit event be deleted")
	}
	stmts := []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}
	if db.Dialect() == store.Postgres {
		stmts = []string{"ALTER TABLE audit_events DISABLE TRIGGER USER"}
	}
	for _, s := range stmts {
		if err := store.ExecRaw(db, s); err != nil {
			t.Fatal(err)
		}
	}
}

func mustExec(t *testing.T, db *store.DB, sql string, args ...any) {
	t.Helper()
	if err := store.ExecRaw(db, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// insertEvent puts e back as it was.
func insertEvent(t *testing.T, db *store.DB, e *server.AuditEvent) {
	t.Helper()
	mustExec(t, db, `INSERT INTO audit_events (seq, occurred_at, actor_id, actor_role, actor_department_id, action,
		object_type, object_id, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.OccurredAt, e.ActorID, e.ActorRole, e.ActorDepartmentID, e.Action, e.ObjectType, e.ObjectID, e.Payload, e.PrevHash, e.Hash)
}

// Editing, deleting or reordering any row breaks the chain at that row, and
// the walk names it; putting the row back makes the chain whole again. A
// row rewritten with its hash recomputed breaks the link after it, and
// rows cut off the end are caught against a head published before.
func TestAudit_VerifyFindsTampering(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		auditedHarness(t, db)
		events := auditEvents(t, db)
		n := int64(len(events))
		if n < 20 {
			t.Fatalf("a chain of %d events does not test", n)
		}
		tamperable(t, db)
		head := &server.AuditCheckpoint{Seq: n, Hash: events[n-1].Hash}
		whole := func(t *testing.T) {
			t.Helper()
			if r := verifyAudit(t, db, head); !r.OK() || r.Count != n {
				t.Fatalf("after restoring: %+v %v", r, r.Break)
			}
		}
		broken := func(t *testing.T, want *server.AuditCheckpoint, index int64, problem string) *server.AuditBreak {
			t.Helper()
			r := verifyAudit(t, db, want)
			if r.OK() {
				t.Fatal("the walk found nothing wrong")
			}
			if r.Break.Index != index || r.Break.Problem != problem || r.Count != index {
				t.Fatalf("broken at index %d (seq %d, %s: %s) after %d good events; want index %d, %s",
					r.Break.Index, r.Break.Seq, r.Break.Problem, r.Break.Message, r.Count, index, problem)
			}
			t.Logf("%s", r.Break)
			return r.Break
		}
		whole(t)

		t.Run("Edited", func(t *testing.T) {
			e := events[7] // seq 8, index 7
			mustExec(t, db, "UPDATE audit_events SET payload = ? WHERE seq = ?", `{"name":"另一个名字"}`, e.Seq)
			broken(t, nil, 7, server.AuditBrokenHash)
			mustExec(t, db, "UPDATE audit_events SET payload = ? WHERE seq = ?", e.Payload, e.Seq)
			whole(t)
		})
		t.Run("Deleted", func(t *testing.T) {
			e := events[11]
			mustExec(t, db, "DELETE FROM audit_events WHERE seq = ?", e.Seq)
			b := broken(t, nil, 11, server.AuditBrokenSeq)
			if b.Seq != e.Seq+1 {
				t.Errorf("the break names seq %d, want %d (the one after the deleted)", b.Seq, e.Seq+1)
			}
			insertEvent(t, db, e)
			whole(t)
		})
		t.Run("Swapped", func(t *testing.T) {
			a, b := events[4], events[5] // seq 5 and 6 change places
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", n+100, a.Seq)
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", a.Seq, b.Seq)
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", b.Seq, n+100)
			broken(t, nil, 4, server.AuditBrokenPrev)
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", n+100, a.Seq)
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", a.Seq, b.Seq)
			mustExec(t, db, "UPDATE audit_events SET seq = ? WHERE seq = ?", b.Seq, n+100)
			whole(t)
		})
		t.Run("RewrittenWithItsHash", func(t *testing.T) {
			e := *events[2]
			e.Payload = `{"rewritten":true}`
			e.Hash = server.AuditHash(&e)
			mustExec(t, db, "UPDATE audit_events SET payload = ?, hash = ? WHERE seq = ?", e.Payload, e.Hash, e.Seq)
			broken(t, nil, 3, server.AuditBrokenPrev)
			mustExec(t, db, "UPDATE audit_events SET payload = ?, hash = ? WHERE seq = ?", events[2].Payload, events[2].Hash, e.Seq)
			whole(t)
		})
		t.Run("CutOffTheEnd", func(t *testing.T) {
			last := events[n-1]
			mustExec(t, db, "DELETE FROM audit_events WHERE seq = ?", last.Seq)
			if r := verifyAudit(t, db, nil); !r.OK() || r.Count != n-1 {
				t.Fatalf("without a published head a shorter chain is whole: %+v", r)
			}
			broken(t, head, n-1, server.AuditBrokenHead)
			insertEvent(t, db, last)
			whole(t)
		})
	})
}

// Appends from many goroutines, through two database handles (two server
// replicas on one database), form one line: every change has its event and
// the chain verifies, with no seq taken twice.
func TestAudit_ConcurrentAppendsStayLinear(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dsn := storetest.NewDSN(t, dialect)
			open := func() *store.DB {
				db, err := store.Open(dialect, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				db.Now = time.Now // real, nanosecond times: stored to the microsecond
				return db
			}
			here, replica := open(), open()
			if err := here.Migrate(context.Background(), discard); err != nil {
				t.Fatal(err)
			}
			const workers, each = 8, 10
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				svc := store.NewDepartmentService([]*store.DB{here, replica}[w%2])
				wg.Go(func() {
					for i := range each {
						errs <- svc.CreateDepartment(as(platformAdmin), &server.Department{Code: fmt.Sprintf("d%d-%d", w, i), Name: "部门"})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			r := verifyAudit(t, replica, nil)
			if !r.OK() || r.Count != workers*each {
				t.Fatalf("after %d concurrent appends: %+v %v", workers*each, r, r.Break)
			}
			var codes []string
			for _, e := range auditEvents(t, here) {
				codes = append(codes, e.Payload)
			}
			slices.Sort(codes)
			if len(slices.Compact(codes)) != workers*each {
				t.Fatalf("%d distinct events for %d departments", len(codes), workers*each)
			}
		})
	}
}

// The service gives the chain's state to platform admins only.
func TestAuditService_PlatformAdminsOnly(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		svc := store.NewAuditService(db)
		seq, hash, err := svc.AuditHead(as(platformAdmin))
		if err != nil || seq != 0 || hash != server.AuditGenesis {
			t.Fatalf("empty chain: head %d %s %v", seq, hash, err)
		}
		if err := store.NewDepartmentService(db).CreateDepartment(as(platformAdmin), &server.Department{Code: "culture", Name: "文化"}); err != nil {
			t.Fatal(err)
		}
		r, err := svc.VerifyAudit(as(platformAdmin), nil)
		if err != nil || !r.OK() || r.Count != 1 || r.HeadSeq != 1 {
			t.Fatalf("verify: %+v %v", r, err)
		}
		dept := int64(1)
		for _, u := range []*server.User{
			{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &dept},
			{ID: 3, Role: server.RoleLeadCoordinator, DepartmentID: &dept},
		} {
			if _, _, err := svc.AuditHead(as(u)); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Errorf("head as %s: %v", u.Role, err)
			}
			if _, err := svc.VerifyAudit(as(u), nil); server.ErrorCode(err) != server.EFORBIDDEN {
				t.Errorf("verify as %s: %v", u.Role, err)
			}
		}
	})
}
