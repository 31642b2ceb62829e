package store_test

import (
	"context"
	"testing"

	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

func TestDB_Migrate(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		current, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if current != latest || latest == 0 {
			t.Fatalf("version %d, latest %d", current, latest)
		}
		// A second run finds nothing to do.
		if err := db.Migrate(ctx, discard); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
