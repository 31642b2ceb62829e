package api_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
)

// /metrics shows the database pool: its size and the waits for a connection.
func TestMetrics_DatabasePool(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		want := 1 // SQLite: one connection
		if h.App.DB.Dialect() == store.Postgres {
			h.App.DB.SetMaxConns(25)
			want = 25
		}
		body := string(h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil).Body)
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^spotcheck_db_connections_max %d$`, want)).MatchString(body) {
			t.Errorf("metrics lack spotcheck_db_connections_max %d", want)
		}
		for _, name := range []string{"spotcheck_db_connections_in_use", "spotcheck_db_connections_idle", "spotcheck_db_connection_waits_total", "spotcheck_db_connection_wait_seconds_total"} {
			if !regexp.MustCompile(`(?m)^` + name + ` \d`).MatchString(body) {
				t.Errorf("metrics lack %s", name)
			}
		}
	})
}
