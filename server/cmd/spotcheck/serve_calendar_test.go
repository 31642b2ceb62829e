package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/calendar"
)

// serve warns from November when next year is missing from both lunar-go's
// data and the --calendar file, and only then.
func TestServe_WarnCalendar(t *testing.T) {
	years := calendar.China().Years()
	last := years[len(years)-1] // lunar-go's latest notice (2027 in v1.4.7)
	dir := t.TempDir()
	file := filepath.Join(dir, "cal.txt")
	if err := os.WriteFile(file, fmt.Appendf(nil, "year %d\n%d-01-01 holiday 元旦\n", last+1, last+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		file string
		now  time.Time // in Asia/Shanghai
		warn bool
	}{
		{"November 2026, lunar-go has 2027", "", time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Shanghai()), false},
		{"October of its last year", "", time.Date(last, 10, 31, 23, 0, 0, 0, calendar.Shanghai()), false},
		{"November of its last year", "", time.Date(last, 11, 1, 0, 30, 0, 0, calendar.Shanghai()), true},
		{"November of its last year, the file has the next", file, time.Date(last, 11, 1, 0, 30, 0, 0, calendar.Shanghai()), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := app.Open(context.Background(), app.Config{DataDir: filepath.Join(t.TempDir(), "data"), CalendarFile: tt.file}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			a.DB.Now = func() time.Time { return tt.now.UTC() }
			var buf bytes.Buffer
			warnCalendar(slog.New(slog.NewTextHandler(&buf, nil)), a)
			warned := strings.Contains(buf.String(), "level=WARN")
			if warned != tt.warn || warned && !strings.Contains(buf.String(), fmt.Sprintf("year=%d", tt.now.Year()+1)) {
				t.Errorf("log %q, want a warning: %v", buf.String(), tt.warn)
			}
		})
	}
}
