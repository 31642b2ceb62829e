package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"golang.org/x/text/width"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/syncproto"
)

var commands = []command{
	{name: "login", flagsUsage: "--server URL --username U [--device-name N]",
		help:     "enrol this device (or sign in again); the password is read from stdin or prompted",
		required: []string{"server", "username"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.server, "server", "", "server URL, e.g. http://localhost:8080")
			fs.StringVar(&o.username, "username", "", "inspector's username")
			fs.StringVar(&o.deviceName, "device-name", "", "a name for this device")
		}, run: cmdLogin},
	{name: "passwd", flagsUsage: "--server URL --username U",
		help:     "change the password (a one-time one must be changed before login works); the current and the new password are read from stdin, one a line, or prompted",
		required: []string{"server", "username"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.server, "server", "", "server URL, e.g. http://localhost:8080")
			fs.StringVar(&o.username, "username", "", "inspector's username")
		}, run: cmdPasswd},
	{name: "sync", flagsUsage: "[--watch] [--interval D]", help: "upload attachments, push the outbox, pull packets; --watch keeps syncing: changes both ways within seconds while online, retried while offline",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.BoolVar(&o.watch, "watch", false, "keep syncing until interrupted")
			fs.DurationVar(&o.interval, "interval", 30*time.Second, "how often --watch syncs")
		}, run: cmdSync},
	{name: "packets", help: "list the packets on this device", run: cmdPackets},
	{name: "show", params: []string{"PACKET"}, help: "show a packet: enterprise, team, checklist and answers", run: cmdShow},
	{name: "answer", params: []string{"PACKET", "DEPT", "ITEM", "compliant|non_compliant|not_applicable|not_checked|VALUE"}, flagsUsage: "[--note N] [--photo FILE…]",
		help: "answer one item of your department's section (a VALUE for text and number items; not_checked needs --note with the reason)",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "note")
			fs.Var(&o.photos, "photo", "photo file (JPEG or PNG) or the SHA-256 of an attached one; repeatable")
		}, run: cmdAnswer},
	{name: "certificates", params: []string{"PACKET"}, flagsUsage: "[--inspector ID…] [--lat --lon --accuracy]",
		help: "record that team members showed their enforcement certificates (default: every member; --inspector ID for those present)",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.Var(&o.inspectors, "inspector", "ID of an inspector present (the number show lists in the team); repeatable")
			locationFlags(fs, o)
		}, run: cmdCertificates},
	{name: "attach", params: []string{"PACKET", "FILE"}, help: "copy a photo into the device's store and print its reference", run: cmdAttach},
	{name: "sign", params: []string{"PACKET"}, flagsUsage: "--name N --png FILE [--stamp FILE] [--covers TOKEN…]", help: "close the visit once for the team: signed by the legal representative; covers the sections sealed here, pulled, or named by --covers",
		required: []string{"png"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.name, "name", "", "legal representative's name (default: the packet's)")
			fs.StringVar(&o.png, "png", "", "signature PNG")
			fs.StringVar(&o.stamp, "stamp", "", "photo of the stamp")
			fs.StringVar(&o.note, "note", "", "note")
			locationFlags(fs, o)
			fs.Var(&o.covers, "covers", "token of a section sealed on a teammate's device (shown by its seal command); repeatable")
		}, run: cmdSign},
	{name: "refuse", params: []string{"PACKET"}, flagsUsage: "--note N --inspector-png ID=FILE --inspector-png ID=FILE [--covers TOKEN…]",
		help: "close the visit: the representative refused to sign; two inspectors sign (ID: the inspector number show lists in the team)",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "what happened (required)")
			fs.Var(&o.inspectorPNG, "inspector-png", "INSPECTOR_ID=signature PNG; at least two")
			locationFlags(fs, o)
			fs.Var(&o.covers, "covers", "token of a section sealed on a teammate's device (shown by its seal command); repeatable")
		}, run: cmdRefuse},
	{name: "absent", params: []string{"PACKET"}, flagsUsage: "--witness NAME --png FILE [--note N] [--covers TOKEN…]", help: "close the visit: the representative was absent; a witness signs",
		required: []string{"witness", "png"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.witness, "witness", "", "witness's name")
			fs.StringVar(&o.png, "png", "", "witness's signature PNG")
			fs.StringVar(&o.note, "note", "", "note")
			locationFlags(fs, o)
			fs.Var(&o.covers, "covers", "token of a section sealed on a teammate's device (shown by its seal command); repeatable")
		}, run: cmdAbsent},
	{name: "not-locatable", params: []string{"PACKET"}, flagsUsage: "--note N [--covers TOKEN…]", help: "close the visit: the enterprise could not be located at its registered address",
		required: []string{"note"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "how it could not be located (required)")
			locationFlags(fs, o)
			fs.Var(&o.covers, "covers", "token of a section sealed on a teammate's device (shown by its seal command); repeatable")
		}, run: cmdNotLocatable},
	{name: "seal", params: []string{"PACKET"}, help: "seal your department's section (hash signed with the device key) and print its token for the teammate who captures the close",
		run: cmdSeal},
	{name: "record", params: []string{"PACKET"}, help: "the joint record as this device knows it: sections, closes and what the reviewer will see", run: cmdRecord},
	{name: "correct", params: []string{"PACKET"}, flagsUsage: "--note REASON", help: "open a correction of your department's sealed section (seal it again afterwards)",
		required: []string{"note"},
		flags:    func(fs *flag.FlagSet, o *options) { fs.StringVar(&o.note, "note", "", "reason for the correction") }, run: cmdCorrect},
	{name: "status", help: "outbox, pending uploads, rejections, conflicts, last sync; new rejections in full", run: cmdStatus},
	{name: "rejections", help: "changes the server rejected, with the reasons", run: cmdRejections},
	{name: "conflicts", help: "items another inspector also answered offline", run: cmdConflicts},
	{name: "results", help: "your results after the visit (entry and review), with a returned one's reason", run: cmdResults},
	{name: "export", params: []string{"FILE"}, help: "write the unsynced changes, sealed records and their attachments to a new .tar.gz (for a device that cannot sync)", run: cmdExport},
}

func cmdLogin(e *env, o *options, args []string) error {
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Enrol(ctx, o.server, o.username, password, o.deviceName); err != nil {
		return err
	}
	me, _ := c.Me(context.Background())
	fmt.Fprintf(e.stdout, "signed in as %s (%s) on device %d; data in %s\n", me.Username, me.DisplayName, c.DeviceID(), e.dir)
	return nil
}

func readPassword(e *env) (string, error) {
	return readSecret(e, bufio.NewReader(e.stdin), "password")
}

// readSecret reads one line from a terminal without echo (prompting with
// what), or from rd.
func readSecret(e *env, rd *bufio.Reader, what string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "%s: ", what)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := rd.ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("no %s on stdin", what)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdPasswd(e *env, o *options, args []string) error {
	rd := bufio.NewReader(e.stdin)
	current, err := readSecret(e, rd, "current password")
	if err != nil {
		return err
	}
	next, err := readSecret(e, rd, "new password")
	if err != nil {
		return err
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.ChangePassword(ctx, o.server, o.username, current, next); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "密码已修改，请用新密码登录: spotcheck-field login (password changed; sign in with the new one).")
	return nil
}

func cmdSync(e *env, o *options, args []string) error {
	// The progress bar redraws one line with carriage returns; only a
	// terminal shows that as a bar, a log file would get every frame.
	finish := func() {}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("sync"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		e.sdkCfg.Progress = func(p sdk.Progress) {
			bar.Describe(fmt.Sprintf("%-6s up %d/%d items, down %d items", p.Phase, p.ItemsUp, p.ItemsUpTotal, p.ItemsDown))
			bar.Set64(p.BytesUp + p.BytesDown)
		}
		finish = func() { bar.Finish() }
	}
	// Every rejection and conflict is printed as it arrives; --watch also
	// says when everything is on the server.
	e.sdkCfg.OnEvent = func(ev sdk.Event) {
		switch ev.Kind {
		case sdk.EventRejected:
			for _, r := range ev.Rejections {
				fmt.Fprintln(e.stdout, rejectionLine(r))
			}
		case sdk.EventConflict:
			for _, cf := range ev.Conflicts {
				fmt.Fprintln(e.stdout, conflictLine(cf))
			}
		case sdk.EventSynced, sdk.EventOffline, sdk.EventStopped, sdk.EventPending:
			if o.watch {
				fmt.Fprintf(e.stderr, "%s %s\n", time.Now().Format("15:04:05"), ev)
			}
		}
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.watch {
		fmt.Fprintf(e.stderr, "持续同步：本机改动立即上传，服务器改动数秒内到达，离线时退避重试（最长间隔%s）(local changes go up at once, server changes arrive within seconds; offline, retries back off up to every %s). Ctrl-C 停止 (to stop)\n", o.interval, o.interval)
		err = c.Watch(ctx, o.interval)
		finish()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	} else {
		err = c.Sync(ctx)
		finish()
	}
	st, serr := c.Status(context.Background())
	if serr == nil {
		fmt.Fprintf(e.stdout, "outbox %d, pending uploads %d, rejections %d, conflicts %d\n", st.Outbox, st.PendingUploads, st.Rejections, st.Conflicts)
	}
	return err
}

func cmdPackets(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	ps, err := c.Packets(context.Background())
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.stdout, "no packets on this device (run sync)")
		return nil
	}
	idWidth := len("PACKET")
	for _, p := range ps {
		idWidth = max(idWidth, len(p.ID))
	}
	fmt.Fprintf(e.stdout, "%-*s  %-8s %-12s %-8s %-6s %s\n", idWidth, "PACKET", "SECTION", "STATE", "ANSWERED", "CLOSED", "ENTERPRISE")
	for _, p := range ps {
		closed := "no"
		if p.Closed {
			closed = "yes"
		}
		fmt.Fprintf(e.stdout, "%-*s  %-8s %-12s %-8s %-6s %s\n", idWidth, p.ID, p.Department, fmt.Sprintf("%s v%d", p.State, p.Version),
			fmt.Sprintf("%d/%d", p.Answered, p.Items), closed, p.Enterprise)
	}
	return nil
}

// padRight pads s with spaces to n terminal columns, counting East Asian wide
// characters as two, so that Chinese titles line up.
func padRight(s string, n int) string {
	w := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			w += 2
		default:
			w++
		}
	}
	if w >= n {
		return s
	}
	return s + strings.Repeat(" ", n-w)
}

func cmdShow(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	p, err := c.Packet(context.Background(), args[0])
	if err != nil {
		return err
	}
	w := e.stdout
	en := p.Content.Enterprise
	fmt.Fprintf(w, "packet %s (campaign %d %s, team %d, window %s to %s)\n", p.ID, p.CampaignID, p.Content.CampaignName, p.TeamNumber,
		p.Content.WindowStart, p.Content.WindowEnd)
	if p.Section != nil {
		fmt.Fprintf(w, "your section: %s, %s, version %d\n", p.Section.Department, p.Section.State, p.Section.Version)
	}
	fmt.Fprintf(w, "enterprise: %s  %s\n  address: %s  legal representative: %s\n", en.Name, en.CreditCode, en.Address, en.LegalRepresentative)
	fmt.Fprintln(w, "team:")
	for _, m := range p.Content.Team {
		fmt.Fprintf(w, "  inspector %-5d %-8s %s  certificate %s\n", m.InspectorID, m.Department, padRight(m.Name, 8), m.CertificateNumber)
	}
	answers := map[string]sdk.Answer{}
	for _, a := range p.Answers {
		answers[a.Department+"/"+a.ItemCode] = a
	}
	for _, s := range p.Content.Sections {
		fmt.Fprintf(w, "section %s:\n", s.Department)
		for _, it := range s.Items {
			got := "-"
			if a, ok := answers[s.Department+"/"+it.Code]; ok {
				got = answerText(a.AnswerMutation)
				if a.Pending {
					got += "  (not synced)"
				}
				if len(a.Conflicts) > 0 {
					got += fmt.Sprintf("  (%d conflicting version(s))", len(a.Conflicts))
				}
				if a.Rejected != nil {
					got += fmt.Sprintf("\n  %-10s %s REJECTED: your %s [%s] %s", "", padRight("", 40), answerText(a.Rejected.Answer), a.Rejected.Code, a.Rejected.Message)
				}
			}
			fmt.Fprintf(w, "  %-10s %s %s\n", it.Code, padRight(it.Title, 40), got)
		}
	}
	if p.Certificates != nil {
		fmt.Fprintf(w, "certificates shown on this device: %d\n", len(p.Certificates.Shown))
	}
	printRecord(w, p.Record)
	return nil
}

// answerText is an answer in one line: result or value, note, photos.
func answerText(a syncproto.AnswerMutation) string {
	got := a.Result + a.Value
	if a.Note != "" {
		got += "  « " + a.Note + " »"
	}
	if len(a.Photos) > 0 {
		got += fmt.Sprintf("  [%d photo(s)]", len(a.Photos))
	}
	return got
}

// printRecord prints the joint record: each section's sealed version, each
// close and every flag the reviewer will see.
func printRecord(w io.Writer, jr *syncproto.JointRecord) {
	fmt.Fprintln(w, "joint record:")
	for _, s := range jr.Sections {
		if s.Current == nil {
			fmt.Fprintf(w, "  section %s: not sealed\n", s.Department)
			continue
		}
		cs := s.Current.Section
		fmt.Fprintf(w, "  section %s: sealed version %d by inspector %d on device %d, hash %s", s.Department, cs.Version, cs.InspectorID, cs.DeviceID, s.Current.Hash)
		if len(s.CoveredBy) > 0 {
			fmt.Fprint(w, " (covered by the close)")
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "    token %s\n", syncproto.SectionRef{Department: s.Department, Version: cs.Version, Hash: s.Current.Hash}.Token())
	}
	for _, cl := range jr.Closes {
		r := cl.Record
		fmt.Fprintf(w, "  close: %s with %d signature(s), captured by inspector %d on device %d, covers", r.Close.Outcome, len(r.Close.Signatures), r.InspectorID, r.DeviceID)
		for _, ref := range r.Covers {
			fmt.Fprintf(w, " %s v%d", ref.Department, ref.Version)
		}
		if len(r.Covers) == 0 {
			fmt.Fprint(w, " no section")
		}
		if r.Close.Note != "" {
			fmt.Fprintf(w, ", note « %s »", r.Close.Note)
		}
		fmt.Fprintf(w, ", hash %s\n", cl.Hash)
	}
	for _, f := range jr.Flags {
		fmt.Fprintf(w, "  ! %s: %s\n", f.Code, f.Message)
	}
	if jr.Complete {
		fmt.Fprintln(w, "  complete: every section sealed and covered by the one close")
	}
}

func cmdAnswer(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	in := sdk.AnswerInput{Department: args[1], ItemCode: args[2], Note: o.note, Photos: o.photos}
	switch args[3] {
	case syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable, syncproto.ResultNotChecked:
		in.Result = args[3]
	default:
		in.Value = args[3]
	}
	a, err := c.Answer(context.Background(), args[0], in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "answered %s/%s: %s%s (%d photo(s)); queued for sync\n", a.Department, a.ItemCode, a.Result, a.Value, len(a.Photos))
	return nil
}

func cmdCertificates(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	p, err := c.Packet(context.Background(), args[0])
	if err != nil {
		return err
	}
	present := map[int64]bool{}
	for _, v := range o.inspectors {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return usagef("--inspector wants an inspector ID, got %q", v)
		}
		present[id] = true
	}
	var shown []syncproto.CertificateShown
	for _, m := range p.Content.Team {
		if len(present) == 0 || present[m.InspectorID] {
			shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
			delete(present, m.InspectorID)
		}
	}
	for id := range present {
		return usagef("inspector %d is not in this packet's team", id)
	}
	if err := c.RecordCertificates(context.Background(), p.ID, shown, o.location()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "recorded %d certificate(s) shown\n", len(shown))
	return nil
}

func cmdAttach(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	if _, err := c.Packet(context.Background(), args[0]); err != nil {
		return err
	}
	ref, err := c.AttachPhoto(context.Background(), args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %d %s\n", ref.SHA256, ref.Size, ref.ContentType)
	return nil
}

func closeVisit(e *env, packetID string, in sdk.CloseInput) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	sc, err := c.CloseVisit(context.Background(), packetID, in)
	if err != nil {
		return err
	}
	r := sc.Record
	fmt.Fprintf(e.stdout, "visit closed and sealed: %s with %d signature(s), covering", r.Close.Outcome, len(r.Close.Signatures))
	for _, ref := range r.Covers {
		fmt.Fprintf(e.stdout, " %s v%d", ref.Department, ref.Version)
	}
	if len(r.Covers) == 0 {
		fmt.Fprint(e.stdout, " no sealed section")
	}
	fmt.Fprintf(e.stdout, "\nhash %s\n", sc.Hash)
	p, err := c.Packet(context.Background(), packetID)
	if err == nil {
		for _, s := range p.Record.Sections {
			if !slices.ContainsFunc(r.Covers, func(ref syncproto.SectionRef) bool { return ref.Department == s.Department }) {
				fmt.Fprintf(e.stdout, "note: the %s section is not covered (not sealed on this device; pass its token with --covers)\n", s.Department)
			}
		}
	}
	return nil
}

func cmdSign(e *env, o *options, args []string) error {
	name := o.name
	if name == "" {
		c, err := e.open()
		if err != nil {
			return err
		}
		p, err := c.Packet(context.Background(), args[0])
		if err != nil {
			return err
		}
		if name = p.Content.Enterprise.LegalRepresentative; name == "" {
			return usagef("--name is required")
		}
	}
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Note: o.note, StampPath: o.stamp, Location: o.location(), Covers: o.covers,
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerRepresentative, Name: name, PNGPath: o.png}}})
}

func cmdRefuse(e *env, o *options, args []string) error {
	if o.note == "" || len(o.inspectorPNG) < 2 {
		return usagef("--note and at least two --inspector-png ID=FILE are required")
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	p, err := c.Packet(context.Background(), args[0])
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, m := range p.Content.Team {
		names[m.InspectorID] = m.Name
	}
	var sigs []sdk.SignatureInput
	for _, v := range o.inspectorPNG {
		idStr, file, ok := strings.Cut(v, "=")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if !ok || err != nil || file == "" {
			return usagef("--inspector-png wants INSPECTOR_ID=FILE, got %q", v)
		}
		if names[id] == "" {
			return usagef("inspector %d is not in this packet's team", id)
		}
		sigs = append(sigs, sdk.SignatureInput{Role: syncproto.SignerInspector, Name: names[id], InspectorID: id, PNGPath: file})
	}
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeRefused, Note: o.note, Signatures: sigs, Location: o.location(), Covers: o.covers})
}

func cmdAbsent(e *env, o *options, args []string) error {
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeAbsent, Note: o.note, Location: o.location(), Covers: o.covers,
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerWitness, Name: o.witness, PNGPath: o.png}}})
}

func cmdNotLocatable(e *env, o *options, args []string) error {
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: o.note, Location: o.location(), Covers: o.covers})
}

func cmdSeal(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	seal, err := c.SealSection(context.Background(), args[0])
	if err != nil {
		return err
	}
	r := seal.Section
	fmt.Fprintf(e.stdout, "sealed the %s section of %s, version %d: %d answer(s), %d certificate(s), %d attachment(s)\nhash %s\n",
		r.Department, r.PacketID, r.Version, len(r.Answers), len(r.Certificates), len(r.Attachments), seal.Hash)
	fmt.Fprintf(e.stdout, "token for the teammate who captures the close: %s\n",
		syncproto.SectionRef{Department: r.Department, Version: r.Version, Hash: seal.Hash}.Token())
	return nil
}

func cmdRecord(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	jr, err := c.JointRecord(context.Background(), args[0])
	if err != nil {
		return err
	}
	printRecord(e.stdout, jr)
	return nil
}

func cmdCorrect(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	if err := c.Correct(context.Background(), args[0], o.note); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "correction opened; change your section's answers, then seal it again")
	return nil
}

func cmdExport(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	// A new file only: an export must never overwrite an earlier one.
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	m, err := c.Export(context.Background(), f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(args[0])
		return err
	}
	fmt.Fprintf(e.stdout, "exported %d unsynced change(s), %d sealed section(s) and close(s), %d rejection(s) and %d attachment(s) to %s\n",
		m.Outbox, m.Records, m.Rejections, len(m.Attachments), args[0])
	return nil
}

func cmdStatus(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	st, err := c.Status(context.Background())
	if err != nil {
		return err
	}
	w := e.stdout
	if !st.Enrolled {
		fmt.Fprintln(w, "not enrolled (run login)")
	} else {
		fmt.Fprintf(w, "server:          %s\nuser:            %s (device %d)\n", st.ServerURL, st.Username, st.DeviceID)
	}
	if st.Revoked {
		fmt.Fprintln(w, "device:          REVOKED — pushing stopped; data kept (login again, or export FILE)")
	}
	if st.NeedsLogin {
		fmt.Fprintln(w, "session:         ended — run login")
	}
	last := "never"
	if !st.LastSyncAt.IsZero() {
		last = st.LastSyncAt.Local().Format("2006-01-02 15:04:05")
	}
	fmt.Fprintf(w, "outbox:          %d change(s) not yet synced\npending uploads: %d\nrejections:      %d\nconflicts:       %d\nlast sync:       %s\n",
		st.Outbox, st.PendingUploads, st.Rejections, st.Conflicts, last)
	fresh, err := c.NewRejections(context.Background())
	if err != nil {
		return err
	}
	if len(fresh) > 0 {
		fmt.Fprintln(w, "new rejections:")
		for _, r := range fresh {
			fmt.Fprintln(w, "  "+rejectionLine(r))
		}
	}
	return nil
}

func cmdRejections(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	rs, err := c.Rejections(context.Background())
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Fprintln(e.stdout, "no rejected changes")
	}
	for _, r := range rs {
		fmt.Fprintln(e.stdout, rejectionLine(r))
	}
	return nil
}

// rejectionLine is one rejection: what was refused, the code and the reason.
func rejectionLine(r sdk.Rejection) string {
	what := r.Kind
	switch m := r.Mutation; {
	case m.Answer != nil:
		what += " " + m.Answer.Department + "/" + m.Answer.ItemCode
	case m.Seal != nil:
		what += fmt.Sprintf(" %s v%d", m.Seal.Section.Department, m.Seal.Section.Version)
	}
	return fmt.Sprintf("rejected #%d %s %s [%s] %s", r.Seq, r.PacketID, what, r.Code, r.Message)
}

// conflictLine is one item with conflicting versions.
func conflictLine(cf sdk.Conflict) string {
	w := cf.State.Winner
	line := fmt.Sprintf("conflict %s %s/%s: shown %s (inspector %d)", cf.PacketID, cf.Department, cf.ItemCode, answerText(w.Answer), w.InspectorID)
	for _, other := range cf.State.Conflicts {
		line += fmt.Sprintf("; also %s (inspector %d)", answerText(other.Answer), other.InspectorID)
	}
	return line
}

func cmdConflicts(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	cs, err := c.Conflicts(context.Background())
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		fmt.Fprintln(e.stdout, "no conflicts")
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].PacketID < cs[j].PacketID })
	for _, cf := range cs {
		fmt.Fprintln(e.stdout, conflictLine(cf))
	}
	return nil
}
