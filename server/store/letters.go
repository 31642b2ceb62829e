package store

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
)

// LetterService implements server.LetterService: the committed materials of
// the notification letters and the record of their delivery (送达记录).
type LetterService struct {
	db    *DB
	blobs *BlobService
}

var _ server.LetterService = (*LetterService)(nil)

// NewLetterService returns the letter service; proofs live in blobs.
func NewLetterService(db *DB, blobs *BlobService) *LetterService {
	return &LetterService{db: db, blobs: blobs}
}

// letterDeliveryRow mirrors letter_deliveries.
type letterDeliveryRow struct {
	ID               int64
	CampaignID       int64
	CreditCode       string
	Version          int
	DeliveredOn      string
	Method           string
	ProofSHA256      *string `gorm:"column:proof_sha256"`
	Note             string
	CorrectionReason string
	RecordedBy       int64
	RecordedAt       time.Time
}

func (letterDeliveryRow) TableName() string { return "letter_deliveries" }

func (r *letterDeliveryRow) domain() (*server.LetterDelivery, error) {
	on, err := server.ParseDate(r.DeliveredOn)
	if err != nil {
		return nil, fmt.Errorf("letter delivery %d: %w", r.ID, err)
	}
	d := &server.LetterDelivery{
		ID: r.ID, CampaignID: r.CampaignID, CreditCode: r.CreditCode, Version: r.Version, DeliveredOn: on,
		Method: server.DeliveryMethod(r.Method), Note: r.Note, CorrectionReason: r.CorrectionReason,
		RecordedBy: r.RecordedBy, RecordedAt: r.RecordedAt,
	}
	if r.ProofSHA256 != nil {
		d.ProofSHA256 = *r.ProofSHA256
	}
	return d, nil
}

// errNoLetters answers what needs the letters before the packets exist: the
// teams, and so the certificate numbers a letter prints, are not known.
func errNoLetters() error {
	return server.Errorf(server.ECONFLICT, "该抽查尚未生成检查包，无法出具告知书 (the campaign's packets are not issued yet, so there are no letters).")
}

// FindManifestMaterials implements server.LetterService.
func (s *LetterService) FindManifestMaterials(ctx context.Context, campaignID int64) ([]server.ManifestMaterials, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out []server.ManifestMaterials
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := findVisibleCampaign(tx, actor, campaignID, false); err != nil {
			return err
		}
		var heads []*string
		if err := tx.Model(&campaignRow{}).Where("id = ?", campaignID).Pluck("manifest_head", &heads).Error; err != nil {
			return err
		}
		if len(heads) != 1 || heads[0] == nil {
			return server.Errorf(server.ECONFLICT, "抽查方案尚未提交 (the campaign is not committed yet).")
		}
		// The head is the manifest without its population lines, itself
		// a canonical manifest.
		m, err := draw.ParseManifest([]byte(*heads[0]))
		if err != nil {
			return fmt.Errorf("campaign %d manifest: %w", campaignID, err)
		}
		for _, d := range m.Departments {
			if len(d.Materials) > 0 {
				out = append(out, server.ManifestMaterials{DepartmentCode: d.Code, Items: d.Materials})
			}
		}
		return nil
	})
	return out, err
}

// runnableCampaign returns the campaign row, locked, after checking that
// the caller may see it (else ENOTFOUND) and run it (else EFORBIDDEN).
func runnableCampaign(tx *Tx, actor *server.User, id int64) (*campaignRow, error) {
	r, err := findVisibleCampaign(tx, actor, id, true)
	if err != nil {
		return nil, err
	}
	if !canRunCampaign(actor, r.LeadDepartmentID) {
		return nil, errNotLead()
	}
	return r, nil
}

// CanRecordDeliveries returns nil if the caller may record the deliveries
// of the campaign's letters: checked before an upload's body is read.
func (s *LetterService) CanRecordDeliveries(ctx context.Context, campaignID int64) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		_, err := runnableCampaign(tx, server.UserFromContext(ctx), campaignID)
		return err
	})
}

// AddProof implements server.LetterService.
func (s *LetterService) AddProof(ctx context.Context, campaignID int64, sha string) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := runnableCampaign(tx, actor, campaignID); err != nil {
			return err
		}
		return letterProofs.attach(tx, campaignID, sha, actor)
	})
}

// OpenProof implements server.LetterService.
func (s *LetterService) OpenProof(ctx context.Context, campaignID int64, sha string) (*server.Blob, io.ReadSeekCloser, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, nil, requireUser(ctx)
	}
	var b *server.Blob
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		// Visibility first: a caller who may not see the campaign learns
		// nothing from the hash's check.
		if _, err := findVisibleCampaign(tx, actor, campaignID, false); err != nil {
			return err
		}
		var err error
		b, err = letterProofs.find(tx, campaignID, sha)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return s.blobs.openFile(b)
}

// sameDelivery reports whether a and b record the same facts (the reason a
// correction gives aside): a retry of a record is answered with it.
func sameDelivery(a *letterDeliveryRow, b *server.LetterDelivery) bool {
	proof := ""
	if a.ProofSHA256 != nil {
		proof = *a.ProofSHA256
	}
	return a.DeliveredOn == b.DeliveredOn.String() && a.Method == string(b.Method) && proof == b.ProofSHA256 && a.Note == b.Note
}

// RecordDelivery implements server.LetterService.
func (s *LetterService) RecordDelivery(ctx context.Context, d *server.LetterDelivery) (bool, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return false, err
	}
	actor := server.UserFromContext(ctx)
	created := false
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := runnableCampaign(tx, actor, d.CampaignID)
		if err != nil {
			return err
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if r.PacketsIssuedAt == nil {
			return errNoLetters()
		}
		var n int64
		if err := tx.Model(&packetRow{}).Where("campaign_id = ? AND credit_code = ?", d.CampaignID, d.CreditCode).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return server.Errorf(server.ENOTFOUND, "抽查对象%s不在该抽查中 (target %s is not in this campaign).", d.CreditCode, d.CreditCode)
		}
		issued := server.DateOf(r.PacketsIssuedAt.In(calendar.Shanghai()))
		today := server.DateOf(tx.Now.In(calendar.Shanghai()))
		if d.DeliveredOn.Before(issued) || today.Before(d.DeliveredOn) {
			return server.Errorf(server.EINVALID, "送达日期须在告知书出具之日（%s）至今天（%s）之间 (delivered_on must be between the day the letters were issued, %s, and today, %s).",
				issued, today, issued, today)
		}
		if d.ProofSHA256 != "" {
			if err := tx.Raw("SELECT COUNT(*) FROM letter_proofs WHERE campaign_id = ? AND sha256 = ?", d.CampaignID, d.ProofSHA256).Scan(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return server.Errorf(server.EINVALID, "送达回证%s未上传到该抽查，请先上传 (proof %s was not uploaded to this campaign's letters: upload it first).", d.ProofSHA256, d.ProofSHA256)
			}
		}
		var prev []letterDeliveryRow
		if err := tx.Where("campaign_id = ? AND credit_code = ?", d.CampaignID, d.CreditCode).Order("version DESC").Limit(1).Find(&prev).Error; err != nil {
			return err
		}
		version := 1
		switch {
		case len(prev) == 1 && sameDelivery(&prev[0], d):
			out, err := prev[0].domain()
			if err != nil {
				return err
			}
			out.Current = true
			*d = *out
			return nil
		case len(prev) == 1 && d.CorrectionReason == "":
			return server.Errorf(server.ECONFLICT, "该对象的送达已于%s记录；如需更正，请说明更正理由 (a delivery of this letter is already recorded; a different record is a correction and needs correction_reason).", prev[0].DeliveredOn)
		case len(prev) == 1:
			version = prev[0].Version + 1
		case d.CorrectionReason != "":
			return server.Errorf(server.EINVALID, "该对象尚无送达记录，无需更正 (there is no delivery record of this letter to correct).")
		}
		row := letterDeliveryRow{
			CampaignID: d.CampaignID, CreditCode: d.CreditCode, Version: version, DeliveredOn: d.DeliveredOn.String(),
			Method: string(d.Method), Note: d.Note, CorrectionReason: d.CorrectionReason, RecordedBy: actor.ID, RecordedAt: tx.Now,
		}
		if d.ProofSHA256 != "" {
			row.ProofSHA256 = &d.ProofSHA256
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, object{"送达记录", "delivery record"})
		}
		data := auditData{"credit_code": d.CreditCode, "version": version, "delivered_on": row.DeliveredOn, "method": row.Method}
		if d.ProofSHA256 != "" {
			data["proof_sha256"] = d.ProofSHA256
		}
		if d.CorrectionReason != "" {
			data["correction_reason"] = d.CorrectionReason
		}
		addAudit(tx, "letter.delivery_record", "campaign", d.CampaignID, data)
		out, err := row.domain()
		if err != nil {
			return err
		}
		out.Current = true
		*d = *out
		created = true
		return nil
	})
	return created, err
}

// FindDeliveries implements server.LetterService.
func (s *LetterService) FindDeliveries(ctx context.Context, campaignID int64, creditCode string) ([]*server.LetterDelivery, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out []*server.LetterDelivery
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := findVisibleCampaign(tx, actor, campaignID, false); err != nil {
			return err
		}
		q := tx.Where("campaign_id = ?", campaignID)
		if creditCode != "" {
			q = q.Where("credit_code = ?", creditCode)
		}
		var rows []letterDeliveryRow
		if err := q.Order("credit_code, version").Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.LetterDelivery, len(rows))
		for i := range rows {
			d, err := rows[i].domain()
			if err != nil {
				return err
			}
			d.Current = i == len(rows)-1 || rows[i+1].CreditCode != d.CreditCode
			out[i] = d
		}
		return nil
	})
	return out, err
}

// FindUnservedTargets implements server.LetterService.
func (s *LetterService) FindUnservedTargets(ctx context.Context, campaignID int64) ([]*server.UnservedTarget, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out []*server.UnservedTarget
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleCampaign(tx, actor, campaignID, false)
		if err != nil {
			return err
		}
		if r.PacketsIssuedAt == nil {
			return errNoLetters()
		}
		var rows []packetRow
		err = tx.Where("campaign_id = ? AND NOT EXISTS (SELECT 1 FROM letter_deliveries d WHERE d.campaign_id = packets.campaign_id AND d.credit_code = packets.credit_code)", campaignID).
			Order("credit_code").Find(&rows).Error
		if err != nil {
			return err
		}
		out = make([]*server.UnservedTarget, len(rows))
		for i := range rows {
			p, err := rows[i].domain()
			if err != nil {
				return err
			}
			// The enterprise as its letter prints it: the packet's snapshot.
			e := p.Content.Enterprise
			out[i] = &server.UnservedTarget{CreditCode: p.CreditCode, Name: e.Name, Address: e.Address, TeamNumber: p.TeamNumber}
		}
		return nil
	})
	return out, err
}
