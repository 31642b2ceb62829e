package store

import (
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// CountImportRows exposes to the store_test package how many rows of table
// (enterprises or inspectors) have updated_at after since, and a lookup of
// one row's name and department, so import tests need no other service.
func (db *DB) CountImportRows(table string, since time.Time) (int64, error) {
	var n int64
	err := db.gorm.Table(table).Where("updated_at > ?", since).Count(&n).Error
	return n, err
}

// ImportedEnterpriseName returns the stored name of the enterprise with code.
func (db *DB) ImportedEnterpriseName(code string) (string, error) {
	var r enterpriseRow
	err := db.gorm.Where("credit_code = ?", code).First(&r).Error
	return r.Name, err
}

// ImportedInspectorDepartment returns the department id of the inspector with cert.
func (db *DB) ImportedInspectorDepartment(cert string) (int64, error) {
	var r inspectorRow
	err := db.gorm.Where("certificate_number = ?", cert).First(&r).Error
	return r.DepartmentID, err
}

// ImportedEnterprise returns the stored enterprise with code.
func (db *DB) ImportedEnterprise(code string) (*server.Enterprise, error) {
	var r enterpriseRow
	err := db.gorm.Where("credit_code = ?", code).First(&r).Error
	return r.domain(), err
}
