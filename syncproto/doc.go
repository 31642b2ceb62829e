// Package syncproto is the wire protocol shared by the spotcheck server and the
// field SDK: paths, request and response types, and error codes.
//
// It imports only the standard library, so any client can vendor it. Codes and
// enum values are strings and append-only: devices run old SDKs offline for
// months, and a removed or renamed value would break them silently.
package syncproto
