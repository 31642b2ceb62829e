package syncproto_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

// validator is a request the server decodes strictly and validates.
type validator interface{ Validate() error }

// fuzzRequest checks one request type: strict decoding plus Validate never
// panics, and whatever passes re-encodes to a body that decodes strictly to
// the same value and validates again (so a device and the server agree on
// what was sent).
func fuzzRequest[T any, P interface {
	*T
	validator
}](f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var v T
		if dec.Decode(&v) != nil || P(&v).Validate() != nil {
			return
		}
		again, err := json.Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		dec = json.NewDecoder(bytes.NewReader(again))
		dec.DisallowUnknownFields()
		var w T
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("re-encoded %s does not decode strictly: %v", again, err)
		}
		if err := P(&w).Validate(); err != nil {
			t.Fatalf("valid %T invalid after a round trip: %v", w, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %T:\n%+v\n%+v", v, v, w)
		}
	})
}

func FuzzDecodePull(f *testing.F) {
	fuzzRequest[syncproto.PullRequest](f, `{"device_id":3,"cursor":"120","limit":100}`, `{"device_id":3,"wait_seconds":25}`, `{"device_id":-1,"limit":1e9}`)
}

func FuzzDecodeMissing(f *testing.F) {
	fuzzRequest[syncproto.MissingRequest](f, `{"hashes":["`+strings.Repeat("a", 64)+`"]}`, `{"hashes":[]}`, `{"hashes":["A"]}`)
}

func FuzzDecodeLogin(f *testing.F) {
	fuzzRequest[syncproto.LoginRequest](f, `{"username":"inspector01","password":"secret","device_id":3}`, `{"username":"","password":""}`)
}

func FuzzDecodeRefresh(f *testing.F) {
	fuzzRequest[syncproto.RefreshRequest](f, `{"refresh_token":"abc"}`, `{"refresh_token":"abc","device_id":3,"device_proof":"AAAA"}`)
}

func FuzzDecodeRegisterDevice(f *testing.F) {
	fuzzRequest[syncproto.RegisterDeviceRequest](f, `{"name":"平板","public_key":"`+strings.Repeat("A", 43)+`="}`, `{"name":""}`)
}

// The device decodes the server's answers: whatever bytes arrive, decoding
// a pull answer and the packets in it returns an error or a value, never a
// panic.
func FuzzDecodePullResponse(f *testing.F) {
	golden, _ := json.Marshal(syncproto.PullResponse{Cursor: "121", Changes: []syncproto.Change{{Seq: 121, Kind: syncproto.ChangePacket, PacketID: "7f3a9c",
		Data: json.RawMessage(`{"id":"7f3a9c","campaign_id":1,"version":1,"team_number":1,"content":{"campaign_name":"x","team":[],"sections":[]}}`)}}})
	f.Add(golden)
	f.Add([]byte(`{"changes":[{"seq":1,"kind":"answer","packet_id":"p","data":{"version":1,"winner":{"answer":{}}}}],"cursor":"1"}`))
	f.Add([]byte(`{"changes":[{"seq":1,"kind":"packet","packet_id":"p","data":{"id":"p","content":{"sections":[{"department":"culture","items":[]}]}}},` +
		`{"seq":2,"kind":"section","packet_id":"p","key":"culture/1","data":{"section":{"department":"culture","version":1},"hash":"h"}},` +
		`{"seq":3,"kind":"close","packet_id":"p","key":"h2","data":{"record":{"covers":[{"department":"culture","version":1,"hash":"h"}]},"hash":"h2"}}],"cursor":"3"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r syncproto.PullResponse
		if json.Unmarshal(data, &r) != nil {
			return
		}
		// The device assembles the joint record from whatever it pulled.
		var content syncproto.PacketContent
		var sections []syncproto.SealedSection
		var closes []syncproto.SealedClose
		for _, c := range r.Changes {
			switch c.Kind {
			case syncproto.ChangePacket:
				var p syncproto.PacketState
				if json.Unmarshal(c.Data, &p) == nil {
					_ = json.Unmarshal(p.Content, &content)
				}
			case syncproto.ChangeSection:
				var s syncproto.SealedSection
				if json.Unmarshal(c.Data, &s) == nil {
					sections = append(sections, s)
				}
			case syncproto.ChangeClose:
				var s syncproto.SealedClose
				if json.Unmarshal(c.Data, &s) == nil {
					closes = append(closes, s)
				}
			case syncproto.ChangeAnswer:
				var a syncproto.AnswerState
				_ = json.Unmarshal(c.Data, &a)
			case syncproto.ChangeRecord:
				var s syncproto.SealedRecord
				_ = json.Unmarshal(c.Data, &s)
			}
		}
		syncproto.AssembleJointRecord("p", &content, sections, closes)
	})
}
