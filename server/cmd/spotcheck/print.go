package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/pdf"
)

func init() {
	register("print", "printed documents as PDF: print letter|record|grouping … --out FILE", cmdPrint)
}

const printUsage = "usage: spotcheck print letter --campaign ID [--target CREDIT] --out FILE\n" +
	"       spotcheck print record --packet ID --out FILE\n" +
	"       spotcheck print grouping --campaign ID [--department ID] --out FILE"

func cmdPrint(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "letter":
			return cmdPrintLetter(ctx, env, args[1:])
		case "record":
			return cmdPrintRecord(ctx, env, args[1:])
		case "grouping":
			return cmdPrintGrouping(ctx, env, args[1:])
		}
	}
	fmt.Fprintln(env.Stderr, printUsage)
	return usagef("want: print letter|record|grouping")
}

// printCommand is what each print subcommand shares: the global flags,
// --out and --public-url.
type printCommand struct {
	fs        *flag.FlagSet
	g         globalFlags
	out       *string
	publicURL *string
}

func newPrintCommand(env *Env, name string) *printCommand {
	c := &printCommand{fs: flag.NewFlagSet("print "+name, flag.ContinueOnError)}
	c.fs.SetOutput(env.Stderr)
	c.g.register(c.fs, env)
	c.out = c.fs.String("out", "", "the PDF file to write (required)")
	c.publicURL = c.fs.String("public-url", env.Getenv("SPOTCHECK_PUBLIC_URL"), "the server's public URL, the start of the verification line (env SPOTCHECK_PUBLIC_URL)")
	return c
}

func (c *printCommand) parse(args []string) error {
	pos, err := parseInterleaved(c.fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments %q", pos)
	}
	if *c.out == "" {
		return usagef("--out FILE is required")
	}
	return nil
}

// run opens the app and writes the document that write renders, with the
// operator's authority, to --out.
func (c *printCommand) run(ctx context.Context, env *Env, write func(ctx context.Context, a *app.App, src *pdf.Sources, buf *bytes.Buffer) error) error {
	a, err := c.g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	src := &pdf.Sources{Campaigns: a.Campaigns, Sync: a.Sync, Blobs: a.Blobs, Departments: a.Departments, Letters: a.Letters, PublicURL: *c.publicURL}
	var buf bytes.Buffer
	if err := write(app.SystemContext(ctx), a, src, &buf); err != nil {
		return err
	}
	if err := os.WriteFile(*c.out, buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%d bytes)\n", *c.out, buf.Len())
	return nil
}

// cmdPrintRecord writes the joint inspection record of a packet.
func cmdPrintRecord(ctx context.Context, env *Env, args []string) error {
	c := newPrintCommand(env, "record")
	packet := c.fs.String("packet", "", "the packet id (32 hex digits)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *packet == "" {
		return usagef("--packet ID is required")
	}
	return c.run(ctx, env, func(ctx context.Context, _ *app.App, src *pdf.Sources, buf *bytes.Buffer) error {
		r, err := src.LoadRecord(ctx, *packet)
		if err != nil {
			return err
		}
		return pdf.WriteRecord(buf, r)
	})
}

// cmdPrintGrouping writes a campaign's grouping report.
func cmdPrintGrouping(ctx context.Context, env *Env, args []string) error {
	c := newPrintCommand(env, "grouping")
	campaign := c.fs.Int64("campaign", 0, "the campaign id")
	dept := c.fs.Int64("department", 0, "only this department's part (id)")
	if err := c.parse(args); err != nil {
		return err
	}
	switch {
	case *campaign <= 0:
		return usagef("--campaign ID is required")
	case *dept < 0:
		return usagef("--department must be a positive department id")
	}
	return c.run(ctx, env, func(ctx context.Context, a *app.App, _ *pdf.Sources, buf *bytes.Buffer) error {
		var d *int64
		if *dept > 0 {
			d = dept
		}
		rep, err := a.Campaigns.FindGroupingReport(ctx, *campaign, d)
		if err != nil {
			return err
		}
		return pdf.WriteGrouping(buf, rep)
	})
}

// cmdPrintLetter writes the notification letters of a campaign's targets in
// one PDF, or with --target one target's.
func cmdPrintLetter(ctx context.Context, env *Env, args []string) error {
	c := newPrintCommand(env, "letter")
	campaign := c.fs.Int64("campaign", 0, "the campaign id")
	target := c.fs.String("target", "", "only this target's letter (its unified social credit code)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *campaign <= 0 {
		return usagef("--campaign ID is required")
	}
	return c.run(ctx, env, func(ctx context.Context, _ *app.App, src *pdf.Sources, buf *bytes.Buffer) error {
		l, err := src.LoadLetters(ctx, *campaign, *target)
		if err != nil {
			return err
		}
		return pdf.WriteLetters(buf, l)
	})
}
