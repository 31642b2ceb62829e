package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/report"
)

func init() {
	register("publish", "published results: publish export --campaign ID --format csv|xlsx [--out FILE]", cmdPublish)
}

func cmdPublish(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "export" {
		return cmdPublishExport(ctx, env, args[1:])
	}
	fmt.Fprintln(env.Stderr, "usage: spotcheck publish export --campaign ID --format csv|xlsx [--out FILE]")
	return usagef("want: publish export")
}

// cmdPublishExport writes, with the operator's authority, a campaign's
// published results as the national enterprise credit publicity system
// imports them (docs/publication.md): to --out, or to standard output.
func cmdPublishExport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("publish export", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	campaign := fs.Int64("campaign", 0, "the campaign whose published results to export")
	format := fs.String("format", server.ExportCSV, "csv or xlsx")
	out := fs.String("out", "", "write to this file (default: standard output)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected arguments %q", pos)
	case *campaign <= 0:
		return usagef("--campaign must be a positive campaign id")
	case *format != server.ExportCSV && *format != server.ExportXLSX:
		return usagef("--format must be csv or xlsx")
	}
	a, err := g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	e, err := a.Results.FindPublicationExport(app.SystemContext(ctx), *campaign)
	if err != nil {
		return err
	}
	if *out == "" {
		return report.WritePublication(env.Stdout, *format, e)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := report.WritePublication(f, *format, e); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "wrote %d results to %s\n", len(e.Rows), *out)
	return nil
}
