package app

import "github.com/spotcheck/spotcheck/server/store"

// wireDirectories sets the enterprise, inspector and declaration services.
func wireDirectories(a *App) {
	a.Enterprises = store.NewEnterpriseService(a.DB)
	a.Inspectors = store.NewInspectorService(a.DB)
	a.Declarations = store.NewDeclarationService(a.DB)
}
