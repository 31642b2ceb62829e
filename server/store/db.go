// Package store implements the server's services on GORM, over SQLite (the
// embedded default) or PostgreSQL. Nothing above this package imports gorm:
// errors leave it translated into *server.Error or wrapped.
//
// Every state change also appends an event to the audit chain, in the same
// transaction, with one call: addAudit (audit.go, docs/audit.md).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/spotcheck/spotcheck/migrations"
	"github.com/spotcheck/spotcheck/server"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is the database handle every service in this package shares.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	feed    *changeFeed // wakes long-polling pulls (sync_feed.go)

	// Now returns the current time; tests replace it. Every write in one
	// transaction uses the single value taken when it began.
	Now func() time.Time
}

// Open connects to the database. For SQLite, dsn is a file path; for
// PostgreSQL, a connection URL or key=value string. It does not migrate.
func Open(dialect, dsn string) (*DB, error) {
	var d gorm.Dialector
	switch dialect {
	case SQLite:
		d = sqlite.Open(sqliteDSN(dsn))
	case Postgres:
		d = postgres.Open(dsn)
	default:
		return nil, fmt.Errorf("unknown database dialect %q (want sqlite or postgres)", dialect)
	}
	db := &DB{dialect: dialect, Now: time.Now}
	db.feed = newChangeFeed(db)
	g, err := gorm.Open(d, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true, // services open their own transactions
		Logger:                 logger.Discard,
		// GORM's own created_at/updated_at stamps follow the same clock as Tx.Now.
		NowFunc: func() time.Time { return db.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		// SQLite cannot handle concurrent writes, so it gets one connection.
		// Code inside WithTx must use only its tx, or it waits forever.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(DefaultMaxConns)
		sqlDB.SetMaxIdleConns(DefaultMaxConns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	db.gorm, db.sql = g, sqlDB
	return db, nil
}

// DefaultMaxConns is the PostgreSQL connection pool's size unless
// SetMaxConns changes it.
const DefaultMaxConns = 10

// SetMaxConns sets the PostgreSQL pool's size (open and idle). SQLite keeps
// its single connection.
func (db *DB) SetMaxConns(n int) {
	if db.dialect == Postgres && n > 0 {
		db.sql.SetMaxOpenConns(n)
		db.sql.SetMaxIdleConns(n)
	}
}

// Stats are the connection pool's counters, for metrics.
func (db *DB) Stats() sql.DBStats { return db.sql.Stats() }

// sqliteDSN sets the pragmas in the DSN so they apply to every pooled
// connection: SQLite leaves foreign keys off unless each connection asks.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	// Prepared statements kept per connection: a push or a pull runs the
	// same statements for each of its rows.
	q.Set("_stmt_cache_size", "64")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "file:" + path + sep + q.Encode()
}

// Dialect returns SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks the database answers; /readyz calls it.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Migrate applies every pending migration for the dialect and logs each one.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	provider, err := db.migrationProvider()
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "migration applied", slog.String("file", r.Source.Path), slog.Duration("took", r.Duration))
	}
	// Data the SQL cannot compute: normalized usernames of older accounts.
	return db.normalizeUsernames(ctx, log)
}

// MigrationVersion returns the current and the latest schema version.
func (db *DB) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	provider, err := db.migrationProvider()
	if err != nil {
		return 0, 0, err
	}
	if current, err = provider.GetDBVersion(ctx); err != nil {
		return 0, 0, err
	}
	sources := provider.ListSources()
	if n := len(sources); n > 0 {
		latest = sources[n-1].Version
	}
	return current, latest, nil
}

func (db *DB) migrationProvider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrations.FS, db.dialect)
	if err != nil {
		return nil, err
	}
	gd := goose.DialectPostgres
	if db.dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	return goose.NewProvider(gd, db.sql, dir)
}

// Tx is a transaction plus the one timestamp all of its writes share.
type Tx struct {
	*gorm.DB
	Now time.Time

	// syncChanges are the transaction's entries for the sync change log,
	// written just before it commits (see addSyncChange); once it commits,
	// the change feed is told.
	syncChanges []syncChangeRow
	syncChanged bool
	// audits are the transaction's audit events, appended to the chain just
	// before it commits (see addAudit).
	audits []pendingAudit
	// pg is the transaction's pgx connection when it was begun by
	// WithPgConn (nil otherwise, and on SQLite): bulk writes use COPY on it.
	pg PgConn
}

// WithTx runs fn in a transaction: an error or panic rolls back, nil commits.
// Exported service methods own the transaction; unexported helpers take *Tx.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	var tx *Tx
	err := db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		tx = &Tx{DB: g, Now: db.Now().UTC()}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flush()
	})
	db.committed(tx, err)
	return err
}

// committed tells the change feed about a committed transaction that added
// to the sync change log.
func (db *DB) committed(tx *Tx, err error) {
	if err == nil && tx != nil && tx.syncChanged {
		db.feed.notify()
	}
}

// PgConn runs f on the raw pgx connection under a transaction begun by
// WithPgConn, for what database/sql cannot do (COPY). f must not keep the
// connection, and the transaction's *Tx must not be used while f runs.
type PgConn func(f func(*pgx.Conn) error) error

// WithPgConn is WithTx on one connection taken from the pool for the whole
// transaction, which fn can also use as a *pgx.Conn through pg, inside the
// same transaction. On SQLite pg is nil. An error or panic rolls back, nil
// commits; a connection left unusable is dropped from the pool.
func (db *DB) WithPgConn(ctx context.Context, fn func(tx *Tx, pg PgConn) error) error {
	if db.dialect != Postgres {
		return db.WithTx(ctx, func(tx *Tx) error { return fn(tx, nil) })
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	g := db.gorm.WithContext(ctx)
	g.Statement.ConnPool = conn // gorm begins the transaction on conn
	var tx *Tx
	err = g.Transaction(func(g *gorm.DB) error {
		tx = &Tx{DB: g, Now: db.Now().UTC()}
		tx.pg = func(f func(*pgx.Conn) error) error {
			return conn.Raw(func(dc any) error {
				c, ok := dc.(*stdlib.Conn)
				if !ok {
					return fmt.Errorf("postgres driver connection is %T, not pgx", dc)
				}
				return f(c.Conn())
			})
		}
		err := fn(tx, tx.pg)
		if err != nil {
			return err
		}
		return tx.flush()
	})
	db.committed(tx, err)
	return err
}

// object names a kind of record in messages, in Chinese and English.
type object struct{ zh, en string }

var (
	objDepartment  = object{"部门", "department"}
	objEnterprise  = object{"企业", "enterprise"}
	objInspector   = object{"执法人员", "inspector"}
	objDeclaration = object{"回避声明", "conflict declaration"}
	objUser        = object{"用户", "user"}
	objDevice      = object{"设备", "device"}
	objCheckItem   = object{"检查事项", "check item"}
	objCampaign    = object{"抽查任务", "campaign"}
)

// notFound is the error for a record that does not exist or that the caller
// may not see: the two are indistinguishable on purpose.
func notFound(o object) error {
	return server.Errorf(server.ENOTFOUND, "%s不存在 (%s not found).", o.zh, o.en)
}

// translate turns the errors GORM reports into application errors.
func translate(err error, o object) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return notFound(o)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return server.Errorf(server.ECONFLICT, "%s已存在 (%s already exists).", o.zh, o.en)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return server.Errorf(server.EINVALID, "%s引用了不存在的记录 (%s refers to a missing record).", o.zh, o.en)
	case errors.Is(err, gorm.ErrCheckConstraintViolated):
		return server.Errorf(server.EINVALID, "%s字段取值无效 (%s has an invalid field).", o.zh, o.en)
	}
	return err
}

// page clamps a requested page to [1, maxPage] rows, defaulting to defaultPage.
func page(offset, limit int) (int, int) {
	const defaultPage, maxPage = 50, 1000
	if offset < 0 {
		offset = 0
	}
	switch {
	case limit <= 0:
		limit = defaultPage
	case limit > maxPage:
		limit = maxPage
	}
	return offset, limit
}
