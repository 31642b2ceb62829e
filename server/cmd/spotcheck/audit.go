package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store"
)

// The audit command reads the audit chain straight from the database, on
// either dialect, without migrating it or starting anything.
func init() {
	register("audit", "check the audit chain: audit verify [--head SEQ:HASH] | audit head", cmdAudit)
}

func cmdAudit(ctx context.Context, env *Env, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "verify":
		return cmdAuditVerify(ctx, env, args[1:])
	case len(args) > 0 && args[0] == "head":
		return cmdAuditHead(ctx, env, args[1:])
	}
	fmt.Fprintln(env.Stderr, "usage: spotcheck audit verify [--head SEQ:HASH]   walk the chain, name the first broken link")
	fmt.Fprintln(env.Stderr, "       spotcheck audit head                      print the chain's head as SEQ:HASH")
	return usagef("want: audit verify or audit head")
}

// auditFlags parses the flags of an audit subcommand and opens the database.
func auditFlags(ctx context.Context, env *Env, name string, args []string, extra func(*flag.FlagSet)) (*store.DB, error) {
	fs := flag.NewFlagSet("audit "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var g globalFlags
	g.register(fs, env)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected arguments %q", pos)
	}
	return openExistingDB(ctx, g.cfg.DataDir, g.cfg.DatabaseURL)
}

// openExistingDB opens the database the server uses (the PostgreSQL URL, or
// spotcheck.db in the data directory), refusing one that is missing or not
// migrated to this binary's schema: a check must not create or change what
// it checks.
func openExistingDB(ctx context.Context, dataDir, databaseURL string) (*store.DB, error) {
	dialect, dsn := store.Postgres, databaseURL
	if databaseURL == "" {
		dialect, dsn = store.SQLite, filepath.Join(dataDir, "spotcheck.db")
		if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (set --data-dir or --database-url)", dsn)
		}
	}
	db, err := store.Open(dialect, dsn)
	if err != nil {
		return nil, err
	}
	current, latest, err := db.MigrationVersion(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read the schema version: %w", err)
	}
	if current < latest {
		db.Close()
		return nil, fmt.Errorf("the database schema is at version %d, this binary's is %d: run spotcheck migrate first", current, latest)
	}
	return db, nil
}

// cmdAuditVerify walks the whole chain in seq order, recomputing every hash;
// it prints the count and the head when the chain is whole, and otherwise
// names the first broken link and exits 1.
func cmdAuditVerify(ctx context.Context, env *Env, args []string) error {
	var head string
	db, err := auditFlags(ctx, env, "verify", args, func(fs *flag.FlagSet) {
		fs.StringVar(&head, "head", "", "a head published earlier, SEQ:HASH, that the chain must still hold")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	var want *server.AuditCheckpoint
	if head != "" {
		if want, err = server.ParseAuditCheckpoint(head); err != nil {
			return usagef("--head: %s", server.ErrorMessage(err))
		}
	}
	r, err := db.VerifyAudit(ctx, want)
	if err != nil {
		return err
	}
	if b := r.Break; b != nil {
		fmt.Fprintf(env.Stdout, "audit chain BROKEN: %d events verified before the first broken link\n", r.Count)
		fmt.Fprintf(env.Stdout, "first broken link: index %d, seq %d, %s\n%s\n", b.Index, b.Seq, b.Problem, b.Message)
		return fmt.Errorf("audit chain broken at index %d (seq %d): %s", b.Index, b.Seq, b.Problem)
	}
	fmt.Fprintf(env.Stdout, "audit chain OK: %d events\nhead %d:%s\n", r.Count, r.HeadSeq, r.HeadHash)
	return nil
}

// cmdAuditHead prints the head, SEQ:HASH, as --head takes it.
func cmdAuditHead(ctx context.Context, env *Env, args []string) error {
	db, err := auditFlags(ctx, env, "head", args, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	seq, hash, err := db.AuditHead(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d:%s\n", seq, hash)
	return nil
}
