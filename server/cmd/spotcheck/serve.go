package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

func init() {
	register("serve", "run the server", cmdServe)
	register("demo", "run the server with the demo dataset (serve --demo)", func(ctx context.Context, env *Env, args []string) error {
		return cmdServe(ctx, env, append([]string{"--demo"}, args...))
	})
	register("migrate", "apply pending database migrations and exit", cmdMigrate)
}

func cmdServe(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	addr := env.Getenv("SPOTCHECK_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	fs.StringVar(&g.cfg.Addr, "addr", addr, "address to listen on (env SPOTCHECK_ADDR)")
	uploadTTL := app.DefaultUploadTTL
	if v := env.Getenv("SPOTCHECK_UPLOAD_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return usagef("SPOTCHECK_UPLOAD_TTL %q is not a positive duration such as 168h", v)
		}
		uploadTTL = d
	}
	fs.DurationVar(&uploadTTL, "upload-ttl", uploadTTL, "remove unfinished uploads idle this long (env SPOTCHECK_UPLOAD_TTL)")
	pullWait := api.DefaultMaxPullWait
	if v := env.Getenv("SPOTCHECK_PULL_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return usagef("SPOTCHECK_PULL_WAIT %q is not a duration such as 25s", v)
		}
		pullWait = d
	}
	fs.DurationVar(&pullWait, "pull-wait", pullWait, "longest a device's pull waits for changes; 0 turns long polls off; keep it below proxies' idle timeouts (env SPOTCHECK_PULL_WAIT)")
	demo := fs.Bool("demo", env.Getenv("SPOTCHECK_DEMO") == "1", "load the demo dataset on first start (env SPOTCHECK_DEMO=1)")
	var edge edgeFlags
	if err := edge.register(fs, env); err != nil {
		return err
	}
	var uploads uploadFlags
	if err := uploads.register(fs, env); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	limits, err := uploads.limits()
	if err != nil {
		return err
	}
	g.cfg.UploadLimits, g.cfg.MinFreeDisk = limits, uint64(uploads.minFreeDisk)
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if uploadTTL <= 0 {
		return usagef("--upload-ttl must be positive")
	}
	if pullWait < 0 || pullWait > time.Duration(syncproto.MaxPullWaitSeconds)*time.Second {
		return usagef("--pull-wait must be between 0 and %ds", syncproto.MaxPullWaitSeconds)
	}
	if err := edge.check(); err != nil {
		return err
	}
	log, err := g.logger(env)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, g.cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	if user, pass, err := a.EnsureAdmin(ctx); err != nil {
		return err
	} else if user != "" {
		fmt.Fprintf(env.Stdout, "First start: created platform admin %q with one-time password %s\n", user, pass)
		fmt.Fprintln(env.Stdout, "It is shown only now and works once: sign in (at the console, or POST /v1/auth/login) and choose a new password.")
	}
	if *demo {
		if err := loadDemo(ctx, a, env); err != nil {
			return fmt.Errorf("demo dataset: %w", err)
		}
	}

	a.API.MaxPullWait = pullWait
	edge.apply(a.API)
	// Behind a TLS proxy named by --public-url, the session cookies are
	// Secure even when the proxy is not trusted to say so.
	a.Web.SecureCookies = strings.HasPrefix(edge.publicURL, "https://")
	a.Web.PublicURL = edge.publicURL // the letters' verification line, as the API prints it
	warnCalendar(log, a)
	if err := a.API.Listen(g.cfg.Addr); err != nil {
		return err
	}
	if edge.metricsAddr != "" {
		if err := a.API.ListenMetrics(edge.metricsAddr); err != nil {
			return fmt.Errorf("metrics address: %w", err)
		}
		log.Info("serving metrics", slog.String("addr", a.API.MetricsAddr().String()))
	}
	log.Info("serving", slog.String("addr", a.API.Addr().String()), slog.String("database", a.DB.Dialect()))
	fmt.Fprintf(env.Stdout, "spotcheck listening on http://%s (database: %s)\n", a.API.Addr(), a.DB.Dialect())
	base := browseURL(a.API.Addr(), edge.publicURL)
	fmt.Fprintf(env.Stdout, "控制台: %s/console/\n公示页面: %s/\n", base, base)
	errc := make(chan error, 1)
	go func() { errc <- a.API.Serve() }()
	go a.PruneUploads(ctx, time.Hour, uploadTTL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.API.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return <-errc
}

func cmdMigrate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := g.logger(env)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, g.cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	cur, latest, err := a.DB.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "database %s at schema version %d (latest %d)\n", a.DB.Dialect(), cur, latest)
	return nil
}

// warnCalendar says which years the working-day calendar covers and, from
// November on, warns when it lacks next year: deadlines that run into it
// (confirmations, entry, publication) cannot be computed until a spotcheck
// built on a newer github.com/6tail/lunar-go is deployed or the State
// Council's notice is added with --calendar.
func warnCalendar(log *slog.Logger, a *app.App) {
	years := a.Calendar.Years()
	log.Info("working-day calendar", slog.Any("years", years))
	now := a.DB.Now().In(calendar.Shanghai())
	if next := now.Year() + 1; now.Month() >= time.November && !slices.Contains(years, next) {
		log.Warn("the working-day calendar has no data for next year: update spotcheck (its holidays come from github.com/6tail/lunar-go) or add the State Council's notice with --calendar FILE (SPOTCHECK_CALENDAR)",
			slog.Int("year", next))
	}
}

// browseURL is the address a browser on this machine opens: the bound
// address, with an unspecified host (":8080") as 127.0.0.1, or the public
// URL when one is configured.
func browseURL(addr net.Addr, publicURL string) string {
	if publicURL != "" {
		return publicURL
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
