package sdk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

const testPacket = "p-2026-0001"

// testContent is a packet of two departments, as the server sends it.
var testContent = PacketContent{
	CampaignName: "2026年第一批", WindowStart: "2026-03-01", WindowEnd: "2026-03-31",
	Enterprise: EnterpriseSnapshot{CreditCode: "91310000MA1K000001", Name: "某某网吧", LegalRepresentative: "张三"},
	Team: []PacketMember{
		{InspectorID: 11, Department: "culture", Name: "李四", CertificateNumber: "C-11"},
		{InspectorID: 12, Department: "market", Name: "王五", CertificateNumber: "M-12"},
	},
	Sections: []PacketSection{
		{Department: "culture", Items: []PacketItem{
			{CheckItemID: 1, Code: "c1", Version: 1, Title: "营业执照", AnswerType: "compliance"},
			{CheckItemID: 2, Code: "c2", Version: 2, Title: "未成年人", AnswerType: "compliance"},
		}},
		{Department: "market", Items: []PacketItem{
			{CheckItemID: 3, Code: "m1", Version: 1, Title: "价格公示", AnswerType: "compliance"},
			{CheckItemID: 4, Code: "m2", Version: 1, Title: "面积", AnswerType: "number"},
		}},
	},
}

// newTestClient opens a store in a temp dir, as if enrolled as device 7 by
// inspector 11 (culture), with one packet pulled.
func newTestClient(t *testing.T, now func() time.Time) *Client {
	t.Helper()
	c, err := Open(t.TempDir(), Config{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	err = c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO device (id, server_url, device_id, private_key, public_key, username, user_json, access_token, refresh_token)
			VALUES (1, 'http://127.0.0.1:9', 7, ?, ?, 'insp-a1', '{"id":1,"username":"insp-a1","role":"inspector","inspector_id":11}', 'x', 'y')`,
			[]byte(priv), []byte(pub)).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	pullPacket(t, c, testPacket, "c1")
	return c
}

func pullPacket(t *testing.T, c *Client, id, cursor string) {
	t.Helper()
	content, _ := json.Marshal(testContent)
	data, _ := json.Marshal(syncproto.PacketState{ID: id, CampaignID: 1, Version: 1, TeamNumber: 1, Content: content})
	resp := syncproto.PullResponse{Changes: []syncproto.Change{{Seq: 1, Kind: syncproto.ChangePacket, PacketID: id, Data: data}}, Cursor: cursor}
	if err := c.tx(func(tx *gorm.DB) error { return applyPull(tx, &resp) }); err != nil {
		t.Fatal(err)
	}
}

// writePNG writes a small PNG whose pixels depend on seed.
func writePNG(t *testing.T, dir string, seed uint8) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := range img.Pix {
		img.Pix[i] = seed + uint8(i)
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sig-"+string(rune('a'+seed%26))+".png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func count(t *testing.T, c *Client, q string, args ...any) int {
	t.Helper()
	var n int64
	if err := c.db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// outboxRows is the outbox as pushAll reads it.
func outboxRows(t *testing.T, c *Client) []outboxRow {
	t.Helper()
	var rows []outboxRow
	if err := c.db.Raw(`SELECT seq, body FROM outbox ORDER BY seq`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func outbox(t *testing.T, c *Client) []syncproto.Mutation {
	t.Helper()
	rows := outboxRows(t, c)
	var out []syncproto.Mutation
	for _, r := range rows {
		var m syncproto.Mutation
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != r.Seq {
			t.Fatalf("outbox row %d holds mutation seq %d", r.Seq, m.Seq)
		}
		out = append(out, m)
	}
	return out
}

// asInspector makes the device's signed-in user inspector id (11 culture,
// 12 market).
func asInspector(t *testing.T, c *Client, id int64) {
	t.Helper()
	me, _ := json.Marshal(syncproto.Me{ID: id, Username: "insp", Role: "inspector", InspectorID: &id})
	if err := c.db.Exec(`UPDATE device SET user_json = ?`, string(me)).Error; err != nil {
		t.Fatal(err)
	}
}

// sealCulture answers every culture item compliant, records the culture
// inspector's certificate and seals the culture section.
func sealCulture(t *testing.T, c *Client) *syncproto.SealMutation {
	t.Helper()
	ctx := context.Background()
	for _, item := range []string{"c1", "c2"} {
		if _, err := c.Answer(ctx, testPacket, AnswerInput{ItemCode: item, Result: syncproto.ResultCompliant}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RecordCertificates(ctx, testPacket, []syncproto.CertificateShown{{InspectorID: 11, CertificateNumber: "C-11"}}, nil); err != nil {
		t.Fatal(err)
	}
	s, err := c.SealSection(ctx, testPacket)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedClose closes testPacket as signed by the representative.
func signedClose(t *testing.T, c *Client, covers ...string) *syncproto.SealCloseMutation {
	t.Helper()
	dir := t.TempDir()
	sc, err := c.CloseVisit(context.Background(), testPacket, CloseInput{
		Covers:  covers,
		Outcome: syncproto.OutcomeSigned,
		Signatures: []SignatureInput{{Role: syncproto.SignerRepresentative, Name: "张三", PNGPath: writePNG(t, dir, 1),
			Strokes: json.RawMessage(`[[1,2],[3,4]]`)}},
		StampPath: writePNG(t, dir, 2),
		Location:  &syncproto.Location{Latitude: 31.2, Longitude: 121.5, AccuracyM: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
