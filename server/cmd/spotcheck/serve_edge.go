package main

import (
	"flag"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spotcheck/spotcheck/server/api"
)

// edgeFlags are serve's settings for the HTTP edge: who may read /metrics,
// how many connections at once, the public URL and the trusted proxies. The
// README's security section explains them.
type edgeFlags struct {
	metricsAddr      string
	metricsToken     string // from SPOTCHECK_METRICS_TOKEN, or the file below
	metricsTokenFile string
	maxConns         int
	publicURL        string
	trustedProxies   string
	proxies          []*net.IPNet
}

// minMetricsToken is the shortest metrics token accepted.
const minMetricsToken = 16

func (e *edgeFlags) register(fs *flag.FlagSet, env *Env) error {
	e.metricsToken = env.Getenv("SPOTCHECK_METRICS_TOKEN")
	fs.StringVar(&e.metricsAddr, "metrics-addr", env.Getenv("SPOTCHECK_METRICS_ADDR"), "a separate address serving only GET /metrics, e.g. 127.0.0.1:9090 (env SPOTCHECK_METRICS_ADDR)")
	fs.StringVar(&e.metricsTokenFile, "metrics-token-file", env.Getenv("SPOTCHECK_METRICS_TOKEN_FILE"), "file holding the bearer token /metrics requires; or set SPOTCHECK_METRICS_TOKEN (env SPOTCHECK_METRICS_TOKEN_FILE)")
	conns := api.DefaultMaxConns
	if v := env.Getenv("SPOTCHECK_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return usagef("SPOTCHECK_MAX_CONNS %q is not a positive integer", v)
		}
		conns = n
	}
	fs.IntVar(&e.maxConns, "max-conns", conns, "connections served at once; more wait (env SPOTCHECK_MAX_CONNS)")
	fs.StringVar(&e.publicURL, "public-url", env.Getenv("SPOTCHECK_PUBLIC_URL"), "the URL devices reach the server at, e.g. https://spotcheck.example.org; default: upload Locations are relative (env SPOTCHECK_PUBLIC_URL)")
	fs.StringVar(&e.trustedProxies, "trusted-proxy", env.Getenv("SPOTCHECK_TRUSTED_PROXY"), "comma-separated addresses or CIDR ranges of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (env SPOTCHECK_TRUSTED_PROXY)")
	return nil
}

// check validates the settings after parsing and reads the token file.
func (e *edgeFlags) check() error {
	if e.maxConns <= 0 {
		return usagef("--max-conns must be a positive integer")
	}
	if e.metricsTokenFile != "" {
		b, err := os.ReadFile(e.metricsTokenFile)
		if err != nil {
			return usagef("--metrics-token-file: %v", err)
		}
		e.metricsToken = strings.TrimSpace(string(b))
	}
	if e.metricsToken != "" && len(e.metricsToken) < minMetricsToken {
		return usagef("the metrics token must be at least %d characters", minMetricsToken)
	}
	if e.publicURL != "" {
		u, err := url.Parse(e.publicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return usagef("--public-url %q must be an http(s) URL such as https://spotcheck.example.org, with no query", e.publicURL)
		}
		e.publicURL = strings.TrimRight(u.String(), "/")
	}
	for _, s := range strings.Split(e.trustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return usagef("--trusted-proxy %q is not an address or CIDR range", s)
		}
		e.proxies = append(e.proxies, n)
	}
	return nil
}

// apply sets the settings on the server, before it serves.
func (e *edgeFlags) apply(s *api.Server) {
	s.MetricsToken = e.metricsToken
	s.MaxConns = e.maxConns
	s.PublicURL = e.publicURL
	s.TrustProxies(e.proxies)
}
