package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/calendar"
)

// The notification letter screens: the lead coordinator sets the contact
// line, downloads a letter that prints it, records a delivery with a
// scanned receipt, sees the target leave the unserved list, and corrects
// the record, which needs a reason.

func TestBrowser_Letters(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Name: "全市网吧联合抽查", Cafes: 3,
			Materials: map[string][]string{"culture": {"营业执照", "网络文化经营许可证"}}})
		id := is.Campaign.ID
		lettersURL := fmt.Sprintf("%s/console/campaigns/%d/letters", h.URL, id)
		coord := h.Token(t, "coord-a")
		unserved := func() []string {
			var l api.List[api.UnservedTarget]
			h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/unserved", id), coord, nil, http.StatusOK, &l)
			var out []string
			for _, u := range l.Items {
				out = append(out, u.CreditCode)
			}
			return out
		}
		ctx := b.Tab(t)

		// Signed in from the page's link, back on the page.
		browsertest.Open(t, ctx, lettersURL)
		signIn(t, ctx, "coord-a", apptest.Password)
		if loc := browsertest.Get(t, ctx, chromedp.Location()); loc != lettersURL {
			t.Fatalf("after sign-in at %s", loc)
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "告知书与送达" {
			t.Fatalf("heading %q", got)
		}
		if got := browsertest.Text(t, ctx, "#contact-none"); !strings.Contains(got, "尚未设置") {
			t.Errorf("contact before it is set: %q", got)
		}
		if got := browsertest.Text(t, ctx, "#materials"); !strings.Contains(got, "营业执照") || !strings.Contains(got, "网络文化经营许可证") || !strings.Contains(got, "不可修改") {
			t.Errorf("committed materials: %q", got)
		}
		before := unserved()
		if len(before) != 3 {
			t.Fatalf("%d unserved targets before any delivery", len(before))
		}
		if got := browsertest.Text(t, ctx, "#unserved-count"); got != "共 3 家" {
			t.Errorf("unserved count %q", got)
		}
		if got := pageCodes(t, ctx, "table.unserved .credit-code"); !slices.Equal(got, before) {
			t.Errorf("unserved on the page %v, API %v", got, before)
		}
		assertChinese(t, ctx)

		// The contact line: a mobile number is refused next to the field,
		// the values kept; an office line is saved.
		const office, mobile, phone = "市文化市场综合执法支队办公室", "13912345678", "0592-5550123"
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`#contact-form input[name="office"]`), office),
			chromedp.SendKeys(chromedp.CSS(`#contact-form input[name="phone"]`), mobile),
		)
		if st := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#contact-form button`))).Status; st != http.StatusBadRequest {
			t.Errorf("mobile contact: status %d", st)
		}
		if got := browsertest.Text(t, ctx, "#contact-form .field-error"); !strings.Contains(got, "不得填写个人手机号") {
			t.Errorf("mobile contact error %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`#contact-form input[name="office"]`))); got != office {
			t.Errorf("office not kept: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#contact-form input[name="phone"]`), phone))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#contact-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已保存告知书上的联系方式" {
			t.Errorf("flash %q", got)
		}
		if got := browsertest.Text(t, ctx, "#contact-office") + " " + browsertest.Text(t, ctx, "#contact-phone"); got != office+" "+phone {
			t.Errorf("contact shown %q", got)
		}
		var cp api.Campaign
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d", id), coord, nil, http.StatusOK, &cp)
		if cp.Contact == nil || cp.Contact.Office != office || cp.Contact.Phone != phone {
			t.Errorf("the campaign's contact: %+v", cp.Contact)
		}

		// A target's letter, downloaded with the session: a PDF that
		// prints the contact line; the merged one holds every target.
		target := before[0]
		letter := fetch(t, ctx, browsertest.Get(t, ctx, chromedp.Evaluate[string](
			fmt.Sprintf(`document.querySelector('tr[data-credit-code="%s"] a[href*="letters.pdf"]').href`, target))))
		text := pdfText(t, letter)
		for _, want := range []string{"告知书", office, phone, target} {
			if !strings.Contains(text, want) {
				t.Errorf("the letter lacks %q:\n%s", want, text)
			}
		}
		r := h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters.pdf?target=%s", id, target), coord, nil, http.StatusOK, nil)
		if viaAPI := pdfText(t, fetchedFile{Status: r.Status, Type: r.Header.Get("Content-Type"), Body: r.Body}); viaAPI != text {
			t.Errorf("the console's letter differs from the API's:\n%s\n---\n%s", text, viaAPI)
		}
		merged := pdfText(t, fetch(t, ctx, browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.getElementById("letters-pdf").href`))))
		for _, code := range before {
			if !strings.Contains(merged, code) {
				t.Errorf("the merged letters lack %s", code)
			}
		}

		// Recording the delivery, with a scanned receipt. A file that is not
		// what its type says is refused as the API's proof route refuses
		// it; a date after today is refused next to the date, the receipt
		// kept so it need not be sent again.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`table.unserved a[href$="/targets/%s"]`, target))))
		if got := browsertest.Text(t, ctx, "#credit-code"); got != target {
			t.Fatalf("target page for %q", got)
		}
		if got := browsertest.Text(t, ctx, "#not-served"); !strings.Contains(got, "尚无送达记录") {
			t.Errorf("before delivery: %q", got)
		}
		assertChinese(t, ctx)
		dir := t.TempDir()
		scan := scanPNG(t)
		scanPath, fakePath := filepath.Join(dir, "回执.png"), filepath.Join(dir, "伪造.png")
		if err := os.WriteFile(scanPath, scan, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fakePath, []byte("这不是图片，只是一段文字。"), 0o600); err != nil {
			t.Fatal(err)
		}
		local := h.Now().In(calendar.Shanghai())
		today, tomorrow := server.DateOf(local).String(), server.DateOf(local.AddDate(0, 0, 1)).String()
		browsertest.Do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input[name="delivered_on"]`), today),
			chromedp.Click(chromedp.CSS(`input[name="method"][value="post"]`)),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name="proof"]`), []string{fakePath}),
			chromedp.SendKeys(chromedp.CSS(`textarea[name="note"]`), "挂号信已签收"),
		)
		if st := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#delivery-form button`))).Status; st != http.StatusUnprocessableEntity {
			t.Errorf("a proof that is not a PNG: status %d", st)
		}
		if got := browsertest.Text(t, ctx, `input[name="proof"] + .field-error`); !strings.Contains(got, "未予保存") {
			t.Errorf("a proof that is not a PNG says %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`textarea[name="note"]`))); got != "挂号信已签收" {
			t.Errorf("note not kept: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input[name="delivered_on"]`), tomorrow),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name="proof"]`), []string{scanPath}),
		)
		if st := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#delivery-form button`))).Status; st != http.StatusBadRequest {
			t.Errorf("a delivery tomorrow: status %d", st)
		}
		if got := browsertest.Text(t, ctx, `input[name="delivered_on"] + .field-error`); !strings.Contains(got, "送达日期须在") {
			t.Errorf("a delivery tomorrow says %q", got)
		}
		if got := browsertest.Text(t, ctx, "#proof-kept"); !strings.Contains(got, "无需再次上传") {
			t.Errorf("the receipt uploaded is not kept: %q", got)
		}
		if got := unserved(); !slices.Contains(got, target) {
			t.Fatalf("a refused delivery was recorded: unserved %v", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`input[name="delivered_on"]`), today))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#delivery-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已记录送达" {
			t.Fatalf("after recording: %q (%s)", got, browsertest.Text(t, ctx, "main"))
		}
		if got := browsertest.Text(t, ctx, "#current-date") + " " + browsertest.Text(t, ctx, "#current-method"); got != today+" 邮寄送达" {
			t.Errorf("current record %q", got)
		}
		var ds api.List[api.LetterDelivery]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries?credit_code=%s", id, target), coord, nil, http.StatusOK, &ds)
		if ds.Total != 1 || ds.Items[0].Method != "post" || ds.Items[0].Note != "挂号信已签收" || ds.Items[0].ProofSHA256 == "" {
			t.Fatalf("the delivery recorded: %+v", ds.Items)
		}
		proof := fetch(t, ctx, browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.getElementById("current-proof").href`)))
		if proof.Type != "image/png" || !bytes.Equal(proof.Body, scan) {
			t.Errorf("the proof downloaded: %s, %d bytes", proof.Type, len(proof.Body))
		}
		assertChinese(t, ctx)

		// The target left the unserved list, on the page as in the API.
		browsertest.Open(t, ctx, lettersURL)
		after := unserved()
		if len(after) != 2 || slices.Contains(after, target) {
			t.Fatalf("unserved after the delivery: %v", after)
		}
		if got := browsertest.Text(t, ctx, "#unserved-count"); got != "共 2 家" {
			t.Errorf("unserved count %q", got)
		}
		if got := pageCodes(t, ctx, "table.unserved .credit-code"); !slices.Equal(got, after) {
			t.Errorf("unserved on the page %v, API %v", got, after)
		}
		if got := browsertest.Text(t, ctx, "#targets h2"); !strings.Contains(got, "已送达 1 / 共 3 家") {
			t.Errorf("served count %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "letters")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// A correction without a reason: refused next to the reason, the
		// values kept, nothing recorded; with one, a second version.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-credit-code="%s"] a[href$="/targets/%s"]`, target, target))))
		browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS(`input[name="method"][value="in_person"]`)))
		if st := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#delivery-form button`))).Status; st != http.StatusConflict {
			t.Errorf("correction without a reason: status %d", st)
		}
		if got := browsertest.Text(t, ctx, `textarea[name="correction_reason"] + .field-error`); !strings.Contains(got, "请说明更正理由") {
			t.Errorf("correction without a reason says %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.querySelector('input[name="method"]:checked').value`)); got != "in_person" {
			t.Errorf("method not kept: %q", got)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries?credit_code=%s", id, target), coord, nil, http.StatusOK, &ds)
		if ds.Total != 1 {
			t.Fatalf("a refused correction was recorded: %+v", ds.Items)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`textarea[name="correction_reason"]`), "实为执法人员直接送达，登记有误"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#delivery-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已更正送达记录（第2版）" {
			t.Fatalf("after the correction: %q", got)
		}
		if got := browsertest.Text(t, ctx, "#current-method"); got != "直接送达" {
			t.Errorf("current method %q", got)
		}
		if got := browsertest.Text(t, ctx, "#history"); !strings.Contains(got, "共 2 版") || !strings.Contains(got, "邮寄送达") || !strings.Contains(got, "实为执法人员直接送达，登记有误") {
			t.Errorf("history %q", got)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries?credit_code=%s", id, target), coord, nil, http.StatusOK, &ds)
		if ds.Total != 2 || !ds.Items[1].Current || ds.Items[1].Method != "in_person" || ds.Items[1].ProofSHA256 != ds.Items[0].ProofSHA256 {
			t.Errorf("after the correction (the proof kept): %+v", ds.Items)
		}
		assertChinese(t, ctx)
		assertFits(t, ctx, 820, 1180)
		browsertest.Screenshot(t, ctx, "letters-delivery")
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// A draft's materials, one department at a time: a material listed
		// twice is refused next to that department's field, the lines
		// kept; then saved as the API shows them, the other department's
		// untouched.
		draft := &server.Campaign{
			Name: "下半年网吧联合抽查", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID, h.DeptB.ID},
			WindowStart: is.Campaign.WindowStart, WindowEnd: is.Campaign.WindowEnd, Category: is.Campaign.Category,
			Ratio: is.Campaign.Ratio, InspectorsPerDepartment: 1, TargetsPerTeam: 2, CheckItemIDs: is.Campaign.CheckItemIDs,
			RandomnessSources: is.Campaign.RandomnessSources, SourcesAvailableAt: h.SourcesAvailableAt(),
			Materials: []server.CampaignMaterials{{DepartmentID: h.DeptA.ID, Items: []string{"营业执照"}}},
		}
		if err := h.App.Campaigns.CreateCampaign(server.NewContextWithUser(context.Background(), h.Users["coord-a"]), draft); err != nil {
			t.Fatal(err)
		}
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/letters", h.URL, draft.ID))
		formB := fmt.Sprintf("#materials-%d form", h.DeptB.ID)
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(formB+` textarea[name="items"]`), "营业执照\n从业人员健康证明\n营业执照"))
		if st := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(formB+" button"))).Status; st != http.StatusBadRequest {
			t.Errorf("a material listed twice: status %d", st)
		}
		if got := browsertest.Text(t, ctx, formB+" .field-error"); !strings.Contains(got, "列了两次") {
			t.Errorf("a material listed twice says %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(formB+` textarea[name="items"]`))); got != "营业执照\n从业人员健康证明\n营业执照" {
			t.Errorf("lines not kept: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(formB+` textarea[name="items"]`), "营业执照\n从业人员健康证明\n"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(formB+" button")))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已保存材料清单" {
			t.Errorf("after saving the materials: %q", got)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d", draft.ID), coord, nil, http.StatusOK, &cp)
		wantMaterials := []api.Materials{{DepartmentID: h.DeptA.ID, Items: []string{"营业执照"}}, {DepartmentID: h.DeptB.ID, Items: []string{"营业执照", "从业人员健康证明"}}}
		if fmt.Sprint(cp.Materials) != fmt.Sprint(wantMaterials) {
			t.Errorf("the draft's materials %v, want %v", cp.Materials, wantMaterials)
		}
		if got := browsertest.Text(t, ctx, fmt.Sprintf("#materials-%d ol.materials", h.DeptB.ID)); got != "营业执照\n从业人员健康证明" {
			t.Errorf("materials shown %q", got)
		}
		assertChinese(t, ctx)

		// Before the packets there are no letters: said in Chinese, on the
		// page and for the PDF.
		early := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, NoPackets: true})
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/letters", h.URL, early.Campaign.ID))
		if got := browsertest.Text(t, ctx, "#unserved .notice"); got != "检查包下发后才能出具和送达告知书。" {
			t.Errorf("unserved before the packets: %q", got)
		}
		assertChinese(t, ctx)
		resp := browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/letters.pdf", h.URL, early.Campaign.ID))
		if resp.Status != http.StatusConflict || !strings.Contains(browsertest.Text(t, ctx, "main"), "尚未生成检查包") {
			t.Errorf("letters before the packets: %d %q", resp.Status, browsertest.Text(t, ctx, "main"))
		}
		assertChinese(t, ctx)
	})
}

// fetchedFile is a file fetched in the tab, with the tab's session.
type fetchedFile struct {
	Status int
	Type   string
	Body   []byte
}

// fetch gets url from the page, as a link would, and fails t unless it
// answers 200.
func fetch(t *testing.T, ctx context.Context, url string) fetchedFile {
	t.Helper()
	type answer struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	r := browsertest.Get(t, ctx, chromedp.Evaluate[answer](fmt.Sprintf(`fetch(%q).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer());
		let s = "";
		for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
		return {status: r.status, type: r.headers.get("Content-Type") || "", body: btoa(s)};
	})`, url), chromedp.EvalAwaitPromise))
	body, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.Status, body)
	}
	return fetchedFile{Status: r.Status, Type: r.Type, Body: body}
}

// pdfText checks f is a PDF and returns its text (pdftotext).
func pdfText(t *testing.T, f fetchedFile) string {
	t.Helper()
	if f.Type != "application/pdf" || !bytes.HasPrefix(f.Body, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %s %q", f.Type, f.Body[:min(len(f.Body), 64)])
	}
	path := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(path, f.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	return string(out)
}

// pageCodes is the text of every element matching sel.
func pageCodes(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return browsertest.Get(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel)))
}

// scanPNG is a small grey image: a scanned receipt.
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

// letterTarget is the delivery page of the walk's campaign's first target.
func (w *walk) letterTarget(t *testing.T) string {
	return fmt.Sprintf("/console/campaigns/%d/letters/targets/%s", w.campaign(t).Campaign.ID, w.creditCode(t))
}

// letterProof is the download of a proof uploaded to the walk's
// campaign's letters.
func (w *walk) letterProof(t *testing.T) string {
	id := w.campaign(t).Campaign.ID
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/campaigns/%d/letters/proofs", w.h.URL, id), bytes.NewReader(scanPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+w.h.Token(t, "coord-a"))
	r := w.h.Send(t, req)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload a proof: %d %s", r.Status, r.Body)
	}
	var p api.LetterProof
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/console/campaigns/%d/letters/proof?sha256=%s", id, p.SHA256)
}

// TestLetterDeliveryForm_Proofs: the delivery form's receipt is held to the
// API's proof route's limits, and every refusal is shown on the form with
// nothing recorded.
func TestLetterDeliveryForm_Proofs(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2})
		id := is.Campaign.ID
		target := is.Packets[0].CreditCode
		path := fmt.Sprintf("/console/campaigns/%d/letters/targets/%s", id, target)
		today := server.DateOf(h.Now().In(calendar.Shanghai())).String()
		c := newClient(t, h)
		c.login(t, "coord-a")
		send := func(name, contentType string, body []byte) *page {
			t.Helper()
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range map[string]string{"csrf": c.token(t, path), "delivered_on": today, "method": "electronic"} {
				if err := mw.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
			hdr := textproto.MIMEHeader{}
			hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="proof"; filename=%q`, name))
			hdr.Set("Content-Type", contentType)
			w, err := mw.CreatePart(hdr)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			mw.Close()
			req, err := http.NewRequest("POST", h.URL+path, &buf)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Origin", h.URL)
			req.Header.Set("Accept", "text/html")
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
		}
		served := func() int {
			var l api.List[api.LetterDelivery]
			h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", id), h.Token(t, "coord-a"), nil, http.StatusOK, &l)
			return l.Total
		}
		pdfScan := []byte("%PDF-1.4\n1 0 obj <<>> endobj\nxref\n0 1\n0000000000 65535 f \ntrailer <<>>\nstartxref\n9\n%%EOF\n")
		for _, tc := range []struct {
			name, file, contentType string
			body                    []byte
			status                  int
			says                    string
		}{
			{"TooLarge", "回执.pdf", "application/pdf", append(slices.Clone(pdfScan), make([]byte, api.MaxProofBytes)...), http.StatusRequestEntityTooLarge, "不得超过10兆字节"},
			{"NotAPDF", "回执.pdf", "application/pdf", scanPNG(t), http.StatusUnprocessableEntity, "未予保存"},
			{"Text", "回执.txt", "text/plain", []byte("已送达"), http.StatusUnsupportedMediaType, "未予保存"},
			{"OverTheFormLimit", "回执.pdf", "application/pdf", make([]byte, api.MaxProofBytes+128<<10), http.StatusRequestEntityTooLarge, "提交的内容过大"},
		} {
			r := send(tc.file, tc.contentType, tc.body)
			if r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
				t.Errorf("%s: %d, want %d saying %q: %s", tc.name, r.Status, tc.status, tc.says, r.Body)
			}
			if words := englishWords(r.Body); len(words) > 0 {
				t.Errorf("%s: English words %q", tc.name, words)
			}
			if n := served(); n != 0 {
				t.Fatalf("%s: %d deliveries recorded", tc.name, n)
			}
		}

		// A PDF sent as an unnamed type is known by its bytes, and kept.
		if r := send("回执", "application/octet-stream", pdfScan); r.Status != http.StatusSeeOther {
			t.Fatalf("a PDF receipt: %d %s", r.Status, r.Body)
		}
		var l api.List[api.LetterDelivery]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", id), h.Token(t, "coord-a"), nil, http.StatusOK, &l)
		if l.Total != 1 || l.Items[0].Method != "electronic" || l.Items[0].ProofSHA256 == "" {
			t.Fatalf("deliveries: %+v", l.Items)
		}
		r := c.get(t, fmt.Sprintf("/console/campaigns/%d/letters/proof?sha256=%s", id, l.Items[0].ProofSHA256))
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" || r.Body != string(pdfScan) {
			t.Errorf("the receipt downloaded: %d %s %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
}
