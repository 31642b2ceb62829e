// Package app wires the store, auth and api packages into one running
// spotcheck: the binary and the end-to-end tests build it the same way.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/auth"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/web"
)

// Config is everything an App needs; see the README's configuration table.
type Config struct {
	DataDir     string // SQLite file, signing keys and the refresh secret live here
	DatabaseURL string // PostgreSQL URL; empty means SQLite in DataDir
	KeysDir     string // signing keys; default DataDir/keys
	Addr        string
	// DBMaxConns caps PostgreSQL connections (0: store.DefaultMaxConns);
	// SQLite always uses one.
	DBMaxConns int
	// CalendarFile, if set, is a holiday calendar (calendar.Parse format)
	// whose years extend or replace those of calendar.China (lunar-go's).
	CalendarFile string
	// UploadLimits are the quotas on devices' unfinished uploads; nil means
	// server.DefaultUploadLimits.
	UploadLimits *server.UploadLimits
	// MinFreeDisk is the free space in the data directory below which
	// uploads and device imports are refused (507); 0: no floor.
	MinFreeDisk uint64
	// HashConcurrency caps password hashes running at once (0: one per
	// CPU); HashWait is the longest a login waits for one (0: 2 s).
	HashConcurrency int
	HashWait        time.Duration
}

// App is a wired spotcheck.
type App struct {
	Config Config
	DB     *store.DB
	Keys   *auth.KeySet
	Logger *slog.Logger

	Passwords    *auth.Argon2id
	Auth         *store.AuthService
	Users        *store.UserService
	Departments  *store.DepartmentService
	Enterprises  server.EnterpriseService
	Inspectors   server.InspectorService
	Declarations server.DeclarationService
	Devices      *store.DeviceService
	Imports      server.ImportService
	CheckItems   server.CheckItemService
	Campaigns    server.CampaignService
	Public       api.PublicRecords
	Calendar     *calendar.Calendar
	Sync         *store.SyncService
	Blobs        *store.BlobService
	UploadDir    string // resumable uploads in progress
	Uploads      *store.UploadService
	Audit        *store.AuditService
	Results      *store.ResultService
	FollowUps    *store.FollowUpService
	Letters      *store.LetterService

	API *api.Server
	Web *web.Pages
}

// Open opens the database, applies migrations, loads (or on a first start
// creates) the signing keys and the refresh secret, and builds the services.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "spotcheck-data"
	}
	if cfg.KeysDir == "" {
		cfg.KeysDir = filepath.Join(cfg.DataDir, "keys")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.DBMaxConns < 0 {
		return nil, fmt.Errorf("the database connection limit (--db-max-conns, SPOTCHECK_DB_MAX_CONNS) must be a positive integer")
	}
	dialect, dsn := store.SQLite, filepath.Join(cfg.DataDir, "spotcheck.db")
	if cfg.DatabaseURL != "" {
		dialect, dsn = store.Postgres, cfg.DatabaseURL
	} else if err := createPrivate(dsn); err != nil {
		return nil, fmt.Errorf("database file: %w", err)
	}
	db, err := store.Open(dialect, dsn)
	if err != nil {
		return nil, err
	}
	if dialect == store.SQLite {
		// SQLite gives its -wal and -shm files the database file's mode;
		// files left from an older version (0644) are tightened here.
		tighten(logger, 0o600, dsn, dsn+"-wal", dsn+"-shm")
	}
	if cfg.DBMaxConns > 0 {
		db.SetMaxConns(cfg.DBMaxConns)
	}
	a, err := New(ctx, cfg, db, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// New builds an App on an open database, which it migrates.
func New(ctx context.Context, cfg Config, db *store.DB, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := db.Migrate(ctx, logger); err != nil {
		return nil, err
	}
	keys, err := auth.LoadOrCreateKeys(cfg.KeysDir, db.Now())
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	secret, err := loadOrCreateSecret(filepath.Join(cfg.KeysDir, "refresh.secret"))
	if err != nil {
		return nil, fmt.Errorf("refresh secret: %w", err)
	}
	issuer := auth.NewIssuer(keys)
	issuer.Now = db.Now
	// At most one password hash per CPU at once (each takes 19 MiB); logins
	// beyond that wait briefly, then get 503 with Retry-After.
	passwords := auth.NewArgon2id(cfg.HashConcurrency, cfg.HashWait)

	cal, err := loadCalendar(cfg.CalendarFile)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, DB: db, Keys: keys, Logger: logger, Calendar: cal}
	a.Passwords = passwords
	a.Auth = store.NewAuthService(db, issuer, passwords, secret)
	// Failed logins hold back further ones per account and per address,
	// counted in the database so that every replica sees the same counts.
	a.Auth.Throttle = store.NewLoginThrottle(db, store.DefaultLoginPolicy)
	a.Users = store.NewUserService(db, passwords)
	a.Users.Throttle = a.Auth.Throttle
	a.Departments = store.NewDepartmentService(db)
	a.Devices = store.NewDeviceService(db)
	a.Audit = store.NewAuditService(db)
	wireDirectories(a)
	wireImports(a)
	wireCampaigns(a)
	a.Results = store.NewResultService(db, a.Calendar)
	if err := wireSync(a); err != nil {
		return nil, err
	}
	a.FollowUps = store.NewFollowUpService(db, a.Calendar, a.Blobs)
	a.Letters = store.NewLetterService(db, a.Blobs)
	// The data lives in folders only the server's user may enter (folders
	// made by an older version were 0755).
	tighten(logger, 0o700, cfg.DataDir, cfg.KeysDir, a.UploadDir, filepath.Join(cfg.DataDir, "blobs"))
	svc := api.Services{
		Auth: a.Auth, Users: a.Users, Departments: a.Departments, Enterprises: a.Enterprises,
		Inspectors: a.Inspectors, Declarations: a.Declarations, Devices: a.Devices, Imports: a.Imports,
		CheckItems: a.CheckItems, Campaigns: a.Campaigns, Public: a.Public,
		Sync: a.Sync, Blobs: a.Blobs, UploadDir: a.UploadDir, Uploads: a.Uploads,
		Audit:     a.Audit,
		Results:   a.Results,
		FollowUps: a.FollowUps,
		Letters:   a.Letters,
	}
	a.API = api.New(svc, db, logger.With("component", "api"))
	// The console and the public pages, on the same router and services.
	a.Web = web.New(svc, secret, logger.With("component", "web"))
	a.API.Mount(a.Web)
	if cfg.MinFreeDisk > 0 {
		a.API.MinFreeDisk = cfg.MinFreeDisk
		a.API.FreeDisk = func() (uint64, error) { return FreeDisk(a.UploadDir) }
	}
	return a, nil
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// SystemContext returns ctx acting as the platform itself, for commands run
// by the operator on the server machine (imports, user add).
func SystemContext(ctx context.Context) context.Context {
	return server.NewContextWithUser(ctx, &server.User{Username: "system", Role: server.RolePlatformAdmin})
}

// createPrivate creates an empty file at path with mode 0600 unless it exists:
// the SQLite database is then created with that mode, not 0644.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return err
	}
	return f.Close()
}

// tighten takes away from each existing path every permission beyond mode.
// Where it cannot (a read-only mount of shared keys, another owner) it
// warns: the operator set those permissions.
func tighten(logger *slog.Logger, mode fs.FileMode, paths ...string) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&^mode == 0 {
			continue
		}
		if err := os.Chmod(p, st.Mode().Perm()&mode); err != nil {
			logger.Warn("cannot restrict the permissions of a data path", slog.String("path", p),
				slog.String("mode", fmt.Sprintf("%o", st.Mode().Perm())), slog.Any("err", err))
		}
	}
}

// loadOrCreateSecret reads a 32-byte secret, creating it with mode 0600 if
// absent. Replicas starting together on one keys directory must end with one
// secret: the new one is written whole to a temporary file and linked into
// place, which fails if another replica's is there already; that one is
// then read.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".refresh.secret-*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return readSecret(path) // another replica was first
	case err != nil:
		return nil, err
	}
	return b, nil
}

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("%s: shorter than 32 bytes", path)
	}
	return b, nil
}

// EnsureAdmin creates the first platform admin when there are no users yet
// and returns its one-time password; "" when users exist already.
func (a *App) EnsureAdmin(ctx context.Context) (username, password string, err error) {
	n, err := a.Users.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	password = rand.Text()
	u := &server.User{Username: "admin", DisplayName: "平台管理员", Role: server.RolePlatformAdmin}
	if err := a.Users.CreateUserUnchecked(ctx, u, password, true); err != nil {
		return "", "", err
	}
	return u.Username, password, nil
}
