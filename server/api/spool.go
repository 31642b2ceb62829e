package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
)

// spooled is a body copied to a file in the upload folder, with its SHA-256.
type spooled struct {
	Path   string
	SHA256 string
	Size   int64
	// TooLarge: the body held more than the limit (or the request's body
	// limit cut it); the file then holds only a part and must be dropped.
	TooLarge bool
}

// spool copies body, up to limit bytes, into a new file in dir named after
// pattern, hashing it on the way. The caller removes the file (it is moved
// away when stored). A file that could not be written is removed here.
func spool(dir, pattern string, body io.Reader, limit int64) (*spooled, error) {
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, limit+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	s := &spooled{Path: tmp.Name(), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || n > limit:
		s.TooLarge = true
	case err != nil:
		os.Remove(tmp.Name())
		return nil, err
	}
	return s, nil
}
