package store_test

import (
	"context"
	"log/slog"

	"github.com/spotcheck/spotcheck/server"
)

var discard = slog.New(slog.DiscardHandler)

// as returns a context acting as u.
func as(u *server.User) context.Context {
	return server.NewContextWithUser(context.Background(), u)
}

var platformAdmin = &server.User{ID: 1, Username: "root", Role: server.RolePlatformAdmin}
