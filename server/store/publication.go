package store

import (
	"context"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Publication of approved results: rows of migration 00014. Publishing
// copies, for each approved result, only its public fields into an entry
// that is never updated; what the public reads comes from those entries
// alone, so no query of the public routes ever touches a phone, a name or
// a photo.

var objPublication = object{"公示结果", "published results"}

type publicationRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	CampaignID  int64
	PublishedBy *int64
	PublishedAt time.Time
	AuditSeq    int64
	AuditHead   string
	Results     int
	Corrections int
}

func (publicationRow) TableName() string { return "publications" }

func (r *publicationRow) domain(staff bool) server.Publication {
	p := server.Publication{ID: r.ID, CampaignID: r.CampaignID, PublishedAt: r.PublishedAt.In(calendar.Shanghai()),
		AuditSeq: r.AuditSeq, AuditHead: r.AuditHead, Results: r.Results, Corrections: r.Corrections}
	if staff {
		p.PublishedBy = r.PublishedBy
	}
	return p
}

type publicationEntryRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	PublicationID  int64
	CampaignID     int64
	ResultID       int64
	CreditCode     string
	EnterpriseName string
	DepartmentID   int64
	Authority      string
	InspectionDate string
	Code           string
	CodeTitle      string
	ApprovedAt     time.Time
	Corrects       *int64
	PublishedAt    time.Time
}

func (publicationEntryRow) TableName() string { return "publication_entries" }

// publicResults turns entries (in id order) into the public view, with
// each corrected entry naming the entry that corrects it.
func publicResults(rows []publicationEntryRow) []server.PublicResult {
	out := make([]server.PublicResult, len(rows))
	at := map[int64]int{}
	for i, e := range rows {
		at[e.ID] = i
		out[i] = server.PublicResult{
			EntryID: e.ID, CampaignID: e.CampaignID, CreditCode: e.CreditCode, EnterpriseName: e.EnterpriseName,
			Authority: e.Authority, InspectionDate: e.InspectionDate, ResultCode: e.Code, ResultTitle: e.CodeTitle,
			PublishedAt: e.PublishedAt.In(calendar.Shanghai()), Correction: e.Corrects != nil, Corrects: e.Corrects,
		}
	}
	for i, e := range rows {
		if e.Corrects != nil {
			if j, ok := at[*e.Corrects]; ok {
				id := rows[i].ID
				out[j].CorrectedBy = &id
			}
		}
	}
	return out
}

// loadPublishingCampaign returns the campaign if actor may publish it or
// export its publication: its lead coordinator, or the platform (the
// operator's commands).
func loadPublishingCampaign(tx *Tx, actor *server.User, id int64) (*fieldworkCampaign, error) {
	c, err := loadFieldworkCampaign(tx, id)
	if err != nil {
		return nil, err
	}
	if !canSeeCampaign(actor, c) {
		return nil, notFound(objCampaign)
	}
	if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) {
		return nil, server.Errorf(server.EFORBIDDEN, "只有牵头部门协调人可以公示抽查结果 (only the lead department's coordinator publishes the results).")
	}
	return c, nil
}

// Publish publishes the campaign's approved results that are not yet
// published, and as corrections those approved again since their last
// entry. It records the audit chain's head just before its own event,
// read under the chain's lock so no other event comes between.
func (s *ResultService) Publish(ctx context.Context, campaignID int64) (*server.Publication, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out server.Publication
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := loadPublishingCampaign(tx, actor, campaignID); err != nil {
			return err
		}
		if tx.Dialector.Name() == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", auditLock).Error; err != nil {
				return err
			}
		}
		seq, head, err := auditHead(tx)
		if err != nil {
			return err
		}
		var rows []resultRow
		if err := tx.Where("campaign_id = ? AND state = ?", campaignID, syncproto.ResultApproved).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		type pending struct {
			entry publicationEntryRow
			r     *resultRow
		}
		var todo []pending
		for i := range rows {
			r := &rows[i]
			var last []publicationEntryRow
			if err := tx.Where("result_id = ?", r.ID).Order("id DESC").Limit(1).Find(&last).Error; err != nil {
				return err
			}
			if len(last) == 1 && last[0].ApprovedAt.Equal(*r.ApprovedAt) {
				continue // this version is published
			}
			rc, err := loadResultContext(tx, r)
			if err != nil {
				return err
			}
			v, err := s.viewWith(tx, r, rc)
			if err != nil {
				return err
			}
			e := publicationEntryRow{CampaignID: campaignID, ResultID: r.ID, CreditCode: v.CreditCode, EnterpriseName: v.EnterpriseName,
				DepartmentID: r.DepartmentID, Authority: rc.dept.Name, InspectionDate: v.VisitDate, Code: v.Code, CodeTitle: v.CodeTitle,
				ApprovedAt: *r.ApprovedAt, PublishedAt: tx.Now}
			if len(last) == 1 {
				id := last[0].ID
				e.Corrects = &id
			}
			todo = append(todo, pending{e, r})
		}
		if len(todo) == 0 {
			return server.Errorf(server.ECONFLICT, "没有待公示的已复核结果 (no approved result is waiting for publication).")
		}
		p := publicationRow{CampaignID: campaignID, PublishedAt: tx.Now, AuditSeq: seq, AuditHead: head}
		if actor.ID != 0 {
			id := actor.ID
			p.PublishedBy = &id
		}
		published, corrected := []int64{}, []int64{}
		for _, x := range todo {
			if x.entry.Corrects != nil {
				p.Corrections++
				corrected = append(corrected, x.r.ID)
			} else {
				p.Results++
				published = append(published, x.r.ID)
			}
		}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		for _, x := range todo {
			x.entry.PublicationID = p.ID
			if err := tx.Create(&x.entry).Error; err != nil {
				return err
			}
			if err := tx.Model(&resultRow{}).Where("id = ?", x.r.ID).Update("published_at", tx.Now).Error; err != nil {
				return err
			}
		}
		addAudit(tx, "publication.publish", "campaign", campaignID, auditData{
			"publication_id": p.ID, "results": published, "corrections": corrected, "audit_seq": seq, "audit_head": head})
		out = p.domain(true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FindPublicCampaignResults returns a campaign's publications and every
// entry published, corrections and what they correct alike, to anyone.
func (s *ResultService) FindPublicCampaignResults(ctx context.Context, campaignID int64) (*server.PublicCampaignResults, error) {
	out := &server.PublicCampaignResults{CampaignID: campaignID, Publications: []server.Publication{}}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var ps []publicationRow
		if err := tx.Where("campaign_id = ?", campaignID).Order("id").Find(&ps).Error; err != nil {
			return err
		}
		if len(ps) == 0 {
			return notFound(objPublication)
		}
		for i := range ps {
			out.Publications = append(out.Publications, ps[i].domain(false))
		}
		var names []string
		if err := tx.Raw("SELECT name FROM campaigns WHERE id = ?", campaignID).Scan(&names).Error; err != nil {
			return err
		}
		if len(names) == 1 {
			out.CampaignName = names[0]
		}
		var rows []publicationEntryRow
		if err := tx.Where("campaign_id = ?", campaignID).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		out.Results = publicResults(rows)
		return nil
	})
	return out, err
}

// FindPublicEnterpriseResults returns every entry published under a credit
// code, across campaigns, to anyone; an empty list for one never published.
func (s *ResultService) FindPublicEnterpriseResults(ctx context.Context, creditCode string) (*server.PublicEnterpriseResults, error) {
	creditCode = strings.ToUpper(strings.TrimSpace(creditCode))
	if err := server.CheckCreditCode(creditCode); err != nil {
		return nil, err
	}
	out := &server.PublicEnterpriseResults{CreditCode: creditCode}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var rows []publicationEntryRow
		if err := tx.Where("credit_code = ?", creditCode).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		out.Results = publicResults(rows)
		return nil
	})
	return out, err
}

// FindPublicResultsByName reads the published entries whose enterprise
// name holds name, one query bounded by limit whatever the number of
// campaigns (the public search page asks it). A substring test rather than
// LIKE, so that % and _ in a query are plain characters.
func (s *ResultService) FindPublicResultsByName(ctx context.Context, name string, limit int) ([]server.PublicResult, bool, error) {
	if name == "" || limit <= 0 {
		return nil, false, server.Errorf(server.EINVALID, "须给出企业名称中的字 (a part of the name is required).")
	}
	var rows []publicationEntryRow
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		holds := "instr(enterprise_name, ?) > 0"
		if tx.Dialector.Name() == Postgres {
			holds = "strpos(enterprise_name, ?) > 0"
		}
		return tx.Where(holds, name).Order("id").Limit(limit + 1).Find(&rows).Error
	})
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return publicResults(rows), more, nil
}

// FindPublicationExport returns, for the national publicity system, each
// published result's latest entry (a correction replaces what it corrects
// there), in entry order.
func (s *ResultService) FindPublicationExport(ctx context.Context, campaignID int64) (*server.PublicationExport, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	out := &server.PublicationExport{CampaignID: campaignID, Rows: []server.PublicResult{}}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadPublishingCampaign(tx, actor, campaignID)
		if err != nil {
			return err
		}
		out.InspectionType = "双随机抽查"
		if len(c.departments) > 1 {
			out.InspectionType = "部门联合双随机抽查"
		}
		var rows []publicationEntryRow
		if err := tx.Where("campaign_id = ?", campaignID).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range publicResults(rows) {
			if r.CorrectedBy == nil {
				out.Rows = append(out.Rows, r)
			}
		}
		return nil
	})
	return out, err
}
