// Command spotcheck-field is the inspector's field tool: it drives the client
// SDK to enrol a device, sync packets, record on-site work offline (answers,
// certificates, signatures, refusals, absences) and seal the record.
//
//	spotcheck-field [--dir DIR] COMMAND [flags] [args]
//
// Commands: login, sync, packets, show, answer, certificates, attach, sign,
// refuse, absent, not-locatable, finalize, correct, status, rejections,
// conflicts. Exit status: 0 success, 1 failure, 2 usage error.
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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/syncproto"
)

const defaultDir = "./spotcheck-field-data"

// usageError makes the exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name, args, help string
	run              func(env *env, fs *flag.FlagSet, args []string) error
	flags            func(fs *flag.FlagSet)
}

type env struct {
	dir    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	client *sdk.Client
	opts   sdk.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{dir: defaultDir, stdin: stdin, stdout: stdout, stderr: stderr}
	flagPhotos, flagInspectorPNG = nil, nil
	if v := os.Getenv("SPOTCHECK_FIELD_DIR"); v != "" {
		e.dir = v
	}
	global := flag.NewFlagSet("spotcheck-field", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.StringVar(&e.dir, "dir", e.dir, "local data directory")
	global.Usage = func() { printUsage(stderr) }
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if global.NArg() == 0 {
		printUsage(stderr)
		return 2
	}
	name := global.Arg(0)
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "spotcheck-field: unknown command %q\n", name)
		printUsage(stderr)
		return 2
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.dir, "dir", e.dir, "local data directory")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: spotcheck-field %s %s\n  %s\n", cmd.name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, global.Args()[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err = cmd.run(e, fs, pos)
	if e.client != nil {
		e.client.Close()
	}
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "spotcheck-field %s: %s\n", name, ue.msg)
		fs.Usage()
		return 2
	}
	fmt.Fprintf(stderr, "spotcheck-field %s: %v\n", name, err)
	if hint := hintFor(err); hint != "" {
		fmt.Fprintln(stderr, "  "+hint)
	}
	return 1
}

func hintFor(err error) string {
	switch {
	case errors.Is(err, sdk.ErrOffline):
		return "服务器无法连接，数据已保存在本机，稍后再同步 (server unreachable; everything is kept on this device; sync again later)."
	case errors.Is(err, sdk.ErrAuth):
		return "请重新登录: spotcheck-field login (sign in again; unsynced data is kept)."
	case errors.Is(err, sdk.ErrRevoked):
		return "此设备已停用；数据仍在本机，请联系管理员后重新登录 (device revoked; data is kept; re-enrol with login)."
	case errors.Is(err, sdk.ErrRejected):
		return "查看被拒绝的记录: spotcheck-field rejections (see the rejected changes)."
	case errors.Is(err, sdk.ErrUpgradeRequired):
		return "请升级 spotcheck-field (upgrade this tool)."
	case errors.Is(err, sdk.ErrStorageFull):
		return "设备存储已满，请释放空间；已保存的数据完好 (storage full; free space; saved data is intact)."
	case errors.Is(err, sdk.ErrNotEnrolled):
		return "先登录: spotcheck-field login --server URL --username U."
	}
	return ""
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: spotcheck-field [--dir DIR] COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintf(w, "\nThe local data lives in --dir (default %s, or $SPOTCHECK_FIELD_DIR).\n", defaultDir)
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure, 2 usage error.")
}

func (e *env) open() (*sdk.Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	c, err := sdk.Open(e.dir, e.opts)
	if err != nil {
		return nil, err
	}
	e.client = c
	return c, nil
}

func need(args []string, n int, names string) error {
	if len(args) != n {
		return usagef("want %s, got %d argument(s)", names, len(args))
	}
	return nil
}

var (
	flagServer, flagUser, flagDeviceName string
	flagWatch                            bool
	flagInterval                         time.Duration
	flagNote, flagName, flagPNG          string
	flagStamp, flagWitness               string
	flagPhotos, flagInspectorPNG         multiFlag
	flagLat, flagLon, flagAcc            float64
	flagValue                            string
)

func locationFlags(fs *flag.FlagSet) {
	fs.Float64Var(&flagLat, "lat", 0, "GPS latitude")
	fs.Float64Var(&flagLon, "lon", 0, "GPS longitude")
	fs.Float64Var(&flagAcc, "accuracy", 0, "GPS accuracy in metres")
}

func location() *syncproto.Location {
	if flagLat == 0 && flagLon == 0 {
		return nil
	}
	return &syncproto.Location{Latitude: flagLat, Longitude: flagLon, AccuracyM: flagAcc}
}

var commands = []command{
	{name: "login", args: "--server URL --username U [--device-name N]",
		help: "enrol this device (or sign in again); the password is read from stdin or prompted",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagServer, "server", "", "server URL, e.g. http://localhost:8080")
			fs.StringVar(&flagUser, "username", "", "inspector's username")
			fs.StringVar(&flagDeviceName, "device-name", "", "a name for this device")
		}, run: cmdLogin},
	{name: "sync", args: "[--watch] [--interval D]", help: "upload attachments, push the outbox, pull packets; --watch keeps syncing whenever the server is reachable",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&flagWatch, "watch", false, "keep syncing until interrupted")
			fs.DurationVar(&flagInterval, "interval", 30*time.Second, "how often --watch syncs")
		}, run: cmdSync},
	{name: "packets", help: "list the packets on this device", run: cmdPackets},
	{name: "show", args: "PACKET", help: "show a packet: enterprise, team, checklist and answers", run: cmdShow},
	{name: "answer", args: "PACKET DEPT ITEM compliant|non_compliant|not_applicable|VALUE [--note N] [--photo FILE…]",
		help: "answer one checklist item (a VALUE for text and number items)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagNote, "note", "", "note")
			fs.Var(&flagPhotos, "photo", "photo file (JPEG or PNG) or the SHA-256 of an attached one; repeatable")
		}, run: cmdAnswer},
	{name: "certificates", args: "PACKET [--lat --lon --accuracy]", help: "record that every team member showed their enforcement certificate",
		flags: locationFlags, run: cmdCertificates},
	{name: "attach", args: "PACKET FILE", help: "copy a photo into the device's store and print its reference", run: cmdAttach},
	{name: "sign", args: "PACKET --name N --png FILE [--stamp FILE]", help: "close the visit: signed by the legal representative",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagName, "name", "", "legal representative's name (default: the packet's)")
			fs.StringVar(&flagPNG, "png", "", "signature PNG")
			fs.StringVar(&flagStamp, "stamp", "", "photo of the stamp")
			fs.StringVar(&flagNote, "note", "", "note")
			locationFlags(fs)
		}, run: cmdSign},
	{name: "refuse", args: "PACKET --note N --inspector-png ID=FILE --inspector-png ID=FILE", help: "close the visit: the representative refused to sign; two inspectors sign",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagNote, "note", "", "what happened (required)")
			fs.Var(&flagInspectorPNG, "inspector-png", "INSPECTOR_ID=signature PNG; at least two")
			locationFlags(fs)
		}, run: cmdRefuse},
	{name: "absent", args: "PACKET --witness NAME --png FILE [--note N]", help: "close the visit: the representative was absent; a witness signs",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagWitness, "witness", "", "witness's name")
			fs.StringVar(&flagPNG, "png", "", "witness's signature PNG")
			fs.StringVar(&flagNote, "note", "", "note")
			locationFlags(fs)
		}, run: cmdAbsent},
	{name: "not-locatable", args: "PACKET --note N", help: "close the visit: the enterprise could not be located at its registered address",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&flagNote, "note", "", "how it could not be located (required)")
			locationFlags(fs)
		}, run: cmdNotLocatable},
	{name: "finalize", args: "PACKET", help: "seal the record (hash signed with the device key); it cannot change afterwards", run: cmdFinalize},
	{name: "correct", args: "PACKET --note REASON", help: "open a correction of a sealed record (finalize it again afterwards)",
		flags: func(fs *flag.FlagSet) { fs.StringVar(&flagNote, "note", "", "reason for the correction") }, run: cmdCorrect},
	{name: "status", help: "outbox, pending uploads, rejections, conflicts, last sync", run: cmdStatus},
	{name: "rejections", help: "changes the server rejected, with the reasons", run: cmdRejections},
	{name: "conflicts", help: "items another inspector also answered offline", run: cmdConflicts},
}

func cmdLogin(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
	if flagServer == "" || flagUser == "" {
		return usagef("--server and --username are required")
	}
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
	if err := c.Enrol(ctx, flagServer, flagUser, password, flagDeviceName); err != nil {
		return err
	}
	me, _ := c.Me()
	fmt.Fprintf(e.stdout, "signed in as %s (%s) on device %d; data in %s\n", me.Username, me.DisplayName, c.DeviceID(), e.dir)
	return nil
}

func readPassword(e *env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdSync(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("sync"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	e.opts.Progress = func(p sdk.Progress) {
		bar.Describe(fmt.Sprintf("%-6s up %d/%d items, down %d items", p.Phase, p.ItemsUp, p.ItemsUpTotal, p.ItemsDown))
		bar.Set64(p.BytesUp + p.BytesDown)
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if flagWatch {
		fmt.Fprintf(e.stderr, "syncing every %s and whenever the server is reachable; Ctrl-C to stop\n", flagInterval)
		err = c.Watch(ctx, flagInterval)
		bar.Finish()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	} else {
		err = c.Sync(ctx)
		bar.Finish()
	}
	st, serr := c.Status()
	if serr == nil {
		fmt.Fprintf(e.stdout, "outbox %d, pending uploads %d, rejections %d, conflicts %d\n", st.Outbox, st.PendingUploads, st.Rejections, st.Conflicts)
	}
	return err
}

func cmdPackets(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
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
	fmt.Fprintf(e.stdout, "%-24s %-10s %-8s %s\n", "PACKET", "STATE", "ANSWERED", "ENTERPRISE")
	for _, p := range ps {
		fmt.Fprintf(e.stdout, "%-24s %-10s %3d/%-4d %s\n", p.ID, p.State, p.Answered, p.Items, p.Enterprise)
	}
	return nil
}

func cmdShow(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
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
		fmt.Fprintf(w, "  %d  %s  %s  certificate %s\n", m.InspectorID, m.Department, m.Name, m.CertificateNumber)
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
			fmt.Fprintf(w, "  %-10s %-40s %s\n", it.Code, it.Title, got)
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
	for _, r := range p.Records {
		origin := "server"
		if r.Local {
			origin = "this device"
		}
		fmt.Fprintf(w, "sealed version %d by %s: hash %s\n", r.Record.Version, origin, r.Hash)
	}
	return nil
}

func cmdAnswer(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 4, "PACKET DEPT ITEM RESULT"); err != nil {
		return err
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	in := sdk.AnswerInput{Department: args[1], ItemCode: args[2], Note: flagNote, Photos: flagPhotos}
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

func cmdCertificates(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
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
	if err := c.RecordCertificates(p.ID, shown, location()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "recorded %d certificate(s) shown\n", len(shown))
	return nil
}

func cmdAttach(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 2, "PACKET FILE"); err != nil {
		return err
	}
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

func cmdSign(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
	if flagPNG == "" {
		return usagef("--png is required")
	}
	name := flagName
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
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Note: flagNote, StampPath: flagStamp, Location: location(),
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerRepresentative, Name: name, PNGPath: flagPNG}}})
}

func cmdRefuse(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
	if flagNote == "" || len(flagInspectorPNG) < 2 {
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
	for _, v := range flagInspectorPNG {
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
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeRefused, Note: flagNote, Signatures: sigs, Location: location()})
}

func cmdAbsent(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
	if flagWitness == "" || flagPNG == "" {
		return usagef("--witness and --png are required")
	}
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeAbsent, Note: flagNote, Location: location(),
		Signatures: []sdk.SignatureInput{{Role: syncproto.SignerWitness, Name: flagWitness, PNGPath: flagPNG}}})
}

func cmdNotLocatable(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
	if flagNote == "" {
		return usagef("--note is required")
	}
	return closeVisit(e, args[0], sdk.CloseInput{Outcome: syncproto.OutcomeNotLocatable, Note: flagNote, Location: location()})
}

func cmdFinalize(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
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

func cmdCorrect(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 1, "PACKET"); err != nil {
		return err
	}
	if flagNote == "" {
		return usagef("--note REASON is required")
	}
	c, err := e.open()
	if err != nil {
		return err
	}
	if err := c.Correct(args[0], flagNote); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "correction opened; change answers or the close, then finalize again")
	return nil
}

func cmdStatus(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
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
		fmt.Fprintln(w, "device:          REVOKED — pushing stopped; data kept")
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

func cmdRejections(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
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

func cmdConflicts(e *env, fs *flag.FlagSet, args []string) error {
	if err := need(args, 0, "no arguments"); err != nil {
		return err
	}
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
		for _, o := range cf.State.Conflicts {
			fmt.Fprintf(e.stdout, "; also %s%s (inspector %d)", o.Answer.Result, o.Answer.Value, o.InspectorID)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}
