package fhir

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"countycare/care"
)

// FuzzDecodeFast: decodeFast reads what encoding/json reads. For any
// valid UTF-8 JSON value and every shape it knows, when it says yes
// encoding/json decodes the same value without error; when it says no
// the target is zero (the caller then decodes with encoding/json).
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`"final"`, `null`, `12`, `"a\"b"`, `true`,
		`{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"}`,
		`{"coding":[],"text":null}`, `{"coding":null}`, `{"Coding":[{"code":"x"}]}`, `{"text":"a","text":"b"}`,
		`{"coding":[null,{"code":"1"}]}`, `{"coding":[1]}`, `{"ſystem":"x"}`, `{"te\u0078t":"x"}`,
		`{"reference":"urn:uuid:1","display":"x","type":"Patient"}`,
		`{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}`, `{"value":"72"}`, `{"value":-1.5e3}`,
		`[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]"}}]`,
		`{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}`, `{"method":1}`, `{"URL":"x"}`,
	} {
		f.Add([]byte(s))
	}
	shapes := []func() any{
		func() any { return new(string) },
		func() any { return new(CodeableConcept) },
		func() any { return new(*CodeableConcept) },
		func() any { return new(Reference) },
		func() any { return new(*Reference) },
		func() any { return new(*quantityWire) },
		func() any { return new([]componentWire) },
		func() any { return new(*requestWire) },
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return
		}
		raw = raw[skipWS(raw, 0):skipValue(raw, skipWS(raw, 0))]
		for _, shape := range shapes {
			got, want := shape(), shape()
			zero := reflect.ValueOf(shape()).Elem().Interface()
			if !decodeFast(raw, got) {
				if g := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(g, zero) {
					t.Fatalf("%T from %s: said no, left %+v", got, raw, g)
				}
				continue
			}
			if err := json.Unmarshal(raw, want); err != nil {
				t.Fatalf("%T from %s: read, but encoding/json says %v", got, raw, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%T from %s: %s, encoding/json %s", got, raw, show(got), show(want))
			}
		}
	})
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestEntryTypeEscaped: an entry's resourceType written with escapes is
// still its type (typeName finds the plain names without a copy, the
// rest are decoded), and an unknown one is refused as before.
func TestEntryTypeEscaped(t *testing.T) {
	entry := func(typ string) string {
		return `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"` + typ + `"},"request":{"method":"POST","url":"Encounter"}}]}`
	}
	for _, typ := range []string{"Encounter", `Enc\u006funter`} {
		_, entries, err := ParseBundle([]byte(entry(typ)), false)
		if err != nil || len(entries) != 1 || entries[0].Type != "Encounter" || entries[0].held {
			t.Errorf("%s: %+v %v, want one Encounter, not held", typ, entries, err)
		}
	}
	if _, _, err := ParseBundle([]byte(entry("Encounterx")), false); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unknown type: %v, want refused", err)
	}
}
