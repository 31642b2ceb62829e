package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The healthcheck command probes a running server, for container
// healthchecks: the image carries no curl, so the binary probes itself.
func init() {
	register("healthcheck", "probe a running server: exit 0 if its /healthz answers 200", cmdHealthcheck)
}

func cmdHealthcheck(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spotcheck healthcheck [--url URL] [--timeout D]")
		fmt.Fprintln(fs.Output(), "exit 0 if the URL answers 200 within the timeout, else 1")
		fs.PrintDefaults()
	}
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "the health URL to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if len(pos) > 0 {
		fs.Usage()
		return usagef("healthcheck takes no arguments (got %q)", pos[0])
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usagef("bad --url %q: %v", *url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(env.Stdout, "ok")
	return nil
}
