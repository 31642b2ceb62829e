package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
	"github.com/spotcheck/spotcheck/syncproto"
)

// demoNonCompliantItem is the culture item the seeded visit finds a
// problem with, so that the result awaiting review has something to review.
const demoNonCompliantItem = "WH-02"

// demoVisit is the joint visit the demo performs on first start.
type demoVisit struct {
	Packet *server.Packet
	// Enterer entered the culture result; Result is that result, awaiting review.
	Enterer string
	Result  *syncproto.Result
}

// loadDemoVisit performs one complete joint visit on the first packet of
// the demo campaign's last team (the README's field walk takes the first
// team), as its tablets would: one device per inspector of each department
// on the team, driven through the field SDK against the server's own HTTP
// handler in-process, so devices are registered, mutations signed and pushed,
// and images uploaded exactly as from the field. Then one culture inspector
// of the team enters the culture result, which waits for review.
// ctx must not be a system context: the SDK's requests carry it into the
// handler, which authenticates them by their tokens alone.
func loadDemoVisit(ctx context.Context, a *app.App, users map[string]*server.User, c *server.Campaign) (*demoVisit, error) {
	sys := app.SystemContext(ctx)
	coord := server.NewContextWithUser(sys, users["coordinator"])
	packets, err := a.Campaigns.FindPackets(coord, c.ID)
	if err != nil {
		return nil, err
	}
	var pk *server.Packet
	for _, p := range packets {
		if pk == nil || p.TeamNumber > pk.TeamNumber {
			pk = p
		}
	}
	if pk == nil {
		return nil, errors.New("the demo campaign has no packets")
	}
	usernameOf := map[int64]string{}
	for name, u := range users {
		if u.InspectorID != nil {
			usernameOf[*u.InspectorID] = name
		}
	}
	// The first member of each department in the team's order does the
	// department's section.
	var order []string
	deviceOf := map[string]string{}
	for _, m := range pk.Content.Team {
		if _, ok := deviceOf[m.Department]; !ok && usernameOf[m.InspectorID] != "" {
			deviceOf[m.Department] = usernameOf[m.InspectorID]
			order = append(order, m.Department)
		}
	}
	if len(order) != len(pk.Content.Sections) {
		return nil, fmt.Errorf("packet %s: the team has an inspector account for %d of %d sections", pk.ID, len(order), len(pk.Content.Sections))
	}
	dir, err := os.MkdirTemp("", "spotcheck-demo-visit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the devices' stores: everything they did is on the server now
	images := map[string]string{}
	for i, name := range []string{"photo", "signature", "stamp"} {
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, demoImage(uint8(40+40*i)), 0o600); err != nil {
			return nil, err
		}
		images[name] = p
	}
	const serverURL = "http://127.0.0.1" // any origin: the handler is called in-process
	httpc := &http.Client{Transport: handlerTransport{a.API.Handler()}}
	var tokens []string
	var closer *sdk.Client
	for _, dept := range order {
		dev, err := sdk.Open(filepath.Join(dir, dept), sdk.Config{ServerURL: serverURL, HTTPClient: httpc, Now: a.DB.Now, MaxAttempts: 1})
		if err != nil {
			return nil, err
		}
		defer dev.Close()
		if err := demoSection(ctx, dev, deviceOf[dept], pk.ID, images["photo"]); err != nil {
			return nil, fmt.Errorf("%s on packet %s: %w", deviceOf[dept], pk.ID, err)
		}
		seal, err := dev.SealSection(ctx, pk.ID)
		if err != nil {
			return nil, fmt.Errorf("%s seals packet %s: %w", deviceOf[dept], pk.ID, err)
		}
		tokens = append(tokens, syncproto.SectionRef{Department: seal.Section.Department, Version: seal.Section.Version, Hash: seal.Hash}.Token())
		if err := demoSync(ctx, dev); err != nil {
			return nil, fmt.Errorf("%s syncs: %w", deviceOf[dept], err)
		}
		closer = dev
	}
	// The last device captures the close for the team, covering the
	// sections sealed on the others.
	if _, err := closer.CloseVisit(ctx, pk.ID, sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Covers: tokens,
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerRepresentative, Name: "王建国", PNGPath: images["signature"]}},
		StampPath:  images["stamp"]}); err != nil {
		return nil, fmt.Errorf("close of packet %s: %w", pk.ID, err)
	}
	if err := demoSync(ctx, closer); err != nil {
		return nil, fmt.Errorf("the close syncs: %w", err)
	}

	enterer := deviceOf[demo.CultureCode]
	ectx := server.NewContextWithUser(sys, users[enterer])
	rs, err := a.Results.FindResults(ectx, server.ResultFilter{PacketID: &pk.ID})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rs, func(r syncproto.Result) bool { return r.Department == demo.CultureCode })
	if i < 0 {
		return nil, fmt.Errorf("packet %s has no culture result after the visit", pk.ID)
	}
	r, err := a.Results.EnterResult(ectx, rs[i].ID, server.ResultEntry{Code: rs[i].SuggestedCode,
		Summary: "现场发现一名未成年人在场上网，已责令立即改正并劝离（演示）"})
	if err != nil {
		return nil, fmt.Errorf("entry of result %d: %w", rs[i].ID, err)
	}
	return &demoVisit{Packet: pk, Enterer: enterer, Result: r}, nil
}

// demoSection enrols the device as username, pulls the packet and answers
// the department's section: every item compliant but the one the visit
// finds a problem with, and the certificates of the department's members.
func demoSection(ctx context.Context, dev *sdk.Client, username, packetID, photo string) error {
	if err := dev.Enrol(ctx, "", username, demo.Password, "演示平板"); err != nil {
		return err
	}
	if err := demoSync(ctx, dev); err != nil {
		return err
	}
	p, err := dev.Packet(ctx, packetID)
	if err != nil {
		return err
	}
	for _, sec := range p.Content.Sections {
		if sec.Department != p.Section.Department {
			continue
		}
		for _, it := range sec.Items {
			in := sdk.AnswerInput{ItemCode: it.Code, Result: syncproto.ResultCompliant}
			if it.Code == demoNonCompliantItem {
				in.Result, in.Note, in.Photos = syncproto.ResultNonCompliant, "发现一名未成年人在场上网，未核验身份证件", []string{photo}
			}
			if _, err := dev.Answer(ctx, packetID, in); err != nil {
				return fmt.Errorf("item %s: %w", it.Code, err)
			}
		}
	}
	var shown []syncproto.CertificateShown
	for _, m := range p.Content.Team {
		if m.Department == p.Section.Department {
			shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
		}
	}
	return dev.RecordCertificates(ctx, packetID, shown, nil)
}

// demoSync syncs and fails on any rejection: the demo's visit must land whole.
func demoSync(ctx context.Context, dev *sdk.Client) error {
	if err := dev.Sync(ctx); err != nil {
		return err
	}
	st, err := dev.Status(ctx)
	if err != nil {
		return err
	}
	if st.Outbox > 0 || st.PendingUploads > 0 || st.Rejections > 0 || st.Conflicts > 0 {
		return fmt.Errorf("sync left %d queued, %d uploads, %d rejections, %d conflicts", st.Outbox, st.PendingUploads, st.Rejections, st.Conflicts)
	}
	return nil
}

// handlerTransport serves the SDK's requests with the server's handler,
// in-process: the same routes, middleware and validation as over a socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.RemoteAddr = "127.0.0.1:0"
	r.RequestURI = r.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	w := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(w, r)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(&w.body),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// bufferedResponse keeps a handler's answer in memory. It has no
// connection whose deadlines could be set: the upload handler's deadlines
// (through http.ResponseController) are accepted and mean nothing, as the
// whole body is already in memory.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = status, true
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *bufferedResponse) SetReadDeadline(time.Time) error  { return nil }
func (w *bufferedResponse) SetWriteDeadline(time.Time) error { return nil }

// demoImage is a small PNG with a few strokes that depend on seed.
func demoImage(seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 48))
	ink := color.RGBA{R: seed, G: 40, B: 160, A: 255}
	for x := range 96 {
		for y := range 48 {
			c := color.RGBA{R: 255, G: 255, B: 255, A: 255}
			if (x+int(seed))%11 == y%11 || y == 24+int(seed)%7 {
				c = ink
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img) // writing to memory cannot fail
	return buf.Bytes()
}
