// Package username keeps account names in one form: what is typed at
// creation and at login is normalized the same way (NFKC, case folding,
// trimmed), and names that only look alike (a Cyrillic "а" for a Latin "a")
// share a skeleton (Unicode TR39), so the second one can be refused.
package username

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/spotcheck/spotcheck/server"
)

// MaxLen bounds a normalized username, in bytes.
const MaxLen = 64

var fold = cases.Fold()

// Normalize returns the stored form of name: NFKC, case-folded, NFKC again
// (folding can undo it), with surrounding white space removed. EINVALID for
// a name that is empty, too long, not UTF-8, or holds white space, control
// or format characters.
func Normalize(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", server.Errorf(server.EINVALID, "用户名须为UTF-8文本 (username must be UTF-8 text).")
	}
	n := strings.TrimSpace(norm.NFKC.String(fold.String(norm.NFKC.String(name))))
	switch {
	case n == "":
		return "", server.Errorf(server.EINVALID, "用户名不能为空 (username required).")
	case len(n) > MaxLen:
		return "", server.Errorf(server.EINVALID, "用户名过长 (username too long).")
	}
	for _, r := range n {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", server.Errorf(server.EINVALID, "用户名不能包含空白或控制字符 (username must not contain white space or control characters).")
		}
	}
	return n, nil
}

// Skeleton returns the TR39 skeleton of a normalized name, case-folded so
// that a digit mapped to an upper-case letter ("0" to "O") still meets its
// lower-case look-alike.
func Skeleton(normalized string) string {
	return fold.String(confusables.Skeleton(normalized))
}
