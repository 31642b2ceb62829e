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

	echo     *echo.Echo
	registry *prometheus.Registry
	ln       net.Listener
	http     *http.Server

	// draining is closed when Shutdown begins: waiting pulls answer at once.
	draining     chan struct{}
	drainOnce    sync.Once
	pullsWaiting prometheus.Gauge
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

// New returns a server with every route registered.
func New(svc Services, db Pinger, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{Services: svc, DB: db, Logger: logger, MaxPullWait: DefaultMaxPullWait,
		PublicWriteTimeout: DefaultPublicWriteTimeout,
		echo:               echo.New(), registry: prometheus.NewRegistry(), draining: make(chan struct{})}
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	s.echo.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{TargetHeader: echo.HeaderXRequestID}),
		s.observe(),
		s.recoverPanics,
		middleware.SecureWithConfig(middleware.SecureConfig{
			XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
			ReferrerPolicy: "no-referrer",
		}),
	)
	s.registerPoolMetrics()
	s.routes()
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

// Addr returns the bound address, after Listen.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves on the bound listener until Shutdown; it returns nil after a
// graceful shutdown.
func (s *Server) Serve() error {
	// No WriteTimeout: a pull may wait up to MaxPullWait for changes, and
	// imports and attachments stream for as long as their bodies take.
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits for requests in flight.
// Pulls waiting for changes answer at once with what they have (nothing), so
// they do not hold the shutdown up; the devices pull again elsewhere.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drainOnce.Do(func() { close(s.draining) })
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}
