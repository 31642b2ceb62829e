// Package server is the spotcheck domain: its types, the rules that hold for
// them, and the service interfaces the adapters implement.
//
// It imports only the standard library and syncproto. GORM lives in
// server/store, Echo in server/api, golang-jwt in server/auth.
package server
