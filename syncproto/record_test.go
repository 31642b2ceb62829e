package syncproto_test

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

func TestAssembleJointRecord(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	content := &syncproto.PacketContent{WindowStart: "2026-12-01", WindowEnd: "2026-12-06",
		Sections: []syncproto.PacketSection{{Department: "culture"}, {Department: "market"}}}
	culture := syncproto.SealedSection{SealMutation: *sealedSection(t, key)}
	market := culture
	market.Section.Department, market.Hash = "market", strings.Repeat("d", 64)
	cl := syncproto.SealedClose{SealCloseMutation: *sealedClose(t, key, &culture.SealMutation)} // covers culture and market (hash d…)
	codes := func(jr *syncproto.JointRecord) []string {
		var out []string
		for _, f := range jr.Flags {
			out = append(out, f.Code+":"+f.Department)
		}
		return out
	}

	jr := syncproto.AssembleJointRecord("7f3a9c", content, []syncproto.SealedSection{market, culture}, []syncproto.SealedClose{cl})
	if !jr.Complete || len(jr.Flags) != 0 {
		t.Fatalf("complete record flagged: %v", codes(jr))
	}
	if jr.Sections[0].Department != "culture" || jr.Sections[1].Current.Hash != market.Hash || len(jr.Sections[0].CoveredBy) != 1 {
		t.Fatalf("sections: %+v", jr.Sections)
	}
	want := []string{strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)}
	if !slices.Equal(jr.Attachments, want) {
		t.Fatalf("attachments %v", jr.Attachments)
	}

	for name, tc := range map[string]struct {
		sections []syncproto.SealedSection
		closes   []syncproto.SealedClose
		want     []string
	}{
		"NoClose":          {[]syncproto.SealedSection{culture, market}, nil, []string{syncproto.FlagNoClose + ":"}},
		"MarketNotSealed":  {[]syncproto.SealedSection{culture}, []syncproto.SealedClose{cl}, []string{syncproto.FlagCloseCoversUnknown + ":market", syncproto.FlagSectionNotSealed + ":market"}},
		"TwoCloses":        {[]syncproto.SealedSection{culture, market}, []syncproto.SealedClose{cl, cl}, []string{syncproto.FlagSeveralCloses + ":"}},
		"CorrectedAfterIt": {[]syncproto.SealedSection{culture, market, corrected(culture)}, []syncproto.SealedClose{cl}, []string{syncproto.FlagSectionNotCovered + ":culture"}},
	} {
		t.Run(name, func(t *testing.T) {
			jr := syncproto.AssembleJointRecord("7f3a9c", content, tc.sections, tc.closes)
			if got := codes(jr); !slices.Equal(got, tc.want) || jr.Complete {
				t.Fatalf("flags %v, want %v (complete %v)", got, tc.want, jr.Complete)
			}
			if len(jr.Closes) != len(tc.closes) {
				t.Fatalf("%d closes kept of %d", len(jr.Closes), len(tc.closes))
			}
		})
	}
}

func corrected(s syncproto.SealedSection) syncproto.SealedSection {
	s.Section.Version, s.Hash = 2, strings.Repeat("f", 64)
	return s
}

func TestWindowFlags(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-11-30 23:30 UTC is 2026-12-01 07:30 in Shanghai: inside.
	if f := syncproto.WindowFlags("2026-12-01", "2026-12-06", at("2026-11-30T23:30:00Z"), at("2026-12-06T15:59:00Z")); len(f) != 0 {
		t.Fatalf("inside the window flagged: %v", f)
	}
	f := syncproto.WindowFlags("2026-12-01", "2026-12-06", at("2026-11-17T09:00:00+08:00"), at("2026-12-06T16:00:00Z"))
	if len(f) != 2 || f[0].Code != syncproto.FlagDeviceTimeOutsideWindow || f[1].Code != syncproto.FlagReceivedOutsideWindow {
		t.Fatalf("flags %v", f)
	}
}
