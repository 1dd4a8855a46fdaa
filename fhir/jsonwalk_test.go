package fhir

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeBundle: the bundle walk reads what encoding/json reads. For
// any input both accept (JSON whose members have distinct, unescaped
// names), the type, the entries' fullUrls and the members of each
// resource are the same; input encoding/json refuses as JSON is refused.
func FuzzDecodeBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","name":[{"text":"张\"三"}],"a":{"b":[1,2,{"c":"]"}]}},"request":{"method":"POST","url":"Patient"}}]}`))
	f.Add([]byte(` { "entry" : [ { "resource" : { "x" : -1.5e3 , "y" : true } } , { } ] , "type" : "batch" } `))
	f.Add([]byte(`{"entry":[1]}`))
	f.Add([]byte(`{"entry":{}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeBundle(body)
		// The reference: encoding/json into maps (exact names, as FHIR;
		// the last of a repeated member stands).
		type refEntry struct {
			FullURL  string
			Resource map[string]json.RawMessage
		}
		var ref struct {
			ResourceType, Type string
			Entry              []refEntry
		}
		var top map[string]json.RawMessage
		rerr := json.Unmarshal(body, &top)
		if rerr == nil {
			if rerr = json.Unmarshal(orNull(top["resourceType"]), &ref.ResourceType); rerr == nil {
				if rerr = json.Unmarshal(orNull(top["type"]), &ref.Type); rerr == nil {
					var es []map[string]json.RawMessage
					if rerr = json.Unmarshal(orNull(top["entry"]), &es); rerr == nil {
						for _, e := range es {
							var x refEntry
							if rerr = json.Unmarshal(orNull(e["fullUrl"]), &x.FullURL); rerr != nil {
								break
							}
							json.Unmarshal(orNull(e["resource"]), &x.Resource)
							ref.Entry = append(ref.Entry, x)
						}
					}
				}
			}
		}
		if !json.Valid(body) {
			if err == nil {
				t.Fatal("invalid JSON accepted")
			}
			return
		}
		if err != nil || rerr != nil || bytes.Contains(body, []byte(`\`)) {
			return // a shape one of them refuses; escaped names differ by design
		}
		if got.Type != ref.Type || got.ResourceType != ref.ResourceType || len(got.Entry) != len(ref.Entry) {
			t.Fatalf("walk %q %q %d entries, encoding/json %q %q %d", got.ResourceType, got.Type, len(got.Entry), ref.ResourceType, ref.Type, len(ref.Entry))
		}
		for i, e := range got.Entry {
			r := ref.Entry[i]
			var res object
			if e.Resource != nil {
				res = members(e.Resource)
			}
			if e.FullURL != r.FullURL || len(res) != len(r.Resource) || !bytes.Equal(e.ResourceType, r.Resource["resourceType"]) {
				t.Fatalf("entry %d: %q %d members (resourceType %s), encoding/json %q %d (%s)", i, e.FullURL, len(res), e.ResourceType,
					r.FullURL, len(r.Resource), r.Resource["resourceType"])
			}
			for k, v := range res {
				var a, b bytes.Buffer
				json.Compact(&a, v)
				json.Compact(&b, r.Resource[k])
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("entry %d member %s: %s, encoding/json %s", i, k, a.Bytes(), b.Bytes())
				}
			}
		}
	})
}

// FuzzValidJSON: validJSON says what json.Valid says, for any input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]}`, ` [ ] `, `{}`, `"`, `01`, `-`, `1.`, `1e`, `[1,]`,
		`{"a" 1}`, `"\x"`, `"\u12"`, "\"\x01\"", `tru`, `nulls`, `[[[[`, `{"a":{}}x`, "\xff\"\xfe\"", ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// TestValidJSONNesting: the same bound on nesting as encoding/json.
func TestValidJSONNesting(t *testing.T) {
	for _, n := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		b := append(bytes.Repeat([]byte("["), n), bytes.Repeat([]byte("]"), n)...)
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Errorf("%d nested arrays: validJSON %v, json.Valid %v", n, got, want)
		}
	}
}

func orNull(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}
