package synctest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet/devicedaybench"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// dayWork does one inspector's day offline on c: per packet the
// certificates shown, an answer to each of w.items with the packet's share
// of spec.Photos, the section sealed, and a close with two of
// spec.Signatures. It returns the day's attachments.
func dayWork(tb testing.TB, c *sdk.Client, d *device, w *world, is *apptest.Issued, spec devicedaybench.Spec) devicedaybench.Payload {
	tb.Helper()
	ctx := context.Background()
	files := tb.TempDir()
	payload := devicedaybench.Generate(*daySeed, devicedaybench.Spec{
		Signatures: spec.Signatures, SignatureBytes: spec.SignatureBytes, Photos: spec.Photos, PhotoBytes: spec.PhotoBytes,
	})
	if err := payload.WriteDir(files); err != nil {
		tb.Fatal(err)
	}
	photos, sigs := payload.OfKind(devicedaybench.KindPhoto), payload.OfKind(devicedaybench.KindSignature)
	next := func(items *[]devicedaybench.Item) string {
		if len(*items) == 0 {
			return ""
		}
		it := (*items)[0]
		*items = (*items)[1:]
		return filepath.Join(files, it.Name)
	}
	results := []string{syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable}
	for i, p := range is.Packets {
		pk, err := c.Packet(ctx, p.ID)
		if err != nil {
			tb.Fatal(err)
		}
		var shown []syncproto.CertificateShown
		var inspectors []sdk.PacketMember
		for _, m := range pk.Content.Team {
			shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
			inspectors = append(inspectors, m)
		}
		if err := c.RecordCertificates(ctx, p.ID, shown, &syncproto.Location{Latitude: 39.63, Longitude: 118.18, AccuracyM: 8}); err != nil {
			tb.Fatal(err)
		}
		d.note()
		// This packet's share of the photos, spread over the items.
		share := spec.Photos / spec.Packets
		if i < spec.Photos%spec.Packets {
			share++
		}
		for k, item := range w.items {
			var ph []string
			for j := k; j < share; j += len(w.items) {
				ph = append(ph, next(&photos))
			}
			if _, err := c.Answer(ctx, p.ID, sdk.AnswerInput{Department: w.dept, ItemCode: item, Result: results[(i+k)%3],
				Note: fmt.Sprintf("第%d家第%d项：经营场所内%d台终端，已现场核对（packet %d item %d）", i+1, k+1, 40+i, i, k), Photos: ph}); err != nil {
				tb.Fatal(err)
			}
			d.note()
		}
		if _, err := c.SealSection(ctx, p.ID); err != nil {
			tb.Fatal(err)
		}
		d.note()
		// Two signatures a visit: the representative and an inspector on a
		// signed visit, both inspectors on a refusal.
		var in sdk.CloseInput
		if i%2 == 0 {
			in = sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Signatures: []sdk.SignatureInput{
				{Role: syncproto.SignerRepresentative, Name: "王五", PNGPath: next(&sigs)},
				{Role: syncproto.SignerInspector, Name: inspectors[0].Name, InspectorID: inspectors[0].InspectorID, PNGPath: next(&sigs)},
			}}
		} else {
			in = sdk.CloseInput{Outcome: syncproto.OutcomeRefused, Note: "法定代表人拒绝签字，两名执法人员签名确认", Signatures: []sdk.SignatureInput{
				{Role: syncproto.SignerInspector, Name: inspectors[0].Name, InspectorID: inspectors[0].InspectorID, PNGPath: next(&sigs)},
				{Role: syncproto.SignerInspector, Name: inspectors[1].Name, InspectorID: inspectors[1].InspectorID, PNGPath: next(&sigs)},
			}}
		}
		if _, err := c.CloseVisit(ctx, p.ID, in); err != nil {
			tb.Fatal(err)
		}
		d.note()
	}
	if len(photos) != 0 || len(sigs) != 0 {
		tb.Fatalf("%d photos and %d signatures left over", len(photos), len(sigs))
	}
	exportDay(tb, d, spec, payload)
	return payload
}
