package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// packetRow mirrors the packets table.
type packetRow struct {
	ID           string
	CampaignID   int64
	CreditCode   string
	EnterpriseID int64
	TeamNo       int
	Content      string
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (packetRow) TableName() string { return "packets" }

func (r *packetRow) domain() (*server.Packet, error) {
	p := &server.Packet{
		ID: r.ID, CampaignID: r.CampaignID, CreditCode: r.CreditCode, EnterpriseID: r.EnterpriseID,
		TeamNumber: r.TeamNo, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := json.Unmarshal([]byte(r.Content), &p.Content); err != nil {
		return nil, fmt.Errorf("packet %s: content: %w", r.ID, err)
	}
	return p, nil
}

// newPacketID returns 128 random bits as hex: a packet id reveals nothing and
// cannot be guessed.
func newPacketID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// IssuePackets creates one joint inspection packet per target (一企一表) and
// moves the campaign to issued. Calling it again returns the same packets.
// Lead coordinators and platform admins only, once the teams are drawn.
func (s *CampaignService) IssuePackets(ctx context.Context, id int64) ([]*server.Packet, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out []*server.Packet
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if err := lockCampaign(tx, id); err != nil {
			return err
		}
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) {
			return server.Errorf(server.EFORBIDDEN, "只有牵头部门协调人可以生成检查包 (only the lead department's coordinator may issue packets).")
		}
		if err := c.requireStatus("生成检查包", "issuing packets", server.CampaignTeamed, server.CampaignIssued); err != nil {
			return err
		}
		if c.Status == string(server.CampaignTeamed) {
			if err := createPackets(tx, c); err != nil {
				return err
			}
			if err := tx.Exec("UPDATE campaigns SET status = ?, packets_issued_at = ?, updated_at = ? WHERE id = ?",
				server.CampaignIssued, tx.Now, tx.Now, id).Error; err != nil {
				return err
			}
			addAudit(tx, "campaign.packets_issued", "campaign", id, nil)
		}
		out, err = findPackets(tx, id)
		return err
	})
	return out, err
}

// createPackets writes the packet of every matched target.
func createPackets(tx *Tx, c *fieldworkCampaign) error {
	start, err := server.ParseDate(c.WindowStart)
	if err != nil {
		return err
	}
	end, err := server.ParseDate(c.WindowEnd)
	if err != nil {
		return err
	}
	depts, err := departmentCodes(tx, c.departments)
	if err != nil {
		return err
	}
	sections, err := packetSections(tx, c, depts)
	if err != nil {
		return err
	}
	members, err := readTeamMembers(tx, c.ID)
	if err != nil {
		return err
	}
	teams := map[int][]server.PacketMember{}
	for _, m := range members {
		teams[m.TeamNo] = append(teams[m.TeamNo], server.PacketMember{
			InspectorID: m.InspectorID, Department: depts[m.DepartmentID].Code, Name: m.Name, CertificateNumber: m.CertificateNumber,
		})
	}
	targets, err := readTeamTargets(tx, c.ID)
	if err != nil {
		return err
	}
	enterprises, err := enterprisesByCode(tx, targets)
	if err != nil {
		return err
	}
	for _, t := range targets {
		e, ok := enterprises[t.CreditCode]
		if !ok {
			return fmt.Errorf("campaign %d: target %s has no enterprise", c.ID, t.CreditCode)
		}
		content := server.PacketContent{
			CampaignName: c.Name, WindowStart: start.String(), WindowEnd: end.String(),
			Enterprise: server.EnterpriseSnapshot{
				CreditCode: e.CreditCode, Name: e.Name, Category: e.Category, District: e.District, Address: e.Address,
				LegalRepresentative: e.LegalRepresentative, LicenceNumber: e.LicenceNumber,
				Latitude: e.Latitude, Longitude: e.Longitude,
			},
			Team:     teams[t.TeamNo],
			Sections: sections,
		}
		buf, err := json.Marshal(content)
		if err != nil {
			return err
		}
		r := packetRow{
			ID: newPacketID(), CampaignID: c.ID, CreditCode: t.CreditCode, EnterpriseID: e.ID,
			TeamNo: t.TeamNo, Content: string(buf), Version: 1, CreatedAt: tx.Now, UpdatedAt: tx.Now,
		}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objPacket)
		}
		// The team's devices receive the packet on their next pull.
		if err := addSyncChange(tx, r.ID, syncproto.ChangePacket, ""); err != nil {
			return err
		}
	}
	return nil
}

// departmentRef is a department's id, code and name.
type departmentRef struct {
	ID   int64
	Code string
	Name string
}

// departmentCodes reads the departments with the given ids.
func departmentCodes(tx *Tx, ids []int64) (map[int64]departmentRef, error) {
	var rows []departmentRef
	if err := tx.Raw("SELECT id, code, name FROM departments WHERE id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]departmentRef, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// packetSections returns one checklist section per participating department,
// by department code, each with the campaign's check items of that department.
func packetSections(tx *Tx, c *fieldworkCampaign, depts map[int64]departmentRef) ([]server.PacketSection, error) {
	var items []struct {
		ID           int64
		DepartmentID int64
		Code         string
		Version      int
		Title        string
		LegalBasis   string
		AnswerType   string
	}
	err := tx.Raw(`SELECT i.id, i.department_id, i.code, i.version, i.title, i.legal_basis, i.answer_type
		FROM campaign_check_items ci JOIN check_items i ON i.id = ci.check_item_id
		WHERE ci.campaign_id = ? ORDER BY i.code, i.version`, c.ID).Scan(&items).Error
	if err != nil {
		return nil, err
	}
	byDept := map[int64][]server.PacketItem{}
	for _, it := range items {
		byDept[it.DepartmentID] = append(byDept[it.DepartmentID], server.PacketItem{
			CheckItemID: it.ID, Code: it.Code, Version: it.Version, Title: it.Title, LegalBasis: it.LegalBasis,
			AnswerType: it.AnswerType,
		})
	}
	out := make([]server.PacketSection, 0, len(c.departments))
	for _, d := range c.departments {
		items := byDept[d]
		if items == nil {
			items = []server.PacketItem{}
		}
		out = append(out, server.PacketSection{Department: depts[d].Code, Items: items})
	}
	slices.SortFunc(out, func(a, b server.PacketSection) int { return strings.Compare(a.Department, b.Department) })
	return out, nil
}

// enterprisesByCode reads the enterprises of the targets, by credit code.
func enterprisesByCode(tx *Tx, targets []teamTargetRow) (map[string]*enterpriseRow, error) {
	codes := make([]string, len(targets))
	for i, t := range targets {
		codes[i] = t.CreditCode
	}
	out := make(map[string]*enterpriseRow, len(codes))
	for batch := range slices.Chunk(codes, 1000) {
		var rows []enterpriseRow
		if err := tx.Where("credit_code IN ?", batch).Find(&rows).Error; err != nil {
			return nil, err
		}
		for i := range rows {
			out[rows[i].CreditCode] = &rows[i]
		}
	}
	return out, nil
}

func findPackets(tx *Tx, campaignID int64) ([]*server.Packet, error) {
	var rows []packetRow
	if err := tx.Where("campaign_id = ?", campaignID).Order("team_no, credit_code").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*server.Packet, len(rows))
	for i := range rows {
		p, err := rows[i].domain()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// FindPackets lists a campaign's packets, by team then credit code, to staff
// of the participating departments.
func (s *CampaignService) FindPackets(ctx context.Context, id int64) ([]*server.Packet, error) {
	var out []*server.Packet
	err := s.withStaffCampaign(ctx, id, func(tx *Tx) error {
		var err error
		out, err = findPackets(tx, id)
		return err
	})
	return out, err
}

// FindPacketByID returns a packet to staff of a participating department and
// to an inspector of the packet's team; to anyone else it does not exist.
func (s *CampaignService) FindPacketByID(ctx context.Context, id string) (*server.Packet, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.Packet
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r packetRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return translate(err, objPacket)
		}
		if actor.Role == server.RoleInspector {
			if actor.InspectorID == nil {
				return notFound(objPacket)
			}
			var n int64
			if err := tx.Table("team_members").Where("campaign_id = ? AND team_no = ? AND inspector_id = ?",
				r.CampaignID, r.TeamNo, *actor.InspectorID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return notFound(objPacket)
			}
		} else {
			c, err := loadFieldworkCampaign(tx, r.CampaignID)
			if err != nil {
				return err
			}
			if !canSeeCampaign(actor, c) {
				return notFound(objPacket)
			}
		}
		var err error
		out, err = r.domain()
		return err
	})
	return out, err
}
