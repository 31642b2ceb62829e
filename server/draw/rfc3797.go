package draw

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// RFC3797Key builds the RFC 3797 key string from sources of integers: each
// source's numbers sorted ascending, each followed by ".", each source
// ended by "/".
func RFC3797Key(sources [][]int64) string {
	var b strings.Builder
	for _, src := range sources {
		nums := slices.Clone(src)
		slices.Sort(nums)
		for _, n := range nums {
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteByte('.')
		}
		b.WriteByte('/')
	}
	return b.String()
}

// RFC3797 selects count members of a pool of size poolSize (at most 65,535)
// as RFC 3797 §5 does, returning 0-based pool positions in selection order.
func RFC3797(sources [][]int64, poolSize, count int) ([]int, error) {
	switch {
	case poolSize <= 0 || poolSize > 65535:
		return nil, fmt.Errorf("pool size %d outside 1..65535", poolSize)
	case count < 0 || count > poolSize:
		return nil, fmt.Errorf("count %d outside 0..%d", count, poolSize)
	case len(sources) == 0:
		return nil, fmt.Errorf("no randomness sources")
	}
	key := RFC3797Key(sources)
	remaining := make([]int, poolSize)
	for i := range remaining {
		remaining[i] = i
	}
	out := make([]int, 0, count)
	buf := make([]byte, 0, len(key)+4)
	for i := 0; i < count; i++ {
		buf = binary.BigEndian.AppendUint16(buf[:0], uint16(i))
		buf = append(buf, key...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(i))
		sum := md5.Sum(buf)
		r := new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), big.NewInt(int64(len(remaining)))).Int64()
		out = append(out, remaining[r])
		remaining = slices.Delete(remaining, int(r), int(r)+1)
	}
	return out, nil
}
