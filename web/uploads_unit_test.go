package web

import (
	"encoding/base64"
	"sort"
	"strings"
	"testing"

	"countycare/care"
)

// TestParseTusMetadata: Upload-Metadata pairs, a key alone, and what is
// refused (a key twice, a value that is not base64, an empty key).
func TestParseTusMetadata(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	md, err := parseTusMetadata("kind " + b64("ecg") + ", filename " + b64("心电 100.dat") + ",urgent")
	if err != nil || md["kind"] != "ecg" || md["filename"] != "心电 100.dat" || len(md) != 3 {
		t.Fatalf("got %v, %v", md, err)
	}
	if _, ok := md["urgent"]; !ok {
		t.Errorf("a key alone is kept with an empty value: %v", md)
	}
	for _, h := range []string{"kind " + b64("a") + ",kind " + b64("b"), "kind !!!", "kind " + b64("x") + " more", "a,,b"} {
		if _, err := parseTusMetadata(h); !care.IsCode(err, care.EINVALID) {
			t.Errorf("%q: %v, want invalid", h, err)
		}
	}
}

// FuzzParseTusMetadata: any header is parsed or refused as invalid, and
// what is parsed encodes back to the same pairs.
func FuzzParseTusMetadata(f *testing.F) {
	f.Add("kind ZWNn,filename MTAwLmRhdA==,urgent")
	f.Add("a,,b")
	f.Fuzz(func(t *testing.T, h string) {
		md, err := parseTusMetadata(h)
		if err != nil {
			if !care.IsCode(err, care.EINVALID) {
				t.Fatalf("%q: %v", h, err)
			}
			return
		}
		var parts []string
		for k, v := range md {
			parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(v)))
		}
		sort.Strings(parts)
		again, err := parseTusMetadata(strings.Join(parts, ","))
		if err != nil || len(again) != len(md) {
			t.Fatalf("%q: parsed %v, which does not parse back: %v %v", h, md, again, err)
		}
		for k, v := range md {
			if again[k] != v {
				t.Fatalf("%q: %q is %q then %q", h, k, v, again[k])
			}
		}
	})
}
