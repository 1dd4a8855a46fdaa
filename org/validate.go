package org

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"countycare/care"
)

// Field limits for organisation records.
const (
	MaxNameLen = 100
	MaxCodeLen = 40
)

// allowedParents says under which kinds a kind may sit (0 = no parent).
// It keeps the tree meaningful while allowing any depth: a township
// center may sit under a community, a sub-center or a central center.
var allowedParents = map[Kind][]Kind{
	KindCounty:         {""},
	KindPartner:        {""},
	KindCommission:     {KindCounty},
	KindInsurance:      {KindCounty},
	KindCommunity:      {KindCounty},
	KindCountyHospital: {KindCommunity, KindCounty},
	KindDiagnosis:      {KindCountyHospital, KindCommunity},
	KindSubCenter:      {KindCommunity, KindCountyHospital},
	KindCentralHC:      {KindCommunity, KindSubCenter},
	KindTownshipHC:     {KindCommunity, KindSubCenter, KindCentralHC},
	KindVillageClinic:  {KindTownshipHC, KindCentralHC, KindSubCenter},
}

// CanParent reports whether an institution of kind child may sit under
// one of kind parent ("" for a root).
func CanParent(parent, child Kind) bool {
	for _, k := range allowedParents[child] {
		if k == parent {
			return true
		}
	}
	return false
}

// ValidateInstitution checks in against its parent (nil for a root).
// Area codes must extend the parent's: a village's 12 digits start with
// its township's 9.
func ValidateInstitution(in *Institution, parent *Institution) []care.FieldError {
	var fs []care.FieldError
	add := func(f, k string, a ...any) { fs = append(fs, care.FieldError{Field: f, Key: k, Args: a}) }
	in.Name = strings.TrimSpace(in.Name)
	in.Code = strings.TrimSpace(in.Code)
	in.AreaCode = strings.TrimSpace(in.AreaCode)
	checkText(&fs, "name", in.Name, MaxNameLen, true)
	checkText(&fs, "code", in.Code, MaxCodeLen, true)
	if !in.Kind.Valid() {
		add("kind", "org.kind.invalid")
		return fs
	}
	pk := Kind("")
	if parent != nil {
		pk = parent.Kind
	}
	if !CanParent(pk, in.Kind) {
		add("parent_id", "org.parent.invalid")
	}
	if parent != nil {
		in.CountyCode = parent.CountyCode
	}
	switch in.Kind {
	case KindCounty:
		if len(in.AreaCode) != 6 || !isDigits(in.AreaCode) {
			add("area_code", "org.area_code.county")
		}
		in.CountyCode = in.AreaCode
	case KindTownshipHC, KindCentralHC:
		if in.AreaCode != "" && (len(in.AreaCode) != 9 || !isDigits(in.AreaCode) || !strings.HasPrefix(in.AreaCode, in.CountyCode)) {
			add("area_code", "org.area_code.township", in.CountyCode)
		}
	case KindVillageClinic:
		prefix := in.CountyCode
		if parent != nil && len(parent.AreaCode) == 9 {
			prefix = parent.AreaCode
		}
		if len(in.AreaCode) != 12 || !isDigits(in.AreaCode) || !strings.HasPrefix(in.AreaCode, prefix) {
			add("area_code", "org.area_code.village", prefix)
		}
	default:
		if in.AreaCode != "" && !isDigits(in.AreaCode) {
			add("area_code", "field.chars")
		}
	}
	okLevel := false
	for _, l := range Levels {
		okLevel = okLevel || l == in.Level
	}
	if !okLevel {
		add("level", "org.level.invalid")
	}
	return fs
}

// ValidatePractitioner checks a practitioner's fields.
func ValidatePractitioner(p *Practitioner, today care.Date) []care.FieldError {
	var fs []care.FieldError
	p.Name = strings.TrimSpace(p.Name)
	checkText(&fs, "name", p.Name, 50, true)
	checkText(&fs, "specialty", p.Specialty, 50, false)
	checkText(&fs, "license_number", p.LicenseNumber, 40, false)
	if !p.Title.Valid() {
		fs = append(fs, care.FieldError{Field: "title", Key: "org.title.invalid"})
	}
	if p.Sex != "M" && p.Sex != "F" {
		fs = append(fs, care.FieldError{Field: "sex", Key: "sex.invalid"})
	}
	if p.InstitutionID <= 0 {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "field.required"})
	}
	if !p.PracticeSince.IsZero() && (p.PracticeSince.After(today) || p.PracticeSince.Year < 1950) {
		fs = append(fs, care.FieldError{Field: "practice_since", Key: "org.practice_since.range"})
	}
	return fs
}

// ValidateDepartment checks a department's fields.
func ValidateDepartment(d *Department) []care.FieldError {
	var fs []care.FieldError
	d.Name = strings.TrimSpace(d.Name)
	checkText(&fs, "name", d.Name, 50, true)
	checkText(&fs, "specialty", d.Specialty, 50, false)
	if d.InstitutionID <= 0 {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "field.required"})
	}
	return fs
}

func checkText(fs *[]care.FieldError, field, s string, max int, required bool) {
	switch {
	case s == "" && required:
		*fs = append(*fs, care.FieldError{Field: field, Key: "field.required"})
	case utf8.RuneCountInString(s) > max:
		*fs = append(*fs, care.FieldError{Field: field, Key: "field.too_long", Args: []any{max}})
	case strings.ContainsAny(s, "<>\"`") || strings.IndexFunc(s, unicode.IsControl) >= 0:
		*fs = append(*fs, care.FieldError{Field: field, Key: "field.chars"})
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
