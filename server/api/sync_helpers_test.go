package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// syncFixture is an issued campaign: its packets and, for each packet, the
// usernames of the fixture inspectors on its team.
type syncFixture struct {
	Campaign *server.Campaign
	Packets  []*server.Packet
	Team     map[string][]string // packet id → usernames
	Items    map[string]server.PacketItem
}

// newSyncCampaign issues a campaign of the given departments (the first
// leads) over n new cafés: one fixture inspector per department per team,
// two targets per team, one check item per department.
func newSyncCampaign(t *testing.T, h *apptest.Harness, n int, depts ...*server.Department) *syncFixture {
	t.Helper()
	is := h.IssueCampaign(t, apptest.CampaignSpec{Departments: depts, Cafes: n})
	f := &syncFixture{Campaign: is.Campaign, Packets: is.Packets, Team: is.Members, Items: map[string]server.PacketItem{}}
	for _, p := range is.Packets {
		for _, s := range p.Content.Sections {
			for _, it := range s.Items {
				f.Items[s.Department] = it
			}
		}
	}
	return f
}

// packetOf returns a packet whose team holds username, and its index.
func (f *syncFixture) packetOf(t *testing.T, username string) []*server.Packet {
	t.Helper()
	var out []*server.Packet
	for _, p := range f.Packets {
		for _, u := range f.Team[p.ID] {
			if u == username {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no packet for %s", username)
	}
	return out
}

// fieldDevice is an inspector's registered device with a device-bound session.
type fieldDevice struct {
	h        *apptest.Harness
	Username string
	ID       int64
	Key      ed25519.PrivateKey
	Token    string
	seq      uint64
}

// newFieldDevice registers a device for username and signs in on it.
func newFieldDevice(t *testing.T, h *apptest.Harness, username string) *fieldDevice {
	t.Helper()
	d := acctRegisterDevice(t, h, h.Token(t, username), "执法终端")
	s := acctDeviceLogin(t, h, username, d)
	return &fieldDevice{h: h, Username: username, ID: d.ID, Key: d.Key, Token: s.AccessToken}
}

// request builds a request with the device's token and protocol version.
func (d *fieldDevice) request(t testing.TB, method, path string, body []byte) *http.Request {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, d.h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// post sends v as JSON to a sync route.
func (d *fieldDevice) post(t testing.TB, path string, v any) *apptest.Response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return d.h.Send(t, d.request(t, "POST", path, b))
}

// mutation returns the device's next mutation for the packet.
func (d *fieldDevice) mutation(packetID string) syncproto.Mutation {
	d.seq++
	return syncproto.Mutation{
		Seq: d.seq, ID: fmt.Sprintf("%d-%d", d.ID, d.seq), PacketID: packetID,
		DeviceTime: time.Date(2026, 12, 2, 10, 0, int(d.seq), 0, time.UTC),
	}
}

func (d *fieldDevice) answer(packetID string, a syncproto.AnswerMutation) syncproto.Mutation {
	m := d.mutation(packetID)
	m.Kind, m.Answer = syncproto.KindAnswer, &a
	return m
}

// push sends the mutations and decodes a 200 answer.
func (d *fieldDevice) push(t testing.TB, ms ...syncproto.Mutation) *syncproto.PushResponse {
	t.Helper()
	r := d.post(t, syncproto.PathPush, syncproto.PushRequest{DeviceID: d.ID, Mutations: ms})
	if r.Status != http.StatusOK {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	var out syncproto.PushResponse
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// pull pulls one page.
func (d *fieldDevice) pull(t testing.TB, cursor string, limit int) *syncproto.PullResponse {
	t.Helper()
	r := d.post(t, syncproto.PathPull, syncproto.PullRequest{DeviceID: d.ID, Cursor: cursor, Limit: limit})
	if r.Status != http.StatusOK {
		t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	var out syncproto.PullResponse
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// pullAll pulls every page from the start and returns the changes.
func (d *fieldDevice) pullAll(t testing.TB, limit int) ([]syncproto.Change, *syncproto.PullResponse) {
	t.Helper()
	var all []syncproto.Change
	cursor := ""
	for range 1000 {
		p := d.pull(t, cursor, limit)
		all = append(all, p.Changes...)
		cursor = p.Cursor
		if !p.More {
			return all, p
		}
	}
	t.Fatal("pull never ends")
	return nil, nil
}

// missing asks which hashes the server lacks.
func (d *fieldDevice) missing(t testing.TB, hashes ...string) []string {
	t.Helper()
	r := d.post(t, syncproto.PathAttachmentsMissing, syncproto.MissingRequest{Hashes: hashes})
	if r.Status != http.StatusOK {
		t.Fatalf("missing: %d %s", r.Status, r.Body)
	}
	var out syncproto.MissingResponse
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Missing
}

// createUpload starts a tus upload and returns its path.
func (d *fieldDevice) createUpload(t testing.TB, size int, sha, contentType string) (string, *apptest.Response) {
	t.Helper()
	req := d.request(t, "POST", syncproto.PathUploads, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(size))
	req.Header.Set("Upload-Metadata", syncproto.UploadMetaSHA256+" "+base64.StdEncoding.EncodeToString([]byte(sha))+","+
		syncproto.UploadMetaContentType+" "+base64.StdEncoding.EncodeToString([]byte(contentType)))
	r := d.h.Send(t, req)
	loc := r.Header.Get("Location")
	if i := bytes.Index([]byte(loc), []byte(syncproto.PathUploads)); i >= 0 {
		loc = loc[i:]
	}
	return loc, r
}

// patch sends chunk at offset.
func (d *fieldDevice) patch(t testing.TB, path string, offset int, chunk []byte) *apptest.Response {
	t.Helper()
	req := d.request(t, "PATCH", path, nil)
	req.Body = http.NoBody
	if len(chunk) > 0 {
		req = d.request(t, "PATCH", path, chunk)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.Itoa(offset))
	return d.h.Send(t, req)
}

// head reports the server's offset of the upload.
func (d *fieldDevice) head(t testing.TB, path string) (int, *apptest.Response) {
	t.Helper()
	req := d.request(t, "HEAD", path, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	r := d.h.Send(t, req)
	n, _ := strconv.Atoi(r.Header.Get("Upload-Offset"))
	return n, r
}

// upload uploads content whole and fails the test unless it is stored.
func (d *fieldDevice) upload(t testing.TB, content []byte) syncproto.AttachmentRef {
	t.Helper()
	ref := attachment(content)
	path, r := d.createUpload(t, len(content), ref.SHA256, ref.ContentType)
	if r.Status != http.StatusCreated {
		t.Fatalf("create upload: %d %s", r.Status, r.Body)
	}
	if r := d.patch(t, path, 0, content); r.Status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	return ref
}

// attachment is the reference of a PNG with the content.
func attachment(content []byte) syncproto.AttachmentRef {
	sum := sha256.Sum256(content)
	return syncproto.AttachmentRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), ContentType: "image/png"}
}

// pngBytes returns a real PNG of about n bytes (at least 300) whose noise
// pixels are unique to seed.
func pngBytes(seed string, n int) []byte {
	const w = 256
	h := max(1, (n-100+w)/(w+1))
	img := image.NewGray(image.Rect(0, 0, w, h))
	r := mrand.NewChaCha8(sha256.Sum256([]byte(seed)))
	r.Read(img.Pix)
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// deptOf is the department code of a harness inspector.
func deptOf(h *apptest.Harness, username string) string {
	for _, d := range []*server.Department{h.DeptA, h.DeptB} {
		if d.ID == *h.Users[username].DepartmentID {
			return d.Code
		}
	}
	panic("no department for " + username)
}

// inspectorID is the device's inspector.
func (d *fieldDevice) inspectorID() int64 { return *d.h.Users[d.Username].InspectorID }

// section is a complete record of the department's section of p as the
// device's inspector seals it: every item answered with result, and the
// certificates of the department's members on the team.
func (d *fieldDevice) section(p *server.Packet, dept string, version int, result string) syncproto.SectionRecord {
	r := syncproto.SectionRecord{
		PacketID: p.ID, Department: dept, Version: version, DeviceID: d.ID, InspectorID: d.inspectorID(),
		Answers: []syncproto.AnswerMutation{}, Certificates: []syncproto.CertificateShown{}, Attachments: []string{},
		SealedAt: time.Now().UTC(),
	}
	for _, s := range p.Content.Sections {
		if s.Department != dept {
			continue
		}
		for _, it := range s.Items {
			r.Answers = append(r.Answers, syncproto.AnswerMutation{Department: dept, ItemCode: it.Code, ItemVersion: it.Version, Result: result})
		}
	}
	for _, m := range p.Content.Team {
		if m.Department == dept {
			r.Certificates = append(r.Certificates, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
		}
	}
	slices.SortFunc(r.Certificates, func(a, b syncproto.CertificateShown) int { return int(a.InspectorID - b.InspectorID) })
	if version > 1 {
		r.Replaces, r.CorrectionReason = version-1, "补记现场情况 (adds what was found on site)"
	}
	return r
}

// seal returns a mutation sealing the section with key.
func (d *fieldDevice) seal(t testing.TB, rec syncproto.SectionRecord, key ed25519.PrivateKey) syncproto.Mutation {
	t.Helper()
	hash, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	m := d.mutation(rec.PacketID)
	m.Kind = syncproto.KindSeal
	m.Seal = &syncproto.SealMutation{Section: rec, Hash: hash, Signature: ed25519.Sign(key, syncproto.SectionSealMessage(hash))}
	return m
}

// ref names the sealed section of a seal mutation.
func ref(m syncproto.Mutation) syncproto.SectionRef {
	return syncproto.SectionRef{Department: m.Seal.Section.Department, Version: m.Seal.Section.Version, Hash: m.Seal.Hash}
}

// notLocatable is a close of a visit that found nobody, covering refs.
func (d *fieldDevice) notLocatable(packetID string, covers ...syncproto.SectionRef) syncproto.CloseRecord {
	return syncproto.CloseRecord{
		PacketID: packetID, DeviceID: d.ID, InspectorID: d.inspectorID(),
		Close:  syncproto.CloseMutation{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所无人，电话无法接通"},
		Covers: append([]syncproto.SectionRef{}, covers...), Attachments: []string{}, ClosedAt: time.Now().UTC(),
	}
}

// sealClose returns a mutation sealing the close with key.
func (d *fieldDevice) sealClose(t testing.TB, rec syncproto.CloseRecord, key ed25519.PrivateKey) syncproto.Mutation {
	t.Helper()
	rec.Attachments = syncproto.AttachmentList(rec.Close.Refs())
	hash, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	m := d.mutation(rec.PacketID)
	m.Kind = syncproto.KindSealClose
	m.SealClose = &syncproto.SealCloseMutation{Record: rec, Hash: hash, Signature: ed25519.Sign(key, syncproto.CloseSealMessage(hash))}
	return m
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
