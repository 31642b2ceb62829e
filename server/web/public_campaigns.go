package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/draw"
)

// The public pages show what the public JSON routes serve (/public/…),
// from the same services, and nothing else: what is public is decided
// there, and the personal-data scan of those routes walks these pages too.

// handlePublicIndex handles "GET /": the committed campaigns.
func (p *Pages) handlePublicIndex(c echo.Context) error {
	cs, err := p.Public.FindPublicCampaigns(c.Request().Context())
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "public_index", &page{Title: "双随机抽查公示", Data: cs})
}

// stratum is one stratum of a draw as the page shows it.
type stratum struct {
	Name       string
	Population int
	Ratio      string
	Selected   []draw.RecordItem
}

// publicCampaignData is the draw page's.
type publicCampaignData struct {
	Campaign      api.PublicCampaign
	Record        *draw.Record
	Manifest      *draw.Manifest
	Strata        []stratum
	ManifestURL   string
	RecordURL     string
	VerifyCommand string
}

// handlePublicCampaign handles "GET /campaigns/:id": a campaign's draw,
// with what anyone needs to re-compute it.
func (p *Pages) handlePublicCampaign(c echo.Context) error {
	pc, err := p.publicCampaign(c)
	if err != nil {
		return err
	}
	rec, m, err := p.publicRecord(c, pc.ID)
	if err != nil {
		return err
	}
	d := publicCampaignData{
		Campaign: *pc, Record: rec, Manifest: m,
		ManifestURL: fmt.Sprintf("/public/campaigns/%d/manifest", pc.ID),
		RecordURL:   fmt.Sprintf("/public/campaigns/%d/record", pc.ID),
	}
	d.VerifyCommand = "spotcheck verify draw " + p.baseURL(c) + d.RecordURL
	sizes := m.Strata()
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := stratum{Name: name, Population: sizes[name]}
		if r, ok := m.Ratios[name]; ok {
			s.Ratio = r.String()
		}
		for _, it := range rec.Selection {
			if it.Stratum == name {
				s.Selected = append(s.Selected, it)
			}
		}
		d.Strata = append(d.Strata, s)
	}
	return p.render(c, http.StatusOK, "public_campaign", &page{Title: pc.Name, Data: d})
}

// publicCampaign is the committed campaign named by the path's :id;
// ENOTFOUND for a draft or an unknown id, as on /public/campaigns.
func (p *Pages) publicCampaign(c echo.Context) (*api.PublicCampaign, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, server.Errorf(server.ENOTFOUND, "未找到该抽查 (campaign not found).")
	}
	cs, err := p.Public.FindPublicCampaigns(c.Request().Context())
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i], nil
		}
	}
	return nil, server.Errorf(server.ENOTFOUND, "未找到该抽查 (campaign not found).")
}

// publicRecord is campaign id's public record, as /public/campaigns/ID/record
// serves it, with its manifest parsed: the pages show the same bytes' values.
func (p *Pages) publicRecord(c echo.Context, id int64) (*draw.Record, *draw.Manifest, error) {
	var buf bytes.Buffer
	if err := p.Public.WriteRecord(c.Request().Context(), id, &buf); err != nil {
		return nil, nil, err
	}
	var rec draw.Record
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		return nil, nil, fmt.Errorf("decode the public record of campaign %d: %w", id, err)
	}
	m, err := draw.ParseManifest([]byte(rec.Manifest))
	if err != nil {
		return nil, nil, fmt.Errorf("parse the manifest of campaign %d: %w", id, err)
	}
	return &rec, m, nil
}
