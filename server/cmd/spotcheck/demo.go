package main

import (
	"context"

	"github.com/spotcheck/spotcheck/server/app"
)

// loadDemo loads the demo dataset on first start.
func loadDemo(ctx context.Context, a *app.App, env *Env) error { return nil }
