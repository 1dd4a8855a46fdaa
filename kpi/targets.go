package kpi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"countycare/care"
)

// Targets are the county's targets per indicator and year (考核目标) and
// the width of the amber band, read from a versioned JSON file that the
// county edits (serve --kpi-targets; docs/dashboard.md):
//
//	{"version": 1, "amber_points": 5,
//	 "targets": {"htn_controlled": {"2026": 60, "2027": 62.5}}}
//
// Targets are percentages (two decimals at most); amber_points is in
// percentage points. They are configuration, never constants: the
// default file (targets.default.json) holds the national figures of
// policy-rules.md where there are some and examples marked [U] otherwise.
type Targets struct {
	Version int
	// AmberBP is the amber band in basis points: a value short of its
	// target by no more than this is amber, further is red.
	AmberBP int
	byID    map[string]map[int]int // indicator → year → target in basis points
}

// TargetsVersion is the file format this code reads.
const TargetsVersion = 1

//go:embed targets.default.json
var defaultTargets []byte

// DefaultTargets returns the targets shipped with countycare.
func DefaultTargets() *Targets {
	t, err := LoadTargets(bytes.NewReader(defaultTargets))
	if err != nil {
		panic("kpi: targets.default.json: " + err.Error()) // TestDefaultTargetsLoad
	}
	return t
}

type targetsFile struct {
	Version     int                           `json:"version"`
	AmberPoints *float64                      `json:"amber_points"`
	Targets     map[string]map[string]float64 `json:"targets"`
}

// LoadTargets reads a targets file. Every fault is named, with its field
// (targets.<indicator>.<year>): an unknown field or indicator, a year that
// is not a year, a target outside 0–100 % or with more than two decimals,
// a missing or out-of-range amber band, another format version. Errors
// are EINVALID; nothing is half-loaded.
func LoadTargets(r io.Reader) (*Targets, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f targetsFile
	if err := dec.Decode(&f); err != nil {
		return nil, care.Invalid([]care.FieldError{{Field: "file", Key: "kpi.targets.syntax", Args: []any{err.Error()}}})
	}
	var fs []care.FieldError
	if f.Version != TargetsVersion {
		fs = append(fs, care.FieldError{Field: "version", Key: "kpi.targets.version", Args: []any{f.Version, TargetsVersion}})
	}
	t := &Targets{Version: f.Version, byID: map[string]map[int]int{}}
	if bp, ok := toBP(f.AmberPoints); f.AmberPoints == nil {
		fs = append(fs, care.FieldError{Field: "amber_points", Key: "kpi.targets.amber_missing"})
	} else if !ok || bp > 5000 {
		fs = append(fs, care.FieldError{Field: "amber_points", Key: "kpi.targets.amber_range"})
	} else {
		t.AmberBP = bp
	}
	ids := make([]string, 0, len(f.Targets))
	for id := range f.Targets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := Lookup(id); !ok {
			fs = append(fs, care.FieldError{Field: "targets." + id, Key: "kpi.targets.unknown_indicator", Args: []any{id}})
			continue
		}
		if id == FundUse {
			// Judged against the share of the year elapsed (ElapsedBP): a
			// target here would be ignored, so it is refused.
			fs = append(fs, care.FieldError{Field: "targets." + id, Key: "kpi.targets.paced", Args: []any{id}})
			continue
		}
		years := map[int]int{}
		for ys, v := range f.Targets[id] {
			field := "targets." + id + "." + ys
			y, ok := fileYear(ys)
			if !ok {
				fs = append(fs, care.FieldError{Field: field, Key: "kpi.targets.year", Args: []any{ys}})
				continue
			}
			bp, ok := toBP(&v)
			if !ok || bp > maxTargetBP(id) {
				fs = append(fs, care.FieldError{Field: field, Key: "kpi.targets.range", Args: []any{v}})
				continue
			}
			if in, _ := Lookup(id); in.InIndex() {
				bp *= 100 // an index's target is the index (1.05), its value × 10000
			}
			years[y] = bp
		}
		t.byID[id] = years
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	return t, nil
}

// fileYear reads a year key of a configuration file: 2000–2100.
func fileYear(s string) (int, bool) {
	y, err := strconv.Atoi(s)
	return y, err == nil && y >= 2000 && y <= 2100
}

// toBP converts a percentage with at most two decimals to basis points.
func toBP(p *float64) (int, bool) {
	if p == nil || *p < 0 || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return 0, false
	}
	bp := math.Round(*p * 100)
	if math.Abs(bp-*p*100) > 1e-6 {
		return 0, false
	}
	return int(bp), true
}

// Target returns the target of indicator id for year in basis points.
// Errors: EINVALID (kpi.unknown_indicator) for an indicator not in the
// Catalogue, ENOTFOUND (kpi.no_target) when the county set none for that
// year — the page then shows "no target for 2027", never a light.
func (t *Targets) Target(id string, year int) (int, error) {
	if _, ok := Lookup(id); !ok {
		return 0, care.Errorf(care.EINVALID, "kpi.unknown_indicator", id)
	}
	bp, ok := t.byID[id][year]
	if !ok {
		return 0, care.Errorf(care.ENOTFOUND, "kpi.no_target", year)
	}
	return bp, nil
}

// Light is a traffic light against a target.
type Light string

// Lights. LightNone: no value (no data, data error) or no target.
const (
	LightNone  Light = ""
	LightGreen Light = "green"
	LightAmber Light = "amber"
	LightRed   Light = "red"
)

// Judge is the traffic-light rule (红黄绿灯): green when the value meets
// the target (at or above it, or at or below it for an indicator where
// lower is better), amber when it misses by no more than the amber band,
// red beyond. A value that is not OK gets no light.
func Judge(in Indicator, v Value, targetBP, amberBP int) Light {
	if v.State != OK {
		return LightNone
	}
	short := targetBP - v.BP // how far below the target
	if !in.HigherIsBetter {
		short = v.BP - targetBP
	}
	if short <= 0 {
		return LightGreen
	}
	if short <= amberBP {
		return LightAmber
	}
	return LightRed
}

// String shows the targets for a log line.
func (t *Targets) String() string {
	return fmt.Sprintf("kpi targets v%d: %d indicators, amber %d bp", t.Version, len(t.byID), t.AmberBP)
}

// maxTargetBP is the largest target of an indicator, in hundredths: 100 %
// for a share, a week of minutes for a duration (Minutes), an index of
// MaxIndexTarget (Index).
func maxTargetBP(id string) int {
	in, _ := Lookup(id)
	if in.InMinutes() {
		return tatWeek * 100
	}
	if in.InIndex() {
		return MaxIndexTarget * 100
	}
	return 10000
}

// MaxIndexTarget bounds an index's target: a county's CMI is near 1 (the
// weights are relative to the mean case, policy-rules.md §6); 10 would
// mean every case ten times the mean, a typing error.
const MaxIndexTarget = 10
