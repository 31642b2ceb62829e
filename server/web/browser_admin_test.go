package web_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The directory and administration screens in a real browser.

// acceptDialogs accepts every confirm() the tab opens (data-confirm forms).
func acceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			if _, err := chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
}

// fetched is a file the page's link downloads, fetched with the tab's cookies.
type fetched struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Body        string `json:"body"`
}

func fetchLink(t *testing.T, ctx context.Context, sel string) fetched {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		const r = await fetch(document.querySelector(%q).href);
		return {status: r.status, type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"), body: await r.text()};
	})()`, sel)
	return browsertest.Get(t, ctx, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
}

// exportArchive is a device export (syncproto.ExportFormat) with an empty
// outbox, claiming to come from deviceID with key pub.
func exportArchive(t *testing.T, deviceID int64, pub []byte) []byte {
	t.Helper()
	manifest, err := json.Marshal(map[string]any{
		"format": syncproto.ExportFormat, "device_id": deviceID, "public_key": base64.StdEncoding.EncodeToString(pub), "attachments": []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		body []byte
	}{{"manifest.json", manifest}, {"outbox.jsonl", nil}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A department admin imports inspectors with one bad row, reads the error
// in Chinese and downloads the report; then revokes a device and takes in
// another device's export.
func TestBrowser_AdminImportAndDevices(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		asInspector := server.NewContextWithUser(context.Background(), h.Users["insp-a1"])
		lost := registerDevice(t, h.App.Devices, asInspector, "执法终端甲")
		kept := registerDevice(t, h.App.Devices, asInspector, "执法终端乙")
		ctx := b.Tab(t)
		acceptDialogs(ctx)
		browsertest.Open(t, ctx, h.URL+"/console/login")
		signIn(t, ctx, "admin-a", apptest.Password)

		// The menu: what a department admin may use, and not the audit chain.
		menu := browsertest.Text(t, ctx, "nav.menu")
		for _, want := range []string{"企业名录", "执法人员", "批量导入", "利益冲突申报", "执法终端", "账号管理", "我的账号"} {
			if !strings.Contains(menu, want) {
				t.Errorf("menu %q lacks %s", menu, want)
			}
		}
		if strings.Contains(menu, "审计链") {
			t.Errorf("a department admin's menu shows the audit chain: %q", menu)
		}

		// The import page offers the inspectors' form only (enterprises are
		// the platform admin's).
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/imports"]`)))
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("form[enctype]").length`)); n != 1 {
			t.Fatalf("%d import forms, want 1", n)
		}
		assertChinese(t, ctx)
		csvFile := "部门,姓名,执法证号,执法证有效期起,执法证有效期止,执法领域,电话,状态\n" +
			"culture,李四,IMP-C-1,2024-01-01,2028-12-31,文化市场、网络文化,13900000001,\n" + // row 2
			"culture,赵六,IMP-C-2,2024-01-01,2023-12-31,,,\n" + // row 3: ends before it starts
			"culture,钱七,IMP-C-3,2024-01-01,2029-06-30,文化市场,,\n" // row 4
		path := writeFile(t, "inspectors.csv", []byte(csvFile))
		resp := browsertest.Load(t, ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#import-inspectors input[type="file"]`), []string{path}),
			chromedp.Click(chromedp.CSS(`#import-inspectors button[type="submit"]`)),
		)
		if resp.Status != http.StatusOK {
			t.Fatalf("import: status %d", resp.Status)
		}
		resultURL := browsertest.Get(t, ctx, chromedp.Location())
		if !strings.HasPrefix(resultURL, h.URL+"/console/imports/") {
			t.Fatalf("after the import at %s", resultURL)
		}
		for id, want := range map[string]string{"#count-rows": "3", "#count-inserted": "2", "#count-updated": "0", "#count-unchanged": "0", "#count-rejected": "1"} {
			if got := browsertest.Text(t, ctx, id); got != want {
				t.Errorf("%s shows %q, want %s", id, got, want)
			}
		}
		row := browsertest.Text(t, ctx, "table.import-errors tbody tr")
		for _, want := range []string{"3", "certificate_valid_until", "invalid_date_range", "执法证有效期截止日早于起始日"} {
			if !strings.Contains(row, want) {
				t.Errorf("error row %q lacks %q", row, want)
			}
		}
		if strings.Contains(row, "expires") {
			t.Errorf("error row shows the English gloss: %q", row)
		}
		// The store has what the page says.
		for cert, want := range map[string]bool{"IMP-C-1": true, "IMP-C-2": false, "IMP-C-3": true} {
			ins, _, err := h.App.Inspectors.FindInspectors(server.NewContextWithUser(context.Background(), h.Users["admin-a"]), server.InspectorFilter{CertificateNumber: &cert})
			if err != nil || (len(ins) == 1) != want {
				t.Errorf("inspector %s in the store: %d, %v; want %v", cert, len(ins), err, want)
			}
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "import-result")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// The report as CSV: the header and the one error, in Chinese.
		f := fetchLink(t, ctx, `a[href$="/errors.csv"]`)
		if f.Status != http.StatusOK || !strings.HasPrefix(f.Type, "text/csv") || !strings.Contains(f.Disposition, "attachment") {
			t.Fatalf("report download: %d %q %q", f.Status, f.Type, f.Disposition)
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(f.Body, "\ufeff")), "\n")
		if len(lines) != 2 || strings.TrimSpace(lines[0]) != "行号,列,错误代码,说明" ||
			strings.TrimSpace(lines[1]) != "3,certificate_valid_until,invalid_date_range,执法证有效期截止日早于起始日" {
			t.Errorf("report CSV: %q", f.Body)
		}
		// The report is its importer's alone: another admin, even the
		// platform's, finds nothing there.
		other := newClient(t, h)
		other.login(t, "root")
		reportPath := strings.TrimPrefix(resultURL, h.URL)
		for _, p := range []string{reportPath, reportPath + "/errors.csv"} {
			if r := other.get(t, p); r.Status != http.StatusNotFound || strings.Contains(r.Body, "执法证有效期截止日早于起始日") {
				t.Errorf("GET %s as another admin: %d", p, r.Status)
			}
		}

		// Devices: revoke one, with a reason, after the confirmation.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/devices"]`)))
		rowSel := fmt.Sprintf("#device-%d", lost.ID)
		if got := browsertest.Text(t, ctx, rowSel+" .device-state"); got != "正常" {
			t.Errorf("device state before %q", got)
		}
		if got := browsertest.Text(t, ctx, "table.devices"); !strings.Contains(got, "insp-a1") || !strings.Contains(got, "执法终端乙") {
			t.Errorf("devices table: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(rowSel+` input[name="reason"]`), "终端遗失"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(rowSel+` form[action$="/revoke"] button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已停用终端：执法终端甲" {
			t.Errorf("after revoking: %q", got)
		}
		if got := browsertest.Text(t, ctx, rowSel+" .device-state"); !strings.HasPrefix(got, "已停用") || !strings.Contains(got, "终端遗失") {
			t.Errorf("device state after %q", got)
		}
		asAdmin := server.NewContextWithUser(context.Background(), h.Users["admin-a"])
		if d, err := h.App.Devices.FindDeviceByID(asAdmin, lost.ID); err != nil || !d.Revoked() || d.RevokeReason != "终端遗失" {
			t.Errorf("device in the store: %+v %v", d, err)
		}

		// A device export: one from another device is refused on the field,
		// the device's own is taken in and counted.
		keptSel := fmt.Sprintf("#device-%d", kept.ID)
		wrong := writeFile(t, "wrong.tar.gz", exportArchive(t, lost.ID, lost.PublicKey))
		resp = browsertest.Load(t, ctx,
			chromedp.SetUploadFiles(chromedp.CSS(keptSel+` form[action$="/import"] input[type="file"]`), []string{wrong}),
			chromedp.Click(chromedp.CSS(keptSel+` form[action$="/import"] button`)),
		)
		if resp.Status != http.StatusBadRequest {
			t.Errorf("another device's export: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, keptSel+" .field-error"); got != fmt.Sprintf("导出文件来自设备%d，而非设备%d", lost.ID, kept.ID) {
			t.Errorf("another device's export says %q", got)
		}
		assertChinese(t, ctx)
		right := writeFile(t, "export.tar.gz", exportArchive(t, kept.ID, kept.PublicKey))
		resp = browsertest.Load(t, ctx,
			chromedp.SetUploadFiles(chromedp.CSS(keptSel+` form[action$="/import"] input[type="file"]`), []string{right}),
			chromedp.Click(chromedp.CSS(keptSel+` form[action$="/import"] button`)),
		)
		if resp.Status != http.StatusOK {
			t.Fatalf("device import: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, ".import-result h2"); got != "导出文件已导入（终端 "+strconv.FormatInt(kept.ID, 10)+"）" {
			t.Errorf("device import heading %q", got)
		}
		for _, id := range []string{"#device-applied", "#device-duplicate", "#device-rejected", "#device-attachments"} {
			if got := browsertest.Text(t, ctx, id); got != "0" {
				t.Errorf("%s shows %q for an empty outbox", id, got)
			}
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "devices")
		assertFits(t, ctx, 820, 1180) // a tablet: the table scrolls in its box
		browsertest.Do(t, ctx, chromedp.EmulateReset())
	})
}

// The platform admin creates an account and sees its one-time password
// once; the new user signs in with it and must change it first. The audit
// page verifies the chain, and its head moves after the change.
func TestBrowser_AccountsAndAudit(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		asRoot := server.NewContextWithUser(context.Background(), h.Users["root"])
		ctx := b.Tab(t)
		browsertest.Open(t, ctx, h.URL+"/console/login")
		signIn(t, ctx, "root", apptest.Password)

		// The audit chain: the head the service gives, verified on demand.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/audit"]`)))
		seq, hash, err := h.App.Audit.AuditHead(asRoot)
		if err != nil || seq == 0 {
			t.Fatalf("audit head %d %v", seq, err)
		}
		if got := browsertest.Text(t, ctx, "#audit-head-seq"); got != strconv.FormatInt(seq, 10) {
			t.Errorf("head seq on the page %q, service %d", got, seq)
		}
		if got := browsertest.Text(t, ctx, "#audit-head-hash"); got != hash {
			t.Errorf("head hash on the page %q, service %s", got, hash)
		}
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/audit"] button`)))
		want := fmt.Sprintf("校验通过：共 %d 条记录，链完整，链头序号 %d，哈希 %s。", seq, seq, hash)
		if got := browsertest.Text(t, ctx, "#audit-verified"); got != want {
			t.Errorf("verification shows %q, want %q", got, want)
		}
		if got := browsertest.Text(t, ctx, "table.audit-events tbody tr"); !strings.HasPrefix(got, strconv.FormatInt(seq, 10)) {
			t.Errorf("the newest event listed is not the head: %q", got)
		}
		assertChinese(t, ctx)

		// A new coordinator of department A, with a one-time password.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/users"]`)))
		assertChinese(t, ctx)
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`#new-user input[name="username"]`), "coord-new"),
			chromedp.SendKeys(chromedp.CSS(`#new-user input[name="display_name"]`), "新协调员"),
			chromedp.SetValue(chromedp.CSS(`#new-user select[name="role"]`), string(server.RoleLeadCoordinator)),
			chromedp.SetValue(chromedp.CSS(`#new-user select[name="department_id"]`), strconv.FormatInt(h.DeptA.ID, 10)),
		)
		resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#new-user button[type="submit"]`)))
		if resp.Status != http.StatusOK || browsertest.Header(resp, "Cache-Control") != "no-store" {
			t.Fatalf("create: status %d, Cache-Control %q", resp.Status, browsertest.Header(resp, "Cache-Control"))
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "账号已创建" {
			t.Errorf("after creating: %q", got)
		}
		otp := browsertest.Text(t, ctx, "#one-time-password")
		if len(otp) < 20 || browsertest.Text(t, ctx, "#otp-username") != "coord-new" {
			t.Fatalf("one-time password %q", otp)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "accounts")
		us, _, err := h.App.Users.FindUsers(asRoot, server.UserFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var created *server.User
		for _, u := range us {
			if u.Username == "coord-new" {
				created = u
			}
		}
		if created == nil || created.Role != server.RoleLeadCoordinator || !created.InDepartment(h.DeptA.ID) || !created.PasswordChangeRequired {
			t.Fatalf("created account %+v", created)
		}
		// Never shown again: not on the account's page, nor the list.
		for _, p := range []string{fmt.Sprintf("/console/users/%d", created.ID), "/console/users"} {
			browsertest.Open(t, ctx, h.URL+p)
			if body := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(body, otp) {
				t.Errorf("%s shows the one-time password again", p)
			}
		}
		if got := browsertest.Text(t, ctx, "table.users"); !strings.Contains(got, "coord-new") || !strings.Contains(got, "待修改初始密码") {
			t.Errorf("users table: %q", got)
		}

		// The head moved: the account's creation and its password are in the chain.
		browsertest.Open(t, ctx, h.URL+"/console/audit?verify=1")
		seq2, hash2, err := h.App.Audit.AuditHead(asRoot)
		if err != nil || seq2 <= seq {
			t.Fatalf("head after the change %d (before %d) %v", seq2, seq, err)
		}
		if got := browsertest.Text(t, ctx, "#audit-head-seq"); got != strconv.FormatInt(seq2, 10) {
			t.Errorf("head seq after %q, want %d", got, seq2)
		}
		if got := browsertest.Text(t, ctx, "#audit-verified"); got != fmt.Sprintf("校验通过：共 %d 条记录，链完整，链头序号 %d，哈希 %s。", seq2, seq2, hash2) {
			t.Errorf("verification after %q", got)
		}
		events := browsertest.Text(t, ctx, "table.audit-events tbody")
		if !strings.Contains(events, "user.create") || strings.Contains(events, otp) {
			t.Errorf("recent events: %q", events)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "audit")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// A reset, after the confirmation: another one-time password, the
		// first one no longer works.
		acceptDialogs(ctx)
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/users/%d", h.URL, created.ID))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action$="/password-reset"] button`)))
		if got := browsertest.Text(t, ctx, "h1"); got != "密码已重置" {
			t.Errorf("after the reset: %q", got)
		}
		first := otp
		otp = browsertest.Text(t, ctx, "#one-time-password")
		if otp == first || len(otp) < 20 {
			t.Fatalf("reset gave %q after %q", otp, first)
		}

		// The new user signs in with it and is sent to change it; the first
		// one-time password is refused.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
		if st := signIn(t, ctx, "coord-new", first); st != http.StatusUnauthorized {
			t.Errorf("the first one-time password after the reset: status %d", st)
		}
		signIn(t, ctx, "coord-new", otp)
		if loc := browsertest.Get(t, ctx, chromedp.Location()); loc != h.URL+"/console/password" {
			t.Fatalf("after the first sign-in at %s", loc)
		}
		if got := browsertest.Text(t, ctx, ".notice"); !strings.Contains(got, "一次性密码") {
			t.Errorf("password page notice %q", got)
		}
		assertChinese(t, ctx)

		// Disabled by the platform admin: the account's session ends.
		other := newClient(t, h)
		other.login(t, "root")
		if r := other.post(t, "/console/users", fmt.Sprintf("/console/users/%d/disable", created.ID), nil); r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		if r := other.get(t, fmt.Sprintf("/console/users/%d", created.ID)); !strings.Contains(r.Body, "账号已停用") || !strings.Contains(r.Body, `<dd id="account-state">已停用</dd>`) {
			t.Errorf("after disabling, the account's page: %s", r.Body)
		}
		browsertest.Open(t, ctx, h.URL+"/console/password")
		if got := browsertest.Text(t, ctx, "h1"); got != "登录控制台" {
			t.Errorf("a disabled account's session still shows %q", got)
		}
	})
}

// The directories: the platform admin adds an enterprise (a bad credit code
// first, refused on its field with the values kept) and finds it by code
// and by name; a department admin adds an inspector; an inspector declares
// a conflict of interest and the admin approves it.
func TestBrowser_Directories(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		for i := range adminPageSizeForTest + 1 {
			h.AddCafe(t, fmt.Sprintf("名录网吧%02d", i))
		}
		code := testCode(77)
		ctx := b.Tab(t)
		browsertest.Open(t, ctx, h.URL+"/console/login")
		signIn(t, ctx, "root", apptest.Password)

		// Paging: 51 cafés, 50 a page.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/enterprises"]`)))
		if got := browsertest.Text(t, ctx, "main section h2 .count"); got != fmt.Sprintf("共 %d 家", adminPageSizeForTest+1) {
			t.Errorf("count %q", got)
		}
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.enterprises tbody tr").length`)); n != adminPageSizeForTest {
			t.Errorf("%d rows on the first page", n)
		}
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.pager a[rel="next"]`)))
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.enterprises tbody tr").length`)); n != 1 {
			t.Errorf("%d rows on the second page", n)
		}
		assertChinese(t, ctx)

		browsertest.Open(t, ctx, h.URL+"/console/enterprises/new")
		bad := code[:17] + map[bool]string{true: "1", false: "2"}[code[17] != '1']
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`input[name="credit_code"]`), bad),
			chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "星辰网络会所"),
			chromedp.SendKeys(chromedp.CSS(`input[name="district"]`), "思明区"),
			chromedp.SetValue(chromedp.CSS(`select[name="risk_class"]`), "C"),
		)
		resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)))
		if resp.Status != http.StatusBadRequest {
			t.Errorf("bad credit code: status %d", resp.Status)
		}
		apiErr := h.MustDo(t, "POST", "/v1/enterprises", h.Token(t, "root"), map[string]any{
			"credit_code": bad, "name": "星辰网络会所", "category": "internet_cafe", "district": "思明区",
		}, http.StatusBadRequest, nil).Error()
		if got := browsertest.Text(t, ctx, `input[name="credit_code"] + .field-error`); got == "" || !strings.HasPrefix(apiErr.Message, got) {
			t.Errorf("field error %q; the API says %q", got, apiErr.Message)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`input[name="name"]`))); got != "星辰网络会所" {
			t.Errorf("name not kept: %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`select[name="risk_class"]`))); got != "C" {
			t.Errorf("risk class not kept: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`input[name="credit_code"]`), code))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)))
		if got := browsertest.Text(t, ctx, "#credit-code"); got != code {
			t.Fatalf("new enterprise's page shows %q", got)
		}
		if got := browsertest.Text(t, ctx, ".flash"); got != "已新增企业：星辰网络会所" {
			t.Errorf("flash %q", got)
		}
		for _, q := range []string{code, "星辰"} {
			browsertest.Open(t, ctx, h.URL+"/console/enterprises?q="+q)
			if got := browsertest.Text(t, ctx, "table.enterprises tbody"); !strings.Contains(got, "星辰网络会所") || strings.Contains(got, "名录网吧") {
				t.Errorf("search %s: %q", q, got)
			}
		}
		assertChinese(t, ctx)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))

		// An inspector of department A, added by its admin.
		signIn(t, ctx, "admin-a", apptest.Password)
		browsertest.Open(t, ctx, h.URL+"/console/inspectors/new")
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "周九"),
			chromedp.SendKeys(chromedp.CSS(`input[name="certificate_number"]`), "CULTURE-0099"),
			chromedp.SetValue(chromedp.CSS(`input[name="certificate_valid_from"]`), "2025-01-01"),
			chromedp.SetValue(chromedp.CSS(`input[name="certificate_valid_until"]`), "2024-12-31"),
			chromedp.SendKeys(chromedp.CSS(`input[name="domains"]`), "文化市场、网络文化"),
		)
		if resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`))); resp.Status != http.StatusBadRequest {
			t.Errorf("certificate ending before it starts: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, `input[name="certificate_valid_until"] + .field-error`); got != "执法证有效期截止日早于起始日" {
			t.Errorf("date error %q", got)
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`input[name="certificate_valid_until"]`), "2029-12-31"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)))
		if got := browsertest.Text(t, ctx, "dl.facts"); !strings.Contains(got, "2025-01-01 至 2029-12-31") || !strings.Contains(got, "文化市场、网络文化") || !strings.Contains(got, h.DeptA.Name) {
			t.Errorf("new inspector's page: %q", got)
		}
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/inspectors"]`)))
		if got := browsertest.Text(t, ctx, "table.inspectors tbody"); !strings.Contains(got, "周九") || strings.Contains(got, "MARKET-") {
			t.Errorf("department A's inspectors: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))

		// insp-a1 declares a conflict with the new enterprise; admin-a approves it.
		signIn(t, ctx, "insp-a1", apptest.Password)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/declarations"]`)))
		browsertest.Do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`#new-declaration input[name="credit_code"]`), code),
			chromedp.SendKeys(chromedp.CSS(`#new-declaration textarea[name="reason"]`), "配偶为该企业股东"),
		)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#new-declaration button[type="submit"]`)))
		if got := browsertest.Text(t, ctx, "table.declarations tbody tr"); !strings.Contains(got, code) || !strings.Contains(got, "待审核") || !strings.Contains(got, "配偶为该企业股东") {
			t.Errorf("declaration row: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
		signIn(t, ctx, "admin-a", apptest.Password)
		browsertest.Open(t, ctx, h.URL+"/console/declarations")
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS(`table.declarations input[name="reason"]`), "情况属实"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`table.declarations button[formaction$="/approve"]`)))
		if got := browsertest.Text(t, ctx, "table.declarations .declaration-state"); !strings.Contains(got, "已批准") || !strings.Contains(got, "情况属实") {
			t.Errorf("after approval: %q", got)
		}
		ds, _, err := h.App.Declarations.FindDeclarations(server.NewContextWithUser(context.Background(), h.Users["admin-a"]), server.DeclarationFilter{})
		if err != nil || len(ds) != 1 || ds[0].Status != server.DeclarationApproved || ds[0].ReviewNote != "情况属实" || ds[0].InspectorID != h.Inspectors["insp-a1"].ID {
			t.Errorf("declarations in the store: %+v %v", ds, err)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "declarations")
	})
}

const adminPageSizeForTest = 50

// testCode is a valid credit code of its own for n.
func testCode(n int) string {
	body := fmt.Sprintf("%08d", 70000000+n)
	first17 := "91350203" + body + string(server.OrgCodeCheckChar(body))
	return first17 + string(server.CreditCodeCheckChar(first17))
}
