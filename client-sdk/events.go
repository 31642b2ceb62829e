package sdk

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventSynced: a sync finished with nothing left to send: the outbox is
	// empty and every attachment is on the server.
	EventSynced EventKind = "synced"
	// EventPending: a sync finished but work remains (more was written
	// meanwhile, or the server deferred a change); another sync follows.
	EventPending EventKind = "pending"
	// EventOffline: the server could not be reached; Watch keeps trying.
	EventOffline EventKind = "offline"
	// EventRejected: the server refused changes of this device, with reasons
	// (Rejections). The device shows the server's state beside each.
	EventRejected EventKind = "rejected"
	// EventConflict: items a teammate answered concurrently offline, both
	// versions kept (Conflicts).
	EventConflict EventKind = "conflict"
	// EventStopped: Watch stopped on an error that needs the inspector
	// (ErrAuth, ErrRevoked, ErrUpgradeRequired, ErrNotEnrolled).
	EventStopped EventKind = "stopped"
)

// Event is what a Sync or Watch reports to Config.OnEvent as it happens.
type Event struct {
	Kind       EventKind
	Rejections []Rejection // EventRejected: those not reported before
	Conflicts  []Conflict  // EventConflict: items with a new conflicting version
	Status     *Status     // EventSynced, EventPending
	Err        error       // EventOffline, EventStopped
}

func (c *Client) emit(ev Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(ev)
	}
}

// NewRejections returns the rejections not returned (or reported as an
// EventRejected) before, oldest first, and marks them reported.
func (c *Client) NewRejections(ctx context.Context) ([]Rejection, error) {
	rs, err := c.rejections(ctx, true)
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	err = c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE rejections SET notified = 1 WHERE seq <= ? AND notified = 0`, rs[len(rs)-1].Seq).Error
	})
	return rs, err
}

// conflictMarks returns, per item with kept conflicting versions, how many.
func (c *Client) conflictMarks() (map[string]int, error) {
	var rows []struct {
		PacketID, Department, ItemCode string
		Conflicts                      int
	}
	if err := c.db.Raw(`SELECT packet_id, department, item_code, conflicts FROM answers WHERE conflicts > 0`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.PacketID+"/"+r.Department+"/"+r.ItemCode] = r.Conflicts
	}
	return out, nil
}

// reportSync emits what one Sync call brought: new rejections, new
// conflicts (against the marks taken before it), and whether everything is
// now on the server.
func (c *Client) reportSync(ctx context.Context, before map[string]int, syncErr error) {
	if c.cfg.OnEvent == nil {
		return
	}
	if rs, err := c.NewRejections(ctx); err == nil && len(rs) > 0 {
		c.emit(Event{Kind: EventRejected, Rejections: rs})
	}
	if after, err := c.conflictMarks(); err == nil && before != nil {
		var fresh []Conflict
		all, err := c.Conflicts(context.Background())
		if err == nil {
			for _, cf := range all {
				k := cf.PacketID + "/" + cf.Department + "/" + cf.ItemCode
				if after[k] > before[k] {
					fresh = append(fresh, cf)
				}
			}
		}
		if len(fresh) > 0 {
			c.emit(Event{Kind: EventConflict, Conflicts: fresh})
		}
	}
	switch {
	case syncErr == nil || errors.Is(syncErr, ErrRejected):
		st, err := c.Status(context.Background())
		if err != nil {
			return
		}
		kind := EventSynced
		if st.Outbox > 0 || st.PendingUploads > 0 {
			kind = EventPending
		}
		c.emit(Event{Kind: kind, Status: st})
	case errors.Is(syncErr, ErrOffline):
		c.emit(Event{Kind: EventOffline, Err: syncErr})
	}
}

// String describes the event in one line, for logs and the field CLI.
func (e Event) String() string {
	switch e.Kind {
	case EventRejected:
		return fmt.Sprintf("%d change(s) rejected", len(e.Rejections))
	case EventConflict:
		return fmt.Sprintf("%d item(s) with conflicting versions", len(e.Conflicts))
	case EventSynced:
		return "all synced"
	case EventPending:
		return fmt.Sprintf("synced; %d change(s) and %d upload(s) still to send", e.Status.Outbox, e.Status.PendingUploads)
	case EventOffline, EventStopped:
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	}
	return string(e.Kind)
}
