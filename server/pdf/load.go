package pdf

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spotcheck/spotcheck/server"
)

// Sources are the services the printed documents are read through, with the
// caller's authority in the context: a document holds only what its reader
// may read.
type Sources struct {
	Campaigns   server.CampaignService
	Sync        server.SyncService
	Blobs       server.BlobService
	Departments server.DepartmentService
	// Letters gives the letters' committed materials; nil prints the
	// check items in their place.
	Letters server.LetterService
	// PublicURL is where the server is reached ("https://spotcheck.example.org"),
	// the start of each verification URL; empty prints the path alone.
	PublicURL string
}

// maxImage caps the bytes of one attachment read into a document.
const maxImage = 16 << 20

// LoadRecord reads what the joint record of a packet is printed from: the
// packet, its assembled joint record and the attachments it references.
// ENOTFOUND for a packet the caller may not read.
func (s *Sources) LoadRecord(ctx context.Context, packetID string) (*Record, error) {
	p, err := s.Campaigns.FindPacketByID(ctx, packetID)
	if err != nil {
		return nil, err
	}
	jr, err := s.Sync.FindJointRecord(ctx, packetID)
	if err != nil {
		return nil, err
	}
	r := &Record{Content: &p.Content, Joint: jr, Images: map[string]Image{}, Departments: s.departmentNames(ctx),
		VerifyURL: strings.TrimRight(s.PublicURL, "/") + "/v1/packets/" + packetID + "/record"}
	for _, sha := range jr.Attachments {
		b, rc, err := s.Blobs.OpenBlob(ctx, sha)
		if server.ErrorCode(err) == server.ENOTFOUND {
			continue // not uploaded yet: printed as its hash
		} else if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxImage+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("attachment %s: %w", sha, err)
		}
		if len(data) > maxImage {
			continue
		}
		r.Images[sha] = Image{ContentType: b.ContentType, Data: data}
	}
	return r, nil
}

// departmentNames maps department codes to names; without access to the
// list, codes print as they are.
func (s *Sources) departmentNames(ctx context.Context) map[string]string {
	names := map[string]string{}
	if s.Departments == nil {
		return names
	}
	list, err := s.Departments.FindDepartments(ctx)
	if err != nil {
		return names
	}
	for _, d := range list {
		names[d.Code] = d.Name
	}
	return names
}
