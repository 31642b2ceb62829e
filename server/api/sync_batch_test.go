package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// batchFile is one part of a batch upload as a test writes it: content
// under a declared hash and type, with headers to add or drop.
type batchFile struct {
	content     []byte
	sha         string // declared; the content's own when ""
	contentType string // image/png when ""
	length      string // declared Content-Length; the content's when ""
	extra       map[string]string
	drop        string
}

func (f batchFile) ref() syncproto.AttachmentRef { return attachment(f.content) }

// batchBody writes files as a multipart/mixed batch body.
func batchBody(files ...batchFile) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range files {
		h := textproto.MIMEHeader{
			"Content-Type":              {"image/png"},
			"Content-Length":            {strconv.Itoa(len(f.content))},
			syncproto.HeaderBatchSHA256: {f.ref().SHA256},
		}
		if f.sha != "" {
			h.Set(syncproto.HeaderBatchSHA256, f.sha)
		}
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		if f.length != "" {
			h.Set("Content-Length", f.length)
		}
		for k, v := range f.extra {
			h.Set(k, v)
		}
		if f.drop != "" {
			h.Del(f.drop)
		}
		p, _ := w.CreatePart(h)
		p.Write(f.content)
	}
	w.Close()
	return b.Bytes(), syncproto.BatchMediaType + "; boundary=" + w.Boundary()
}

// batch sends files in one batch upload.
func (d *fieldDevice) batch(t testing.TB, files ...batchFile) *apptest.Response {
	t.Helper()
	body, ct := batchBody(files...)
	return d.sendBatch(t, body, ct)
}

// sendBatch posts a batch body.
func (d *fieldDevice) sendBatch(t testing.TB, body []byte, contentType string) *apptest.Response {
	t.Helper()
	req := d.request(t, "POST", syncproto.PathAttachmentsBatch, body)
	req.Header.Set("Content-Type", contentType)
	return d.h.Send(t, req)
}

func batchResults(t testing.TB, r *apptest.Response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var out syncproto.BatchUploadResponse
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range out.Results {
		got = append(got, res.SHA256[:8]+":"+res.Status+":"+res.Code)
		if res.Status == syncproto.BatchRefused && res.Message == "" {
			t.Errorf("refused %s without a message", res.SHA256)
		}
	}
	return got
}

// A batch stores each file it carries, verified as a tus upload is: a file
// whose bytes do not hash to its name, or that is not the image it claims,
// is refused on its own and never stored; the others are, once, and a
// device may then refer to them. Sending the batch again changes nothing.
func TestBatchUpload_StoresEachFile(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		photo, sig := batchFile{content: pngBytes("batch-photo", 40_000)}, batchFile{content: pngBytes("batch-sig", 3000)}
		liar := batchFile{content: pngBytes("batch-liar", 3000), sha: attachment(pngBytes("batch-claimed", 3000)).SHA256}
		notImage := batchFile{content: []byte(strings.Repeat("not a png ", 100))}
		files := []batchFile{photo, sig, liar, notImage}
		body, ct := batchBody(files...)
		want := []string{
			photo.ref().SHA256[:8] + ":stored:", sig.ref().SHA256[:8] + ":stored:",
			liar.sha[:8] + ":refused:" + syncproto.CodeInvalid, notImage.ref().SHA256[:8] + ":refused:" + syncproto.CodeAttachmentRefused,
		}
		if got := batchResults(t, d.sendBatch(t, body, ct)); !slices.Equal(got, want) {
			t.Fatalf("results %v, want %v", got, want)
		}
		missing := d.missing(t, photo.ref().SHA256, sig.ref().SHA256, liar.sha, liar.ref().SHA256, notImage.ref().SHA256)
		if !slices.Equal(missing, []string{liar.sha, liar.ref().SHA256, notImage.ref().SHA256}) {
			t.Fatalf("missing after the batch: %v", missing)
		}
		// Again: the same answers.
		if got := batchResults(t, d.sendBatch(t, body, ct)); !slices.Equal(got, want) {
			t.Fatalf("again: %v", got)
		}
		// The device may refer to what it stored; a change referring to the
		// refused image is rejected with the reason; the files read back whole.
		a := answerOf(f, h.DeptA.Code, syncproto.ResultNonCompliant, 0)
		a.Photos = []syncproto.AttachmentRef{photo.ref()}
		b := answerOf(f, h.DeptA.Code, syncproto.ResultNonCompliant, 1)
		b.Photos = []syncproto.AttachmentRef{notImage.ref()}
		if got := statuses(d.push(t, d.answer(p.ID, a), d.answer(p.ID, b))); !slices.Equal(got, []string{"1:applied:", "2:rejected:" + syncproto.CodeAttachmentRefused}) {
			t.Fatalf("push referring to a batch's files: %v", got)
		}
		r := h.Do(t, "GET", syncproto.PathAttachments+"/"+photo.ref().SHA256, d.Token, nil)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, photo.content) {
			t.Fatalf("read back: %d, %d bytes", r.Status, len(r.Body))
		}
		// Another inspector who sends the same bytes may refer to them too.
		other := newFieldDevice(t, h, "insp-a2")
		if got := batchResults(t, other.batch(t, sig)); !slices.Equal(got, []string{sig.ref().SHA256[:8] + ":stored:"}) {
			t.Fatalf("the same file from another device: %v", got)
		}
	})
}

// A malformed batch is refused whole, with a stable code, and nothing in it
// is stored, not even its well-formed files before the bad part.
func TestBatchUpload_MalformedChangesNothing(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		d := newFieldDevice(t, h, "insp-a1")
		good := batchFile{content: pngBytes("malformed-good", 2000)}
		img := pngBytes("malformed-bad", 2000)
		one, _ := batchBody(good)
		many := make([]batchFile, syncproto.MaxBatchFiles+1)
		for i := range many {
			many[i] = good
		}
		// Each case: files (a body written by batchBody), or a raw body and
		// its content type.
		type malformed struct {
			files  []batchFile
			body   []byte
			ct     string
			status int
			code   string
		}
		bad := func(f batchFile) malformed {
			f.content = img
			return malformed{files: []batchFile{good, f}}
		}
		for name, tt := range map[string]malformed{
			"no sha":                bad(batchFile{drop: syncproto.HeaderBatchSHA256}),
			"bad sha":               bad(batchFile{sha: "ABC"}),
			"another header":        bad(batchFile{extra: map[string]string{"Content-Disposition": "attachment"}}),
			"text/plain":            bad(batchFile{contentType: "text/plain"}),
			"no length":             bad(batchFile{drop: "Content-Length"}),
			"length zero":           bad(batchFile{length: "0"}),
			"shorter than declared": bad(batchFile{length: strconv.Itoa(len(img) + 1)}),
			"longer than declared":  bad(batchFile{length: strconv.Itoa(len(img) - 1)}),
			"length over the limit": bad(batchFile{length: strconv.Itoa(syncproto.MaxAttachmentBytes + 1)}),
			"too many files":        {files: many},
			"no parts":              {body: []byte("--x--\r\n"), ct: syncproto.BatchMediaType + "; boundary=x"},
			"not multipart":         {body: one, ct: "application/octet-stream", status: http.StatusUnsupportedMediaType, code: syncproto.CodeUnsupportedType},
			"no boundary":           {body: one, ct: syncproto.BatchMediaType, status: http.StatusUnsupportedMediaType, code: syncproto.CodeUnsupportedType},
			"a boundary over 70":    {body: one, ct: syncproto.BatchMediaType + "; boundary=" + strings.Repeat("b", 71), status: http.StatusUnsupportedMediaType, code: syncproto.CodeUnsupportedType},
			"form-data":             {body: one, ct: "multipart/form-data; boundary=" + boundaryOf(one), status: http.StatusUnsupportedMediaType, code: syncproto.CodeUnsupportedType},
			"not a multipart body":  {body: []byte("hello"), ct: syncproto.BatchMediaType + "; boundary=x"},
			"over the body limit":   {body: bytes.Repeat([]byte("x"), syncproto.MaxBatchBytes+1), ct: syncproto.BatchMediaType + "; boundary=x", status: http.StatusRequestEntityTooLarge, code: syncproto.CodeTooLarge},
		} {
			body, ct := tt.body, tt.ct
			if tt.files != nil {
				body, ct = batchBody(tt.files...)
			}
			status, code := tt.status, tt.code
			if status == 0 {
				status, code = http.StatusBadRequest, syncproto.CodeInvalid
			}
			r := d.sendBatch(t, body, ct)
			if e := r.Error(); r.Status != status || e.Code != code || e.Message == "" {
				t.Errorf("%s: %d %s; want %d %s", name, r.Status, r.Body, status, code)
			}
			if got := d.missing(t, good.ref().SHA256); len(got) != 1 {
				t.Fatalf("%s: the batch's good file was stored", name)
			}
		}
		// gzip is refused (images do not compress), before anything is read.
		req := d.request(t, "POST", syncproto.PathAttachmentsBatch, one)
		req.Header.Set("Content-Type", syncproto.BatchMediaType+"; boundary="+boundaryOf(one))
		req.Header.Set("Content-Encoding", "gzip")
		if r := h.Send(t, req); r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("gzip: %d %s", r.Status, r.Body)
		}
		// Batches are for device-bound inspectors, in the sync protocol.
		req = d.request(t, "POST", syncproto.PathAttachmentsBatch, one)
		req.Header.Set("Content-Type", syncproto.BatchMediaType+"; boundary="+boundaryOf(one))
		req.Header.Set("Authorization", "Bearer "+h.Token(t, "insp-a1"))
		if r := h.Send(t, req); r.Status != http.StatusForbidden {
			t.Fatalf("a session without a device: %d %s", r.Status, r.Body)
		}
		req = d.request(t, "POST", syncproto.PathAttachmentsBatch, one)
		req.Header.Set("Content-Type", syncproto.BatchMediaType+"; boundary="+boundaryOf(one))
		req.Header.Del(syncproto.HeaderProtocol)
		if r := h.Send(t, req); r.Status != http.StatusUpgradeRequired {
			t.Fatalf("no protocol version: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, good.ref().SHA256); len(got) != 1 {
			t.Fatal("a refused batch stored its file")
		}
	})
}

// boundaryOf reads a multipart body's boundary from its first line.
func boundaryOf(body []byte) string {
	line, _, _ := bytes.Cut(body, []byte("\r\n"))
	return strings.TrimPrefix(string(line), "--")
}

// A batch cut off mid-body keeps the files that arrived whole before the
// cut, and not the one in flight: the device asks which are missing and
// sends only those again.
func TestBatchUpload_CutKeepsWholeFiles(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		d := newFieldDevice(t, h, "insp-a1")
		files := []batchFile{{content: pngBytes("cut-1", 20_000)}, {content: pngBytes("cut-2", 20_000)}, {content: pngBytes("cut-3", 20_000)}}
		body, ct := batchBody(files...)
		// Cut inside the third file.
		third := bytes.Index(body, files[2].content)
		u, err := url.Parse(h.URL)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s: %d\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			syncproto.PathAttachmentsBatch, u.Host, d.Token, syncproto.HeaderProtocol, syncproto.ProtocolVersion, ct, len(body))
		conn.Write(body[:third+5000])
		conn.Close()
		hashes := []string{files[0].ref().SHA256, files[1].ref().SHA256, files[2].ref().SHA256}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := d.missing(t, hashes...)
			if slices.Equal(got, hashes[2:]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the cut, missing %v; want only the third file", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The device sends what is missing: all three are there.
		if got := batchResults(t, d.batch(t, files[2])); len(got) != 1 || !strings.HasSuffix(got[0], ":stored:") {
			t.Fatalf("the rest: %v", got)
		}
		// A body that ends without its closing line is cut too: the whole
		// files before the end are kept, and the answer says so.
		more := []batchFile{{content: pngBytes("cut-4", 20_000)}, {content: pngBytes("cut-5", 20_000)}}
		body, ct = batchBody(more...)
		hashes = []string{more[0].ref().SHA256, more[1].ref().SHA256}
		r := d.sendBatch(t, body[:len(body)-8], ct)
		if e := r.Error(); r.Status != http.StatusBadRequest || e.Code != syncproto.CodeInvalid {
			t.Fatalf("without a closing line: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, hashes...); len(got) != 0 {
			t.Fatalf("without a closing line, missing %v", got)
		}
	})
}
