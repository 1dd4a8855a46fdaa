package fhir_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/care"
	"countycare/fhir"
	"countycare/internal/testfiles"
)

// FuzzParseBundle: the bundle parser takes any bytes from the network.
// It never panics, answers either entries or a care error (invalid, too
// large), and every entry it accepts names a FHIR type; an update names
// the id it updates.
func FuzzParseBundle(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join(testfiles.Path(f, "fhir", "synthea"), "*.json"))
	for _, n := range names[:1] {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","gender":"male","birthDate":"1970-01-01","name":[{"text":"张三"}]},"request":{"method":"POST","url":"Patient"}}]}`), false)
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Condition","subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}]},"onsetDateTime":"2020"},"request":{"method":"PUT","url":"Condition/1","ifMatch":"W/\"2\""}}]}`), true)
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"55284-4"}]},"component":[{"code":{"coding":[{"code":"8480-6"}]},"valueQuantity":{"value":1e400}}]},"request":{"method":"POST","url":"Observation"}}]}`), false)
	f.Add([]byte(`[`), false)
	f.Fuzz(func(t *testing.T, body []byte, strict bool) {
		kind, entries, err := fhir.ParseBundle(body, strict)
		if err != nil {
			if c := care.ErrorCode(err); c != care.EINVALID && c != care.ETOOLARGE {
				t.Fatalf("error code %s: %v", c, err)
			}
			return
		}
		if kind != "transaction" && kind != "batch" {
			t.Fatalf("kind %q accepted", kind)
		}
		if !json.Valid(body) {
			t.Fatal("invalid JSON accepted")
		}
		for _, e := range entries {
			if e.Type == "" || (e.Method == "PUT" && e.Type == "Condition" && e.ID <= 0) {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

// TestParseBundleRefusesNonUTF8: a bundle whose text is not UTF-8 (RFC 8259
// §8.1; found by FuzzDecodeBundle: a member name in Latin-1) is refused
// whole with a reason, not read one way by the walk and another by
// encoding/json.
func TestParseBundleRefusesNonUTF8(t *testing.T) {
	body := []byte("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\",\"\x80\":\"\"}}]}")
	_, _, err := fhir.ParseBundle(body, false)
	if care.ErrorCode(err) != care.EINVALID || !strings.Contains(fmt.Sprint(err.(*care.Error).Fields), "not UTF-8 text") {
		t.Errorf("non-UTF-8 bundle: %v", err)
	}
}
