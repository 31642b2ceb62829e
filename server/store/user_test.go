package store_test

import (
	"context"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestNormalizeUsernames: accounts made before usernames were normalized are
// brought to the stored form at start; one that would then collide with (or
// look like) another is left alone, not renamed over it.
func TestNormalizeUsernames(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		users := store.NewUserService(db, fixtureHasher{})
		kept := &server.User{Username: "zhang.wei", Role: server.RolePlatformAdmin}
		if err := users.CreateUserUnchecked(context.Background(), kept, "password", false); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{" Li.Na ", "ZHANG.WEI", "zhаng.wei" /* Cyrillic а */} {
			if err := db.ExecForTest(`INSERT INTO users (username, password_hash, role, created_at, updated_at)
				VALUES (?, 'plain:password', 'platform_admin', ?, ?)`, name, storetest.Now, storetest.Now); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(context.Background(), discard); err != nil {
			t.Fatal(err)
		}
		root := as(&server.User{ID: kept.ID, Role: server.RolePlatformAdmin})
		all, _, err := users.FindUsers(root, server.UserFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range all {
			got = append(got, u.Username)
		}
		want := []string{"zhang.wei", "li.na", "ZHANG.WEI", "zhаng.wei"}
		if len(got) != len(want) {
			t.Fatalf("usernames %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("usernames %q, want %q", got, want)
			}
		}
		// The normalized one now counts against look-alikes.
		err = users.CreateUserUnchecked(context.Background(), &server.User{Username: "LI.NA", Role: server.RolePlatformAdmin}, "password", false)
		wantErrorCode(t, err, server.ECONFLICT)
	})
}
