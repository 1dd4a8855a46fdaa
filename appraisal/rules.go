package appraisal

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
)

// Rules are the appraisal's weights and targets per year (考核细则), read
// from a versioned JSON file the county edits (serve --appraisal-config;
// docs/appraisal.md):
//
//	{"version": 1, "years": {"2026": {
//	  "institution": {"total": 100, "items": {"in_county": {"weight": 20, "target": 90}, …}},
//	  "doctor":      {"total": 100, "items": {"family_fulfilment": {"weight": 40, "target": 85}, …}}}}}
//
// Weights are whole points and must sum to the set's stated total; targets
// are percentages with at most two decimals (a ceiling for an indicator
// where lower is better). The years run without a gap from the first to
// the last. They are configuration, never constants: the default file
// (rules.default.json) scores the national list with example weights
// marked [U] in the docs.
type Rules struct {
	Version int
	years   map[int]Year
	first   int
	last    int
}

// Year is one year's appraisals.
type Year struct {
	Sets map[Set]Scheme
}

// Scheme is one appraisal of one year: its total and its items in the
// order of the catalogue.
type Scheme struct {
	Total int
	Items []Item
}

// Item is one scored indicator: its weight in points and its target in
// basis points (10000 = 100 %).
type Item struct {
	ID       string
	Weight   int
	TargetBP int
}

// RulesVersion is the file format this code reads.
const RulesVersion = 1

//go:embed rules.default.json
var defaultRules []byte

// DefaultRules returns the rules shipped with countycare.
func DefaultRules() *Rules {
	r, err := LoadRules(bytes.NewReader(defaultRules))
	if err != nil {
		panic("appraisal: rules.default.json: " + err.Error()) // TestDefaultRulesLoad
	}
	return r
}

type rulesFile struct {
	Version int                               `json:"version"`
	Years   map[string]map[string]*schemeFile `json:"years"`
}

type schemeFile struct {
	Total int                  `json:"total"`
	Items map[string]*itemFile `json:"items"`
}

type itemFile struct {
	Weight int      `json:"weight"`
	Target *float64 `json:"target"`
}

// LoadRules reads an appraisal rules file. Every fault is named with its
// field (years.<year>.<set>.items.<indicator>): malformed JSON or an
// unknown field, another format version, no year at all, a year that is
// not one, a year missing between the first and the last, a year without
// one of the two appraisals or with an unknown one, an unknown indicator
// or one the set cannot score, a weight that is not a positive number of
// points, weights that do not sum to the stated total, a target missing,
// outside 0–100 % or with more than two decimals. Errors are EINVALID;
// nothing is half-loaded.
func LoadRules(r io.Reader) (*Rules, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f rulesFile
	if err := dec.Decode(&f); err != nil {
		return nil, care.Invalid([]care.FieldError{{Field: "file", Key: "appraisal.rules.syntax", Args: []any{err.Error()}}})
	}
	var fs []care.FieldError
	bad := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	if f.Version != RulesVersion {
		bad("version", "appraisal.rules.version", f.Version, RulesVersion)
	}
	rs := &Rules{Version: f.Version, years: map[int]Year{}}
	if len(f.Years) == 0 {
		bad("years", "appraisal.rules.no_years")
	}
	var years []int
	for ys, sets := range f.Years {
		field := "years." + ys
		y, err := strconv.Atoi(ys)
		if err != nil || y < 2000 || y > 2100 || strconv.Itoa(y) != ys {
			bad(field, "appraisal.rules.year", ys)
			continue
		}
		yr := Year{Sets: map[Set]Scheme{}}
		for name := range sets {
			if name != string(Institutions) && name != string(Doctors) {
				bad(field+"."+name, "appraisal.rules.unknown_set", name)
			}
		}
		for _, set := range Sets {
			sf := sets[string(set)]
			if sf == nil {
				bad(field+"."+string(set), "appraisal.rules.set_missing", string(set))
				continue
			}
			sc, sfs := loadScheme(field+"."+string(set), set, sf)
			fs = append(fs, sfs...)
			yr.Sets[set] = sc
		}
		rs.years[y] = yr
		years = append(years, y)
	}
	slices.Sort(years)
	for i := 1; i < len(years); i++ {
		for gap := years[i-1] + 1; gap < years[i]; gap++ {
			bad("years."+strconv.Itoa(gap), "appraisal.rules.year_missing", gap)
		}
	}
	if len(years) > 0 {
		rs.first, rs.last = years[0], years[len(years)-1]
	}
	slices.SortFunc(fs, func(a, b care.FieldError) int { return strings.Compare(a.Field, b.Field) })
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	return rs, nil
}

// loadScheme checks one appraisal of one year.
func loadScheme(field string, set Set, sf *schemeFile) (Scheme, []care.FieldError) {
	var fs []care.FieldError
	bad := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	sc := Scheme{Total: sf.Total}
	if sf.Total <= 0 {
		bad(field+".total", "appraisal.rules.total")
	}
	if len(sf.Items) == 0 {
		bad(field+".items", "appraisal.rules.no_items")
	}
	sum := 0
	for id, it := range sf.Items {
		f := field + ".items." + id
		in, ok := Lookup(id)
		switch {
		case !ok:
			bad(f, "appraisal.rules.unknown_indicator", id)
			continue
		case !Allowed(set, in):
			bad(f, "appraisal.rules.not_in_set", id)
			continue
		}
		item := Item{ID: id, Weight: it.Weight}
		if it.Weight <= 0 {
			bad(f+".weight", "appraisal.rules.weight")
		}
		sum += it.Weight
		switch bp, ok := toBP(it.Target); {
		case it.Target == nil:
			bad(f+".target", "appraisal.rules.target_missing")
		case !ok || bp > 10000:
			bad(f+".target", "appraisal.rules.target_range", *it.Target)
		default:
			item.TargetBP = bp
		}
		sc.Items = append(sc.Items, item)
	}
	if sf.Total > 0 && sum != sf.Total {
		bad(field+".total", "appraisal.rules.weights_sum", sum, sf.Total)
	}
	slices.SortFunc(sc.Items, func(a, b Item) int { return cmp.Compare(order(a.ID), order(b.ID)) })
	return sc, fs
}

// order is an indicator's place on the page: the dashboard's catalogue
// order, satisfaction last.
func order(id string) int {
	for i, in := range catalogue() {
		if in.ID == id {
			return i
		}
	}
	return math.MaxInt
}

// toBP converts a percentage with at most two decimals to basis points.
func toBP(p *float64) (int, bool) {
	if p == nil || *p < 0 || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return 0, false
	}
	bp := math.Round(*p * 100)
	if bp/100 != *p { // a third decimal: 90.125
		return 0, false
	}
	return int(bp), true
}

// Scheme returns year's appraisal set. Error: ENOTFOUND
// (appraisal.no_rules) when the rules have no such year — the page then
// says "no appraisal rules for 2028", never a score.
func (r *Rules) Scheme(year int, set Set) (Scheme, error) {
	y, ok := r.years[year]
	if !ok {
		return Scheme{}, care.Errorf(care.ENOTFOUND, "appraisal.no_rules", year)
	}
	return y.Sets[set], nil
}

// String shows the rules for a log line.
func (r *Rules) String() string {
	return fmt.Sprintf("appraisal rules v%d: %d–%d", r.Version, r.first, r.last)
}
