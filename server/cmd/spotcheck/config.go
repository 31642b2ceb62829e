package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"slices"
	"strconv"

	"github.com/spotcheck/spotcheck/server/app"
)

// globalFlags are the flags every command that opens the database takes; each
// falls back to an environment variable, then to a default.
type globalFlags struct {
	cfg      app.Config
	logLevel slog.Level
	// badLogLevel is an SPOTCHECK_LOG_LEVEL that is not a level; logger
	// refuses it.
	badLogLevel string
}

func (g *globalFlags) register(fs *flag.FlagSet, env *Env) {
	or := func(key, def string) string {
		if v := env.Getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&g.cfg.DataDir, "data-dir", or("SPOTCHECK_DATA_DIR", "spotcheck-data"), "data directory: SQLite database, signing keys (env SPOTCHECK_DATA_DIR)")
	fs.StringVar(&g.cfg.DatabaseURL, "database-url", env.Getenv("SPOTCHECK_DATABASE_URL"), "PostgreSQL URL; empty means SQLite in the data directory (env SPOTCHECK_DATABASE_URL)")
	fs.StringVar(&g.cfg.KeysDir, "keys-dir", env.Getenv("SPOTCHECK_KEYS_DIR"), "token signing keys directory; default DATA-DIR/keys (env SPOTCHECK_KEYS_DIR)")
	conns := 0
	if v := env.Getenv("SPOTCHECK_DB_MAX_CONNS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			conns = n
		} else {
			conns = -1 // app.Open refuses it with a message
		}
	}
	fs.IntVar(&g.cfg.DBMaxConns, "db-max-conns", conns, "PostgreSQL connections at most; default 10 (env SPOTCHECK_DB_MAX_CONNS)")
	fs.StringVar(&g.cfg.CalendarFile, "calendar", env.Getenv("SPOTCHECK_CALENDAR"), "holiday calendar file whose years extend or replace the built-in ones from github.com/6tail/lunar-go (env SPOTCHECK_CALENDAR)")
	level := slog.LevelInfo
	if v := env.Getenv("SPOTCHECK_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			g.badLogLevel = v
		}
	}
	fs.TextVar(&g.logLevel, "log-level", level, "debug, info, warn or error (env SPOTCHECK_LOG_LEVEL)")
}

// logger returns the JSON logger at the configured level, or an error for a
// log level that is none (a typo must not pass for the default).
func (g *globalFlags) logger(env *Env) (*slog.Logger, error) {
	if g.badLogLevel != "" {
		return nil, usagef("SPOTCHECK_LOG_LEVEL %q is not a log level: use debug, info, warn or error", g.badLogLevel)
	}
	w := env.Stderr
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: g.logLevel})), nil
}

// openApp opens the app (migrating the database) with the configured
// logger; the caller closes it.
func (g *globalFlags) openApp(ctx context.Context, env *Env) (*app.App, error) {
	log, err := g.logger(env)
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, g.cfg, log)
}

func sortStrings(s []string) { slices.Sort(s) }
