package server

import (
	"context"
	"io"
)

// ImportFormat is the file format of an import.
type ImportFormat string

const (
	ImportCSV  ImportFormat = "csv"
	ImportXLSX ImportFormat = "xlsx"
)

// ImportRowError reports one rejected row: its 1-based row number in the file
// (the header is row 1), the column at fault if one is, and why.
type ImportRowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportReport is the outcome of an import. Good rows are kept even when
// others are rejected; importing the same file again changes nothing.
type ImportReport struct {
	Rows      int `json:"rows"` // data rows read, not counting the header
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
	// Errors lists rejected rows, at most MaxImportErrors of them; Rejected counts all.
	Errors          []ImportRowError `json:"errors"`
	ErrorsTruncated bool             `json:"errors_truncated,omitempty"`
}

// MaxImportErrors bounds how many row errors a report lists.
const MaxImportErrors = 10000

// ImportOptions tunes an import.
type ImportOptions struct {
	Format ImportFormat
	// Progress, when set, is called as the file is read with the bytes read so far.
	Progress func(bytesRead int64)
}

// ImportService loads directories from CSV or XLSX files, streamed and
// upserted in batches: by credit code for enterprises, by certificate number
// for inspectors. Platform admins import enterprises; department admins import
// their own department's inspectors.
type ImportService interface {
	ImportEnterprises(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportReport, error)
	ImportInspectors(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportReport, error)
}
