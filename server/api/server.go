// Package api is the HTTP adapter: Echo routes, thin handlers, the one error
// handler, and middleware for auth, body limits, request IDs, logs and
// metrics. Handlers decode, call a service and encode; rules live in the
// domain and the store.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"

	"github.com/spotcheck/spotcheck/server"
)

// Pinger reports whether the database answers; /readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Services are what the handlers call.
type Services struct {
	Auth         server.AuthService
	Users        server.UserService
	Departments  server.DepartmentService
	Enterprises  server.EnterpriseService
	Inspectors   server.InspectorService
	Declarations server.DeclarationService
	Devices      server.DeviceService
	Imports      server.ImportService
	CheckItems   server.CheckItemService
	Campaigns    server.CampaignService
	// Public serves the public record of draws; see api/campaign.go.
	Public PublicRecords
	// Sync, Blobs and UploadDir serve field devices (api/sync*.go):
	// UploadDir holds resumable uploads in progress.
	Sync      server.SyncService
	Blobs     server.BlobService
	UploadDir string
	// Uploads keeps account of unfinished uploads for the quotas; nil
	// turns the quotas off.
	Uploads server.UploadService
	// Audit reads the audit chain (api/audit.go).
	Audit server.AuditService
	// Results: entry and review after the visit (api/result.go).
	Results server.ResultService
	// FollowUps: follow-up tasks after approval (api/followup.go).
	FollowUps server.FollowUpService
	// Letters: the notification letters' materials and delivery records
	// (api/letters.go, api/print.go).
	Letters server.LetterService
}

// Server is the HTTP server.
type Server struct {
	Services
	DB     Pinger
	Logger *slog.Logger

	// MaxPullWait caps how long a pull waits for changes (a long poll, see
	// handlePull); New sets DefaultMaxPullWait. Set it before serving.
	MaxPullWait time.Duration
	// PublicWriteTimeout bounds each write of a streamed public manifest or
	// record to an unauthenticated reader (see streamPublic); New sets
	// DefaultPublicWriteTimeout.
	PublicWriteTimeout time.Duration

	// The settings below are read while serving; set them before Serve.

	// MaxConns caps the connections served at once (New sets
	// DefaultMaxConns); further ones wait in the listen queue.
	MaxConns int
	// MetricsToken is the bearer token GET /metrics requires on the API's
	// listener. Empty: /metrics is not served there (only on the metrics
	// listener, see ListenMetrics).
	MetricsToken string
	// PublicURL is the scheme, host and path prefix devices reach the server
	// at ("https://spotcheck.example.org"); an upload's Location starts with
	// it. Empty: Locations are relative paths, resolved by the client
	// against the URL it called.
	PublicURL string
	// BodyGrace and MinBodyRate bound how slowly a request body may arrive:
	// by BodyGrace plus one second per MinBodyRate bytes read so far from
	// the start of the request, or the connection is cut (see rateBody).
	BodyGrace   time.Duration
	MinBodyRate int64 // bytes per second
	// WriteIdle is how long one write of a response may block on a client
	// that does not read.
	WriteIdle time.Duration
	// MinFreeDisk is the floor of free disk space (bytes) below which
	// uploads and device imports are refused with 507 (0: no floor);
	// FreeDisk reports the free space where they are written (nil: no
	// floor). Set both before serving; see upload_limits.go.
	MinFreeDisk uint64
	FreeDisk    func() (uint64, error)

	echo     *echo.Echo
	registry *prometheus.Registry
	// routeLabels are the route patterns the router knows: the only routes
	// the metrics label (anything else is "unmatched").
	routeLabels    map[string]bool
	trustedProxies []*net.IPNet
	// pages, when mounted, renders the errors of its own requests.
	pages       Pages
	ln          net.Listener
	http        *http.Server
	metricsLn   net.Listener
	metricsHTTP *http.Server

	// draining is closed when Shutdown begins: waiting pulls answer at once.
	draining     chan struct{}
	drainOnce    sync.Once
	pullsWaiting prometheus.Gauge
	// batches are the batch uploads running, by device.
	batches batchesInFlight
}

// DefaultMaxPullWait is the longest a pull waits for changes: below the idle
// timeouts of common proxies and load balancers (often 30 or 60 s), well below
// the SDK's 60 s request timeout.
const DefaultMaxPullWait = 25 * time.Second

// DefaultPublicWriteTimeout is how long one 64 KiB write of a public record
// may take: about 17 kbit/s; a reader slower than that, or one that stopped
// reading, is cut off.
const DefaultPublicWriteTimeout = 30 * time.Second

// Limits on request bodies. Imports stream larger files on their own routes.
const (
	DefaultBodyLimit = 1 << 20   // 1 MiB for ordinary JSON
	ImportBodyLimit  = 256 << 20 // 256 MiB for a CSV or XLSX import
)

// Connection limits and timeouts; the README's security section explains them.
const (
	// DefaultMaxConns is well above a fleet of devices syncing at once (one
	// or two connections each) and well below the open-file limit.
	DefaultMaxConns = 4096
	// ReadHeaderTimeout bounds the request line and headers.
	ReadHeaderTimeout = 10 * time.Second
	// DefaultBodyGrace and DefaultMinBodyRate: a body must keep up an average
	// of 16 KiB/s after a 10 s grace. A 32 MiB upload chunk over a 1 Mbit/s
	// link (122 KiB/s) takes 4.5 minutes and never comes near the bound; a
	// client that sends 3 bytes of a 100,000-byte body is cut after 10 s.
	DefaultBodyGrace   = 10 * time.Second
	DefaultMinBodyRate = 16 << 10
	// DefaultWriteIdle is how long one write may block on a client that
	// does not read its response.
	DefaultWriteIdle = 60 * time.Second
	// WriteTimeout bounds a response that writes nothing through the
	// handler (headers only); every write moves the deadline by WriteIdle.
	// It exceeds the longest pull wait (syncproto.MaxPullWaitSeconds).
	WriteTimeout = 2 * time.Minute
	// IdleTimeout is how long a kept-alive connection may wait for its next
	// request: above the idle timeouts of common clients (Go's: 90 s).
	IdleTimeout = 2 * time.Minute
)

// New returns a server with every route registered.
func New(svc Services, db Pinger, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{Services: svc, DB: db, Logger: logger, MaxPullWait: DefaultMaxPullWait,
		MaxConns: DefaultMaxConns, BodyGrace: DefaultBodyGrace, MinBodyRate: DefaultMinBodyRate, WriteIdle: DefaultWriteIdle,
		PublicWriteTimeout: DefaultPublicWriteTimeout,
		echo:               echo.New(), registry: prometheus.NewRegistry(), draining: make(chan struct{})}
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	s.echo.Pre(s.distrustForwarded)
	s.echo.Use(
		assignRequestID,
		s.guardBody,
		s.observe(),
		noStore,
		s.recoverPanics,
		middleware.SecureWithConfig(middleware.SecureConfig{
			XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
			ReferrerPolicy: "no-referrer",
		}),
		rejectControlURL,
	)
	s.registerPoolMetrics()
	s.routes()
	s.routeLabels = map[string]bool{}
	for _, r := range s.echo.Routes() {
		s.routeLabels[r.Path] = true
	}
	// Built here, not in Serve, so that a Shutdown that comes before Serve
	// (a signal during start-up) still stops it: Serve then returns at once.
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: ReadHeaderTimeout,
		// No ReadTimeout: a body's deadline moves with what has arrived
		// (guardBody), and a read deadline left on the connection after the
		// body would cancel a long poll.
		WriteTimeout:   WriteTimeout,
		IdleTimeout:    IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	s.metricsHTTP = &http.Server{
		Handler:           s.metricsHandler(),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server as an http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes returns every registered route.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// Listen binds addr ("127.0.0.1:0" picks a free port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// ListenMetrics binds addr for a listener that serves only GET /metrics
// (with MetricsToken, when set, required there too). Call it before Serve.
func (s *Server) ListenMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.metricsLn = ln
	return nil
}

// Addr returns the bound address, after Listen.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr returns the metrics listener's address, after ListenMetrics.
func (s *Server) MetricsAddr() net.Addr { return s.metricsLn.Addr() }

// Serve serves on the bound listeners until Shutdown; it returns nil after a
// graceful shutdown, or at once if Shutdown came first.
func (s *Server) Serve() error {
	errc := make(chan error, 1)
	if s.metricsLn != nil {
		go func() { errc <- s.metricsHTTP.Serve(s.metricsLn) }()
	}
	ln := s.ln
	if s.MaxConns > 0 {
		ln = netutil.LimitListener(ln, s.MaxConns)
	}
	err := s.http.Serve(ln)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.metricsHTTP.Close()
		return err
	}
	if s.metricsLn != nil {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// Shutdown stops accepting connections and waits for requests in flight.
// Pulls waiting for changes answer at once with what they have (nothing), so
// they do not hold the shutdown up; the devices pull again elsewhere. A Serve
// called after Shutdown returns at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drainOnce.Do(func() { close(s.draining) })
	err := s.http.Shutdown(ctx)
	if merr := s.metricsHTTP.Shutdown(ctx); err == nil {
		err = merr
	}
	return err
}
