package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
)

func init() {
	register("letters", "notification letters: letters unserved --campaign ID", cmdLetters)
}

func cmdLetters(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "unserved" {
		return cmdLettersUnserved(ctx, env, args[1:])
	}
	fmt.Fprintln(env.Stderr, "usage: spotcheck letters unserved --campaign ID")
	return usagef("want: letters unserved")
}

// cmdLettersUnserved lists, with the operator's authority, the targets of
// a campaign whose notification letter has no delivery record yet.
func cmdLettersUnserved(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("letters unserved", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	campaign := fs.Int64("campaign", 0, "the campaign id")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected arguments %q", pos)
	case *campaign <= 0:
		return usagef("--campaign ID is required")
	}
	a, err := g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Letters.FindUnservedTargets(app.SystemContext(ctx), *campaign)
	if err != nil {
		return err
	}
	printUnserved(env.Stdout, list)
	return nil
}

// printUnserved writes a count, then one tab-separated line per target:
// credit code, team number, enterprise name, address.
func printUnserved(w io.Writer, list []*server.UnservedTarget) {
	fmt.Fprintf(w, "%d letters not yet served\n", len(list))
	for _, u := range list {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", u.CreditCode, u.TeamNumber, u.Name, u.Address)
	}
}
