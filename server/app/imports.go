package app

import (
	"path/filepath"

	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/store"
)

// wireImports sets the import service. XLSX uploads are spooled under the
// data directory rather than the system temporary directory, which is often
// a small RAM-backed tmpfs.
func wireImports(a *App) {
	svc := importer.New(store.NewImportStore(a.DB))
	svc.TempDir = filepath.Join(a.Config.DataDir, "tmp")
	a.Imports = svc
}
