package api

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// poolStater is a database that reports its connection pool.
type poolStater interface {
	Stats() sql.DBStats
}

// registerPoolMetrics exports the database pool's use, so a saturated pool
// (requests queueing for a connection) shows on /metrics.
func (s *Server) registerPoolMetrics() {
	db, ok := s.DB.(poolStater)
	if !ok {
		return
	}
	gauge := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(db.Stats()) })
	}
	counter := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(db.Stats()) })
	}
	s.registry.MustRegister(
		gauge("spotcheck_db_connections_max", "Database connections allowed.", func(st sql.DBStats) float64 { return float64(st.MaxOpenConnections) }),
		gauge("spotcheck_db_connections_in_use", "Database connections in use.", func(st sql.DBStats) float64 { return float64(st.InUse) }),
		gauge("spotcheck_db_connections_idle", "Idle database connections.", func(st sql.DBStats) float64 { return float64(st.Idle) }),
		counter("spotcheck_db_connection_waits_total", "Requests for a database connection that had to wait.", func(st sql.DBStats) float64 { return float64(st.WaitCount) }),
		counter("spotcheck_db_connection_wait_seconds_total", "Time spent waiting for a database connection.", func(st sql.DBStats) float64 { return st.WaitDuration.Seconds() }),
	)
}
