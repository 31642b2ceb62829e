package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHealthcheck(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer healthy.Close()
	if code, out, errOut := runCmd(t, "healthcheck", "--url", healthy.URL+"/healthz"); code != 0 || out != "ok\n" {
		t.Fatalf("healthy server: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "healthcheck", "--url", healthy.URL+"/nothing"); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("404: exit %d, stderr %q", code, errOut)
	}
	// Nothing listening: a closed server's address refuses connections.
	down := httptest.NewServer(http.NotFoundHandler())
	addr := down.URL
	down.Close()
	if code, _, errOut := runCmd(t, "healthcheck", "--url", addr+"/healthz"); code != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("down: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "healthcheck", "extra"); code != 2 {
		t.Fatalf("stray argument: exit %d, want 2", code)
	}
}
