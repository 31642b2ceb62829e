// Command spotcheck-field is the inspector's field tool: it drives the client
// SDK to enrol a device, sync packets, record on-site work offline (answers,
// certificates, each department's section, and the close once per visit:
// signatures, refusals, absences) and seal them.
//
//	spotcheck-field [--dir DIR] COMMAND [flags] [args]
//
// Commands: login, passwd, sync, packets, show, answer, certificates, attach,
// sign, refuse, absent, not-locatable, seal, record, correct, status, rejections,
// conflicts, export. Exit status: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/syncproto"
)

const defaultDir = "./spotcheck-field-data"

// usageError makes the exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand. run gets the positional arguments only after
// parseCommand checked their number against params and that every flag in
// required was given.
type command struct {
	name       string
	params     []string // positional arguments, in order
	flagsUsage string   // the flags part of the usage line
	help       string
	required   []string // flags that must not be empty
	flags      func(fs *flag.FlagSet, o *options)
	run        func(e *env, o *options, args []string) error
}

// usage is the command's synopsis: its positional arguments, then its flags.
func (c *command) usage() string {
	return strings.TrimSpace(strings.Join(c.params, " ") + " " + c.flagsUsage)
}

// options are the command flags of one invocation; each command registers
// the ones it takes.
type options struct {
	server, username, deviceName string
	watch                        bool
	interval                     time.Duration
	note, name, png              string
	stamp, witness               string
	photos, inspectorPNG         multiFlag
	covers, inspectors           multiFlag
	lat, lon, accuracy           float64
}

type env struct {
	dir    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	client *sdk.Client
	sdkCfg sdk.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{dir: defaultDir, stdin: stdin, stdout: stdout, stderr: stderr}
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
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "spotcheck-field: unknown command %q\n", name)
		printUsage(stderr)
		return 2
	}
	fs, o, pos, err := parseCommand(e, cmd, global.Args()[1:])
	if err == nil {
		err = cmd.run(e, o, pos)
		if e.client != nil {
			e.client.Close()
		}
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			fmt.Fprintf(stderr, "spotcheck-field %s: %s\n", name, ue.msg)
			fs.Usage()
		}
		return 2
	}
	fmt.Fprintf(stderr, "spotcheck-field %s: %v\n", name, err)
	if hint := hintFor(name, err); hint != "" {
		fmt.Fprintln(stderr, "  "+hint)
	}
	return 1
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// parseCommand is the one place a command's flags and positional arguments
// are parsed and checked. Flags may come before, between or after the
// positional arguments. A bad flag is reported by the flag package, which
// prints the usage, and comes back as an empty usageError; a wrong number of
// arguments or a missing required flag comes back as a usageError with its
// message. flag.ErrHelp means -h was asked for.
func parseCommand(e *env, cmd *command, args []string) (*flag.FlagSet, *options, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.dir, "dir", e.dir, "local data directory")
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: spotcheck-field %s %s\n  %s\n", cmd.name, cmd.usage(), cmd.help)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return fs, o, nil, err
	}
	if err != nil {
		return fs, o, nil, usageError{}
	}
	if len(pos) != len(cmd.params) {
		want := "no arguments"
		if len(cmd.params) > 0 {
			want = strings.Join(cmd.params, " ")
		}
		return fs, o, nil, usagef("want %s, got %d argument(s)", want, len(pos))
	}
	for _, f := range cmd.required {
		if fs.Lookup(f).Value.String() == "" {
			return fs, o, nil, usageError{requiredMessage(cmd.required)}
		}
	}
	return fs, o, pos, nil
}

// requiredMessage says which flags are required: "--a is required",
// "--a and --b are required".
func requiredMessage(flags []string) string {
	names := make([]string, len(flags))
	for i, f := range flags {
		names[i] = "--" + f
	}
	if len(names) == 1 {
		return names[0] + " is required"
	}
	return strings.Join(names, " and ") + " are required"
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

func locationFlags(fs *flag.FlagSet, o *options) {
	fs.Float64Var(&o.lat, "lat", 0, "GPS latitude")
	fs.Float64Var(&o.lon, "lon", 0, "GPS longitude")
	fs.Float64Var(&o.accuracy, "accuracy", 0, "GPS accuracy in metres")
}

func (o *options) location() *syncproto.Location {
	if o.lat == 0 && o.lon == 0 {
		return nil
	}
	return &syncproto.Location{Latitude: o.lat, Longitude: o.lon, AccuracyM: o.accuracy}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: spotcheck-field [--dir DIR] COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n      %s\n", c.name, c.usage(), c.help)
	}
	fmt.Fprintf(w, "\nThe local data lives in --dir (default %s, or $SPOTCHECK_FIELD_DIR).\n", defaultDir)
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure, 2 usage error.")
}

// hintFor says what to do next after a command failed with err.
func hintFor(command string, err error) string {
	switch {
	case errors.Is(err, sdk.ErrOffline):
		return "服务器无法连接，数据已保存在本机，稍后再同步 (server unreachable; everything is kept on this device; sync again later)."
	case errors.Is(err, sdk.ErrAuth) && command == "login":
		return "请核对用户名和密码后重新登录 (check the username and password, then run login again)."
	case errors.Is(err, sdk.ErrAuth):
		return "请重新登录: spotcheck-field login (sign in again; unsynced data is kept)."
	case errors.Is(err, sdk.ErrRevoked):
		return "此设备已停用；数据仍在本机，请联系管理员后重新登录，或导出: spotcheck-field export FILE (device revoked; data is kept; re-enrol with login, or export it)."
	case errors.Is(err, sdk.ErrRejected):
		return "查看被拒绝的记录: spotcheck-field rejections (see the rejected changes)."
	case errors.Is(err, sdk.ErrUpgradeRequired):
		return "请升级 spotcheck-field (upgrade this tool)."
	case errors.Is(err, sdk.ErrStorageFull):
		return "设备存储已满，请释放空间；已保存的数据完好 (storage full; free space; saved data is intact)."
	case errors.Is(err, sdk.ErrPasswordChange):
		return "请先修改一次性密码: spotcheck-field passwd --server URL --username U，再重新登录 (change the one-time password first, then run login again)."
	case errors.Is(err, sdk.ErrNotEnrolled):
		return "先登录: spotcheck-field login --server URL --username U."
	}
	return ""
}

func (e *env) open() (*sdk.Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	c, err := sdk.Open(e.dir, e.sdkCfg)
	if err != nil {
		return nil, err
	}
	e.client = c
	return c, nil
}
