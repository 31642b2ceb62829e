package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/draw"
)

// teamInspectorRow is an inspector as the team draw and the team lists need it.
type teamInspectorRow struct {
	ID                int64
	DepartmentID      int64
	Name              string
	CertificateNumber string
	Phone             string
}

// inspectorsByCertificate reads the inspectors with the given certificate
// numbers, in batches to stay under parameter limits.
func inspectorsByCertificate(tx *Tx, certs []string) (map[string]teamInspectorRow, error) {
	out := make(map[string]teamInspectorRow, len(certs))
	for batch := range slices.Chunk(certs, 1000) {
		var rows []teamInspectorRow
		if err := tx.Raw("SELECT id, department_id, name, certificate_number, phone FROM inspectors WHERE certificate_number IN ?",
			batch).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.CertificateNumber] = r
		}
	}
	return out, nil
}

// DrawTeams draws each department's inspectors from the committed roster into
// teams and matches the teams to the current targets (draw.DrawTeams), once
// every participating department has confirmed. Standing conflict
// declarations between roster inspectors and current targets that the
// manifest does not already hold are recorded as late recusals and applied
// as hard constraints. Lead coordinators and platform admins only.
func (s *CampaignService) DrawTeams(ctx context.Context, id int64) ([]*server.Team, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out []*server.Team
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if err := lockCampaign(tx, id); err != nil {
			return err
		}
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) {
			return server.Errorf(server.EFORBIDDEN, "只有牵头部门协调人可以分组 (only the lead department's coordinator may draw teams).")
		}
		if err := c.requireStatus("分组", "drawing teams", server.CampaignDrawn); err != nil {
			return err
		}
		if err := requireAllConfirmed(tx, c); err != nil {
			return err
		}
		seed, err := c.seed()
		if err != nil {
			return err
		}
		if c.ManifestHead == nil {
			return fmt.Errorf("campaign %d: drawn without a manifest head", id)
		}
		m, err := draw.ParseManifest([]byte(*c.ManifestHead))
		if err != nil {
			return fmt.Errorf("campaign %d: manifest head: %w", id, err)
		}
		targets, err := currentTargets(tx, id)
		if err != nil {
			return err
		}
		// The manifest's recusals: in the clear in a v1 manifest, else their
		// openings, kept at commit.
		known := slices.Clone(m.Recusals)
		if m.Version != draw.ManifestV1 {
			openings, err := findRecusalOpenings(tx, id)
			if err != nil {
				return err
			}
			for _, o := range openings {
				if !o.Late {
					known = append(known, draw.Recusal{Certificate: o.CertificateNumber, CreditCode: o.CreditCode})
				}
			}
		}
		late, err := lateRecusals(tx, m, known, id)
		if err != nil {
			return err
		}
		for _, r := range late {
			if err := tx.Exec("INSERT INTO late_recusals (campaign_id, certificate_number, credit_code) VALUES (?, ?, ?)",
				id, r.Certificate, r.CreditCode).Error; err != nil {
				return fmt.Errorf("insert late recusal: %w", err)
			}
		}
		if m.Version != draw.ManifestV1 {
			// Published as commitments only, like the manifest's.
			if _, err := commitRecusals(tx, id, late, true); err != nil {
				return err
			}
		}

		drawTargets := make([]draw.Target, len(targets))
		for i, t := range targets {
			drawTargets[i] = draw.Target{CreditCode: t.CreditCode, Stratum: t.Stratum}
		}
		codes := make([]string, len(m.Departments))
		for i, d := range m.Departments {
			codes[i] = d.Code
		}
		td, err := draw.DrawTeams(seed, m.Inspectors, codes, m.InspectorsPerDepartment, m.TargetsPerTeam, drawTargets,
			append(known, late...))
		if err != nil {
			return server.Errorf(server.ECONFLICT, "无法分组 (teams cannot be drawn): %v", err)
		}

		certs := make([]string, len(m.Inspectors))
		for i, r := range m.Inspectors {
			certs[i] = r.Certificate
		}
		inspectors, err := inspectorsByCertificate(tx, certs)
		if err != nil {
			return err
		}
		for _, t := range td.Teams {
			for pos, mb := range t.Members {
				in, ok := inspectors[mb.Certificate]
				if !ok {
					return fmt.Errorf("campaign %d: roster certificate %s has no inspector", id, mb.Certificate)
				}
				if err := tx.Exec(`INSERT INTO team_members (campaign_id, team_no, position, inspector_id, department_id, certificate_number, ticket)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, id, t.Number, pos+1, in.ID, in.DepartmentID, mb.Certificate, mb.Ticket.String()).Error; err != nil {
					return fmt.Errorf("insert team member: %w", err)
				}
			}
		}
		for i, mt := range td.Matches {
			if err := tx.Exec("INSERT INTO team_targets (campaign_id, credit_code, team_no, match_seq, ticket) VALUES (?, ?, ?, ?, ?)",
				id, mt.CreditCode, mt.Team, i+1, mt.Ticket.String()).Error; err != nil {
				return fmt.Errorf("insert team target: %w", err)
			}
		}
		if err := tx.Exec("UPDATE campaigns SET status = ?, teams_drawn_at = ?, updated_at = ? WHERE id = ?",
			server.CampaignTeamed, tx.Now, tx.Now, id).Error; err != nil {
			return err
		}
		addAudit(tx, "campaign.teams_drawn", "campaign", id, auditData{"teams": len(td.Teams), "targets": len(td.Matches), "late_recusals": len(late)})
		c.Status = string(server.CampaignTeamed)
		out, err = findTeams(tx, actor, c)
		return err
	})
	return out, err
}

// requireAllConfirmed returns ECONFLICT naming the departments that have not
// confirmed the targets.
func requireAllConfirmed(tx *Tx, c *fieldworkCampaign) error {
	var missing []string
	err := tx.Raw(`SELECT d.code FROM campaign_departments cd JOIN departments d ON d.id = cd.department_id
		WHERE cd.campaign_id = ? AND NOT EXISTS (
			SELECT 1 FROM target_confirmations t WHERE t.campaign_id = cd.campaign_id AND t.department_id = cd.department_id)
		ORDER BY d.code`, c.ID).Scan(&missing).Error
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		list := strings.Join(missing, ", ")
		return server.Errorf(server.ECONFLICT, "以下部门尚未确认检查对象：%s (targets not yet confirmed by: %s).", list, list)
	}
	return nil
}

// lateRecusals returns the approved, standing conflict declarations between inspectors
// of the committed roster and the current targets that the manifest does not
// already hold (known), by certificate then credit code.
func lateRecusals(tx *Tx, m *draw.Manifest, known []draw.Recusal, campaignID int64) ([]draw.Recusal, error) {
	var rows []draw.Recusal
	err := tx.Raw(`SELECT i.certificate_number AS certificate, e.credit_code AS credit_code
		FROM conflict_declarations cd
		JOIN inspectors i ON i.id = cd.inspector_id
		JOIN enterprises e ON e.id = cd.enterprise_id
		JOIN draw_selections s ON s.campaign_id = ? AND s.credit_code = e.credit_code
		WHERE cd.withdrawn_at IS NULL AND cd.status = ? AND NOT EXISTS (
			SELECT 1 FROM target_replacements r WHERE r.campaign_id = s.campaign_id AND r.replaced_code = s.credit_code)
		ORDER BY i.certificate_number, e.credit_code`, campaignID, string(server.DeclarationApproved)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	roster := make(map[string]bool, len(m.Inspectors))
	for _, r := range m.Inspectors {
		roster[r.Certificate] = true
	}
	seen := make(map[draw.Recusal]bool, len(known))
	for _, r := range known {
		seen[r] = true
	}
	out := rows[:0]
	for _, r := range rows {
		if roster[r.Certificate] && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// FindTeams lists a campaign's teams with their members and targets. Phones
// are shown to platform admins and the lead coordinator, and to a department
// admin for their own department's members.
func (s *CampaignService) FindTeams(ctx context.Context, id int64) ([]*server.Team, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out []*server.Team
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		out, err = findTeams(tx, actor, c)
		return err
	})
	return out, err
}

// canSeeTeamPhone reports whether actor may read the phone of a team member of department dept.
func canSeeTeamPhone(actor *server.User, c *fieldworkCampaign, dept int64) bool {
	return actor.Role == server.RolePlatformAdmin || c.isLead(actor) ||
		actor.Role == server.RoleDepartmentAdmin && actor.InDepartment(dept)
}

// teamMemberRow is a team_members row with its inspector's name and phone.
type teamMemberRow struct {
	TeamNo            int
	InspectorID       int64
	DepartmentID      int64
	CertificateNumber string
	Ticket            string
	Name              string
	Phone             string
}

// teamTargetRow is a team_targets row.
type teamTargetRow struct {
	CreditCode string
	TeamNo     int
	MatchSeq   int
	Ticket     string
}

func readTeamMembers(tx *Tx, campaignID int64) ([]teamMemberRow, error) {
	var rows []teamMemberRow
	err := tx.Raw(`SELECT m.team_no, m.inspector_id, m.department_id, m.certificate_number, m.ticket, i.name, i.phone
		FROM team_members m JOIN inspectors i ON i.id = m.inspector_id
		WHERE m.campaign_id = ? ORDER BY m.team_no, m.position`, campaignID).Scan(&rows).Error
	return rows, err
}

func readTeamTargets(tx *Tx, campaignID int64) ([]teamTargetRow, error) {
	var rows []teamTargetRow
	err := tx.Raw("SELECT credit_code, team_no, match_seq, ticket FROM team_targets WHERE campaign_id = ? ORDER BY match_seq",
		campaignID).Scan(&rows).Error
	return rows, err
}

func findTeams(tx *Tx, actor *server.User, c *fieldworkCampaign) ([]*server.Team, error) {
	members, err := readTeamMembers(tx, c.ID)
	if err != nil {
		return nil, err
	}
	targets, err := readTeamTargets(tx, c.ID)
	if err != nil {
		return nil, err
	}
	out := []*server.Team{}
	byNo := map[int]*server.Team{}
	team := func(no int) *server.Team {
		if t, ok := byNo[no]; ok {
			return t
		}
		t := &server.Team{Number: no, Members: []server.TeamMember{}, Targets: []string{}}
		byNo[no] = t
		out = append(out, t)
		return t
	}
	for _, m := range members {
		mb := server.TeamMember{
			InspectorID: m.InspectorID, DepartmentID: m.DepartmentID, CertificateNumber: m.CertificateNumber,
			Name: m.Name, Ticket: m.Ticket,
		}
		if canSeeTeamPhone(actor, c, m.DepartmentID) {
			mb.Phone = m.Phone
		}
		t := team(m.TeamNo)
		t.Members = append(t.Members, mb)
	}
	for _, tt := range targets {
		t := team(tt.TeamNo)
		t.Targets = append(t.Targets, tt.CreditCode)
	}
	slices.SortFunc(out, func(a, b *server.Team) int { return a.Number - b.Number })
	return out, nil
}

// FindRecusalOpenings returns the openings of the campaign's recusal
// commitments to platform admins and the lead department's coordinators,
// the manifest's first; ENOTFOUND for anyone else, as for a campaign they
// cannot see.
func (s *CampaignService) FindRecusalOpenings(ctx context.Context, id int64) ([]*server.RecusalOpening, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out []*server.RecusalOpening
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) {
			return notFound(objCampaign)
		}
		rows, err := findRecusalOpenings(tx, id)
		if err != nil {
			return err
		}
		out = make([]*server.RecusalOpening, len(rows))
		for i, r := range rows {
			out[i] = &server.RecusalOpening{Certificate: r.CertificateNumber, CreditCode: r.CreditCode, Salt: r.Salt, Late: r.Late}
		}
		return nil
	})
	return out, err
}
