package server

import (
	"context"
	"time"
)

// Publication (workflow step 11): the lead coordinator publishes a
// campaign's approved results; each result published is frozen in a
// public entry that holds only what the public may see. A result corrected
// after publication (reopened, re-entered and approved again) is published
// again as a correction that names the entry it corrects; both stay.

// PublicResult is one published entry: no phones, ID numbers, signatures,
// stamps, photos, GPS or inspector names, by construction.
type PublicResult struct {
	EntryID        int64     `json:"entry_id"`
	CampaignID     int64     `json:"campaign_id"`
	CreditCode     string    `json:"credit_code"`
	EnterpriseName string    `json:"enterprise_name"`
	Authority      string    `json:"authority"`       // 检查实施机关: the department's name
	InspectionDate string    `json:"inspection_date"` // YYYY-MM-DD, Asia/Shanghai
	ResultCode     string    `json:"result_code"`
	ResultTitle    string    `json:"result_title"`
	PublishedAt    time.Time `json:"published_at"` // +08:00
	// Correction marks an entry that corrects an earlier one (Corrects);
	// CorrectedBy names the entry that corrected this one, if any.
	Correction  bool   `json:"correction"`
	Corrects    *int64 `json:"corrects,omitempty"`
	CorrectedBy *int64 `json:"corrected_by,omitempty"`
}

// Publication is one act of publication.
type Publication struct {
	ID          int64     `json:"id"`
	CampaignID  int64     `json:"campaign_id"`
	PublishedAt time.Time `json:"published_at"` // +08:00
	// AuditSeq and AuditHead are the audit chain's head just before the
	// publication's own event (whose prev_hash is AuditHead).
	AuditSeq    int64  `json:"audit_seq"`
	AuditHead   string `json:"audit_head"`
	Results     int    `json:"results"`
	Corrections int    `json:"corrections"`
	// PublishedBy is the user who published (staff only; omitted in public views).
	PublishedBy *int64 `json:"published_by,omitempty"`
}

// PublicCampaignResults is a campaign's public listing.
type PublicCampaignResults struct {
	CampaignID   int64          `json:"campaign_id"`
	CampaignName string         `json:"campaign_name"`
	Publications []Publication  `json:"publications"`
	Results      []PublicResult `json:"results"`
}

// PublicEnterpriseResults is an enterprise's public listing.
type PublicEnterpriseResults struct {
	CreditCode string         `json:"credit_code"`
	Results    []PublicResult `json:"results"`
}

// Publication export formats.
const (
	ExportCSV  = "csv"
	ExportXLSX = "xlsx"
)

// PublicationService publishes approved results and serves them.
type PublicationService interface {
	// Publish publishes the campaign's approved results not yet published
	// and, as corrections, those approved again since: the campaign's lead
	// coordinator (or the operator). ECONFLICT when there is nothing to publish.
	Publish(ctx context.Context, campaignID int64) (*Publication, error)
	// FindPublicCampaignResults and FindPublicEnterpriseResults read the
	// public entries, for anyone; ENOTFOUND for a campaign with none.
	FindPublicCampaignResults(ctx context.Context, campaignID int64) (*PublicCampaignResults, error)
	FindPublicEnterpriseResults(ctx context.Context, creditCode string) (*PublicEnterpriseResults, error)
	// FindPublicResultsByName returns, for anyone, up to limit published
	// entries whose enterprise name holds name (case as written), in entry
	// order, and whether more match.
	FindPublicResultsByName(ctx context.Context, name string, limit int) (results []PublicResult, more bool, err error)
	// FindPublicationExport returns the rows of the export for the national
	// enterprise credit publicity system: each published result's latest
	// entry (the lead coordinator or the operator).
	FindPublicationExport(ctx context.Context, campaignID int64) (*PublicationExport, error)
}

// PublicationExport is what the export writes.
type PublicationExport struct {
	CampaignID int64
	// InspectionType is 抽查类型: 部门联合双随机抽查 for a campaign of several
	// departments, else 双随机抽查.
	InspectionType string
	Rows           []PublicResult
}
