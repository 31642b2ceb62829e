// Package auth signs and verifies access tokens (EdDSA JWTs with a kid),
// keeps the signing keys, and hashes passwords with argon2id. It is the only
// package that imports golang-jwt.
package auth
