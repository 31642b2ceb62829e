package api

import (
	"context"
	"io"

	"github.com/labstack/echo/v4"
)

// campaignRoutes: drafts, check items, commit, draw (mounted at /v1).
func (s *Server) campaignRoutes(g *echo.Group) {}

// publicRoutes: the unauthenticated public record of draws.
func (s *Server) publicRoutes(e *echo.Echo) {}

// PublicRecords serves committed campaigns' manifests and draw records to
// anyone. The store implements it.
type PublicRecords interface {
	// FindPublicCampaigns lists committed campaigns: id, name, status, digest.
	FindPublicCampaigns(ctx context.Context) ([]PublicCampaign, error)
	// WriteManifest streams the canonical manifest; ENOTFOUND for a draft.
	WriteManifest(ctx context.Context, id int64, w io.Writer) error
	// WriteRecord streams the draw record as JSON (draw.Record); ENOTFOUND for a draft.
	WriteRecord(ctx context.Context, id int64, w io.Writer) error
}

// PublicCampaign is a committed campaign as the public sees it.
type PublicCampaign struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Status         string `json:"status"`
	WindowStart    string `json:"window_start"`
	WindowEnd      string `json:"window_end"`
	ManifestDigest string `json:"manifest_digest"`
	PopulationSize int    `json:"population_size"`
	Seed           string `json:"seed,omitempty"`
}
