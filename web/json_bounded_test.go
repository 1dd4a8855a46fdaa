package web

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"countycare/care"
	"countycare/internal/memtest"
)

// TestDecodeJSONBoundedMemory: decodeJSON works in bounded memory (issue
// 18 §2; docs/architecture.md "A request"). It reads the body once into a
// buffer of its length and decodes from it, so the worst bodies cost:
//   - a huge string (8 MiB, the ECG API's base64 signal): the body plus
//     what it decodes to (6 MiB of bytes), plus 64 KiB: ≤ 1.8 × the body;
//   - arrays nested 300,000 deep (1 MiB): refused (error.json_too_deep, field
//     "body") before decoding, allocating the body plus 64 KiB;
//   - 350,000 small objects in a bill (1 MiB, the default limit): refused
//     (error.json_too_many at the 10,001st) before decoding, the body plus 64 KiB;
//   - MaxJSONValues (10,000) empty bill lines, the most that is decoded: the
//     body plus the lines, the slice grown by a quarter at a time (every
//     generation together < 5 × MaxJSONValues × the line's size, 7.6 MiB
//     for bill lines of 160 bytes).
//
// Before, io.ReadAll and the json.Decoder's buffer each grew by doubling
// (about 4.5 × the body for the string), the deep arrays cost the same
// before encoding/json's own depth limit (10,000), and the 350,000 lines
// were all decoded (100 MiB).
func TestDecodeJSONBoundedMemory(t *testing.T) {
	decode := func(body []byte, v any) (err error, n uint64) {
		r := httptest.NewRequest("POST", "/api", bytes.NewReader(body))
		n = memtest.AllocatedBy(func() { err = decodeJSON(r, v) })
		return err, n
	}
	refused := func(err error, key string) bool {
		e, ok := err.(*care.Error)
		return ok && len(e.Fields) == 1 && e.Fields[0].Field == "body" && e.Fields[0].Key == key
	}

	sig := bytes.Repeat([]byte("QUJD"), 2<<20) // 8 MiB of base64
	body := append(append([]byte(`{"center_id":1,"signal":"`), sig...), `"}`...)
	var ecg struct {
		CenterID int64  `json:"center_id"`
		Signal   []byte `json:"signal"`
	}
	err, n := decode(body, &ecg)
	t.Logf("8 MiB string: %.1f MiB allocated (%.2f × the body)", float64(n)/(1<<20), float64(n)/float64(len(body)))
	if err != nil || len(ecg.Signal) != 6<<20 {
		t.Fatalf("string: %v, %d bytes", err, len(ecg.Signal))
	}
	if bound := uint64(len(body))*18/10 + 64<<10; n > bound {
		t.Errorf("8 MiB string: allocated %d, bound %d", n, bound)
	}

	deep := []byte(`{"lines":` + strings.Repeat("[", 300_000) + strings.Repeat("]", 300_000) + `}`)
	var bill apiSettleIn
	err, n = decode(deep, &bill)
	t.Logf("nested 300,000 deep: %.2f MiB allocated, %v", float64(n)/(1<<20), err)
	if !refused(err, "error.json_too_deep") || n > uint64(len(deep))+64<<10 {
		t.Errorf("nested 300,000 deep: %v, %d bytes allocated for a %d-byte body", err, n, len(deep))
	}

	many := []byte(`{"lines":[{}` + strings.Repeat(`,{}`, 350_000) + `]}`)
	bill = apiSettleIn{}
	err, n = decode(many, &bill)
	t.Logf("350,000 objects: %.2f MiB allocated, %v", float64(n)/(1<<20), err)
	if !refused(err, "error.json_too_many") || n > uint64(len(many))+64<<10 {
		t.Errorf("350,000 objects: %v, %d bytes allocated for a %d-byte body", err, n, len(many))
	}

	most := []byte(`{"lines":[{}` + strings.Repeat(`,{}`, MaxJSONValues-2) + `]}`)
	bill = apiSettleIn{}
	err, n = decode(most, &bill)
	t.Logf("%d objects: %.2f MiB allocated", MaxJSONValues-1, float64(n)/(1<<20))
	if bound := uint64(len(most)) + 5*MaxJSONValues*uint64(unsafe.Sizeof(apiLineIn{})); err != nil || len(bill.Lines) != MaxJSONValues-1 || n > bound {
		t.Errorf("%d objects: %v, %d lines, %d bytes allocated", MaxJSONValues-1, err, len(bill.Lines), n)
	}
}

// FuzzDecodeJSON: decodeJSONBytes (scanJSON, then json.Unmarshal in place)
// accepts exactly what the strict json.Decoder it replaced accepted
// (DisallowUnknownFields, nothing after the value), into the same value,
// except bodies over MaxJSONDepth or MaxJSONValues (refused naming the
// limit) and a stray ] or } after the value, which the Decoder's More let
// through (issue 18 §2).
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"resident_id":1,"lines":[{"code":"A","amount":"1.00"}],"insured":true}`))
	f.Add([]byte(`{"lines":[{},{}],"LINES":null} `))
	f.Add([]byte(`{"lines":[{"cod\u0065":"x","nope":[1,{"a":2}]}]}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"lines":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`))
	f.Add([]byte(`{"lines":[{}` + strings.Repeat(`,{}`, MaxJSONValues) + `]}`))
	f.Add([]byte(`{"visit_id":"\"}\\","lines":[{"amount":{"a":[1,"]"]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want apiSettleIn
		err := decodeJSONBytes(httptest.NewRequest("POST", "/", nil), body, &got)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		oldErr := dec.Decode(&want)
		oldOK := oldErr == nil && !dec.More()
		if err == nil {
			if !oldOK {
				t.Fatalf("accepted %q, which the strict decoder refused: %v", body, oldErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q decoded as %+v, the strict decoder %+v", body, got, want)
			}
			return
		}
		if oldOK {
			e, _ := err.(*care.Error)
			limit := e != nil && len(e.Fields) == 1 && (e.Fields[0].Key == "error.json_too_deep" || e.Fields[0].Key == "error.json_too_many")
			rest := bytes.TrimSpace(body[dec.InputOffset():])
			stray := len(rest) > 0 && (rest[0] == ']' || rest[0] == '}')
			if !limit && !stray {
				t.Fatalf("refused %q, which the strict decoder accepted: %v", body, err)
			}
		}
	})
}
