package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/auth"
)

func init() {
	register("user", "manage accounts: user add --username U --role R … | user reset-password --username U", cmdUser)
}

func cmdUser(ctx context.Context, env *Env, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "add":
		return cmdUserAdd(ctx, env, args[1:])
	case len(args) > 0 && args[0] == "reset-password":
		return cmdUserResetPassword(ctx, env, args[1:])
	}
	fmt.Fprintln(env.Stderr, "usage: spotcheck user add --username U --role R [--department CODE] [--inspector CERT-NUMBER] [--display-name N]")
	fmt.Fprintln(env.Stderr, "       spotcheck user reset-password --username U")
	return usagef("want: user add or user reset-password")
}

// cmdUserResetPassword gives an account a generated one-time password, with
// the operator's authority: the way back in for a platform admin who lost
// theirs. The account's sessions end; the password must be changed at the
// next login.
func cmdUserResetPassword(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("user reset-password", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	name := fs.String("username", "", "login name (required)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected arguments %q", pos)
	case *name == "":
		return usagef("--username is required")
	}
	a, err := g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	u, password, err := a.Users.ResetPasswordByUsername(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "reset the password of %q (id %d)\n", u.Username, u.ID)
	fmt.Fprintf(env.Stdout, "one-time password, shown only now (change it at the first login): %s\n", password)
	return nil
}

// cmdUserAdd creates an account with the operator's authority. The password
// is the first line of stdin when stdin is not a terminal (so it never shows
// in the process list or shell history); otherwise, or when that line is
// empty, one is generated and printed once, and must be changed at the
// first login.
func cmdUserAdd(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spotcheck user add --username U --role R [flags] [< password-file]")
		fmt.Fprintln(fs.Output(), "roles: platform_admin, department_admin, lead_coordinator, inspector")
		fs.PrintDefaults()
	}
	var g globalFlags
	g.register(fs, env)
	username := fs.String("username", "", "login name (required)")
	role := fs.String("role", "", "platform_admin, department_admin, lead_coordinator or inspector (required)")
	deptCode := fs.String("department", "", "department code; for an inspector, defaults to the inspector's department")
	cert := fs.String("inspector", "", "enforcement certificate number of the inspector this account belongs to (role inspector)")
	displayName := fs.String("display-name", "", "name shown in the console")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected arguments %q", pos)
	case *username == "":
		return usagef("--username is required")
	case !server.Role(*role).Valid():
		return usagef("--role must be platform_admin, department_admin, lead_coordinator or inspector")
	}
	password, generated, err := readPassword(env.Stdin)
	if err != nil {
		return err
	}

	a, err := g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := app.SystemContext(ctx)
	u := &server.User{Username: *username, DisplayName: *displayName, Role: server.Role(*role)}
	if *deptCode != "" {
		d, err := a.Departments.FindDepartmentByCode(sys, *deptCode)
		if err != nil {
			return fmt.Errorf("--department %s: %w", *deptCode, err)
		}
		u.DepartmentID = &d.ID
	}
	if *cert != "" {
		if a.Inspectors == nil {
			return errors.New("执法人员名录不可用，无法使用--inspector (the inspector directory is not available in this build; --inspector cannot be used)")
		}
		in, err := findInspectorByCertificate(sys, a, *cert, u.DepartmentID)
		if err != nil {
			return err
		}
		u.InspectorID = &in.ID
		if u.DepartmentID == nil {
			u.DepartmentID = &in.DepartmentID
		}
	}
	if err := a.Users.CreateUserUnchecked(ctx, u, password, generated); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created user %q (id %d, role %s)\n", u.Username, u.ID, u.Role)
	if generated {
		fmt.Fprintf(env.Stdout, "one-time password, shown only now (change it at the first login): %s\n", password)
	}
	return nil
}

// findInspectorByCertificate returns the one inspector with the certificate
// number, in the department if one is given.
func findInspectorByCertificate(ctx context.Context, a *app.App, cert string, deptID *int64) (*server.Inspector, error) {
	ins, _, err := a.Inspectors.FindInspectors(ctx, server.InspectorFilter{CertificateNumber: &cert, DepartmentID: deptID, Limit: 2})
	if err != nil {
		return nil, err
	}
	switch len(ins) {
	case 0:
		return nil, fmt.Errorf("没有执法证号为%q的执法人员 (no inspector has certificate number %q)", cert, cert)
	case 1:
		return ins[0], nil
	}
	return nil, fmt.Errorf("多个部门的执法人员使用执法证号%q，请用--department指定部门 (several departments have an inspector with certificate number %q; name one with --department)", cert, cert)
}

// readPassword returns the first line of stdin when stdin is piped or a file,
// else a generated password (generated is then true).
func readPassword(stdin io.Reader) (password string, generated bool, err error) {
	if f, ok := stdin.(*os.File); ok {
		if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice != 0 {
			stdin = nil // a terminal: do not wait for typing that echoes
		}
	}
	if stdin != nil {
		// Read a little past the limit so an over-long line is refused, not cut.
		line, err := bufio.NewReader(io.LimitReader(stdin, auth.MaxPasswordLen+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password from stdin: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			return line, false, nil
		}
	}
	return rand.Text(), true, nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}
