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
	{name: "answer", params: []string{"PACKET", "DEPT", "ITEM", "compliant|non_compliant|not_applicable|VALUE"}, flagsUsage: "[--note N] [--photo FILE…]",
		help: "answer one checklist item (a VALUE for text and number items)",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "note")
			fs.Var(&o.photos, "photo", "photo file (JPEG or PNG) or the SHA-256 of an attached one; repeatable")
		}, run: cmdAnswer},
	{name: "certificates", params: []string{"PACKET"}, flagsUsage: "[--lat --lon --accuracy]", help: "record that every team member showed their enforcement certificate",
		flags: locationFlags, run: cmdCertificates},
	{name: "attach", params: []string{"PACKET", "FILE"}, help: "copy a photo into the device's store and print its reference", run: cmdAttach},
	{name: "sign", params: []string{"PACKET"}, flagsUsage: "--name N --png FILE [--stamp FILE]", help: "close the visit: signed by the legal representative",
		required: []string{"png"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.name, "name", "", "legal representative's name (default: the packet's)")
			fs.StringVar(&o.png, "png", "", "signature PNG")
			fs.StringVar(&o.stamp, "stamp", "", "photo of the stamp")
			fs.StringVar(&o.note, "note", "", "note")
			locationFlags(fs, o)
		}, run: cmdSign},
	{name: "refuse", params: []string{"PACKET"}, flagsUsage: "--note N --inspector-png ID=FILE --inspector-png ID=FILE",
		help: "close the visit: the representative refused to sign; two inspectors sign (ID: the inspector number show lists in the team)",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "what happened (required)")
			fs.Var(&o.inspectorPNG, "inspector-png", "INSPECTOR_ID=signature PNG; at least two")
			locationFlags(fs, o)
		}, run: cmdRefuse},
	{name: "absent", params: []string{"PACKET"}, flagsUsage: "--witness NAME --png FILE [--note N]", help: "close the visit: the representative was absent; a witness signs",
		required: []string{"witness", "png"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.witness, "witness", "", "witness's name")
			fs.StringVar(&o.png, "png", "", "witness's signature PNG")
			fs.StringVar(&o.note, "note", "", "note")
			locationFlags(fs, o)
		}, run: cmdAbsent},
	{name: "not-locatable", params: []string{"PACKET"}, flagsUsage: "--note N", help: "close the visit: the enterprise could not be located at its registered address",
		required: []string{"note"},
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&o.note, "note", "", "how it could not be located (required)")
			locationFlags(fs, o)
		}, run: cmdNotLocatable},
	{name: "finalize", params: []string{"PACKET"}, help: "seal the record (hash signed with the device key); it cannot change afterwards", run: cmdFinalize},
	{name: "correct", params: []string{"PACKET"}, flagsUsage: "--note REASON", help: "open a correction of a sealed record (finalize it again afterwards)",
		required: []string{"note"},
		flags:    func(fs *flag.FlagSet, o *options) { fs.StringVar(&o.note, "note", "", "reason for the correction") }, run: cmdCorrect},
	{name: "status", help: "outbox, pending uploads, rejections, conflicts, last sync", run: cmdStatus},
	{name: "rejections", help: "changes the server rejected, with the reasons", run: cmdRejections},
	{name: "conflicts", help: "items another inspector also answered offline", run: cmdConflicts},
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
	me, _ := c.Me()
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
	st, serr := c.Status()
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
	ps, err := c.Packets()
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
	fmt.Fprintf(e.stdout, "%-*s  %-10s %-8s %s\n", idWidth, "PACKET", "STATE", "ANSWERED", "ENTERPRISE")
	for _, p := range ps {
		fmt.Fprintf(e.stdout, "%-*s  %-10s %-8s %s\n", idWidth, p.ID, p.State, fmt.Sprintf("%d/%d", p.Answered, p.Items), p.Enterprise)
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
	p, err := c.Packet(args[0])
	if err != nil {
		return err
	}
	w := e.stdout
	en := p.Content.Enterprise
	fmt.Fprintf(w, "packet %s (campaign %d %s, team %d) — %s, record version %d\n", p.ID, p.CampaignID, p.Content.CampaignName, p.TeamNumber, p.State, p.RecordVersion)
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
				got = a.Result + a.Value
				if a.Note != "" {
					got += "  « " + a.Note + " »"
				}
				if len(a.Photos) > 0 {
					got += fmt.Sprintf("  [%d photo(s)]", len(a.Photos))
				}
				if a.Pending {
					got += "  (not synced)"
				}
				if len(a.Conflicts) > 0 {
					got += fmt.Sprintf("  (%d conflicting version(s))", len(a.Conflicts))
				}
			}
			fmt.Fprintf(w, "  %-10s %s %s\n", it.Code, padRight(it.Title, 40), got)
		}
	}
	if p.Certificates != nil {
		fmt.Fprintf(w, "certificates shown: %d\n", len(p.Certificates.Shown))
	}
	if p.Close != nil {
		fmt.Fprintf(w, "closed: %s, %d signature(s)", p.Close.Outcome, len(p.Close.Signatures))
		if p.Close.Note != "" {
			fmt.Fprintf(w, ", note « %s »", p.Close.Note)
		}
		fmt.Fprintln(w)
	}
	printSeals(w, p.Records)
	return nil
}

// printSeals lists each sealed version once: a local seal the server holds
// with the same hash is one line, marked as on the server.
func printSeals(w io.Writer, records []sdk.SealedRecord) {
	onServer := map[string]bool{}
	for _, r := range records {
		if !r.Local {
			onServer[r.Hash] = true
		}
	}
	for _, r := range records {
		switch {
		case r.Local && onServer[r.Hash]:
			fmt.Fprintf(w, "sealed version %d by this device: hash %s (on the server)\n", r.Record.Version, r.Hash)
		case r.Local:
			fmt.Fprintf(w, "sealed version %d by this device: hash %s (not synced)\n", r.Record.Version, r.Hash)
		case !slices.ContainsFunc(records, func(l sdk.SealedRecord) bool { return l.Local && l.Hash == r.Hash }):
			fmt.Fprintf(w, "sealed version %d by device %d: hash %s (on the server)\n", r.Record.Version, r.Record.DeviceID, r.Hash)
		}
	}
}

func cmdAnswer(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	in := sdk.AnswerInput{Department: args[1], ItemCode: args[2], Note: o.note, Photos: o.photos}
	switch args[3] {
	case syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable:
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
	p, err := c.Packet(args[0])
	if err != nil {
		return err
	}
	var shown []syncproto.CertificateShown
	for _, m := range p.Content.Team {
		shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
	}
	if err := c.RecordCertificates(p.ID, shown, o.location()); err != nil {
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
	if _, err := c.Packet(args[0]); err != nil {
		return err
	}
	ref, err := c.AttachPhoto(args[1])
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
	cm, err := c.CloseVisit(packetID, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "visit closed: %s with %d signature(s); run finalize to seal it\n", cm.Outcome, len(cm.Signatures))
	return nil
}

func cmdSign(e *env, o *options, args []string) error {
	name := o.name
	if name == "" {
		c, err := e.open()
		if err != nil {
			return err
		}
		p, err := c.Packet(args[0])
		if err != nil {
			return err
		}
		if name = p.Content.Enterprise.LegalRepresentative; name == "" {
			return usagef("--name is required")
		}
	}
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Note: o.note, StampPath: o.stamp, Location: o.location(),
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
	p, err := c.Packet(args[0])
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
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeRefused, Note: o.note, Signatures: sigs, Location: o.location()})
}

func cmdAbsent(e *env, o *options, args []string) error {
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeAbsent, Note: o.note, Location: o.location(),
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerWitness, Name: o.witness, PNGPath: o.png}}})
}

func cmdNotLocatable(e *env, o *options, args []string) error {
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: o.note, Location: o.location()})
}

func cmdFinalize(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	fin, err := c.Finalize(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sealed %s version %d: %d answer(s), %d attachment(s)\nhash %s\n", fin.Record.PacketID, fin.Record.Version,
		len(fin.Record.Answers), len(fin.Record.Attachments), fin.Hash)
	return nil
}

func cmdCorrect(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	if err := c.Correct(args[0], o.note); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "correction opened; change answers or the close, then finalize again")
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
	m, err := c.Export(f)
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
	fmt.Fprintf(e.stdout, "exported %d unsynced change(s), %d sealed record(s), %d rejection(s) and %d attachment(s) to %s\n",
		m.Outbox, m.Records, m.Rejections, len(m.Attachments), args[0])
	return nil
}

func cmdStatus(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	st, err := c.Status()
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
	return nil
}

func cmdRejections(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	rs, err := c.Rejections()
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Fprintln(e.stdout, "no rejected changes")
	}
	for _, r := range rs {
		what := r.Kind
		if r.Mutation.Answer != nil {
			what += " " + r.Mutation.Answer.Department + "/" + r.Mutation.Answer.ItemCode
		}
		fmt.Fprintf(e.stdout, "#%d %s %s [%s] %s\n", r.Seq, r.PacketID, what, r.Code, r.Message)
	}
	return nil
}

func cmdConflicts(e *env, o *options, args []string) error {
	c, err := e.open()
	if err != nil {
		return err
	}
	cs, err := c.Conflicts()
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		fmt.Fprintln(e.stdout, "no conflicts")
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].PacketID < cs[j].PacketID })
	for _, cf := range cs {
		w := cf.State.Winner
		fmt.Fprintf(e.stdout, "%s %s/%s: shown %s%s (inspector %d)", cf.PacketID, cf.Department, cf.ItemCode, w.Answer.Result, w.Answer.Value, w.InspectorID)
		for _, other := range cf.State.Conflicts {
			fmt.Fprintf(e.stdout, "; also %s%s (inspector %d)", other.Answer.Result, other.Answer.Value, other.InspectorID)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}
