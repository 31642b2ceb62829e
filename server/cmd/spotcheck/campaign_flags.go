package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/spotcheck/spotcheck/server/app"
)

// runFunc is what a command or subcommand runs.
type runFunc func(ctx context.Context, env *Env, args []string) error

// subcommand is a command with a single subcommand ("results overdue"):
// it runs it, or prints the usage line.
func subcommand(name, sub, usage string, run runFunc) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if len(args) > 0 && args[0] == sub {
			return run(ctx, env, args[1:])
		}
		fmt.Fprintln(env.Stderr, "usage: spotcheck "+usage)
		return usagef("want: %s %s", name, sub)
	}
}

// campaignFlags are the flags of a command about one campaign or, when
// the campaign is optional, all of them: the global flags and --campaign
// ID. A command adds its own flags to FlagSet before Open.
type campaignFlags struct {
	*flag.FlagSet
	global   globalFlags
	campaign *int64
}

func newCampaignFlags(env *Env, name, campaignHelp string) *campaignFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	c := &campaignFlags{FlagSet: fs}
	c.global.register(fs, env)
	c.campaign = fs.Int64("campaign", 0, campaignHelp)
	return c
}

// Parse parses args (flags only) and checks --campaign: required, or
// optional and then Campaign is nil when it is absent.
func (c *campaignFlags) Parse(args []string, required bool) error {
	pos, err := parseInterleaved(c.FlagSet, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected arguments %q", pos)
	case *c.campaign < 0 || required && *c.campaign == 0:
		return usagef("--campaign must be a positive campaign id")
	}
	return nil
}

// Campaign is --campaign, or nil when it was not given.
func (c *campaignFlags) Campaign() *int64 {
	if *c.campaign == 0 {
		return nil
	}
	return c.campaign
}

// Open parses args as Parse does and opens the app; the caller closes it.
func (c *campaignFlags) Open(ctx context.Context, env *Env, args []string, required bool) (*app.App, *int64, error) {
	if err := c.Parse(args, required); err != nil {
		return nil, nil, err
	}
	a, err := c.global.openApp(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	return a, c.Campaign(), nil
}
