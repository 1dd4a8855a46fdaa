package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"
)

// oldNULEscape is the expression hasNULEscape replaced: the tests hold
// the scan to the same answers.
var oldNULEscape = regexp.MustCompile(`(^|[^\\])(\\\\)*\\u0000`)

// TestHasNULEscape: an escaped NUL is found wherever it is, one whose
// backslash is itself escaped is not, and on random bodies of
// backslashes, u and 0 the scan agrees with the regular expression.
func TestHasNULEscape(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`\u0000`, true}, {`{"a":"x\u0000"}`, true}, {`\\\u0000`, true}, {`\\\\\u0000`, true},
		{`\\u0000`, false}, {`\\\\u0000`, false}, {`{"a":"\\u0000 and \\u0000"}`, false}, {`\\u0000 then \u0000`, true},
		{``, false}, {`\u000`, false}, {`u0000`, false}, {`\u00000`, true},
	} {
		if got := hasNULEscape([]byte(c.body)); got != c.want {
			t.Errorf("%s: %v, want %v", c.body, got, c.want)
		}
		if got := oldNULEscape.MatchString(c.body); got != c.want {
			t.Errorf("%s: the old expression says %v (the table is wrong)", c.body, got)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`\\\u00a"`)
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := hasNULEscape(b), oldNULEscape.Match(b); got != want {
			t.Fatalf("%q: %v, the expression %v", b, got, want)
		}
	}
}

// FuzzHasNULEscape holds the scan to the expression on any body.
func FuzzHasNULEscape(f *testing.F) {
	for _, s := range []string{`\u0000`, `\\u0000`, `\\\u0000`, `{"a":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := hasNULEscape(b), oldNULEscape.Match(b); got != want {
			t.Fatalf("%q: %v, the expression %v", b, got, want)
		}
	})
}

// BenchmarkNULEscape: the check on an ECG upload's body (a 40 kB CSV
// recording, base64 in JSON, as bench replay sends), the expression
// against the scan in one run.
func BenchmarkNULEscape(b *testing.B) {
	csv := bytes.Repeat([]byte("0.123,0.4567\n"), 3000)
	body, _ := json.Marshal(map[string]any{"center_id": 3, "signal_name": "e.csv", "signal": base64.StdEncoding.EncodeToString(csv)})
	b.Run("regexp", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if oldNULEscape.Match(body) {
				b.Fatal("found")
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if hasNULEscape(body) {
				b.Fatal("found")
			}
		}
	})
}
