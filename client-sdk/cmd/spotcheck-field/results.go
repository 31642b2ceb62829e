package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spotcheck/spotcheck/syncproto"
)

// cmdResults prints the inspector's results after the visit, one a line,
// with a returned one's reason beneath it.
func cmdResults(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	rs, err := c.Results(context.Background())
	if err != nil {
		return err
	}
	printResults(e.stdout, rs)
	return nil
}

var resultStateZH = map[string]string{
	syncproto.ResultDraft: "待录入", syncproto.ResultEntered: "待复核", syncproto.ResultReturned: "已退回", syncproto.ResultApproved: "已通过",
}

// printResults writes one line per result: id, state, packet, enterprise,
// the entered code (or the suggested one, marked "suggested"), the entry due
// date, then a returned result's reason.
func printResults(w io.Writer, rs []syncproto.Result) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no results")
		return
	}
	for _, r := range rs {
		code := r.Code
		if code == "" {
			code = r.SuggestedCode + " (suggested)"
		}
		due := "-"
		if r.EntryDue != nil {
			due = r.EntryDue.Format("2006-01-02")
		}
		fmt.Fprintf(w, "%d\t%s %s\t%s\t%s %s\t%s\tdue %s\n", r.ID, r.State, resultStateZH[r.State], r.PacketID, r.CreditCode, r.EnterpriseName, code, due)
		if r.State == syncproto.ResultReturned {
			fmt.Fprintf(w, "\t退回原因 (returned): %s\n", r.ReturnReason)
		}
		for _, f := range r.Flags {
			if f.Code == syncproto.FlagBasedOnOlderVersion {
				fmt.Fprintf(w, "\t%s\n", f.Message)
			}
		}
	}
}
