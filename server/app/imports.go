package app

// wireImports sets the import service.
func wireImports(a *App) {}
