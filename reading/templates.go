package reading

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"countycare/care"
)

//go:embed templates.json
var templatesJSON []byte

// Field is one field of a structured report template (结构化报告模板).
type Field struct {
	Name     string `json:"name"`
	Zh       string `json:"zh"`
	En       string `json:"en"`
	Type     string `json:"type"` // "text" or "int"
	Required bool   `json:"required"`
	Min      int    `json:"min"` // for int
	Max      int    `json:"max"` // for int: the largest value; for text: the most characters
}

// Label is the field's label in lang ("en" or the Chinese default).
func (f Field) Label(lang string) string {
	if lang == "en" {
		return f.En
	}
	return f.Zh
}

// Template is the structured report of one modality: its fields, the one
// that summarises the report in lists, and a group of which at least one
// must be filled (ultrasound: findings per organ).
type Template struct {
	Modality string   `json:"modality"`
	Summary  string   `json:"summary"`
	OneOf    []string `json:"one_of"`
	Fields   []Field  `json:"fields"`
}

// Templates are the report templates by template modality (ECG, DR, CT,
// MR, US, OT).
type Templates map[string]*Template

// DefaultTemplates returns the templates shipped in templates.json. It
// panics only if that embedded file is malformed (a build fault, caught by
// the package tests).
func DefaultTemplates() Templates {
	t, err := ParseTemplates(templatesJSON)
	if err != nil {
		panic(err)
	}
	return t
}

// ParseTemplates reads templates from JSON; a template without fields, a
// field of unknown type, a summary or one_of naming no field is an error.
func ParseTemplates(b []byte) (Templates, error) {
	var m map[string]*Template
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading: templates: %w", err)
	}
	for mod, t := range m {
		t.Modality = mod
		if len(t.Fields) == 0 {
			return nil, fmt.Errorf("reading: template %s has no fields", mod)
		}
		names := map[string]bool{}
		for _, f := range t.Fields {
			if f.Type != "text" && f.Type != "int" || f.Name == "" || names[f.Name] {
				return nil, fmt.Errorf("reading: template %s: bad field %q", mod, f.Name)
			}
			names[f.Name] = true
		}
		if !names[t.Summary] {
			return nil, fmt.Errorf("reading: template %s: summary %q is no field", mod, t.Summary)
		}
		for _, n := range t.OneOf {
			if !names[n] {
				return nil, fmt.Errorf("reading: template %s: one_of %q is no field", mod, n)
			}
		}
	}
	return m, nil
}

// For returns the template of a study modality (OT when there is none).
func (ts Templates) For(modality string) *Template {
	if t, ok := ts[TemplateModality(modality)]; ok {
		return t
	}
	return ts["OT"]
}

// TemplateModality maps a study's modality to its report template and
// turnaround target: DICOM CR and DX (computed and digital radiography) are
// read as DR; ECG, CT, MR, US, FHM (fetal heart traces), FUNDUS and SKIN
// (clinic photos) as themselves; anything else as OT.
func TemplateModality(m string) string {
	switch m = strings.ToUpper(strings.TrimSpace(m)); m {
	case "CR", "DX", "DR":
		return "DR"
	case "ECG", "CT", "MR", "US", "FHM", "FUNDUS", "SKIN":
		return m
	}
	return "OT"
}

// Validate checks a filled report against the template: unknown fields,
// missing required ones, integers out of range or not integers, texts too
// long, and none of the one_of group filled. Values are trimmed in place;
// empty values are removed.
func (t *Template) Validate(values map[string]string) []care.FieldError {
	var fs []care.FieldError
	known := map[string]Field{}
	for _, f := range t.Fields {
		known[f.Name] = f
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(values[k])
		if v == "" {
			delete(values, k)
			continue
		}
		values[k] = v
		f, ok := known[k]
		if !ok {
			fs = append(fs, care.FieldError{Field: k, Key: "reading.field_unknown"})
			continue
		}
		switch f.Type {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil || n < f.Min || n > f.Max {
				fs = append(fs, care.FieldError{Field: k, Key: "reading.field_range", Args: []any{f.Min, f.Max}})
			}
		case "text":
			if utf8.RuneCountInString(v) > f.Max {
				fs = append(fs, care.FieldError{Field: k, Key: "field.too_long", Args: []any{f.Max}})
			}
		}
	}
	for _, f := range t.Fields {
		if f.Required && values[f.Name] == "" {
			fs = append(fs, care.FieldError{Field: f.Name, Key: "field.required"})
		}
	}
	if len(t.OneOf) > 0 {
		any := false
		for _, n := range t.OneOf {
			any = any || values[n] != ""
		}
		if !any {
			fs = append(fs, care.FieldError{Field: t.OneOf[0], Key: "reading.one_of_required"})
		}
	}
	return fs
}
