package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

// endlessRecords is a PublicRecords whose record never ends: it writes
// 64 KiB at a time until a write fails, then reports the error on done.
type endlessRecords struct{ done chan error }

func (endlessRecords) FindPublicCampaigns(context.Context) ([]api.PublicCampaign, error) {
	return nil, nil
}

func (r endlessRecords) WriteManifest(ctx context.Context, id int64, w io.Writer) error {
	return r.WriteRecord(ctx, id, w)
}

func (r endlessRecords) WriteRecord(_ context.Context, _ int64, w io.Writer) error {
	chunk := make([]byte, 64<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			r.done <- err
			return err
		}
	}
}

// noBlobs is a BlobService with no blobs; the routes need one to register.
type noBlobs struct{}

func (noBlobs) AddBlob(context.Context, string, *server.Blob) error     { return nil }
func (noBlobs) AddDocument(context.Context, string, *server.Blob) error { return nil }
func (noBlobs) NewBatch(context.Context) (server.BlobBatch, error) {
	return nil, server.Errorf(server.EINTERNAL, "no blobs")
}
func (noBlobs) OpenBlob(context.Context, string) (*server.Blob, io.ReadSeekCloser, error) {
	return nil, nil, server.Errorf(server.ENOTFOUND, "no blobs")
}

// TestPublicRecord_StalledReaderIsCutOff: a reader of the public record that
// stops reading is cut off once a write has waited PublicWriteTimeout, so
// the handler (and whatever it holds) is freed.
func TestPublicRecord_StalledReaderIsCutOff(t *testing.T) {
	recs := endlessRecords{done: make(chan error, 1)}
	s := api.New(api.Services{Public: recs, Blobs: noBlobs{}, UploadDir: t.TempDir()}, nil, nil)
	s.PublicWriteTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Ask for the record, then never read.
	fmt.Fprintf(conn, "GET /public/campaigns/1/record HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-recs.done:
		var ne net.Error
		if !asNetError(err, &ne) || !ne.Timeout() {
			t.Fatalf("the write failed with %v, want a timeout", err)
		}
	case <-time.After(60 * time.Second): // a bound for failure only
		t.Fatal("the handler still writes to a reader that stopped reading")
	}
}

func asNetError(err error, target *net.Error) bool { return errors.As(err, target) }
