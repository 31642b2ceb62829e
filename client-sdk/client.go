package sdk

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// Config configures a Client. Every field is optional.
type Config struct {
	// ServerURL is the server to enrol with when Enrol is given none.
	ServerURL string
	// HTTPClient makes the requests; the default has a 60 s timeout.
	HTTPClient *http.Client
	// Logger receives diagnostics; the default discards them.
	Logger *slog.Logger
	// Now is the device clock. It is recorded as data (device_time,
	// sealed_at) and never used to order anything.
	Now func() time.Time
	// Progress, if set, is called as a sync moves bytes and items.
	Progress func(Progress)
	// RetryFor is how long one request keeps being tried on transient errors
	// (network, 5xx, 429), with backoff, before Sync gives up with
	// ErrOffline; default 30 s, so a server restart is ridden out rather than
	// reported as offline. MaxAttempts, if set, also caps the tries.
	RetryFor    time.Duration
	MaxAttempts int
	// BackoffBase is the first backoff delay, doubled per attempt up to
	// BackoffMax; defaults 500 ms and 30 s.
	BackoffBase, BackoffMax time.Duration
	// ChunkSize is the resumable-upload chunk; default 512 KiB, so a
	// typical photo or signature goes in the one request that creates its
	// upload.
	ChunkSize int
	// Uploads is how many attachments upload at once. By default (0) the
	// SDK chooses from the link: enough that the uplink stays busy through
	// each request's round trip (the bandwidth-delay product over the
	// request size, plus one), between 2 and 8, measured as it goes; after
	// a cut, one more file starts for each upload asking where it got to.
	Uploads int
	// OnEvent, if set, is told what each sync brings as it happens: new
	// rejections and conflicts, "all synced", offline (see Event). It is
	// called from the syncing goroutine and must not block for long.
	OnEvent func(Event)
}

// Progress reports a sync's work so far. Byte counts are wire bytes of this
// Sync call; item counts are attachments uploaded, mutations acknowledged and
// changes pulled. The Session fields add up every Sync since Open, so a
// Watch session has running totals.
type Progress struct {
	Phase         string // "upload", "push", "pull", "done"
	BytesUp       int64
	BytesUpTotal  int64 // attachment bytes to upload plus push bodies so far, as known
	BytesDown     int64
	ItemsUp       int // attachments uploaded + mutations acknowledged
	ItemsUpTotal  int // attachments to upload + mutations queued at the start
	ItemsDown     int // changes applied
	CurrentObject string

	SessionBytesUp, SessionBytesDown int64
	SessionItemsUp, SessionItemsDown int
}

// Client is a field device's local store and its sync engine.
type Client struct {
	dir   string
	cfg   Config
	log   *slog.Logger
	db    *gorm.DB
	sqlDB *sql.DB
	http  *http.Client

	writeMu sync.Mutex // local writes, so seqs are allocated in order
	syncMu  sync.Mutex // one Sync at a time
	authMu  sync.Mutex // one refresh at a time
	kick    chan struct{}
	// noLongPoll is set once the server refused a pull that waits (a server
	// from before long polls); Watch then syncs on its interval only.
	noLongPoll atomic.Bool
	// pushLimit and pullLimit are the batch sizes the server announced
	// (syncproto.HeaderPushLimit, HeaderPullLimit); 0 until it did.
	pushLimit, pullLimit atomic.Int64
	// link is what the requests measured of the link (see linkStats);
	// with autoUploads the upload concurrency follows from it.
	link        linkStats
	autoUploads bool

	progMu sync.Mutex
	prog   Progress
}

// Open opens (creating if needed) the local store in dir.
func Open(dir string, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 30 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 512 << 10
	}
	autoUploads := cfg.Uploads <= 0
	if autoUploads {
		cfg.Uploads = minUploads
	}
	if err := os.MkdirAll(filepath.Join(dir, "attachments"), 0o700); err != nil {
		return nil, storageErr(err)
	}
	g, err := gorm.Open(sqlite.Open(dsn(filepath.Join(dir, "field.db"))), &gorm.Config{
		Logger: logger.Discard, SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open local store: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// One connection: SQLite takes one writer anyway, and per-connection
	// pragmas then hold for every statement.
	sqlDB.SetMaxOpenConns(1)
	c := &Client{dir: dir, cfg: cfg, autoUploads: autoUploads, log: cfg.Logger, db: g, sqlDB: sqlDB, http: noForeignRedirects(cfg.HTTPClient), kick: make(chan struct{}, 1)}
	if err := c.migrate(); err != nil {
		sqlDB.Close()
		return nil, storageErr(err)
	}
	return c, nil
}

func dsn(path string) string {
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	// Prepared statements kept per connection: a sync runs the same few
	// statements a thousand times, and preparing them was a tenth of its
	// CPU.
	q.Set("_stmt_cache_size", "64")
	return "file:" + path + "?" + q.Encode()
}

// Close closes the local store.
func (c *Client) Close() error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.sqlDB.Close()
}

// Dir is the data directory.
func (c *Client) Dir() string { return c.dir }

func (c *Client) migrate() error {
	if err := c.db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`).Error; err != nil {
		return err
	}
	names, err := fs.Glob(schemaFS, "schema/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		var n int64
		if err := c.db.Raw(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := schemaFS.ReadFile(name)
		if err != nil {
			return err
		}
		err = c.db.Transaction(func(tx *gorm.DB) error {
			for _, stmt := range splitSQL(string(body)) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %w", version, err)
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UTC().Format(time.RFC3339Nano)).Error
		})
		if err != nil {
			return fmt.Errorf("apply local schema %s: %w", version, err)
		}
	}
	return nil
}

// splitSQL splits a schema file into statements on ";" at line ends, keeping
// trigger bodies (BEGIN … END;) whole.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	inTrigger := false
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		up := strings.ToUpper(t)
		if strings.HasPrefix(up, "CREATE TRIGGER") {
			inTrigger = true
		}
		if strings.HasSuffix(t, ";") && (!inTrigger || up == "END;") {
			out = append(out, cur.String())
			cur.Reset()
			inTrigger = false
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// tx runs fn in one local transaction (BEGIN IMMEDIATE) under the write lock.
func (c *Client) tx(fn func(tx *gorm.DB) error) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return storageErr(c.db.Transaction(fn))
}

// notify wakes a Watch loop: there is something new to push.
func (c *Client) notify() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Client) now() time.Time { return c.cfg.Now() }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

var errNoRow = errors.New("no row")
