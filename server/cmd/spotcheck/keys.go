package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spotcheck/spotcheck/server/auth"
)

// The keys commands manage the Ed25519 keys that sign access tokens, kept as
// ed25519-*.pem (PKCS#8, mode 0600) in --keys-dir (default DATA-DIR/keys).
// Operators who bring their own key drop it there under any ed25519-*.pem
// name: the newest signs, every key verifies. A separate signing-key-file
// setting was left out on purpose: one directory already covers an operator's
// key, rotation and retirement, and two sources would need rules for which
// wins. Servers read the directory when they start, so restart them after
// rotate or retire.
func init() {
	register("keys", "manage token signing keys: keys list|rotate|retire KID", cmdKeys)
}

func cmdKeys(ctx context.Context, env *Env, args []string) error {
	flags := flag.NewFlagSet("keys", flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: spotcheck keys list | rotate | retire KID [flags]")
		flags.PrintDefaults()
	}
	var g globalFlags
	g.register(flags, env)
	pos, err := parseInterleaved(flags, args)
	if err != nil {
		return err
	}
	if _, err := g.logger(env); err != nil {
		return err
	}
	dir := g.cfg.KeysDir
	if dir == "" {
		dir = filepath.Join(g.cfg.DataDir, "keys")
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		return keysList(env, dir)
	case len(pos) == 1 && pos[0] == "rotate":
		return keysRotate(env, dir)
	case len(pos) == 2 && pos[0] == "retire":
		return keysRetire(env, dir, pos[1])
	}
	flags.Usage()
	return usagef("want: keys list | keys rotate | keys retire KID")
}

func loadKeys(dir string) (*auth.KeySet, error) {
	ks, err := auth.LoadKeys(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(ks.Keys()) == 0) {
		return nil, fmt.Errorf("%s中没有签名密钥：服务首次启动或执行keys rotate时生成 (no signing keys in %s: the first start or 'spotcheck keys rotate' makes one)", dir, dir)
	}
	return ks, err
}

func keysList(env *Env, dir string) error {
	ks, err := loadKeys(dir)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KID\tCREATED\tUSE")
	signing := ks.Signing().ID
	for _, k := range ks.Keys() {
		use := "verifies"
		if k.ID == signing {
			use = "signs and verifies"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), use)
	}
	return w.Flush()
}

func keysRotate(env *Env, dir string) error {
	ks, err := auth.LoadKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		ks, err = &auth.KeySet{Dir: dir}, nil
	}
	if err != nil {
		return err
	}
	k, err := ks.Generate(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "new signing key %s in %s\n", k.ID, dir)
	fmt.Fprintln(env.Stdout, "Restart the servers to sign with it. Tokens signed by older keys keep verifying until")
	fmt.Fprintf(env.Stdout, "those keys are retired; wait one access-token lifetime (%s) after the restart first.\n", auth.DefaultAccessTTL)
	return nil
}

func keysRetire(env *Env, dir, kid string) error {
	ks, err := loadKeys(dir)
	if err != nil {
		return err
	}
	if err := ks.Retire(kid); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "retired key %s: after the servers restart, tokens it signed are refused\n", kid)
	return nil
}
