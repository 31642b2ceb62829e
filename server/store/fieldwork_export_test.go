package store

// ExecForTest runs one statement outside any service, so fieldwork tests can
// lay down a committed and drawn campaign without the draft and draw steps.
func (db *DB) ExecForTest(sql string, args ...any) error {
	return db.gorm.Exec(sql, args...).Error
}
