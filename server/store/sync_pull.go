package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// DefaultPullLimit is the page size of a pull that names none.
const DefaultPullLimit = 100

// Pull implements server.SyncService. The cursor is the last sync_changes
// seq the device has; an unusable one (not a number, or beyond the log)
// starts over from the beginning with Reset set.
func (s *SyncService) Pull(ctx context.Context, req *syncproto.PullRequest) (*syncproto.PullResponse, error) {
	actor, err := fieldActor(ctx, req.DeviceID)
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	switch {
	case limit <= 0:
		limit = DefaultPullLimit
	case limit > syncproto.MaxPullLimit:
		limit = syncproto.MaxPullLimit
	}
	var out *syncproto.PullResponse
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		// The high-water mark first: every effect of a mutation at or below it
		// committed with it, so the changes read after it include them.
		dev, err := loadSyncDevice(tx, actor, req.DeviceID, false)
		if err != nil {
			return err
		}
		var head []int64
		if err := tx.Raw("SELECT COALESCE(MAX(seq), 0) FROM sync_changes").Scan(&head).Error; err != nil {
			return err
		}
		maxSeq := head[0]
		out = &syncproto.PullResponse{Changes: []syncproto.Change{}, LastAppliedSeq: uint64(dev.LastAppliedSeq)}
		var after int64
		if req.Cursor != "" {
			after, err = strconv.ParseInt(req.Cursor, 10, 64)
			if err != nil || after < 0 || after > maxSeq || strconv.FormatInt(after, 10) != req.Cursor {
				after, out.Reset = 0, true
			}
		}
		var rows []syncChangeRow
		if err := tx.Raw(`SELECT sc.seq, sc.packet_id, sc.kind, sc.key FROM sync_changes sc
			JOIN packets p ON p.id = sc.packet_id
			JOIN team_members tm ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
			WHERE tm.inspector_id = ? AND sc.seq > ? AND sc.seq <= ?
			ORDER BY sc.seq LIMIT ?`, *actor.InspectorID, after, maxSeq, limit+1).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) > limit {
			rows, out.More = rows[:limit], true
		}
		cursor := maxSeq
		if out.More {
			cursor = rows[len(rows)-1].Seq
		}
		out.Cursor = strconv.FormatInt(cursor, 10)
		// Within a page, an object changed several times is sent once, at
		// its latest change, with its current state.
		type object struct{ kind, packet, key string }
		latest := map[object]int{}
		for i, r := range rows {
			latest[object{r.Kind, r.PacketID, r.Key}] = i
		}
		for i, r := range rows {
			if latest[object{r.Kind, r.PacketID, r.Key}] != i {
				continue
			}
			data, err := changeData(tx, &r)
			if err != nil {
				return err
			}
			out.Changes = append(out.Changes, syncproto.Change{Seq: r.Seq, Kind: r.Kind, PacketID: r.PacketID, Key: r.Key, Data: data})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeData returns the current state of the changed object.
func changeData(tx *Tx, r *syncChangeRow) (json.RawMessage, error) {
	var v any
	switch r.Kind {
	case syncproto.ChangePacket:
		var p packetRow
		if err := tx.Where("id = ?", r.PacketID).Take(&p).Error; err != nil {
			return nil, err
		}
		v = syncproto.PacketState{ID: p.ID, CampaignID: p.CampaignID, Version: p.Version, TeamNumber: p.TeamNo, Content: json.RawMessage(p.Content)}
	case syncproto.ChangeAnswer:
		dept, item, ok := strings.Cut(r.Key, "/")
		if !ok {
			return nil, fmt.Errorf("sync change %d: answer key %q", r.Seq, r.Key)
		}
		st, err := answerState(tx, r.PacketID, dept, item)
		if err != nil {
			return nil, err
		}
		v = st
	case syncproto.ChangeRecord:
		version, err := strconv.Atoi(r.Key)
		if err != nil {
			return nil, fmt.Errorf("sync change %d: record key %q", r.Seq, r.Key)
		}
		rec, err := sealedRecord(tx, r.PacketID, version)
		if err != nil {
			return nil, err
		}
		v = rec
	default:
		return nil, fmt.Errorf("sync change %d: unknown kind %q", r.Seq, r.Kind)
	}
	return json.Marshal(v)
}

// answerState returns an item's winner and the versions it beat without
// having seen them (conflict versions newer than the winner's base). The
// state's version is the item's highest version: the base for the next edit.
func answerState(tx *Tx, packetID, dept, item string) (*syncproto.AnswerState, error) {
	var rows []answerRow
	if err := tx.Where("packet_id = ? AND department = ? AND item_code = ?", packetID, dept, item).
		Order("version").Find(&rows).Error; err != nil {
		return nil, err
	}
	st := &syncproto.AnswerState{}
	var winner *answerRow
	for i := range rows {
		st.Version = max(st.Version, rows[i].Version)
		if rows[i].Winner {
			winner = &rows[i]
		}
	}
	if winner == nil {
		return nil, fmt.Errorf("answer %s %s/%s has no winner", packetID, dept, item)
	}
	var err error
	if st.Winner, err = answerVersion(winner); err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].Conflict && rows[i].Version > winner.BaseVersion && !rows[i].Winner {
			v, err := answerVersion(&rows[i])
			if err != nil {
				return nil, err
			}
			st.Conflicts = append(st.Conflicts, v)
		}
	}
	return st, nil
}

func answerVersion(r *answerRow) (syncproto.AnswerVersion, error) {
	v := syncproto.AnswerVersion{DeviceID: r.DeviceID, InspectorID: r.InspectorID, Seq: uint64(r.Seq),
		ReceivedAt: r.ReceivedAt.UTC(), DeviceTime: r.DeviceTime.UTC()}
	if err := json.Unmarshal([]byte(r.Body), &v.Answer); err != nil {
		return v, fmt.Errorf("answer %d: %w", r.ID, err)
	}
	return v, nil
}

func sealedRecord(tx *Tx, packetID string, version int) (*syncproto.SealedRecord, error) {
	var r recordRow
	if err := tx.Where("packet_id = ? AND version = ?", packetID, version).Take(&r).Error; err != nil {
		return nil, err
	}
	out := &syncproto.SealedRecord{Hash: r.Hash, Signature: r.Signature, ReceivedAt: r.ReceivedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Body), &out.Record); err != nil {
		return nil, fmt.Errorf("record %s v%d: %w", packetID, version, err)
	}
	return out, nil
}

// FindAnswerState returns an item's state to anyone who may read the packet
// (see FindPacketByID); for reviewers and tests.
func (s *SyncService) FindAnswerState(ctx context.Context, packetID, dept, item string) (*syncproto.AnswerState, error) {
	var out *syncproto.AnswerState
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		ok, err := canReadPacket(tx, server.UserFromContext(ctx), packetID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound(objPacket)
		}
		var n int64
		if err := tx.Model(&answerRow{}).Where("packet_id = ? AND department = ? AND item_code = ?", packetID, dept, item).
			Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return server.Errorf(server.ENOTFOUND, "该事项尚无回答 (the item has no answer yet).")
		}
		out, err = answerState(tx, packetID, dept, item)
		return err
	})
	return out, err
}

// canReadPacket reports whether actor may read the packet and what
// references it: an inspector of its team, staff of a participating
// department, a platform admin.
func canReadPacket(tx *Tx, actor *server.User, packetID string) (bool, error) {
	if actor == nil {
		return false, nil
	}
	var n int64
	switch actor.Role {
	case server.RolePlatformAdmin:
		return true, nil
	case server.RoleInspector:
		if actor.InspectorID == nil {
			return false, nil
		}
		err := tx.Raw(`SELECT COUNT(*) FROM packets p JOIN team_members tm
			ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
			WHERE p.id = ? AND tm.inspector_id = ?`, packetID, *actor.InspectorID).Scan(&n).Error
		return n > 0, err
	case server.RoleDepartmentAdmin, server.RoleLeadCoordinator:
		if actor.DepartmentID == nil {
			return false, nil
		}
		err := tx.Raw(`SELECT COUNT(*) FROM packets p JOIN campaign_departments cd ON cd.campaign_id = p.campaign_id
			WHERE p.id = ? AND cd.department_id = ?`, packetID, *actor.DepartmentID).Scan(&n).Error
		return n > 0, err
	}
	return false, nil
}
