package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
)

func init() {
	register("results", "results after the visit: results overdue [--campaign ID]",
		subcommand("results", "overdue", "results overdue [--campaign ID]", cmdResultsOverdue))
}

// cmdResultsOverdue lists, with the operator's authority, the results past
// their entry deadline (not approved within the campaign's working days of
// the visit) and the approved results past their publication deadline.
func cmdResultsOverdue(ctx context.Context, env *Env, args []string) error {
	a, id, err := newCampaignFlags(env, "results overdue", "only this campaign's results").Open(ctx, env, args, false)
	if err != nil {
		return err
	}
	defer a.Close()
	o, err := a.Results.FindOverdue(app.SystemContext(ctx), id)
	if err != nil {
		return err
	}
	printOverdue(env.Stdout, o)
	return nil
}

// printOverdue writes one tab-separated line per overdue result (times in
// +08:00): kind, due, result id, campaign id, department, credit code,
// enterprise, state.
func printOverdue(w io.Writer, o *server.OverdueResults) {
	fmt.Fprintf(w, "as of %s: %d entry overdue, %d publication overdue\n", o.Now.Format(time.RFC3339), len(o.EntryOverdue), len(o.PublicationOverdue))
	line := func(kind string, r server.OverdueResult) {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", kind, r.Due.Format(time.RFC3339), r.Result.ID, r.Result.CampaignID,
			r.Result.Department, r.Result.CreditCode, r.Result.EnterpriseName, r.Result.State)
	}
	for _, r := range o.EntryOverdue {
		line("entry", r)
	}
	for _, r := range o.PublicationOverdue {
		line("publication", r)
	}
	for _, r := range o.Uncounted {
		fmt.Fprintf(w, "uncounted\t-\t%d\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.CampaignID, r.Department, r.CreditCode, r.EnterpriseName, r.DeadlineError)
	}
}
