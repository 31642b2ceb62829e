package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"

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
	case limit > syncproto.PullLimitMax:
		limit = syncproto.PullLimitMax
	}
	var out *syncproto.PullResponse
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		// The high-water mark first: every effect of a mutation at or below it
		// committed with it, so the changes read after it include them.
		dev, err := loadSyncDevice(tx, actor, req.DeviceID, false, false)
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
		page := make([]syncChangeRow, 0, len(latest))
		for i, r := range rows {
			if latest[object{r.Kind, r.PacketID, r.Key}] == i {
				page = append(page, r)
			}
		}
		var ackFor int64
		if req.AckOwn {
			ackFor = req.DeviceID
		}
		data, acks, err := changesData(tx, page, ackFor)
		if err != nil {
			return err
		}
		for i, r := range page {
			out.Changes = append(out.Changes, syncproto.Change{Seq: r.Seq, Kind: r.Kind, PacketID: r.PacketID, Key: r.Key, Data: data[i], Ack: acks[i]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pullBatch is how many objects of one kind a pull reads per statement; a
// page of syncproto.MaxPullLimit changes needs one statement per kind, one
// of syncproto.PullLimitMax four.
const pullBatch = 500

// changesData returns the current state of each changed object, in the order
// of changes, reading each kind of object in one statement per pullBatch
// objects however many changes the page holds. With ackFor (a device id),
// an object whose state is what that device pushed comes as an
// acknowledgement instead (see syncproto.ChangeAck): its answer is the
// item's winner with no conflicting version, or it sealed the section or
// the close.
func changesData(tx *Tx, changes []syncChangeRow, ackFor int64) ([]json.RawMessage, []*syncproto.ChangeAck, error) {
	type answerKey struct{ packet, dept, item string }
	type recordKey struct {
		packet  string
		version int
	}
	var packetIDs []string
	var answerKeys []answerKey
	var recordKeys []recordKey
	var sectionKeys []sectionKey
	var closeKeys []closeKey
	for i := range changes {
		r := &changes[i]
		switch r.Kind {
		case syncproto.ChangePacket:
			packetIDs = append(packetIDs, r.PacketID)
		case syncproto.ChangeAnswer:
			dept, item, ok := strings.Cut(r.Key, "/")
			if !ok {
				return nil, nil, fmt.Errorf("sync change %d: answer key %q", r.Seq, r.Key)
			}
			answerKeys = append(answerKeys, answerKey{r.PacketID, dept, item})
		case syncproto.ChangeRecord:
			version, err := strconv.Atoi(r.Key)
			if err != nil {
				return nil, nil, fmt.Errorf("sync change %d: record key %q", r.Seq, r.Key)
			}
			recordKeys = append(recordKeys, recordKey{r.PacketID, version})
		case syncproto.ChangeSection:
			dept, v, ok := strings.Cut(r.Key, "/")
			version, err := strconv.Atoi(v)
			if !ok || err != nil {
				return nil, nil, fmt.Errorf("sync change %d: section key %q", r.Seq, r.Key)
			}
			sectionKeys = append(sectionKeys, sectionKey{r.PacketID, dept, version})
		case syncproto.ChangeClose:
			closeKeys = append(closeKeys, closeKey{r.PacketID, r.Key})
		default:
			return nil, nil, fmt.Errorf("sync change %d: unknown kind %q", r.Seq, r.Kind)
		}
	}

	packets := make(map[string]*packetRow, len(packetIDs))
	for batch := range slices.Chunk(packetIDs, pullBatch) {
		var rows []packetRow
		if err := tx.Where("id IN ?", batch).Find(&rows).Error; err != nil {
			return nil, nil, err
		}
		for i := range rows {
			packets[rows[i].ID] = &rows[i]
		}
	}
	// The answers by packet, filtered here: one index range per packet is
	// cheaper than a long list of (packet, department, item) tuples, which
	// PostgreSQL plans as one index probe each.
	wanted := make(map[answerKey]bool, len(answerKeys))
	var answerPackets []string
	seenPacket := map[string]bool{}
	for _, k := range answerKeys {
		if !seenPacket[k.packet] {
			seenPacket[k.packet] = true
			answerPackets = append(answerPackets, k.packet)
		}
		wanted[k] = true
	}
	answers := make(map[answerKey][]answerRow, len(answerKeys))
	for batch := range slices.Chunk(answerPackets, pullBatch) {
		var rows []answerRow
		if err := tx.Where("packet_id IN ?", batch).
			Order("packet_id, department, item_code, version").Find(&rows).Error; err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			if k := (answerKey{r.PacketID, r.Department, r.ItemCode}); wanted[k] {
				answers[k] = append(answers[k], r)
			}
		}
	}
	records := make(map[recordKey]*recordRow, len(recordKeys))
	for batch := range slices.Chunk(recordKeys, pullBatch) {
		keys := make([][]any, len(batch))
		for i, k := range batch {
			keys[i] = []any{k.packet, k.version}
		}
		var rows []recordRow
		if err := tx.Where("(packet_id, version) IN ?", keys).Find(&rows).Error; err != nil {
			return nil, nil, err
		}
		for i := range rows {
			records[recordKey{rows[i].PacketID, rows[i].Version}] = &rows[i]
		}
	}

	sections, err := sectionsByKey(tx, sectionKeys)
	if err != nil {
		return nil, nil, err
	}
	closes, err := closesByKey(tx, closeKeys)
	if err != nil {
		return nil, nil, err
	}

	out := make([]json.RawMessage, len(changes))
	acks := make([]*syncproto.ChangeAck, len(changes))
	var a, rc int // next answer and record key
	for i := range changes {
		r := &changes[i]
		var v any
		switch r.Kind {
		case syncproto.ChangePacket:
			p := packets[r.PacketID]
			if p == nil {
				return nil, nil, fmt.Errorf("sync change %d: packet %s: %w", r.Seq, r.PacketID, gorm.ErrRecordNotFound)
			}
			v = syncproto.PacketState{ID: p.ID, CampaignID: p.CampaignID, Version: p.Version, TeamNumber: p.TeamNo, Content: json.RawMessage(p.Content)}
		case syncproto.ChangeAnswer:
			k := answerKeys[a]
			a++
			st, err := buildAnswerState(answers[k], k.packet, k.dept, k.item)
			if err != nil {
				return nil, nil, err
			}
			v = st
			if w := st.Winner; ackFor != 0 && w.DeviceID == ackFor && len(st.Conflicts) == 0 {
				hash, err := syncproto.CanonicalHash(&w.Answer)
				if err != nil {
					return nil, nil, err
				}
				acks[i] = &syncproto.ChangeAck{Hash: hash[:syncproto.AckAnswerDigest], Version: st.Version, Seq: w.Seq, InspectorID: w.InspectorID,
					ReceivedAt: w.ReceivedAt, DeviceTime: w.DeviceTime}
				continue
			}
		case syncproto.ChangeRecord:
			k := recordKeys[rc]
			rc++
			rec := records[k]
			if rec == nil {
				return nil, nil, fmt.Errorf("sync change %d: record %s v%d: %w", r.Seq, k.packet, k.version, gorm.ErrRecordNotFound)
			}
			sr, err := sealedRecordOf(rec)
			if err != nil {
				return nil, nil, err
			}
			v = sr
		case syncproto.ChangeSection:
			dept, ver, _ := strings.Cut(r.Key, "/")
			version, _ := strconv.Atoi(ver)
			sec := sections[sectionKey{r.PacketID, dept, version}]
			if sec == nil {
				return nil, nil, fmt.Errorf("sync change %d: section %s %s: %w", r.Seq, r.PacketID, r.Key, gorm.ErrRecordNotFound)
			}
			v = sec
			if ackFor != 0 && sec.Section.DeviceID == ackFor {
				acks[i] = &syncproto.ChangeAck{Hash: sec.Hash, ReceivedAt: sec.ReceivedAt, Flags: sec.Flags}
				continue
			}
		case syncproto.ChangeClose:
			c := closes[closeKey{r.PacketID, r.Key}]
			if c == nil {
				return nil, nil, fmt.Errorf("sync change %d: close %s %s: %w", r.Seq, r.PacketID, r.Key, gorm.ErrRecordNotFound)
			}
			v = c
			if ackFor != 0 && c.Record.DeviceID == ackFor {
				acks[i] = &syncproto.ChangeAck{Hash: c.Hash, ReceivedAt: c.ReceivedAt, Flags: c.Flags}
				continue
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, nil, err
		}
		out[i] = b
	}
	return out, acks, nil
}

type sectionKey struct {
	packet, dept string
	version      int
}

type closeKey struct{ packet, hash string }

// sectionsByKey reads the sealed sections, pullBatch a statement.
func sectionsByKey(tx *Tx, keys []sectionKey) (map[sectionKey]*syncproto.SealedSection, error) {
	out := make(map[sectionKey]*syncproto.SealedSection, len(keys))
	for batch := range slices.Chunk(keys, pullBatch) {
		ks := make([][]any, len(batch))
		for i, k := range batch {
			ks[i] = []any{k.packet, k.dept, k.version}
		}
		var rows []sectionSealRow
		if err := tx.Where("(packet_id, department, version) IN ?", ks).Find(&rows).Error; err != nil {
			return nil, err
		}
		for i := range rows {
			s, err := rows[i].sealed()
			if err != nil {
				return nil, err
			}
			out[sectionKey{rows[i].PacketID, rows[i].Department, rows[i].Version}] = s
		}
	}
	return out, nil
}

// closesByKey reads the sealed closes, pullBatch a statement.
func closesByKey(tx *Tx, keys []closeKey) (map[closeKey]*syncproto.SealedClose, error) {
	out := make(map[closeKey]*syncproto.SealedClose, len(keys))
	for batch := range slices.Chunk(keys, pullBatch) {
		ks := make([][]any, len(batch))
		for i, k := range batch {
			ks[i] = []any{k.packet, k.hash}
		}
		var rows []visitCloseRow
		if err := tx.Where("(packet_id, hash) IN ?", ks).Find(&rows).Error; err != nil {
			return nil, err
		}
		for i := range rows {
			c, err := rows[i].sealed()
			if err != nil {
				return nil, err
			}
			out[closeKey{rows[i].PacketID, rows[i].Hash}] = c
		}
	}
	return out, nil
}

// answerState returns an item's winner and the versions it beat without
// having seen them (see buildAnswerState).
func answerState(tx *Tx, packetID, dept, item string) (*syncproto.AnswerState, error) {
	var rows []answerRow
	if err := tx.Where("packet_id = ? AND department = ? AND item_code = ?", packetID, dept, item).
		Order("version").Find(&rows).Error; err != nil {
		return nil, err
	}
	return buildAnswerState(rows, packetID, dept, item)
}

// buildAnswerState returns the state of an item from all its versions, in
// version order: the winner and the live versions it beat without having
// seen them (see server.ResolveAnswer). The state's version is the item's
// highest version: the base for the next edit.
func buildAnswerState(rows []answerRow, packetID, dept, item string) (*syncproto.AnswerState, error) {
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
		if rows[i].Conflict && !rows[i].Winner {
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

func sealedRecordOf(r *recordRow) (*syncproto.SealedRecord, error) {
	out := &syncproto.SealedRecord{Hash: r.Hash, Signature: r.Signature, ReceivedAt: r.ReceivedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Body), &out.Record); err != nil {
		return nil, fmt.Errorf("record %s v%d: %w", r.PacketID, r.Version, err)
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
