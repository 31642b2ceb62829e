package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var _ importer.Auditor = (*store.ImportStore)(nil)

// importEvents returns the chain's import events.
func importEvents(t *testing.T, db *store.DB) []*server.AuditEvent {
	t.Helper()
	var out []*server.AuditEvent
	err := db.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
		if strings.HasSuffix(e.Action, ".import") {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An import is one audit event, however many batches (transactions) it
// took, with its counts and the importer as actor; one that fails after
// writing some batches is recorded as incomplete; one that writes nothing
// because it is refused is not recorded.
func TestImport_OneAuditEventPerImport(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db) // batches of 3 rows
		opt := server.ImportOptions{Format: server.ImportCSV}
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(enterprisesCSV()), opt)
		checkReport(t, rep, err, counts{rows: 10, inserted: 3, rejected: 7})
		admin := &server.User{ID: 2, Role: server.RoleDepartmentAdmin, DepartmentID: &f.culture.ID}
		rep, err = f.svc.ImportInspectors(as(admin), strings.NewReader(inspectorsCSV()), opt)
		checkReport(t, rep, err, counts{rows: 9, inserted: 1, rejected: 8})
		coord := &server.User{ID: 3, Role: server.RoleLeadCoordinator, DepartmentID: &f.culture.ID}
		if _, err := f.svc.ImportInspectors(as(coord), strings.NewReader(inspectorsCSV()), opt); server.ErrorCode(err) != server.EFORBIDDEN {
			t.Fatalf("%v, want EFORBIDDEN", err)
		}
		// The client goes away after the first batch was written.
		c := importtest.CreditCode
		cut := csvOf("credit_code,name,category,district",
			c(101)+",甲,internet_cafe,静安区", importtest.BadCreditCode(102)+",坏码,internet_cafe,静安区",
			c(103)+",丙,internet_cafe,静安区", c(104)+",丁,internet_cafe,静安区", c(105)+",戊,internet_cafe,静安区")
		ctx, cancel := context.WithCancel(as(root))
		defer cancel()
		f.svc.OnRowError = func(server.ImportRowError) { cancel() } // called once the row's batch is written
		if _, err := f.svc.ImportEnterprises(ctx, strings.NewReader(cut), opt); !errors.Is(err, context.Canceled) {
			t.Fatalf("an import cut off in the middle: %v", err)
		}

		events := importEvents(t, db)
		want := []struct {
			action, payload string
			actor           int64
		}{
			{"enterprise.import", `{"complete":true,"inserted":3,"rejected":7,"rows":10,"unchanged":0,"updated":0}`, root.ID},
			{"inspector.import", `{"complete":true,"inserted":1,"rejected":8,"rows":9,"unchanged":0,"updated":0}`, admin.ID},
			{"enterprise.import", `{"complete":false,"inserted":3,"rejected":1,"rows":4,"unchanged":0,"updated":0}`, root.ID},
		}
		if len(events) != len(want) {
			t.Fatalf("%d import events, want %d", len(events), len(want))
		}
		for i, w := range want {
			e := events[i]
			if e.Action != w.action || e.Payload != w.payload || e.ActorID == nil || *e.ActorID != w.actor {
				t.Errorf("event %d: %s %s by %v, want %s %s by %d", i, e.Action, e.Payload, e.ActorID, w.action, w.payload, w.actor)
			}
		}
		if e := events[1]; e.ActorDepartmentID == nil || *e.ActorDepartmentID != f.culture.ID {
			t.Errorf("inspector.import recorded department %v", e.ActorDepartmentID)
		}
		if r, err := db.VerifyAudit(context.Background(), nil); err != nil || !r.OK() {
			t.Fatalf("verify: %+v %v", r, err)
		}
	})
}

// failingStore is the real import store, failing the second batch of new
// enterprises it is given; it writes two batches of new rows at once.
type failingStore struct {
	*store.ImportStore
	mu    sync.Mutex
	calls int
}

var errSecondBatch = errors.New("the second batch fails")

func (f *failingStore) ImportWriters() int { return 2 }

func (f *failingStore) UpsertNewEnterprises(ctx context.Context, es []*server.Enterprise, set []server.ImportFields) (int, int, int, bool, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 2 {
		return 0, 0, 0, false, errSecondBatch
	}
	return f.ImportStore.UpsertNewEnterprises(ctx, es, set)
}

// TestImport_FailedBatchAmongWriters: when a batch fails while another is
// written beside it, the import fails, and its audit event counts exactly
// the rows the batches that did get written hold.
func TestImport_FailedBatchAmongWriters(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		var buf bytes.Buffer
		if _, err := importtest.WriteEnterprisesCSV(&buf, 2000, 0); err != nil {
			t.Fatal(err)
		}
		svc := importer.New(&failingStore{ImportStore: store.NewImportStore(db)})
		svc.BatchSize = 400
		svc.TempDir = t.TempDir()
		if _, err := svc.ImportEnterprises(as(root), &buf, server.ImportOptions{Format: server.ImportCSV}); !errors.Is(err, errSecondBatch) {
			t.Fatalf("%v, want the second batch's error", err)
		}
		events := importEvents(t, db)
		if len(events) != 1 {
			t.Fatalf("%d import events, want 1", len(events))
		}
		var p struct {
			Complete bool
			Inserted int
		}
		if err := json.Unmarshal([]byte(events[0].Payload), &p); err != nil {
			t.Fatal(err)
		}
		if n := countEnterprises(t, db); p.Complete || p.Inserted != n || n < 400 || n%400 != 0 {
			t.Fatalf("recorded %+v, %d enterprises written", p, n)
		}
	})
}
