package syncproto_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

// The packet content is wire data too: a change is a visible diff.
func TestGoldenPacketContent(t *testing.T) {
	lat, lng := 24.4798, 118.0894
	v := syncproto.PacketContent{
		CampaignName: "2026年湖里区网吧联合抽查", WindowStart: "2026-12-01", WindowEnd: "2026-12-06",
		Enterprise: syncproto.EnterpriseSnapshot{
			CreditCode: "91350206MA2Y0E8X3K", Name: "星际网咖", Category: "internet_cafe", District: "湖里区",
			Address: "厦门市湖里区湖里大道1号", LegalRepresentative: "王五", LicenceNumber: "闽网文〔2026〕001号",
			Latitude: &lat, Longitude: &lng,
		},
		Team: []syncproto.PacketMember{
			{InspectorID: 11, Department: "culture", Name: "李明", CertificateNumber: "闽文执350200001"},
			{InspectorID: 21, Department: "market", Name: "陈静", CertificateNumber: "闽市监执350200002"},
		},
		Sections: []syncproto.PacketSection{
			{Department: "culture", Items: []syncproto.PacketItem{{CheckItemID: 1, Code: "WH-01", Version: 1, Title: "网络文化经营许可证", LegalBasis: "《互联网上网服务营业场所管理条例》第七条", AnswerType: syncproto.AnswerCompliance}}},
			{Department: "market", Items: []syncproto.PacketItem{{CheckItemID: 7, Code: "SC-03", Version: 2, Title: "经营面积（平方米）", AnswerType: syncproto.AnswerNumber}}},
		},
	}
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "packet_content.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./syncproto -update to create it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("wire format of the packet content changed (go test ./syncproto -update if intended):\n%s", got)
	}
}
