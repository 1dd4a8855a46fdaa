package web

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"countycare/care"
	"countycare/settle"
)

// Each kind of bad JSON body comes back as an invalid request naming the
// field (with array indices) and the rule (issue 18: a negative amount was
// answered "the body is not valid JSON, or has unknown fields").
func TestJSONErrorsNameTheField(t *testing.T) {
	type line struct {
		Drug string  `json:"drug_code"`
		Dose float64 `json:"dose"`
		Days int     `json:"days"`
	}
	type body struct {
		Amount settle.Fen   `json:"amount"`
		Ratio  settle.Ratio `json:"ratio"`
		Date   care.Date    `json:"date"`
		Lines  []line       `json:"lines"`
		Flag   bool         `json:"flag"`
		Note   *string      `json:"note"`
	}
	for _, tt := range []struct {
		name, in string
		want     []care.FieldError // Field and Key
		topKey   string
	}{
		{"negative amount", `{"amount":"-5"}`, []care.FieldError{{Field: "amount", Key: "error.field_negative"}}, "error.invalid"},
		{"amount as a number", `{"amount":12}`, []care.FieldError{{Field: "amount", Key: "error.field_want_amount"}}, "error.invalid"},
		{"fraction of a fen", `{"amount":"1.001"}`, []care.FieldError{{Field: "amount", Key: "error.field_amount"}}, "error.invalid"},
		{"percentage over 100", `{"ratio":"120"}`, []care.FieldError{{Field: "ratio", Key: "error.field_percent"}}, "error.invalid"},
		{"no such date", `{"date":"2026-02-30"}`, []care.FieldError{{Field: "date", Key: "error.field_date"}}, "error.invalid"},
		{"date as a number", `{"date":20260101}`, []care.FieldError{{Field: "date", Key: "error.field_date"}}, "error.invalid"},
		{"wrong type in a line", `{"lines":[{"drug_code":"x","dose":5},{"dose":"five"}]}`, []care.FieldError{{Field: "lines[1].dose", Key: "error.field_want_number"}}, "error.invalid"},
		{"fractional days", `{"lines":[{"days":1.5}]}`, []care.FieldError{{Field: "lines[0].days", Key: "error.field_want_integer_range"}}, "error.invalid"},
		{"lines not an array", `{"lines":{}}`, []care.FieldError{{Field: "lines", Key: "error.field_want_array"}}, "error.invalid"},
		{"boolean as a string", `{"flag":"yes"}`, []care.FieldError{{Field: "flag", Key: "error.field_want_boolean"}}, "error.invalid"},
		{"string as a number", `{"note":5}`, []care.FieldError{{Field: "note", Key: "error.field_want_string"}}, "error.invalid"},
		{"unknown field", `{"admin":true}`, []care.FieldError{{Field: "admin", Key: "error.field_unknown"}}, "error.invalid"},
		{"unknown nested field", `{"lines":[{"drug":"x"}]}`, []care.FieldError{{Field: "lines[0].drug", Key: "error.field_unknown"}}, "error.invalid"},
		{"every fault listed", `{"amount":"-1","flag":1,"x":0}`, []care.FieldError{{Field: "amount", Key: "error.field_negative"}, {Field: "flag", Key: "error.field_want_boolean"}, {Field: "x", Key: "error.field_unknown"}}, "error.invalid"},
		{"not an object", `[1]`, []care.FieldError{{Field: "body", Key: "error.field_want_object"}}, "error.invalid"},
		{"syntax error", `{"amount": "1",}`, []care.FieldError{{Field: "body", Key: "error.json_syntax", Args: []any{int64(16)}}}, "error.bad_json"},
		{"truncated", `{"amount": "1"`, []care.FieldError{{Field: "body", Key: "error.json_syntax", Args: []any{14}}}, "error.bad_json"},
		{"empty", ``, []care.FieldError{{Field: "body", Key: "error.json_empty"}}, "error.bad_json"},
		{"trailing data", `{} {}`, []care.FieldError{{Field: "body", Key: "error.json_trailing", Args: []any{int64(3)}}}, "error.bad_json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
			var v body
			err := decodeJSON(r, &v)
			var ce *care.Error
			if !errors.As(err, &ce) || ce.Code != care.EINVALID || ce.Key != tt.topKey {
				t.Fatalf("%v, want %s %s", err, care.EINVALID, tt.topKey)
			}
			if !slices.EqualFunc(ce.Fields, tt.want, func(a, b care.FieldError) bool {
				return a.Field == b.Field && a.Key == b.Key && (b.Args == nil || slices.Equal(a.Args, b.Args))
			}) {
				t.Errorf("fields %+v, want %+v", ce.Fields, tt.want)
			}
		})
	}
	// A valid body decodes.
	var v body
	if err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"amount":"12.50","lines":[{"drug_code":"x","dose":5,"days":7}],"note":null}`)), &v); err != nil || v.Amount != 1250 {
		t.Errorf("valid body: %v %+v", err, v)
	}
}
