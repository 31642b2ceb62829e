package server

import (
	"encoding/binary"
	"strings"
)

// The unified social credit code (统一社会信用代码, GB 32100-2015) is 18
// characters: registration authority (1), entity kind (1), administrative
// division (6), organisation code (9, itself with a GB 11714 check
// character), and a check character over the first 17.

// usccAlphabet is the 31-character set; each character's value is its index.
// I, O, S, V and Z are never used.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are 3^(i-1) mod 31 for positions 1..17.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// orgWeights are the GB 11714 weights for the organisation code's 8 body characters.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// CheckCreditCode returns nil if code is a well-formed unified social credit
// code whose check characters (its own and the embedded organisation code's)
// are right, and EINVALID saying what is wrong otherwise.
func CheckCreditCode(code string) error {
	if len(code) != 18 {
		return Errorf(EINVALID, "统一社会信用代码须为18位 (credit code must be 18 characters): %q", code)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue[code[i]]
		if v < 0 {
			return Errorf(EINVALID, "统一社会信用代码第%d位字符无效 (credit code has an invalid character at position %d): %q", i+1, i+1, code)
		}
		sum += int(v) * usccWeights[i]
	}
	if code[17] != usccCheck(sum) {
		return Errorf(EINVALID, "统一社会信用代码校验位错误 (credit code check character is wrong): %q", code)
	}
	if code[16] != OrgCodeCheckChar(code[8:16]) {
		return Errorf(EINVALID, "统一社会信用代码中的组织机构代码校验位错误 (the embedded organisation code's check character is wrong): %q", code)
	}
	return nil
}

// usccValue maps a byte to its value in usccAlphabet, -1 if it is not in it.
var usccValue = func() (v [256]int8) {
	for i := range v {
		v[i] = int8(strings.IndexByte(usccAlphabet, byte(i)))
	}
	return v
}()

// CreditCodeKey packs the 18 characters of a credit code, 5 bits each, into
// 12 bytes: distinct codes give distinct keys. ok is false when code is not
// 18 characters of the set (no valid code is refused).
func CreditCodeKey(code string) (k [12]byte, ok bool) {
	if len(code) != 18 {
		return k, false
	}
	var hi, lo uint64
	for i := 0; i < 18; i++ {
		v := usccValue[code[i]]
		if v < 0 {
			return k, false
		}
		if i < 12 {
			hi = hi<<5 | uint64(v)
		} else {
			lo = lo<<5 | uint64(v)
		}
	}
	binary.LittleEndian.PutUint64(k[:8], hi)
	binary.LittleEndian.PutUint32(k[8:], uint32(lo))
	return k, true
}

// usccCheck returns the check character for a weighted sum of the first 17 characters.
func usccCheck(sum int) byte {
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return usccAlphabet[c]
}

// CreditCodeCheckChar returns the check character for the first 17
// characters of a credit code, which must be from the 31-character set.
func CreditCodeCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(usccAlphabet, first17[i]) * usccWeights[i]
	}
	return usccCheck(sum)
}

// OrgCodeCheckChar returns the GB 11714 check character for an organisation
// code's 8 body characters (0-9, A-Z): '0'-'9' or 'X'.
func OrgCodeCheckChar(body8 string) byte {
	sum := 0
	for i := 0; i < 8; i++ {
		sum += base36(body8[i]) * orgWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

func base36(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 0
}
