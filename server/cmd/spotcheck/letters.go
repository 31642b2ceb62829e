package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
)

func init() {
	register("letters", "notification letters: letters unserved --campaign ID",
		subcommand("letters", "unserved", "letters unserved --campaign ID", cmdLettersUnserved))
}

// cmdLettersUnserved lists, with the operator's authority, the targets of
// a campaign whose notification letter has no delivery record yet.
func cmdLettersUnserved(ctx context.Context, env *Env, args []string) error {
	a, campaign, err := newCampaignFlags(env, "letters unserved", "the campaign id").Open(ctx, env, args, true)
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
