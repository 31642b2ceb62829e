package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
)

// CampaignService implements server.CampaignService. Its methods are split
// over campaign*.go files by workflow step.
type CampaignService struct {
	db       *DB
	calendar *calendar.Calendar
}

var _ server.CampaignService = (*CampaignService)(nil)

// NewCampaignService returns the campaign service; cal counts working days
// for deadlines.
func NewCampaignService(db *DB, cal *calendar.Calendar) *CampaignService {
	return &CampaignService{db: db, calendar: cal}
}

// campaignRow mirrors the campaigns table. Dates are "YYYY-MM-DD" text and
// lists JSON, the same on both dialects.
type campaignRow struct {
	ID                      int64
	Name                    string
	Status                  string
	LeadDepartmentID        int64
	WindowStart             string
	WindowEnd               string
	Category                string
	Districts               string
	RatioDefault            string
	RatioByClass            string
	ExclusionMonths         int
	InspectorsPerDepartment int
	TargetsPerTeam          int
	RandomnessSources       string
	SourcesAvailableAt      *time.Time
	Materials               string
	ContactOffice           string
	ContactPhone            string
	CreatedBy               int64
	CreatedAt               time.Time
	UpdatedAt               time.Time
	CommittedAt             *time.Time
	CommittedBy             *int64
	ManifestHead            *string
	ManifestDigest          *string
	PopulationSize          *int
	RandomnessValues        *string
	Seed                    *string
	DrawnAt                 *time.Time
	DrawnBy                 *int64
	ConfirmDeadline         *time.Time
	TeamsDrawnAt            *time.Time
	PacketsIssuedAt         *time.Time
}

func (campaignRow) TableName() string { return "campaigns" }

type campaignDepartmentRow struct {
	CampaignID   int64
	DepartmentID int64
}

func (campaignDepartmentRow) TableName() string { return "campaign_departments" }

type campaignCheckItemRow struct {
	CampaignID  int64
	CheckItemID int64
}

func (campaignCheckItemRow) TableName() string { return "campaign_check_items" }

// populationRow mirrors campaign_population.
type populationRow struct {
	CampaignID   int64
	CreditCode   string
	Stratum      string
	EnterpriseID int64
}

func (populationRow) TableName() string { return "campaign_population" }

// selectionRow mirrors draw_selections.
type selectionRow struct {
	CampaignID int64
	CreditCode string
	Stratum    string
	Ticket     string
	Kind       string
}

func (selectionRow) TableName() string { return "draw_selections" }

// domain converts r; the participating departments and check items are
// loaded separately.
func (r *campaignRow) domain(depts, items []int64) (*server.Campaign, error) {
	start, err := server.ParseDate(r.WindowStart)
	if err != nil {
		return nil, err
	}
	end, err := server.ParseDate(r.WindowEnd)
	if err != nil {
		return nil, err
	}
	c := &server.Campaign{
		ID: r.ID, Name: r.Name, Status: server.CampaignStatus(r.Status), LeadDepartmentID: r.LeadDepartmentID,
		DepartmentIDs: depts, WindowStart: start, WindowEnd: end, Category: r.Category,
		Ratio:           server.RatioTable{Default: r.RatioDefault},
		ExclusionMonths: r.ExclusionMonths, InspectorsPerDepartment: r.InspectorsPerDepartment,
		TargetsPerTeam: r.TargetsPerTeam, CheckItemIDs: items, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, CommittedAt: r.CommittedAt, DrawnAt: r.DrawnAt,
		ConfirmDeadline: r.ConfirmDeadline, TeamsDrawnAt: r.TeamsDrawnAt, PacketsIssuedAt: r.PacketsIssuedAt,
		Contact: server.LeadContact{Office: r.ContactOffice, Phone: r.ContactPhone},
	}
	var materials []materialsJSON
	if err := json.Unmarshal([]byte(cmp.Or(r.Materials, "[]")), &materials); err != nil {
		return nil, fmt.Errorf("campaign %d materials: %w", r.ID, err)
	}
	c.Materials = make([]server.CampaignMaterials, len(materials))
	for i, m := range materials {
		c.Materials[i] = server.CampaignMaterials{DepartmentID: m.DepartmentID, Items: m.Items}
	}
	if r.SourcesAvailableAt != nil {
		t := r.SourcesAvailableAt.UTC()
		c.SourcesAvailableAt = &t
	}
	if err := json.Unmarshal([]byte(r.Districts), &c.Districts); err != nil {
		return nil, fmt.Errorf("campaign %d districts: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.RatioByClass), &c.Ratio.ByClass); err != nil {
		return nil, fmt.Errorf("campaign %d ratios: %w", r.ID, err)
	}
	if len(c.Ratio.ByClass) == 0 {
		c.Ratio.ByClass = nil
	}
	if err := json.Unmarshal([]byte(r.RandomnessSources), &c.RandomnessSources); err != nil {
		return nil, fmt.Errorf("campaign %d randomness sources: %w", r.ID, err)
	}
	if r.RandomnessValues != nil {
		if err := json.Unmarshal([]byte(*r.RandomnessValues), &c.RandomnessValues); err != nil {
			return nil, fmt.Errorf("campaign %d randomness values: %w", r.ID, err)
		}
	}
	if c.Districts == nil {
		c.Districts = []string{}
	}
	if r.ManifestDigest != nil {
		c.ManifestDigest = *r.ManifestDigest
	}
	if r.PopulationSize != nil {
		c.PopulationSize = *r.PopulationSize
	}
	if r.Seed != nil {
		c.Seed = *r.Seed
	}
	return c, nil
}

// setDraft writes c's draft fields into r.
func (r *campaignRow) setDraft(c *server.Campaign) {
	mustJSON := func(v any) string {
		b, _ := json.Marshal(v) // strings, maps of strings: always marshal
		return string(b)
	}
	byClass := c.Ratio.ByClass
	if byClass == nil {
		byClass = map[string]string{}
	}
	r.Name, r.LeadDepartmentID, r.Category = c.Name, c.LeadDepartmentID, c.Category
	r.WindowStart, r.WindowEnd = c.WindowStart.String(), c.WindowEnd.String()
	r.Districts, r.RatioDefault, r.RatioByClass = mustJSON(c.Districts), c.Ratio.Default, mustJSON(byClass)
	r.ExclusionMonths, r.InspectorsPerDepartment, r.TargetsPerTeam = c.ExclusionMonths, c.InspectorsPerDepartment, c.TargetsPerTeam
	r.RandomnessSources = mustJSON(c.RandomnessSources)
	r.SourcesAvailableAt = c.SourcesAvailableAt
	materials := make([]materialsJSON, len(c.Materials))
	for i, m := range c.Materials {
		materials[i] = materialsJSON{DepartmentID: m.DepartmentID, Items: m.Items}
	}
	r.Materials = mustJSON(materials)
	r.ContactOffice, r.ContactPhone = c.Contact.Office, c.Contact.Phone
}

// materialsJSON is one element of campaigns.materials.
type materialsJSON struct {
	DepartmentID int64    `json:"department_id"`
	Items        []string `json:"items"`
}

// campaignColumns are the campaigns columns read for a Campaign: everything
// but the manifest head, which can be large and is read only where needed.
var campaignColumns = []string{
	"id", "name", "status", "lead_department_id", "window_start", "window_end", "category", "districts",
	"ratio_default", "ratio_by_class", "exclusion_months", "inspectors_per_department", "targets_per_team",
	"randomness_sources", "sources_available_at", "materials", "contact_office", "contact_phone",
	"created_by", "created_at", "updated_at", "committed_at", "committed_by",
	"manifest_digest", "population_size", "randomness_values", "seed", "drawn_at", "drawn_by",
	"confirm_deadline", "teams_drawn_at", "packets_issued_at",
}

// campaignStaff may see campaigns of their departments; inspectors see only
// the packets they are assigned.
var campaignStaff = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator}

// scopeCampaigns restricts q, a query on campaigns, to what actor may see:
// platform admins everything, staff the campaigns their department takes
// part in, anyone else nothing.
func scopeCampaigns(q *gorm.DB, actor *server.User) *gorm.DB {
	switch actor.Role {
	case server.RolePlatformAdmin:
		return q
	case server.RoleDepartmentAdmin, server.RoleLeadCoordinator:
		if actor.DepartmentID != nil {
			return q.Where("EXISTS (SELECT 1 FROM campaign_departments cd WHERE cd.campaign_id = campaigns.id AND cd.department_id = ?)", *actor.DepartmentID)
		}
	}
	return q.Where("1 = 0")
}

// findVisibleCampaign returns the campaign row (without the manifest head),
// or ENOTFOUND if it does not exist or actor may not see it. With lock, the
// row is locked until the transaction ends (PostgreSQL; SQLite transactions
// already hold the one writer lock).
func findVisibleCampaign(tx *Tx, actor *server.User, id int64, lock bool) (*campaignRow, error) {
	q := scopeCampaigns(tx.Model(&campaignRow{}), actor).Select(campaignColumns).Where("campaigns.id = ?", id)
	if lock && tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "campaigns"}})
	}
	var r campaignRow
	if err := q.Take(&r).Error; err != nil {
		return nil, translate(err, objCampaign)
	}
	return &r, nil
}

// canRunCampaign reports whether actor may edit, commit and draw a campaign
// led by lead: platform admins and the lead department's coordinators.
func canRunCampaign(actor *server.User, lead int64) bool {
	return actor.Role == server.RolePlatformAdmin ||
		actor.Role == server.RoleLeadCoordinator && actor.InDepartment(lead)
}

func errNotLead() error {
	return server.Errorf(server.EFORBIDDEN, "只有牵头部门的协调人员可以执行此操作 (only the lead department's coordinators may do this).")
}

// loadCampaign returns the domain campaign of r with its departments and check items.
func loadCampaign(tx *Tx, r *campaignRow) (*server.Campaign, error) {
	var depts, items []int64
	if err := tx.Model(&campaignDepartmentRow{}).Where("campaign_id = ?", r.ID).Order("department_id").Pluck("department_id", &depts).Error; err != nil {
		return nil, err
	}
	if err := tx.Model(&campaignCheckItemRow{}).Where("campaign_id = ?", r.ID).Order("check_item_id").Pluck("check_item_id", &items).Error; err != nil {
		return nil, err
	}
	if depts == nil {
		depts = []int64{}
	}
	if items == nil {
		items = []int64{}
	}
	return r.domain(depts, items)
}

// FindCampaignByID returns ENOTFOUND if the campaign does not exist or the
// caller may not see it.
func (s *CampaignService) FindCampaignByID(ctx context.Context, id int64) (*server.Campaign, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.Campaign
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleCampaign(tx, actor, id, false)
		if err != nil {
			return err
		}
		out, err = loadCampaign(tx, r)
		return err
	})
	return out, err
}

// FindCampaigns lists the campaigns the caller may see, newest first, and
// the total number that match.
func (s *CampaignService) FindCampaigns(ctx context.Context, f server.CampaignFilter) ([]*server.Campaign, int, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, 0, err
	}
	actor := server.UserFromContext(ctx)
	var (
		out []*server.Campaign
		n   int64
	)
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := scopeCampaigns(tx.Model(&campaignRow{}), actor)
		if f.Status != nil {
			q = q.Where("status = ?", string(*f.Status))
		}
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		offset, limit := page(f.Offset, f.Limit)
		var rows []campaignRow
		if err := q.Select(campaignColumns).Order("id DESC").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.Campaign, len(rows))
		for i := range rows {
			c, err := loadCampaign(tx, &rows[i])
			if err != nil {
				return err
			}
			out[i] = c
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, int(n), nil
}

// Limits on draft fields.
const (
	maxCampaignName       = 200
	maxRandomnessSource   = 500
	maxRandomnessSources  = 10
	maxRandomnessValue    = 200
	maxExclusionMonths    = 120
	maxTeamRule           = 100
	maxCampaignDistricts  = 500
	maxCampaignCheckItems = 1000
)

// manifestField returns EINVALID unless s can be a manifest field: not empty,
// valid UTF-8, no TAB or line break, no white space at either end.
func manifestField(what, s string, maxLen int) error {
	switch {
	case s == "" || len(s) > maxLen:
		return server.Errorf(server.EINVALID, "%s须为1-%d字节 (%s must be 1-%d bytes).", what, maxLen, what, maxLen)
	case !utf8.ValidString(s) || strings.ContainsAny(s, "\t\n\r") || strings.TrimSpace(s) != s:
		return server.Errorf(server.EINVALID, "%s不能含制表符、换行或首尾空白 (%s may not contain tabs or line breaks, or start or end with white space): %q", what, what, s)
	}
	return server.CheckLine(what, s, maxLen)
}

// manifestName is manifestField for a name: the manifest is published as
// text that people open in spreadsheets, so it may not start like a formula.
func manifestName(what, s string, maxLen int) error {
	if err := manifestField(what, s, maxLen); err != nil {
		return err
	}
	return server.CheckName(what, s, maxLen)
}

// Bounds of a campaign window: within these years and at most this long.
const (
	minWindowYear   = 2000
	maxWindowYear   = 2100
	maxWindowLength = 366 // days, first and last included
)

// checkWindow returns EINVALID unless the window lies within
// minWindowYear..maxWindowYear and is at most maxWindowLength days long.
func checkWindow(start, end server.Date) error {
	switch {
	case start.Year < minWindowYear || end.Year > maxWindowYear:
		return server.Errorf(server.EINVALID, "检查期须在%d年至%d年之间 (the window must lie within %d-%d).", minWindowYear, maxWindowYear, minWindowYear, maxWindowYear)
	case dateTime(end).Sub(dateTime(start)) >= maxWindowLength*24*time.Hour:
		return server.Errorf(server.EINVALID, "检查期最长%d天 (the window may be at most %d days long).", maxWindowLength, maxWindowLength)
	}
	return nil
}

// checkWindowStart returns EINVALID if the window starts before today in
// Asia/Shanghai: a campaign is planned ahead, never backdated.
func checkWindowStart(start server.Date, now time.Time) error {
	if today := server.DateOf(now.In(calendar.Shanghai())); start.Before(today) {
		return server.Errorf(server.EINVALID, "检查期开始日不能早于今天%s (the window may not start before today, %s).", today, today)
	}
	return nil
}

func dateTime(d server.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// validateDraft normalizes c (lead among the departments, sorted unique
// lists, defaults) and returns EINVALID if it cannot be a campaign.
func validateDraft(c *server.Campaign) error {
	if err := manifestName("任务名称 (name)", c.Name, maxCampaignName); err != nil {
		return err
	}
	if err := manifestName("企业类别 (category)", c.Category, 64); err != nil {
		return err
	}
	if !c.WindowStart.IsZero() && !c.WindowEnd.IsZero() && !c.WindowEnd.Before(c.WindowStart) {
		if err := checkWindow(c.WindowStart, c.WindowEnd); err != nil {
			return err
		}
	}
	switch {
	case c.WindowStart.IsZero() || c.WindowEnd.IsZero():
		return server.Errorf(server.EINVALID, "须指定检查期起止日期 (window start and end required).")
	case c.WindowEnd.Before(c.WindowStart):
		return server.Errorf(server.EINVALID, "检查期结束日早于开始日 (the window ends before it starts).")
	case c.LeadDepartmentID <= 0:
		return server.Errorf(server.EINVALID, "须指定牵头部门 (lead department required).")
	case c.ExclusionMonths < 0 || c.ExclusionMonths > maxExclusionMonths:
		return server.Errorf(server.EINVALID, "排除期须为0-%d个月 (exclusion window must be 0-%d months).", maxExclusionMonths, maxExclusionMonths)
	case c.InspectorsPerDepartment < 1 || c.InspectorsPerDepartment > maxTeamRule:
		return server.Errorf(server.EINVALID, "每组每部门执法人员数须为1-%d (inspectors per department must be 1-%d).", maxTeamRule, maxTeamRule)
	case c.TargetsPerTeam < 1 || c.TargetsPerTeam > 10000:
		return server.Errorf(server.EINVALID, "每组检查对象数须为1-10000 (targets per team must be 1-10000).")
	case len(c.RandomnessSources) == 0:
		return server.Errorf(server.EINVALID, "须至少指定一个公开随机数来源 (name at least one public randomness source).")
	case len(c.RandomnessSources) > maxRandomnessSources:
		return server.Errorf(server.EINVALID, "公开随机数来源过多 (at most %d randomness sources).", maxRandomnessSources)
	case len(c.Districts) > maxCampaignDistricts || len(c.CheckItemIDs) > maxCampaignCheckItems:
		return server.Errorf(server.EINVALID, "区县或检查事项过多 (too many districts or check items).")
	}
	for _, src := range c.RandomnessSources {
		if err := manifestName("随机数来源 (randomness source)", src, maxRandomnessSource); err != nil {
			return err
		}
	}
	if err := validateSourcesAvailableAt(c); err != nil {
		return err
	}
	for _, d := range c.Districts {
		if err := manifestName("区县 (district)", d, 64); err != nil {
			return err
		}
		if strings.Contains(d, ",") {
			return server.Errorf(server.EINVALID, "区县名称不能含逗号 (a district may not contain a comma): %q", d)
		}
	}
	c.Districts = sortedUnique(c.Districts)
	if !slices.Contains(c.DepartmentIDs, c.LeadDepartmentID) {
		c.DepartmentIDs = append(c.DepartmentIDs, c.LeadDepartmentID)
	}
	c.DepartmentIDs = sortedUnique(c.DepartmentIDs)
	c.CheckItemIDs = sortedUnique(c.CheckItemIDs)
	if err := validateMaterials(c); err != nil {
		return err
	}
	if err := c.Contact.Validate(); err != nil {
		return err
	}
	_, err := ratioMap(c.Ratio)
	return err
}

// validateMaterials normalizes c.Materials (by department id, departments
// without materials dropped) and returns EINVALID unless each names a
// participating department once, and each material can be a manifest field
// and is listed once.
func validateMaterials(c *server.Campaign) error {
	out := make([]server.CampaignMaterials, 0, len(c.Materials))
	for _, m := range c.Materials {
		if !slices.Contains(c.DepartmentIDs, m.DepartmentID) {
			return server.Errorf(server.EINVALID, "材料清单的部门%d不是参与部门 (materials for department %d, which does not take part).", m.DepartmentID, m.DepartmentID)
		}
		if slices.ContainsFunc(out, func(o server.CampaignMaterials) bool { return o.DepartmentID == m.DepartmentID }) {
			return server.Errorf(server.EINVALID, "部门%d的材料清单出现了两次 (materials for department %d are given twice).", m.DepartmentID, m.DepartmentID)
		}
		if len(m.Items) > server.MaxMaterialsPerDepartment {
			return server.Errorf(server.EINVALID, "每个部门最多列%d项材料 (at most %d materials per department).", server.MaxMaterialsPerDepartment, server.MaxMaterialsPerDepartment)
		}
		for i, it := range m.Items {
			if err := manifestName("材料 (material)", it, server.MaxMaterialBytes); err != nil {
				return err
			}
			if slices.Contains(m.Items[:i], it) {
				return server.Errorf(server.EINVALID, "材料“%s”列了两次 (material %q is listed twice).", it, it)
			}
		}
		if len(m.Items) > 0 {
			out = append(out, server.CampaignMaterials{DepartmentID: m.DepartmentID, Items: slices.Clone(m.Items)})
		}
	}
	slices.SortFunc(out, func(a, b server.CampaignMaterials) int { return cmp.Compare(a.DepartmentID, b.DepartmentID) })
	c.Materials = out
	return nil
}

// errZeroRatio: a ratio of 0 would draw nothing; a campaign samples some.
var errZeroRatio = errors.New("ratio must be greater than 0 and at most 1")

// validateSourcesAvailableAt requires the earliest time the randomness
// sources can be known, kept to the second in UTC, and no later than the end
// of the window (Asia/Shanghai): targets drawn after the window are no use.
// That it comes after the commit is checked at the commit.
func validateSourcesAvailableAt(c *server.Campaign) error {
	if c.SourcesAvailableAt == nil || c.SourcesAvailableAt.IsZero() {
		return server.Errorf(server.EINVALID, "须指定公开随机数最早可知时间 (sources_available_at required: the earliest time the named randomness sources can be known).")
	}
	t := c.SourcesAvailableAt.UTC().Truncate(time.Second)
	end := time.Date(c.WindowEnd.Year, c.WindowEnd.Month, c.WindowEnd.Day, 0, 0, 0, 0, calendar.Shanghai()).AddDate(0, 0, 1)
	if !t.Before(end) {
		return server.Errorf(server.EINVALID, "公开随机数最早可知时间须在检查期结束之前 (sources_available_at must be before the window ends).")
	}
	c.SourcesAvailableAt = &t
	return nil
}

// ratioMap returns the ratio of each stratum: the Default as the empty
// stratum, each listed risk class as its own. EINVALID for a ratio that is
// not an exact decimal in (0, 1] or a class other than A–D.
func ratioMap(t server.RatioTable) (map[string]draw.Ratio, error) {
	out := map[string]draw.Ratio{}
	if t.Default == "" && len(t.ByClass) == 0 {
		return nil, server.Errorf(server.EINVALID, "须指定抽查比例 (a sampling ratio is required).")
	}
	if t.Default != "" {
		r, err := draw.ParseRatio(t.Default)
		if err == nil && r.Count(1) == 0 {
			err = errZeroRatio
		}
		if err != nil {
			return nil, server.Errorf(server.EINVALID, "抽查比例无效 (invalid ratio): %v", err)
		}
		out[""] = r
	}
	for class, v := range t.ByClass {
		if class == "" || !server.RiskClass(class).Valid() {
			return nil, server.Errorf(server.EINVALID, "信用风险分类须为A、B、C或D (risk class must be A, B, C or D): %q", class)
		}
		r, err := draw.ParseRatio(v)
		if err == nil && r.Count(1) == 0 {
			err = errZeroRatio
		}
		if err != nil {
			return nil, server.Errorf(server.EINVALID, "%s类抽查比例无效 (invalid ratio for class %s): %v", class, class, err)
		}
		out[class] = r
	}
	return out, nil
}

// sortedUnique returns s sorted without duplicates, never nil.
func sortedUnique[T int64 | string](s []T) []T {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []T{}
	}
	return out
}

// checkDraftRefs returns EINVALID unless every department exists and every
// check item exists, is current and belongs to a participating department,
// one version per code.
func checkDraftRefs(tx *Tx, c *server.Campaign) error {
	var n int64
	if err := tx.Model(&departmentRow{}).Where("id IN ?", c.DepartmentIDs).Count(&n).Error; err != nil {
		return err
	}
	if int(n) != len(c.DepartmentIDs) {
		return server.Errorf(server.EINVALID, "参与部门不存在 (a participating department does not exist).")
	}
	if len(c.CheckItemIDs) == 0 {
		return nil
	}
	var items []checkItemRow
	if err := tx.Where("id IN ?", c.CheckItemIDs).Find(&items).Error; err != nil {
		return err
	}
	if len(items) != len(c.CheckItemIDs) {
		return server.Errorf(server.EINVALID, "检查事项不存在 (a check item does not exist).")
	}
	codes := map[string]bool{}
	for _, it := range items {
		key := fmt.Sprintf("%d/%s", it.DepartmentID, it.Code)
		switch {
		case !slices.Contains(c.DepartmentIDs, it.DepartmentID):
			return server.Errorf(server.EINVALID, "检查事项%s不属于参与部门 (check item %s belongs to no participating department).", it.Code, it.Code)
		case it.RetiredAt != nil:
			return server.Errorf(server.EINVALID, "检查事项%s@%d已停用，请选用现行版本 (check item %s@%d is retired; use the current version).", it.Code, it.Version, it.Code, it.Version)
		case codes[key]:
			return server.Errorf(server.EINVALID, "检查事项%s选了多个版本 (check item %s is named in more than one version).", it.Code, it.Code)
		}
		codes[key] = true
	}
	return nil
}

// writeDraftLinks replaces the campaign's departments and check items.
func writeDraftLinks(tx *Tx, c *server.Campaign) error {
	if err := tx.Where("campaign_id = ?", c.ID).Delete(&campaignDepartmentRow{}).Error; err != nil {
		return err
	}
	if err := tx.Where("campaign_id = ?", c.ID).Delete(&campaignCheckItemRow{}).Error; err != nil {
		return err
	}
	depts := make([]campaignDepartmentRow, len(c.DepartmentIDs))
	for i, d := range c.DepartmentIDs {
		depts[i] = campaignDepartmentRow{CampaignID: c.ID, DepartmentID: d}
	}
	if err := tx.Create(&depts).Error; err != nil {
		return translate(err, objCampaign)
	}
	if len(c.CheckItemIDs) == 0 {
		return nil
	}
	items := make([]campaignCheckItemRow, len(c.CheckItemIDs))
	for i, it := range c.CheckItemIDs {
		items[i] = campaignCheckItemRow{CampaignID: c.ID, CheckItemID: it}
	}
	return translate(tx.Create(&items).Error, objCampaign)
}

// CreateCampaign creates a draft. Lead coordinators create campaigns their
// own department leads (LeadDepartmentID defaults to it); platform admins
// any. The lead department always takes part.
func (s *CampaignService) CreateCampaign(ctx context.Context, c *server.Campaign) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	if actor.Role == server.RoleLeadCoordinator {
		if c.LeadDepartmentID == 0 && actor.DepartmentID != nil {
			c.LeadDepartmentID = *actor.DepartmentID
		}
		if !actor.InDepartment(c.LeadDepartmentID) {
			return server.Errorf(server.EFORBIDDEN, "只能以本部门为牵头部门创建抽查任务 (coordinators create campaigns their own department leads).")
		}
	}
	if c.InspectorsPerDepartment == 0 {
		c.InspectorsPerDepartment = 2
	}
	if c.TargetsPerTeam == 0 {
		c.TargetsPerTeam = 1
	}
	if err := validateDraft(c); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if err := checkWindowStart(c.WindowStart, tx.Now); err != nil {
			return err
		}
		if err := checkDraftRefs(tx, c); err != nil {
			return err
		}
		if err := checkContactNotInspector(tx, c.Contact); err != nil {
			return err
		}
		r := campaignRow{Status: string(server.CampaignDraft), CreatedBy: actor.ID, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		r.setDraft(c)
		if err := tx.Select(draftColumns("status", "created_by", "created_at")).Create(&r).Error; err != nil {
			return translate(err, objCampaign)
		}
		c.ID = r.ID
		if err := writeDraftLinks(tx, c); err != nil {
			return err
		}
		out, err := loadCampaign(tx, &r)
		if err != nil {
			return err
		}
		addAudit(tx, "campaign.create", "campaign", c.ID, auditData{"name": c.Name, "lead_department_id": c.LeadDepartmentID})
		*c = *out
		return nil
	})
}

// draftColumns are the columns a draft edit writes, plus extra.
func draftColumns(extra ...string) []string {
	return append([]string{
		"name", "lead_department_id", "window_start", "window_end", "category", "districts", "ratio_default",
		"ratio_by_class", "exclusion_months", "inspectors_per_department", "targets_per_team",
		"randomness_sources", "sources_available_at", "materials", "contact_office", "contact_phone", "updated_at",
	}, extra...)
}

// errCommitted is the answer to any change of a committed campaign.
func errCommitted() error {
	return server.Errorf(server.ECONFLICT, "已提交的抽查方案不可修改，如需重抽请新建任务 (a committed campaign cannot change; a new draw means a new campaign).")
}

// UpdateCampaign changes a draft. ECONFLICT once committed.
func (s *CampaignService) UpdateCampaign(ctx context.Context, id int64, upd server.CampaignUpdate) (*server.Campaign, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Campaign
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleCampaign(tx, actor, id, true)
		if err != nil {
			return err
		}
		if !canRunCampaign(actor, r.LeadDepartmentID) {
			return errNotLead()
		}
		if r.Status != string(server.CampaignDraft) {
			if !upd.OnlyContact() {
				return errCommitted()
			}
			// The contact line is not in the manifest: it may change
			// until the letters are printed, and after.
			ct := *upd.Contact
			if err := ct.Validate(); err != nil {
				return err
			}
			if err := checkContactNotInspector(tx, ct); err != nil {
				return err
			}
			if err := tx.Model(&campaignRow{}).Where("id = ?", id).Updates(map[string]any{
				"contact_office": ct.Office, "contact_phone": ct.Phone, "updated_at": tx.Now}).Error; err != nil {
				return err
			}
			addAudit(tx, "campaign.contact_update", "campaign", id, auditData{"office": ct.Office, "phone": ct.Phone})
			r, err = findVisibleCampaign(tx, actor, id, false)
			if err != nil {
				return err
			}
			out, err = loadCampaign(tx, r)
			return err
		}
		c, err := loadCampaign(tx, r)
		if err != nil {
			return err
		}
		applyCampaignUpdate(c, upd)
		if err := validateDraft(c); err != nil {
			return err
		}
		if upd.WindowStart != nil || upd.WindowEnd != nil {
			if err := checkWindowStart(c.WindowStart, tx.Now); err != nil {
				return err
			}
		}
		if err := checkDraftRefs(tx, c); err != nil {
			return err
		}
		if err := checkContactNotInspector(tx, c.Contact); err != nil {
			return err
		}
		r.setDraft(c)
		r.UpdatedAt = tx.Now
		if err := tx.Select(draftColumns()).Where("id = ?", id).Updates(r).Error; err != nil {
			return translate(err, objCampaign)
		}
		if err := writeDraftLinks(tx, c); err != nil {
			return err
		}
		addAudit(tx, "campaign.update", "campaign", id, auditData{"fields": changedFields(upd)})
		out, err = loadCampaign(tx, r)
		return err
	})
	return out, err
}

func applyCampaignUpdate(c *server.Campaign, upd server.CampaignUpdate) {
	if upd.Name != nil {
		c.Name = *upd.Name
	}
	if upd.DepartmentIDs != nil {
		c.DepartmentIDs = slices.Clone(*upd.DepartmentIDs)
	}
	if upd.WindowStart != nil {
		c.WindowStart = *upd.WindowStart
	}
	if upd.WindowEnd != nil {
		c.WindowEnd = *upd.WindowEnd
	}
	if upd.Category != nil {
		c.Category = *upd.Category
	}
	if upd.Districts != nil {
		c.Districts = slices.Clone(*upd.Districts)
	}
	if upd.Ratio != nil {
		c.Ratio = *upd.Ratio
	}
	if upd.ExclusionMonths != nil {
		c.ExclusionMonths = *upd.ExclusionMonths
	}
	if upd.InspectorsPerDepartment != nil {
		c.InspectorsPerDepartment = *upd.InspectorsPerDepartment
	}
	if upd.TargetsPerTeam != nil {
		c.TargetsPerTeam = *upd.TargetsPerTeam
	}
	if upd.CheckItemIDs != nil {
		c.CheckItemIDs = slices.Clone(*upd.CheckItemIDs)
	}
	if upd.RandomnessSources != nil {
		c.RandomnessSources = slices.Clone(*upd.RandomnessSources)
	}
	if upd.SourcesAvailableAt != nil {
		t := *upd.SourcesAvailableAt
		c.SourcesAvailableAt = &t
	}
	if upd.Materials != nil {
		c.Materials = slices.Clone(*upd.Materials)
	}
	if upd.Contact != nil {
		c.Contact = *upd.Contact
	}
}

// checkContactNotInspector refuses a contact phone that is an inspector's:
// letters print the office line, never a person's phone.
func checkContactNotInspector(tx *Tx, ct server.LeadContact) error {
	if ct.Phone == "" {
		return nil
	}
	digits := strings.ReplaceAll(ct.Phone, "-", "")
	var n int64
	if err := tx.Model(&inspectorRow{}).Where("REPLACE(phone, '-', '') = ?", digits).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return server.Errorf(server.EINVALID, "联系电话是执法人员的个人电话，请填写牵头部门的办公电话 (the contact phone is an inspector's; give the lead department's office line).")
	}
	return nil
}

// recentTargetsSQL selects the targets of other campaigns whose window ended
// in [@cutoff, @start): every drawn enterprise not since replaced.
const recentTargetsSQL = `SELECT ds.credit_code, c.id AS campaign_id, c.window_end
FROM draw_selections ds JOIN campaigns c ON c.id = ds.campaign_id
WHERE c.id <> @id AND c.window_end >= @cutoff AND c.window_end < @start
AND NOT EXISTS (SELECT 1 FROM target_replacements tr WHERE tr.campaign_id = ds.campaign_id AND tr.replaced_code = ds.credit_code)`

// populationFilter returns the WHERE clause (on enterprises e) and named
// arguments of c's population filter, exclusions aside.
func populationFilter(c *server.Campaign) (string, map[string]any) {
	where := "e.category = @category AND e.status = @status"
	args := map[string]any{"category": c.Category, "status": string(server.EnterpriseActive), "id": c.ID}
	if len(c.Districts) > 0 {
		where += " AND e.district IN @districts"
		args["districts"] = c.Districts
	}
	if c.ExclusionMonths > 0 {
		start := time.Date(c.WindowStart.Year, c.WindowStart.Month, c.WindowStart.Day, 0, 0, 0, 0, time.UTC)
		args["start"] = c.WindowStart.String()
		args["cutoff"] = start.AddDate(0, -c.ExclusionMonths, 0).Format(time.DateOnly)
	}
	return where, args
}

// findExclusions returns the enterprises the filter matches that were
// targets of a campaign whose window ended within the exclusion window, each
// with the latest such campaign as the reason, by credit code.
func findExclusions(tx *Tx, c *server.Campaign) ([]draw.Exclusion, error) {
	if c.ExclusionMonths == 0 {
		return nil, nil
	}
	where, args := populationFilter(c)
	var rows []struct {
		CreditCode string
		CampaignID int64
		WindowEnd  string
	}
	err := tx.Raw(`SELECT e.credit_code, t.campaign_id, t.window_end FROM enterprises e
JOIN (`+recentTargetsSQL+`) t ON t.credit_code = e.credit_code
WHERE `+where+` ORDER BY e.credit_code, t.window_end DESC, t.campaign_id DESC`, args).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	var out []draw.Exclusion
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].CreditCode == r.CreditCode {
			continue // an older inspection of the same enterprise
		}
		out = append(out, draw.Exclusion{
			CreditCode: r.CreditCode,
			Reason:     fmt.Sprintf("近期已被抽查：任务%d，检查期截至%s (inspected in campaign %d, window end %s)", r.CampaignID, r.WindowEnd, r.CampaignID, r.WindowEnd),
		})
	}
	return out, nil
}

// insertPopulation freezes c's population into campaign_population in one
// INSERT … SELECT, so the rows never travel through the server.
func insertPopulation(tx *Tx, c *server.Campaign, classes []string) error {
	where, args := populationFilter(c)
	stratum := "''"
	if len(classes) > 0 {
		stratum = "CASE WHEN e.risk_class IN @classes THEN e.risk_class ELSE '' END"
		args["classes"] = classes
	}
	if c.ExclusionMonths > 0 {
		where += " AND NOT EXISTS (SELECT 1 FROM (" + recentTargetsSQL + ") t WHERE t.credit_code = e.credit_code)"
	}
	return tx.Exec(`INSERT INTO campaign_population (campaign_id, credit_code, stratum, enterprise_id)
SELECT @id, e.credit_code, `+stratum+`, e.id FROM enterprises e WHERE `+where, args).Error
}

// strataSizes counts the committed population per stratum.
func strataSizes(tx *Tx, id int64) (map[string]int, error) {
	return sizesByStratum(tx, "SELECT stratum, COUNT(*) AS n FROM campaign_population WHERE campaign_id = ? GROUP BY stratum", id)
}

// sizesByStratum runs a query of (stratum, n) rows and returns them as a map.
func sizesByStratum(tx *Tx, query string, args ...any) (map[string]int, error) {
	var rows []struct {
		Stratum string
		N       int
	}
	if err := tx.Raw(query, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Stratum] = r.N
	}
	return out, nil
}

// CommitCampaign freezes the draft's manifest: the population snapshot,
// exclusions, strata, ratios, roster, recusals, check-item versions, team
// rules and the named randomness sources; it stores the manifest head and
// the SHA-256 of the whole canonical manifest.
func (s *CampaignService) CommitCampaign(ctx context.Context, id int64) (*server.Campaign, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Campaign
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleCampaign(tx, actor, id, true)
		if err != nil {
			return err
		}
		if !canRunCampaign(actor, r.LeadDepartmentID) {
			return errNotLead()
		}
		if r.Status != string(server.CampaignDraft) {
			return server.Errorf(server.ECONFLICT, "抽查方案已提交 (the campaign is already committed).")
		}
		c, err := loadCampaign(tx, r)
		if err != nil {
			return err
		}
		if err := validateDraft(c); err != nil {
			return err
		}
		if err := checkDraftRefs(tx, c); err != nil {
			return err
		}
		if !c.SourcesAvailableAt.After(tx.Now) {
			return server.Errorf(server.EINVALID, "公开随机数最早可知时间（%s）须晚于提交时间：提交时随机数必须尚不可知 (sources_available_at %s must be after the commit: the randomness must be unknown when the manifest is frozen).",
				c.SourcesAvailableAt.Format(draw.SourcesTimeLayout), c.SourcesAvailableAt.Format(draw.SourcesTimeLayout))
		}
		m, err := buildManifestHead(tx, c)
		if err != nil {
			return err
		}
		var head strings.Builder
		if err := m.Encode(&head); err != nil {
			return server.Errorf(server.EINVALID, "抽查方案无法生成清单 (the manifest cannot be encoded): %v", err)
		}
		digest, size, err := populationDigest(tx, id, head.String(), m.Ratios)
		if err != nil {
			return err
		}
		err = tx.Model(&campaignRow{}).Where("id = ? AND status = ?", id, string(server.CampaignDraft)).Updates(map[string]any{
			"status": string(server.CampaignCommitted), "committed_at": tx.Now, "committed_by": actor.ID,
			"manifest_head": head.String(), "manifest_digest": digest, "population_size": size, "updated_at": tx.Now,
		}).Error
		if err != nil {
			return err
		}
		addAudit(tx, "campaign.commit", "campaign", id, auditData{"manifest_digest": digest, "population_size": size})
		r, err = findVisibleCampaign(tx, actor, id, false)
		if err != nil {
			return err
		}
		out, err = loadCampaign(tx, r)
		return err
	})
	return out, err
}

// buildManifestHead inserts c's population and returns its manifest without
// the population lines (population is the last section, so the head plus
// the lines is the whole manifest).
func buildManifestHead(tx *Tx, c *server.Campaign) (*draw.Manifest, error) {
	ratios, err := ratioMap(c.Ratio)
	if err != nil {
		return nil, err
	}
	var depts []departmentRow
	if err := tx.Where("id IN ?", c.DepartmentIDs).Find(&depts).Error; err != nil {
		return nil, err
	}
	codes := map[int64]string{}
	for _, d := range depts {
		codes[d.ID] = d.Code
	}
	m := &draw.Manifest{
		Version: draw.ManifestV3, SourcesAvailableAt: c.SourcesAvailableAt.UTC().Format(draw.SourcesTimeLayout),
		CampaignID: c.ID, Name: c.Name, WindowStart: c.WindowStart.String(), WindowEnd: c.WindowEnd.String(),
		Lead: codes[c.LeadDepartmentID], Category: c.Category, Districts: slices.Clone(c.Districts),
		Status: string(server.EnterpriseActive), ExclusionMonths: c.ExclusionMonths, Ratios: ratios,
		InspectorsPerDepartment: c.InspectorsPerDepartment, TargetsPerTeam: c.TargetsPerTeam,
		Randomness: slices.Clone(c.RandomnessSources),
	}
	items := map[int64][]string{}
	if len(c.CheckItemIDs) > 0 {
		var rows []checkItemRow
		if err := tx.Where("id IN ?", c.CheckItemIDs).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, it := range rows {
			items[it.DepartmentID] = append(items[it.DepartmentID], fmt.Sprintf("%s@%d", it.Code, it.Version))
		}
	}
	materials := map[int64][]string{}
	for _, mt := range c.Materials {
		materials[mt.DepartmentID] = mt.Items
	}
	for _, d := range depts {
		m.Departments = append(m.Departments, draw.ManifestDepartment{Code: d.Code, CheckItems: items[d.ID], Materials: slices.Clone(materials[d.ID])})
	}

	if m.Exclusions, err = findExclusions(tx, c); err != nil {
		return nil, err
	}
	var classes []string
	for s := range ratios {
		if s != "" {
			classes = append(classes, s)
		}
	}
	slices.Sort(classes)
	if err := insertPopulation(tx, c, classes); err != nil {
		return nil, err
	}

	// The roster: active, certificate valid over the whole window.
	var inspectors []inspectorRow
	if err := tx.Where("department_id IN ? AND status = ?", c.DepartmentIDs, string(server.InspectorActive)).Find(&inspectors).Error; err != nil {
		return nil, err
	}
	var rosterIDs []int64
	for i := range inspectors {
		in, err := inspectors[i].domain()
		if err != nil {
			return nil, err
		}
		if !in.CertificateValidOn(c.WindowStart, c.WindowEnd) {
			continue
		}
		if err := manifestField("执法证号 (certificate number)", in.CertificateNumber, 64); err != nil {
			return nil, err
		}
		rosterIDs = append(rosterIDs, in.ID)
		m.Inspectors = append(m.Inspectors, draw.RosterEntry{Department: codes[in.DepartmentID], Certificate: in.CertificateNumber})
	}
	if len(rosterIDs) > 0 {
		// Approved, standing declarations against the frozen population: one
		// still waiting for its department admin does not count.
		var rows []struct{ CertificateNumber, CreditCode string }
		err := tx.Raw(`SELECT DISTINCT i.certificate_number, p.credit_code FROM conflict_declarations d
JOIN inspectors i ON i.id = d.inspector_id
JOIN campaign_population p ON p.enterprise_id = d.enterprise_id AND p.campaign_id = ?
WHERE d.withdrawn_at IS NULL AND d.status = ? AND d.inspector_id IN ?`, c.ID, string(server.DeclarationApproved), rosterIDs).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		pairs := make([]draw.Recusal, len(rows))
		for i, r := range rows {
			pairs[i] = draw.Recusal{Certificate: r.CertificateNumber, CreditCode: r.CreditCode}
		}
		if m.RecusalCommitments, err = commitRecusals(tx, c.ID, pairs, false); err != nil {
			return nil, err
		}
	}
	m.Normalize()
	return m, nil
}

// commitRecusals stores each recusal pair with a fresh random salt (its
// opening, for auditors) and returns the salted commitments, which are all
// the public sees of it.
func commitRecusals(tx *Tx, campaignID int64, pairs []draw.Recusal, late bool) ([]draw.Hash, error) {
	out := make([]draw.Hash, len(pairs))
	for i, p := range pairs {
		var salt [32]byte
		rand.Read(salt[:]) // never fails (crypto/rand)
		err := tx.Exec("INSERT INTO recusal_openings (campaign_id, certificate_number, credit_code, salt, late) VALUES (?, ?, ?, ?, ?)",
			campaignID, p.Certificate, p.CreditCode, hex.EncodeToString(salt[:]), late).Error
		if err != nil {
			return nil, fmt.Errorf("insert recusal opening: %w", err)
		}
		out[i] = draw.RecusalCommitment(salt, p.Certificate, p.CreditCode)
	}
	return out, nil
}

// recusalOpeningRow mirrors recusal_openings.
type recusalOpeningRow struct {
	CampaignID        int64
	CertificateNumber string
	CreditCode        string
	Salt              string
	Late              bool
}

func (recusalOpeningRow) TableName() string { return "recusal_openings" }

// findRecusalOpenings returns a campaign's recusal openings, the manifest's
// first, each kind by certificate then credit code.
func findRecusalOpenings(tx *Tx, campaignID int64) ([]recusalOpeningRow, error) {
	var rows []recusalOpeningRow
	err := tx.Where("campaign_id = ?", campaignID).Order("late, certificate_number, credit_code").Find(&rows).Error
	return rows, err
}

// populationDigest returns the SHA-256 (hex) of head followed by the
// campaign's population lines, streamed in credit-code order, and the
// population size; on the way it packs the population into blocks for the
// draw. EINVALID if the population is empty or a stratum has no
// ratio.
func populationDigest(tx *Tx, id int64, head string, ratios map[string]draw.Ratio) (string, int, error) {
	sizes, err := strataSizes(tx, id)
	if err != nil {
		return "", 0, err
	}
	total := 0
	for stratum, n := range sizes {
		if _, ok := ratios[stratum]; !ok {
			if stratum == "" {
				return "", 0, server.Errorf(server.EINVALID, "有%d家企业不属于已列出的信用风险分类，且未设默认抽查比例 (%d enterprises are in no listed risk class and there is no default ratio).", n, n)
			}
			return "", 0, server.Errorf(server.EINVALID, "信用风险分类%s没有抽查比例 (no ratio for risk class %s).", stratum, stratum)
		}
		total += n
	}
	if total == 0 {
		return "", 0, server.Errorf(server.EINVALID, "没有符合条件的企业 (no enterprise matches the population filter).")
	}
	h := sha256.New()
	h.Write([]byte(head))
	blocks := newBlockWriter(tx, id)
	n, err := streamPopulation(tx, id, func(code, stratum string) error {
		if _, err := io.WriteString(h, "population\t"+code+"\t"+stratum+"\n"); err != nil {
			return err
		}
		return blocks.add(code, stratum)
	})
	if err != nil {
		return "", 0, err
	}
	if err := blocks.close(); err != nil {
		return "", 0, err
	}
	if n != total {
		return "", 0, fmt.Errorf("population of campaign %d: streamed %d rows, counted %d", id, n, total)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// populationPage is how many population rows streamPopulation reads per
// query (a variable for tests).
var populationPage = 8192

// streamPopulation calls fn for each population row of the campaign in
// ascending credit-code byte order, and returns the number of rows. The
// order comes from the primary key index; credit codes are ASCII digits and
// capitals, which every collation orders by bytes, and the order is checked
// anyway, since the digest depends on it. The rows are read a page at a
// time, each query done before fn sees its rows, so fn may write in the
// same transaction (PostgreSQL runs one statement at a time per
// connection).
func streamPopulation(tx *Tx, id int64, fn func(code, stratum string) error) (int, error) {
	n, prev := 0, ""
	page := make([][2]string, 0, populationPage)
	for {
		var err error
		if page, err = populationPageAfter(tx, id, n > 0, prev, page[:0]); err != nil {
			return n, err
		}
		for _, r := range page {
			code, stratum := r[0], r[1]
			if n > 0 && code <= prev {
				return n, fmt.Errorf("population of campaign %d is not in byte order at %q (check the database collation)", id, code)
			}
			if err := fn(code, stratum); err != nil {
				return n, err
			}
			prev = code
			n++
		}
		if len(page) < populationPage {
			return n, nil
		}
	}
}

// populationPageAfter appends to page the next populationPage rows (credit
// code, stratum) of the campaign's population in credit-code order, after
// the code after if from is set.
func populationPageAfter(tx *Tx, id int64, from bool, after string, page [][2]string) ([][2]string, error) {
	q := "SELECT credit_code, stratum FROM campaign_population WHERE campaign_id = ? ORDER BY credit_code LIMIT ?"
	args := []any{id, populationPage}
	if from {
		q = "SELECT credit_code, stratum FROM campaign_population WHERE campaign_id = ? AND credit_code > ? ORDER BY credit_code LIMIT ?"
		args = []any{id, after, populationPage}
	}
	rows, err := tx.Raw(q, args...).Rows()
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var r [2]string
	for rows.Next() {
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			return page, err
		}
		page = append(page, r)
	}
	return page, rows.Err()
}

// checkRandomness returns EINVALID unless values are one per named source,
// each 1–200 bytes of UTF-8 without tabs, line breaks or white space at
// either end (which a reader could not tell apart).
func checkRandomness(values []string, sources int) error {
	if len(values) != sources {
		return server.Errorf(server.EINVALID, "须按方案录入%d个公开随机数，收到%d个 (enter %d randomness values, one per named source; got %d).", sources, len(values), sources, len(values))
	}
	for _, v := range values {
		if err := manifestField("公开随机数 (randomness value)", v, maxRandomnessValue); err != nil {
			return err
		}
	}
	return nil
}

// selectionBatchSQLite is how many selections one INSERT carries on SQLite:
// 5 parameters a row, under SQLite's limit.
const selectionBatchSQLite = 500

// insertSelections persists the drawn items, in credit-code order, so that
// the primary key index is appended to rather than split all over. On
// PostgreSQL (pg not nil) it is one binary COPY on the transaction's own
// connection; on SQLite, batched INSERTs.
func insertSelections(ctx context.Context, tx *Tx, pg PgConn, id int64, items *draw.ByID, kind string) error {
	if pg == nil {
		rows := make([]selectionRow, 0, selectionBatchSQLite)
		flush := func() error {
			if len(rows) == 0 {
				return nil
			}
			err := tx.Create(&rows).Error
			rows = rows[:0]
			return translate(err, objCampaign)
		}
		for items.Next() {
			code, stratum, ticket := items.Item()
			rows = append(rows, selectionRow{CampaignID: id, CreditCode: string(code), Stratum: stratum, Ticket: ticket.String(), Kind: kind})
			if len(rows) == selectionBatchSQLite {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	}
	// The campaign check (migration 00005) reads the inserted rows from a
	// transition table, kept in memory up to work_mem and spilled to a
	// temporary file beyond (166 MB for 1.5M rows). Room for them in
	// memory, for this transaction only.
	if err := tx.Exec(fmt.Sprintf("SET LOCAL work_mem = '%dkB'", 4096+items.Len()/4)).Error; err != nil {
		return err
	}
	src := &selectionSource{items: items, row: []any{id, nil, nil, nil, kind}}
	err := pg(func(c *pgx.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"draw_selections"},
			[]string{"campaign_id", "credit_code", "stratum", "ticket", "kind"}, src)
		return err
	})
	if err != nil {
		return translate(tx.AddError(err), objCampaign)
	}
	return nil
}

// selectionSource is a pgx.CopyFromSource over the drawn items. pgx encodes
// each row before asking for the next, so one row slice and one ticket
// buffer serve all.
type selectionSource struct {
	items  *draw.ByID
	row    []any
	ticket [64]byte
}

func (s *selectionSource) Next() bool { return s.items.Next() }
func (s *selectionSource) Err() error { return nil }

func (s *selectionSource) Values() ([]any, error) {
	code, stratum, ticket := s.items.Item()
	hex.Encode(s.ticket[:], ticket[:])
	s.row[1], s.row[2], s.row[3] = code, stratum, s.ticket[:]
	return s.row, nil
}

// confirmDeadline is the end of the first working day after now in
// Asia/Shanghai: the departments' deadline to confirm their targets, set by
// the draw and moved by a replacement. A year the calendar lacks is not the
// request's fault: it is EUNAVAILABLE with the year named, and once the
// operator adds that year's notice (--calendar) the same request goes through.
func (s *CampaignService) confirmDeadline(now time.Time) (time.Time, error) {
	deadline, err := s.calendar.AddWorkingDays(now.In(calendar.Shanghai()), 1)
	var missing *calendar.ErrYearNotCovered
	if errors.As(err, &missing) {
		return time.Time{}, server.Errorf(server.EUNAVAILABLE, "工作日日历缺少%d年的数据，暂时无法计算确认期限；请管理员用--calendar补充当年节假日安排后重试 (the working-day calendar has no data for %d, so the confirmation deadline cannot be computed; the operator must add that year's holidays with --calendar, then retry).", missing.Year, missing.Year)
	} else if err != nil {
		return time.Time{}, fmt.Errorf("confirmation deadline: %w", err)
	}
	return deadline, nil
}

// Draw takes the public randomness values, derives the seed and draws the
// targets from the frozen population: one streaming pass through a
// per-stratum heap, then batched inserts. There are no re-rolls: a second
// draw is ECONFLICT.
func (s *CampaignService) Draw(ctx context.Context, id int64, randomness []string) (*server.Campaign, error) {
	if err := requireRole(ctx, campaignStaff...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Campaign
	err := s.db.WithPgConn(ctx, func(tx *Tx, pg PgConn) error {
		r, err := findVisibleCampaign(tx, actor, id, true)
		if err != nil {
			return err
		}
		if !canRunCampaign(actor, r.LeadDepartmentID) {
			return errNotLead()
		}
		switch server.CampaignStatus(r.Status) {
		case server.CampaignDraft:
			return server.Errorf(server.ECONFLICT, "抽查方案尚未提交，不能抽取 (commit the campaign before drawing).")
		case server.CampaignCommitted:
		default:
			return server.Errorf(server.ECONFLICT, "已完成抽取，不可重抽 (the targets are drawn already; there are no re-draws).")
		}
		var sources []string
		if err := json.Unmarshal([]byte(r.RandomnessSources), &sources); err != nil {
			return err
		}
		if err := checkRandomness(randomness, len(sources)); err != nil {
			return err
		}
		// Campaigns committed before manifests carried the time have none.
		if r.SourcesAvailableAt != nil && tx.Now.Before(*r.SourcesAvailableAt) {
			at := r.SourcesAvailableAt.UTC().Format(draw.SourcesTimeLayout)
			return server.Errorf(server.ETOOEARLY, "公开随机数最早于%s可知，此前不能抽取 (the named randomness sources cannot be known before %s; the draw is refused until then).", at, at)
		}
		deadline, err := s.confirmDeadline(tx.Now)
		if err != nil {
			return err
		}
		var head string
		if err := tx.Model(&campaignRow{}).Where("id = ?", id).Pluck("manifest_head", &head).Error; err != nil {
			return err
		}
		m, err := draw.ParseManifest([]byte(head))
		if err != nil {
			return fmt.Errorf("campaign %d manifest head: %w", id, err)
		}
		digest, err := draw.ParseHash(*r.ManifestDigest)
		if err != nil {
			return fmt.Errorf("campaign %d digest: %w", id, err)
		}
		seed := draw.Seed(digest, randomness)
		selected, err := sample(tx, r, seed, m.Ratios)
		if err != nil {
			return err
		}
		if err := insertSelections(ctx, tx, pg, id, selected, "initial"); err != nil {
			return err
		}
		values, _ := json.Marshal(randomness) // []string always marshals
		err = tx.Model(&campaignRow{}).Where("id = ? AND status = ?", id, string(server.CampaignCommitted)).Updates(map[string]any{
			"status": string(server.CampaignDrawn), "randomness_values": string(values), "seed": seed.String(),
			"drawn_at": tx.Now, "drawn_by": actor.ID, "confirm_deadline": deadline.UTC(), "updated_at": tx.Now,
		}).Error
		if err != nil {
			return err
		}
		addAudit(tx, "campaign.draw", "campaign", id, auditData{"randomness": randomness, "seed": seed.String(), "selected": selected.Len()})
		if r, err = findVisibleCampaign(tx, actor, id, false); err != nil {
			return err
		}
		out, err = loadCampaign(tx, r)
		return err
	})
	return out, err
}

// sample streams the campaign's population blocks through a draw.Sampler
// and returns the selected items in credit-code order. The sampler does not
// depend on the order codes arrive in.
//
// The stratum sizes are counted from the blocks first, and their total must
// be the population size the commit recorded, except when the manifest has
// a single ratio: then the whole population is one stratum (the commit
// refused any other) of that size. Either way the sampler checks that
// exactly that many codes arrive.
func sample(tx *Tx, r *campaignRow, seed draw.Hash, ratios map[string]draw.Ratio) (*draw.ByID, error) {
	id := r.ID
	if err := ensurePopulationBlocks(tx, id); err != nil {
		return nil, err
	}
	var sizes map[string]int
	if len(ratios) == 1 && r.PopulationSize != nil {
		for stratum := range ratios {
			sizes = map[string]int{stratum: *r.PopulationSize}
		}
	} else {
		var err error
		if sizes, err = blockSizes(tx, id); err != nil {
			return nil, err
		}
		total := 0
		for _, n := range sizes {
			total += n
		}
		if r.PopulationSize != nil && total != *r.PopulationSize {
			return nil, fmt.Errorf("campaign %d: the population blocks hold %d codes, the commit counted %d", id, total, *r.PopulationSize)
		}
	}
	sampler, err := draw.NewSampler(seed, sizes, ratios, 0)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	if err := feedPopulation(tx, id, sampler); err != nil {
		return nil, err
	}
	selected, err := sampler.SelectedByID(runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	return selected, nil
}

// FindSelections lists the campaign's drawn targets, first draw and
// replacements, in ascending (ticket, credit code); Replaced marks targets
// later replaced.
func (s *CampaignService) FindSelections(ctx context.Context, id int64) ([]*server.Selection, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out []*server.Selection
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := findVisibleCampaign(tx, actor, id, false); err != nil {
			return err
		}
		var rows []struct {
			CreditCode   string
			EnterpriseID int64
			Stratum      string
			Ticket       string
			Kind         string
			Replaced     bool
		}
		err := tx.Raw(`SELECT ds.credit_code, p.enterprise_id, ds.stratum, ds.ticket, ds.kind,
EXISTS (SELECT 1 FROM target_replacements tr WHERE tr.campaign_id = ds.campaign_id AND tr.replaced_code = ds.credit_code) AS replaced
FROM draw_selections ds JOIN campaign_population p ON p.campaign_id = ds.campaign_id AND p.credit_code = ds.credit_code
WHERE ds.campaign_id = ?`, id).Scan(&rows).Error
		if err != nil {
			return err
		}
		out = make([]*server.Selection, len(rows))
		for i, r := range rows {
			out[i] = &server.Selection{
				CreditCode: r.CreditCode, EnterpriseID: r.EnterpriseID, Stratum: r.Stratum, Ticket: r.Ticket,
				Kind: r.Kind, Replaced: r.Replaced,
			}
		}
		// Tickets are lowercase hex of one length: byte order is numeric order.
		slices.SortFunc(out, func(a, b *server.Selection) int {
			if c := strings.Compare(a.Ticket, b.Ticket); c != 0 {
				return c
			}
			return strings.Compare(a.CreditCode, b.CreditCode)
		})
		return nil
	})
	return out, err
}
