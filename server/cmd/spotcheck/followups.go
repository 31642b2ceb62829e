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
	register("followups", "follow-up tasks after approval: followups overdue [--campaign ID]",
		subcommand("followups", "overdue", "followups overdue [--campaign ID]", cmdFollowUpsOverdue))
}

// cmdFollowUpsOverdue lists, with the operator's authority, the follow-up
// tasks not closed by their due date.
func cmdFollowUpsOverdue(ctx context.Context, env *Env, args []string) error {
	a, id, err := newCampaignFlags(env, "followups overdue", "only this campaign's tasks").Open(ctx, env, args, false)
	if err != nil {
		return err
	}
	defer a.Close()
	f := server.FollowUpFilter{Overdue: true, CampaignID: id}
	list, err := a.FollowUps.FindFollowUps(app.SystemContext(ctx), f)
	if err != nil {
		return err
	}
	printFollowUpsOverdue(env.Stdout, list)
	return nil
}

// printFollowUpsOverdue writes a count, then one tab-separated line per
// task (due in +08:00): due, task id, result id, campaign id, department,
// credit code, enterprise, state, assignee user id ("-" when unassigned).
func printFollowUpsOverdue(w io.Writer, list []server.FollowUp) {
	fmt.Fprintf(w, "%d follow-ups overdue\n", len(list))
	for _, f := range list {
		due, assignee := "-", "-"
		if f.DueAt != nil {
			due = f.DueAt.Format(time.RFC3339)
		}
		if f.AssigneeID != nil {
			assignee = fmt.Sprint(*f.AssigneeID)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", due, f.ID, f.ResultID, f.CampaignID, f.Department,
			f.CreditCode, f.EnterpriseName, f.State, assignee)
	}
}
