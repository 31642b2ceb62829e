package store

import (
	"bytes"
	"context"
	"slices"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// ImportDeviceExport implements server.SyncService. Everything that can be
// checked is checked before the first write; then the attachments are stored
// through the blob service as uploads are, and the outbox is applied in push-
// sized batches through push, acting as the device's owner on the device.
// Each batch commits on its own like a push, so an import cut short is
// simply repeated: what was applied answers duplicate.
func (s *SyncService) ImportDeviceExport(ctx context.Context, deviceID int64, exp *server.DeviceExport) (*syncproto.DeviceImportResponse, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	if s.blobs == nil {
		return nil, server.Errorf(server.EUNAVAILABLE, "附件服务不可用 (attachments are not available).")
	}
	var owner *server.User
	var last uint64
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		// The same people who may revoke the device; ENOTFOUND for others.
		dev, err := (&DeviceService{db: s.db}).findVisible(ctx, tx, deviceID)
		if err != nil {
			return err
		}
		if exp.DeviceID != dev.ID {
			return server.Errorf(server.EINVALID, "导出文件来自设备%d，而非设备%d (the export is from device %d, not device %d).",
				exp.DeviceID, dev.ID, exp.DeviceID, dev.ID)
		}
		if !bytes.Equal(exp.PublicKey, dev.PublicKey) {
			return server.Errorf(server.EINVALID, "导出文件的公钥与该设备登记的公钥不符 (the export's public key is not the one registered for this device).")
		}
		var u userRow
		if err := tx.First(&u, dev.UserID).Error; err != nil {
			return err
		}
		owner = u.domain()
		if owner.InspectorID == nil {
			return server.Errorf(server.EINVALID, "设备所有者不是执法人员 (the device's owner is not an inspector).")
		}
		var seqs []int64
		if err := tx.Raw("SELECT last_applied_seq FROM devices WHERE id = ?", dev.ID).Scan(&seqs).Error; err != nil {
			return err
		}
		if len(seqs) > 0 {
			last = uint64(seqs[0])
		}
		if len(exp.Mutations) > 0 && exp.Mutations[0].Seq > last+1 {
			return server.Errorf(server.EINVALID, "导出文件缺少变更%d至%d (the export lacks mutations %d to %d).",
				last+1, exp.Mutations[0].Seq-1, last+1, exp.Mutations[0].Seq-1)
		}
		// Every attachment the outbox still to apply refers to must be in
		// the archive or on the server, or the import would stop half way.
		held := map[string]bool{}
		for _, a := range exp.Attachments {
			held[a.SHA256] = true
		}
		var need []string
		for i := range exp.Mutations {
			if exp.Mutations[i].Seq <= last {
				continue
			}
			for _, r := range exp.Mutations[i].Refs() {
				if !held[r.SHA256] && !slices.Contains(need, r.SHA256) {
					need = append(need, r.SHA256)
				}
			}
		}
		missing, err := missingBlobs(tx, need)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return server.Errorf(server.EINVALID, "导出文件缺少附件%s (the export lacks attachment %s).", missing[0], missing[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// From here on the import acts as the device's owner on that device.
	owner.DeviceID = &deviceID
	octx := server.NewContextWithUser(ctx, owner)
	// Only what the mutations still to apply refer to is stored.
	needed := map[string]bool{}
	for i := range exp.Mutations {
		if exp.Mutations[i].Seq > last {
			for _, r := range exp.Mutations[i].Refs() {
				needed[r.SHA256] = true
			}
		}
	}
	stored := 0
	for _, a := range exp.Attachments {
		if !needed[a.SHA256] {
			continue
		}
		if err := s.blobs.AddBlob(octx, a.Path, &server.Blob{SHA256: a.SHA256, ContentType: a.ContentType}); err != nil {
			return nil, err
		}
		stored++
	}
	out := &syncproto.DeviceImportResponse{Results: []syncproto.MutationResult{}, LastAppliedSeq: last, Attachments: stored}
	for start := 0; start < len(exp.Mutations); start += syncproto.MaxMutationsPerPush {
		end := min(start+syncproto.MaxMutationsPerPush, len(exp.Mutations))
		req := &syncproto.PushRequest{DeviceID: deviceID, Mutations: exp.Mutations[start:end]}
		r, err := s.pushRetrying(octx, owner, req, exp.Raw[start:end], true)
		if err != nil {
			return nil, err
		}
		out.Results = append(out.Results, r.Results...)
		out.LastAppliedSeq = r.LastAppliedSeq
		if len(r.Results) < len(req.Mutations) {
			break // deferred: an attachment vanished meanwhile; importing again goes on
		}
	}
	if err := s.db.audit(context.WithoutCancel(ctx), "device.import", "device", deviceID, importedCounts(out)); err != nil {
		return nil, err
	}
	return out, nil
}
