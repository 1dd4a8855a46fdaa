package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"countycare/care"
)

// The journal's records are decoded by json.Unmarshal (parseRecords), and
// journals written by earlier versions hold json.Marshal output: the
// hand-written encoder must write exactly the same bytes, for any text an
// event can carry (outside input reaches Detail and Username).
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	tricky := []string{"", "plain", `q="张三" n=1`, "a\\b", "<script>&amp;</script>", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"\xff\xfe bad utf-8 \xc3", "line\u2028para\u2029end", "emoji 😀 and 中文", "\u00e9\u0301", string([]byte{0xed, 0xa0, 0x80})}
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	var evs []Event
	for i, s := range tricky {
		evs = append(evs, Event{Seq: int64(i), Time: time.Date(2026, 12, 7, 4, 30, i, i*1001, zones[i%len(zones)]), AccountID: -int64(i), Username: s,
			Role: care.Role(s), InstitutionID: 1 << 40, Action: s, ResidentID: int64(i) * 1e15, CountyCode: s, Purpose: s, Outcome: s,
			RequestID: s, Detail: s, PrevHash: s, Hash: s})
	}
	evs = append(evs, Event{}, Event{Time: time.Now()}, Event{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}, Event{Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)})
	r := rand.New(rand.NewPCG(18, 2))
	alphabet := []byte("aZ09 \"\\<>&\x00\x1f\x7f\n\t\u2028\xe4\xb8\xad\xff\xc3\xa9\xe2\x80\xa9")
	str := func() string {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 2000 {
		evs = append(evs, Event{Seq: r.Int64(), Time: time.Unix(r.Int64N(253402300799), r.Int64N(1e9)).In(zones[r.IntN(len(zones))]), AccountID: r.Int64() - r.Int64(),
			Username: str(), Role: care.Role(str()), InstitutionID: r.Int64(), Action: str(), ResidentID: r.Int64(), CountyCode: str(),
			Purpose: str(), Outcome: str(), RequestID: str(), Detail: str(), PrevHash: str(), Hash: str()})
	}
	for i := range evs {
		want, err := json.Marshal(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEventJSON(nil, &evs[i]); !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// FuzzEventJSON: go test ./audit -run NONE -fuzz EventJSON
func FuzzEventJSON(f *testing.F) {
	f.Add("doctor.zhang", `q="11010519491231****" n=1`, int64(7), int64(1765081800123456789))
	f.Add("\xff<&>\u2028", "\x00\b", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, user, detail string, id, ns int64) {
		e := Event{Seq: id, Time: time.Unix(0, ns).UTC(), AccountID: id, Username: user, Detail: detail, Action: detail, Hash: user}
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err) // time.Unix(0, ns) is always within JSON's years
		}
		if got := appendEventJSON(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}
