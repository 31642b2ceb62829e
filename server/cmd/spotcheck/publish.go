package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/report"
)

func init() {
	register("publish", "published results: publish export --campaign ID --format csv|xlsx [--out FILE]",
		subcommand("publish", "export", "publish export --campaign ID --format csv|xlsx [--out FILE]", cmdPublishExport))
}

// cmdPublishExport writes, with the operator's authority, a campaign's
// published results as the national enterprise credit publicity system
// imports them (docs/publication.md): to --out, or to standard output.
func cmdPublishExport(ctx context.Context, env *Env, args []string) error {
	fs := newCampaignFlags(env, "publish export", "the campaign whose published results to export")
	format := fs.String("format", server.ExportCSV, "csv or xlsx")
	out := fs.String("out", "", "write to this file (default: standard output)")
	if err := fs.Parse(args, true); err != nil {
		return err
	}
	if *format != server.ExportCSV && *format != server.ExportXLSX {
		return usagef("--format must be csv or xlsx")
	}
	a, err := fs.global.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	e, err := a.Results.FindPublicationExport(app.SystemContext(ctx), *fs.Campaign())
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
