package devicedaybench

import (
	"bytes"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

// The generated images pass the server's content check, so a benchmark
// measures syncing them, not refusals.
func TestGeneratedImagesPassTheContentCheck(t *testing.T) {
	p := Generate(7, Spec{Signatures: 3, SignatureBytes: 30_000, Photos: 3, PhotoBytes: 300_000})
	for _, it := range p.Items {
		if it.Kind == KindPacket {
			continue
		}
		if err := syncproto.CheckAttachment(bytes.NewReader(it.Data), int64(len(it.Data)), it.ContentType); err != nil {
			t.Errorf("%s (%d bytes): %v", it.Name, len(it.Data), err)
		}
		if n, want := len(it.Data), map[Kind]int{KindSignature: 30_000, KindPhoto: 300_000}[it.Kind]; n < want*9/10 || n > want*11/10 {
			t.Errorf("%s is %d bytes, want about %d", it.Name, n, want)
		}
	}
}
