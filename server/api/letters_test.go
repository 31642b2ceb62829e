package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
)

var (
	cultureMaterials = []string{"营业执照", "网络文化经营许可证", "上网消费者登记记录（近三个月）", "未成年人禁入标志设置情况"}
	marketMaterials  = []string{"营业执照", "价格公示牌及收费标准", "食品经营许可证（如经营食品）"}
	officeContact    = server.LeadContact{Office: "市文化市场综合执法支队办公室", Phone: "0592-5550123"}
)

// TestCampaign_MaterialsAndContact: each department's materials are set on
// the draft, checked, and frozen into the v3 manifest at commit; the lead's
// contact line is checked (an office line, never a mobile or an
// inspector's phone) and is the one field that may change after commit.
func TestCampaign_MaterialsAndContact(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		campaignFixture(t, h, 10)
		coordA, coordB := h.Token(t, "coord-a"), h.Token(t, "coord-b")
		body := draftBody(h, "材料清单")
		body["materials"] = []map[string]any{
			{"department_id": h.DeptB.ID, "items": marketMaterials},
			{"department_id": h.DeptA.ID, "items": cultureMaterials},
		}
		body["contact"] = map[string]string{"office": " " + officeContact.Office, "phone": officeContact.Phone}

		for name, alter := range map[string]func(b map[string]any){
			"NotParticipating": func(b map[string]any) {
				b["department_ids"] = []int64{h.DeptA.ID}
			},
			"TwiceForDepartment": func(b map[string]any) {
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": []string{"a"}}, {"department_id": h.DeptA.ID, "items": []string{"b"}}}
			},
			"DuplicateItem": func(b map[string]any) {
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": []string{"营业执照", "营业执照"}}}
			},
			"TabInItem": func(b map[string]any) {
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": []string{"营业\t执照"}}}
			},
			"EmptyItem": func(b map[string]any) {
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": []string{""}}}
			},
			"TooMany": func(b map[string]any) {
				items := make([]string, server.MaxMaterialsPerDepartment+1)
				for i := range items {
					items[i] = fmt.Sprintf("材料%d", i)
				}
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": items}}
			},
			"Formula": func(b map[string]any) {
				b["materials"] = []map[string]any{{"department_id": h.DeptA.ID, "items": []string{"=HYPERLINK(\"x\")"}}}
			},
			"MobileContact": func(b map[string]any) {
				b["contact"] = map[string]string{"office": "办公室", "phone": "13905921234"}
			},
			"NoAreaCode": func(b map[string]any) {
				b["contact"] = map[string]string{"office": "办公室", "phone": "5550123"}
			},
			"PhoneWithoutOffice": func(b map[string]any) {
				b["contact"] = map[string]string{"office": "", "phone": "0592-5550123"}
			},
			"UnknownField": func(b map[string]any) {
				b["contact"] = map[string]string{"office": "办公室", "phone": "0592-5550123", "mobile": "x"}
			},
		} {
			bad := map[string]any{}
			for k, v := range body {
				bad[k] = v
			}
			alter(bad)
			if r := h.Do(t, "POST", "/v1/campaigns", coordA, bad); r.Status != http.StatusBadRequest || r.Error().Code != "invalid" {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
			}
		}
		// A contact that is an inspector's phone is refused, whatever its form.
		in := h.Inspectors["insp-b1"]
		landline := "0592-7778888"
		if _, err := h.App.Inspectors.UpdateInspector(server.NewContextWithUser(context.Background(), h.Users["root"]), in.ID, server.InspectorUpdate{Phone: &landline}); err != nil {
			t.Fatal(err)
		}
		bad := map[string]any{}
		for k, v := range body {
			bad[k] = v
		}
		bad["contact"] = map[string]string{"office": "办公室", "phone": "05927778888"}
		if r := h.Do(t, "POST", "/v1/campaigns", coordA, bad); r.Status != http.StatusBadRequest || !strings.Contains(r.Error().Message, "执法人员") {
			t.Fatalf("an inspector's phone as contact: %d %s", r.Status, r.Body)
		}

		var c api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &c)
		if len(c.Materials) != 2 || c.Materials[0].DepartmentID != h.DeptA.ID || !slices.Equal(c.Materials[0].Items, cultureMaterials) ||
			!slices.Equal(c.Materials[1].Items, marketMaterials) {
			t.Fatalf("materials %+v", c.Materials)
		}
		if c.Contact == nil || c.Contact.Office != officeContact.Office || c.Contact.Phone != officeContact.Phone {
			t.Fatalf("contact %+v", c.Contact)
		}
		path := fmt.Sprintf("/v1/campaigns/%d", c.ID)
		// A department's materials are its own list: emptying one drops it.
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"materials": []map[string]any{{"department_id": h.DeptA.ID, "items": cultureMaterials}, {"department_id": h.DeptB.ID, "items": []string{}}}}, http.StatusOK, &c)
		if len(c.Materials) != 1 {
			t.Fatalf("materials after emptying B's: %+v", c.Materials)
		}
		h.MustDo(t, "PATCH", path, coordB, map[string]any{"materials": []map[string]any{}}, http.StatusForbidden, nil)
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"materials": []map[string]any{{"department_id": h.DeptA.ID, "items": cultureMaterials}, {"department_id": h.DeptB.ID, "items": marketMaterials}}}, http.StatusOK, &c)

		h.MustDo(t, "POST", path+"/commit", coordA, nil, http.StatusOK, &c)
		mr := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", c.ID), "", nil, http.StatusOK, nil)
		if sum := sha256.Sum256(mr.Body); hex.EncodeToString(sum[:]) != c.ManifestDigest {
			t.Fatal("the manifest does not hash to the digest")
		}
		m, err := draw.ParseManifest(mr.Body)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != draw.ManifestV3 || len(m.Departments) != 2 || !slices.Equal(m.Departments[0].Materials, cultureMaterials) || !slices.Equal(m.Departments[1].Materials, marketMaterials) {
			t.Fatalf("manifest departments %+v", m.Departments)
		}
		if !bytes.Contains(mr.Body, []byte("\nmaterial\tculture\t3\t上网消费者登记记录（近三个月）\n")) || strings.Contains(string(mr.Body), officeContact.Phone) {
			t.Fatalf("manifest:\n%.1200s", mr.Body)
		}

		// After commit: materials are frozen, the contact may change alone.
		r := h.Do(t, "PATCH", path, coordA, map[string]any{"materials": []map[string]any{}})
		if r.Status != http.StatusConflict || r.Error().Code != "conflict" {
			t.Fatalf("materials after commit: %d %s", r.Status, r.Body)
		}
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"name": "x", "contact": map[string]string{"office": "办公室", "phone": "0592-5550000"}}, http.StatusConflict, nil)
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"contact": map[string]string{"office": "办公室", "phone": "13905921234"}}, http.StatusBadRequest, nil)
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"contact": map[string]string{"office": "办公室", "phone": "0592-7778888"}}, http.StatusBadRequest, nil)
		h.MustDo(t, "PATCH", path, coordB, map[string]any{"contact": map[string]string{"office": "办公室", "phone": "0592-5550000"}}, http.StatusForbidden, nil)
		var after api.Campaign
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"contact": map[string]string{"office": "市文化市场综合执法支队", "phone": "0592-5550000-12"}}, http.StatusOK, &after)
		if after.Contact == nil || after.Contact.Phone != "0592-5550000-12" || after.ManifestDigest != c.ManifestDigest || after.Status != "committed" {
			t.Fatalf("after the contact change: %+v", after)
		}
		if mr2 := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", c.ID), "", nil, http.StatusOK, nil); !bytes.Equal(mr2.Body, mr.Body) {
			t.Fatal("the manifest changed with the contact")
		}
		if !slices.Contains(auditActions(t, h, "campaign", c.ID), "campaign.contact_update") {
			t.Fatal("the contact change is not audited")
		}
	})
}

// auditActions returns the actions of the audit events on one object, in order.
func auditActions(t *testing.T, h *apptest.Harness, objectType string, id int64) []string {
	t.Helper()
	var out []string
	if err := h.App.DB.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
		if e.ObjectType == objectType && e.ObjectID == fmt.Sprint(id) {
			out = append(out, e.Action)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rep, err := h.App.DB.VerifyAudit(context.Background(), nil); err != nil || !rep.OK() {
		t.Fatalf("audit verify: %v %+v", err, rep)
	}
	return out
}

// TestCampaignLetters_MaterialsAndContact: the letter lists each
// department's materials from the committed manifest and prints the
// campaign's contact line; a ?contact= override is refused.
func TestCampaignLetters_MaterialsAndContact(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, Contact: officeContact,
			Materials: map[string][]string{h.DeptA.Code: cultureMaterials, h.DeptB.Code: marketMaterials}})
		tok := h.Token(t, "admin-b") // a participating department reads the letters
		base := fmt.Sprintf("/v1/campaigns/%d/letters.pdf", is.Campaign.ID)
		p := is.Packets[0]
		txt := pdfText(t, h.MustDo(t, "GET", base+"?target="+p.CreditCode, tok, nil, http.StatusOK, nil).Body)
		pdfHas(t, txt, "请准备的材料", h.DeptA.Name+"：", h.DeptB.Name+"：", officeContact.Office, "联系电话："+officeContact.Phone)
		flat := strings.Join(strings.Fields(txt), "")
		for _, list := range [][]string{cultureMaterials, marketMaterials} {
			for i, m := range list {
				pdfHas(t, txt, fmt.Sprintf("%d.%s", i+1, m))
			}
		}
		// Materials are printed per department, in the department's order.
		a, b := strings.Index(flat, h.DeptA.Name+"："), strings.Index(flat, h.DeptB.Name+"：")
		if a < 0 || b < 0 || !strings.Contains(flat[a:], "4."+cultureMaterials[3]) || strings.Index(flat[a:], "1."+cultureMaterials[0]) > strings.Index(flat[a:], "2."+cultureMaterials[1]) {
			t.Fatalf("materials not listed per department:\n%s", txt)
		}
		if strings.Contains(flat, "联系部门：____________") {
			t.Fatal("the stored contact line is not printed")
		}
		r := h.Do(t, "GET", base+"?contact=x", tok, nil)
		if r.Status != http.StatusBadRequest || r.Error().Code != "invalid" {
			t.Fatalf("?contact=: %d %s", r.Status, r.Body)
		}

		// The materials come from the manifest: the draft's list is frozen.
		var c api.Campaign
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d", is.Campaign.ID), tok, nil, http.StatusOK, &c)
		if len(c.Materials) != 2 {
			t.Fatalf("campaign materials %+v", c.Materials)
		}
	})
}

// TestCampaignLetters_BeforePackets: before the packets exist there are no
// letters (no team, so no certificate numbers): the letters, the unserved
// list and a delivery record answer 409 conflict, and nothing changes.
func TestCampaignLetters_BeforePackets(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, NoPackets: true})
		if is.Campaign.Status != server.CampaignTeamed || len(is.Packets) != 0 {
			t.Fatalf("campaign %s with %d packets", is.Campaign.Status, len(is.Packets))
		}
		tok := h.Token(t, "coord-a")
		id := is.Campaign.ID
		sel, err := h.App.Campaigns.FindSelections(server.NewContextWithUser(context.Background(), h.Users["root"]), id)
		if err != nil || len(sel) == 0 {
			t.Fatalf("selections %v %v", sel, err)
		}
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", fmt.Sprintf("/v1/campaigns/%d/letters.pdf", id), nil},
			{"GET", fmt.Sprintf("/v1/campaigns/%d/letters.pdf?target=%s", id, sel[0].CreditCode), nil},
			{"GET", fmt.Sprintf("/v1/campaigns/%d/letters/unserved", id), nil},
			{"POST", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", id), api.RecordDeliveryRequest{
				CreditCode: sel[0].CreditCode, DeliveredOn: today(h), Method: "in_person"}},
		} {
			r := h.Do(t, c.method, c.path, tok, c.body)
			if r.Status != http.StatusConflict || r.Error().Code != "conflict" || !strings.Contains(r.Error().Message, "尚未生成检查包") {
				t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
			}
		}
		var list api.List[api.LetterDelivery]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", id), tok, nil, http.StatusOK, &list)
		if list.Total != 0 {
			t.Fatalf("deliveries before packets: %+v", list)
		}
	})
}

func today(h *apptest.Harness) server.Date {
	return server.DateOf(h.Now().In(calendar.Shanghai()))
}

// sendFile posts body with a content type.
func sendFile(t *testing.T, h *apptest.Harness, path, token, contentType string, body []byte) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", h.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	return h.Send(t, req)
}

func scanPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(3, 3, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLetterDeliveries: the lead coordinator records each target's
// delivery, with a proof; a retry is answered with the same record, a
// different record needs a correction reason and is kept in history; the
// unserved list shrinks; participating staff read; every record is audited.
func TestLetterDeliveries(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 3})
		id := is.Campaign.ID
		base := fmt.Sprintf("/v1/campaigns/%d/letters", id)
		h.Advance(24 * time.Hour) // served the day after the letters were issued
		coordA, coordB, adminB, inspA := h.Token(t, "coord-a"), h.Token(t, "coord-b"), h.Token(t, "admin-b"), h.Token(t, "insp-a1")

		var unserved api.List[api.UnservedTarget]
		h.MustDo(t, "GET", base+"/unserved", adminB, nil, http.StatusOK, &unserved)
		if unserved.Total != len(is.Packets) {
			t.Fatalf("unserved %+v for %d packets", unserved, len(is.Packets))
		}
		for _, u := range unserved.Items {
			i := slices.IndexFunc(is.Packets, func(p *server.Packet) bool { return p.CreditCode == u.CreditCode })
			if i < 0 || u.Name != is.Packets[i].Content.Enterprise.Name || u.TeamNumber != is.Packets[i].TeamNumber {
				t.Fatalf("unserved item %+v", u)
			}
		}
		p := is.Packets[0]

		// A proof: a PDF scan, checked against its bytes.
		scan := h.MustDo(t, "GET", base+".pdf?target="+p.CreditCode, coordA, nil, http.StatusOK, nil).Body
		var proof api.LetterProof
		if r := sendFile(t, h, base+"/proofs", coordA, "application/pdf", scan); r.Status != http.StatusCreated {
			t.Fatalf("proof upload: %d %s", r.Status, r.Body)
		} else if err := json.Unmarshal(r.Body, &proof); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(scan); proof.SHA256 != hex.EncodeToString(sum[:]) || proof.ContentType != "application/pdf" || proof.Size != int64(len(scan)) {
			t.Fatalf("proof %+v", proof)
		}
		pngScan := scanPNG(t)
		if r := sendFile(t, h, base+"/proofs", coordA, "image/png", pngScan); r.Status != http.StatusCreated {
			t.Fatalf("PNG proof: %d %s", r.Status, r.Body)
		}
		for name, c := range map[string]struct {
			ct     string
			body   []byte
			status int
			code   string
		}{
			"NotAPDF":      {"application/pdf", []byte("%PDF-1.7\nthis is not really a PDF document at all\n"), http.StatusUnprocessableEntity, "attachment_refused"},
			"PNGAsPDF":     {"application/pdf", pngScan, http.StatusUnprocessableEntity, "attachment_refused"},
			"PDFAsJPEG":    {"image/jpeg", scan, http.StatusUnprocessableEntity, "attachment_refused"},
			"Text":         {"text/plain", []byte("hello"), http.StatusUnsupportedMediaType, "unsupported_type"},
			"Empty":        {"application/pdf", nil, http.StatusBadRequest, "invalid"},
			"TooLarge":     {"application/pdf", bytes.Repeat([]byte("x"), api.MaxProofBytes+1), http.StatusRequestEntityTooLarge, "too_large"},
			"Truncated":    {"application/pdf", scan[:len(scan)/2], http.StatusUnprocessableEntity, "attachment_refused"},
			"OtherCoord":   {"application/pdf", scan, http.StatusForbidden, "forbidden"},
			"Inspector":    {"application/pdf", scan, http.StatusForbidden, "forbidden"},
			"DeptBAdminUp": {"application/pdf", scan, http.StatusForbidden, "forbidden"},
		} {
			tok := coordA
			switch name {
			case "OtherCoord":
				tok = coordB
			case "Inspector":
				tok = inspA
			case "DeptBAdminUp":
				tok = adminB
			}
			r := sendFile(t, h, base+"/proofs", tok, c.ct, c.body)
			if r.Status != c.status || r.Error().Code != c.code {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}

		// Record, and retry.
		req := api.RecordDeliveryRequest{CreditCode: p.CreditCode, DeliveredOn: today(h), Method: "in_person", ProofSHA256: proof.SHA256, Note: "法定代表人签收"}
		var d1, again api.LetterDelivery
		h.MustDo(t, "POST", base+"/deliveries", coordA, req, http.StatusCreated, &d1)
		if d1.Version != 1 || !d1.Current || d1.MethodLabel != "直接送达" || d1.ProofSHA256 != proof.SHA256 || d1.DeliveredOn != today(h) {
			t.Fatalf("recorded %+v", d1)
		}
		h.MustDo(t, "POST", base+"/deliveries", coordA, req, http.StatusOK, &again)
		if again.ID != d1.ID || again.Version != 1 {
			t.Fatalf("a retry made %+v", again)
		}
		h.MustDo(t, "GET", base+"/unserved", coordA, nil, http.StatusOK, &unserved)
		if unserved.Total != len(is.Packets)-1 || slices.ContainsFunc(unserved.Items, func(u api.UnservedTarget) bool { return u.CreditCode == p.CreditCode }) {
			t.Fatalf("unserved after one delivery: %+v", unserved)
		}

		// A different record is a correction: refused without a reason.
		corr := req
		corr.Method, corr.ProofSHA256, corr.Note = "post", "", "挂号信 XA123456789CN"
		r := h.Do(t, "POST", base+"/deliveries", coordA, corr)
		if r.Status != http.StatusConflict || r.Error().Code != "conflict" {
			t.Fatalf("correction without reason: %d %s", r.Status, r.Body)
		}
		corr.CorrectionReason = "实际为邮寄送达，误记为直接送达"
		var d2 api.LetterDelivery
		h.MustDo(t, "POST", base+"/deliveries", coordA, corr, http.StatusCreated, &d2)
		if d2.Version != 2 || d2.Method != "post" || d2.CorrectionReason != corr.CorrectionReason || !d2.Current {
			t.Fatalf("correction %+v", d2)
		}
		h.MustDo(t, "POST", base+"/deliveries", coordA, corr, http.StatusOK, &again) // a retried correction
		if again.ID != d2.ID {
			t.Fatalf("a retried correction made %+v", again)
		}

		var list api.List[api.LetterDelivery]
		h.MustDo(t, "GET", base+"/deliveries?credit_code="+p.CreditCode, adminB, nil, http.StatusOK, &list)
		if list.Total != 2 || list.Items[0].ID != d1.ID || list.Items[0].Current || !list.Items[1].Current || list.Items[1].ID != d2.ID {
			t.Fatalf("history %+v", list)
		}

		// Bad records change nothing.
		other := is.Packets[1].CreditCode
		for name, c := range map[string]struct {
			body   any
			status int
		}{
			"CorrectionOfNothing": {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post", CorrectionReason: "x"}, http.StatusBadRequest},
			"Future":              {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: server.DateOf(h.Now().Add(48 * time.Hour)), Method: "post"}, http.StatusBadRequest},
			"BeforeIssue":         {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: server.DateOf(h.Now().Add(-30 * 24 * time.Hour)), Method: "post"}, http.StatusBadRequest},
			"Method":              {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "fax"}, http.StatusBadRequest},
			"NoDate":              {map[string]string{"credit_code": other, "method": "post"}, http.StatusBadRequest},
			"NotATarget":          {api.RecordDeliveryRequest{CreditCode: "91350200000000000X", DeliveredOn: today(h), Method: "post"}, http.StatusNotFound},
			"UnknownProof":        {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post", ProofSHA256: strings.Repeat("ab", 32)}, http.StatusBadRequest},
			"BadProof":            {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post", ProofSHA256: "XYZ"}, http.StatusBadRequest},
			"UnknownField":        {map[string]string{"credit_code": other, "delivered_on": today(h).String(), "method": "post", "signed_by": "x"}, http.StatusBadRequest},
			"LongNote":            {api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post", Note: strings.Repeat("长", server.MaxDeliveryNote+1)}, http.StatusBadRequest},
		} {
			if r := h.Do(t, "POST", base+"/deliveries", coordA, c.body); r.Status != c.status {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		h.MustDo(t, "POST", base+"/deliveries", coordB, api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post"}, http.StatusForbidden, nil)
		h.MustDo(t, "POST", base+"/deliveries", adminB, api.RecordDeliveryRequest{CreditCode: other, DeliveredOn: today(h), Method: "post"}, http.StatusForbidden, nil)
		h.MustDo(t, "GET", base+"/deliveries", inspA, nil, http.StatusForbidden, nil)
		h.MustDo(t, "GET", base+"/deliveries", coordA, nil, http.StatusOK, &list)
		if list.Total != 2 {
			t.Fatalf("bad records were kept: %+v", list)
		}

		// The proof reads back to participating staff.
		got := h.MustDo(t, "GET", base+"/proofs?sha256="+proof.SHA256, adminB, nil, http.StatusOK, nil)
		if !bytes.Equal(got.Body, scan) || got.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("proof read back: %s, %d bytes", got.Header.Get("Content-Type"), len(got.Body))
		}
		assertUploadedHeaders(t, got, proof.SHA256[:12]+".pdf")
		h.MustDo(t, "GET", base+"/proofs?sha256="+strings.Repeat("ab", 32), adminB, nil, http.StatusNotFound, nil)
		h.MustDo(t, "GET", base+"/proofs?sha256=nope", adminB, nil, http.StatusBadRequest, nil)
		// Knowing the hash grants nothing in another campaign.
		onlyB := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 1, Departments: []*server.Department{h.DeptB}})
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/proofs?sha256=%s", onlyB.Campaign.ID, proof.SHA256), h.Token(t, "root"), nil, http.StatusNotFound, nil)
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", onlyB.Campaign.ID), coordA, nil, http.StatusNotFound, nil)
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/unserved", onlyB.Campaign.ID), coordA, nil, http.StatusNotFound, nil)

		// Served in full: the list is empty.
		for _, q := range is.Packets[1:] {
			h.MustDo(t, "POST", base+"/deliveries", h.Token(t, "root"), api.RecordDeliveryRequest{CreditCode: q.CreditCode, DeliveredOn: today(h), Method: "electronic"}, http.StatusCreated, nil)
		}
		h.MustDo(t, "GET", base+"/unserved", coordA, nil, http.StatusOK, &unserved)
		if unserved.Total != 0 || unserved.Items == nil {
			t.Fatalf("unserved when all are served: %+v", unserved)
		}

		actions := auditActions(t, h, "campaign", id)
		var rec, proofs int
		for _, a := range actions {
			switch a {
			case "letter.delivery_record":
				rec++
			case "letter.proof_add":
				proofs++
			}
		}
		if rec != 2+len(is.Packets)-1 || proofs != 2 {
			t.Fatalf("audit: %d delivery records, %d proofs: %v", rec, proofs, actions)
		}
	})
}

// TestLetterDeliveries_ConcurrentRetries: the same record sent several
// times at once (a client retrying over a bad link) is kept once; every
// answer names that one record.
func TestLetterDeliveries_ConcurrentRetries(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 1})
		base := fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", is.Campaign.ID)
		tok := h.Token(t, "coord-a")
		req := api.RecordDeliveryRequest{CreditCode: is.Packets[0].CreditCode, DeliveredOn: today(h), Method: "post", Note: "挂号信 XA123456789CN"}
		const n = 6
		type answer struct {
			status int
			id     int64
		}
		answers := make(chan answer, n)
		for range n {
			go func() {
				r := h.Do(t, "POST", base, tok, req)
				var d api.LetterDelivery
				_ = json.Unmarshal(r.Body, &d)
				answers <- answer{r.Status, d.ID}
			}()
		}
		created, ids := 0, map[int64]bool{}
		for range n {
			a := <-answers
			switch a.status {
			case http.StatusCreated:
				created++
			case http.StatusOK:
			default:
				t.Fatalf("a retry answered %d", a.status)
			}
			ids[a.id] = true
		}
		if created != 1 || len(ids) != 1 || ids[0] {
			t.Fatalf("%d created, ids %v", created, ids)
		}
		var list api.List[api.LetterDelivery]
		h.MustDo(t, "GET", base, tok, nil, http.StatusOK, &list)
		if list.Total != 1 {
			t.Fatalf("%d records kept", list.Total)
		}
	})
}

// assertUploadedHeaders: a file someone uploaded is served as an attachment
// named by its hash, in a sandbox, never sniffed: a PDF or image that is
// also HTML cannot run script on the API's origin.
func assertUploadedHeaders(t *testing.T, r *apptest.Response, name string) {
	t.Helper()
	h := r.Header
	if h.Get("Content-Disposition") != `attachment; filename="`+name+`"` || h.Get("Content-Security-Policy") != api.UploadedCSP ||
		h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("uploaded file served with Content-Disposition %q, Content-Security-Policy %q, X-Content-Type-Options %q",
			h.Get("Content-Disposition"), h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"))
	}
}
