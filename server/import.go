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

// ImportFields is the set of optional columns an imported row sets. A
// column the file lacks, or a blank cell, leaves an existing record's value
// alone (a new record gets the default); a cell holding ImportClearMarker
// sets the field to empty. Required columns are always set.
type ImportFields uint32

// Optional import columns.
const (
	ImportAddress ImportFields = 1 << iota
	ImportLegalRepresentative
	ImportLicenceNumber
	ImportStatus
	ImportRiskClass
	ImportCoordinates
	ImportDomains
	ImportPhone

	// ImportAllFields sets every field: the row replaces the stored record.
	ImportAllFields ImportFields = 1<<iota - 1
)

// Has reports whether f includes every field of g.
func (f ImportFields) Has(g ImportFields) bool { return f&g == g }

// ImportClearMarkers are the cell values that erase an optional field on
// import; a blank cell leaves it alone. Matched after trimming, ignoring case.
var ImportClearMarkers = []string{"[清空]", "[clear]"}

// Import encodings of CSV files.
const (
	ImportEncodingAuto    = ""        // UTF-8, or GB18030 when the whole file is GB18030 and not UTF-8
	ImportEncodingUTF8    = "utf-8"   // rows that are not UTF-8 are rejected
	ImportEncodingGB18030 = "gb18030" // also GBK and GB2312, which it contains
)

// ImportOptions tunes an import.
type ImportOptions struct {
	Format ImportFormat
	// Encoding of a CSV file: ImportEncodingAuto, ImportEncodingUTF8 or
	// ImportEncodingGB18030. XLSX is always Unicode.
	Encoding string
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
