package povertywatch

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/icd10"
	"countycare/org"
	"countycare/resident"
	"countycare/settle"
)

// Major-illness special treatment (大病专项救治): poor patients with a
// disease on a named list are treated at designated hospitals on a
// fixed-price pathway, and followed to the end of treatment.
// 国家卫生健康委等《关于进一步加强农村贫困人口大病专项救治工作的通知》
// (国卫医发〔2018〕10号) set the list (9 diseases in 2017, 21 in 2018, later
// 30), the designated hospitals and the pathways; the list, the prices and
// the hospitals are a province's ([U]), so they are configuration.

// SpecialDisease is one disease of the list.
type SpecialDisease struct {
	Code   string `json:"code"`    // the list's own code, e.g. "esrd"
	Name   string `json:"name"`    // Chinese name, as the list names it
	NameEn string `json:"name_en"` // English name
	// ICD10 are the ICD-10 codes or category prefixes the disease covers
	// (Q21.1, C15 …); a diagnosis must fall under one of them.
	ICD10 []string `json:"icd10"`
	// Price is the pathway's fixed price per course (0: priced per bill).
	Price settle.Fen `json:"price"`
	// Hospitals are the kinds of institution designated to treat it.
	Hospitals []org.Kind `json:"hospitals"`
}

// SpecialList is the province's list.
type SpecialList struct {
	Version  string           `json:"version"`
	Source   string           `json:"source"`
	Diseases []SpecialDisease `json:"diseases"`
}

//go:embed special.json
var defaultSpecial []byte

// DefaultSpecialList is the built-in example list (special.json).
func DefaultSpecialList() SpecialList {
	l, err := ParseSpecialList(defaultSpecial)
	if err != nil {
		panic("povertywatch: built-in special.json: " + err.Error())
	}
	return l
}

// ParseSpecialList reads and validates a list: unique codes, names, at
// least one valid ICD-10 code and one designated kind of hospital each.
func ParseSpecialList(b []byte) (SpecialList, error) {
	var l SpecialList
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return SpecialList{}, fmt.Errorf("povertywatch: special-treatment list: %w", err)
	}
	if len(l.Diseases) == 0 {
		return SpecialList{}, fmt.Errorf("povertywatch: special-treatment list has no diseases")
	}
	seen := map[string]bool{}
	for i := range l.Diseases {
		d := &l.Diseases[i]
		if d.Code == "" || seen[d.Code] {
			return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %d: code %q missing or repeated", i+1, d.Code)
		}
		seen[d.Code] = true
		if d.Name == "" || d.NameEn == "" {
			return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: name and name_en are required", d.Code)
		}
		if len(d.ICD10) == 0 {
			return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: no ICD-10 codes", d.Code)
		}
		for j, c := range d.ICD10 {
			n := icd10.Normalize(c)
			if !icd10.Valid(n) {
				return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: %q is not an ICD-10 code", d.Code, c)
			}
			d.ICD10[j] = n
		}
		if len(d.Hospitals) == 0 {
			return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: no designated hospitals", d.Code)
		}
		for _, k := range d.Hospitals {
			if k != org.KindCountyHospital && k != org.KindPartner {
				return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: %q cannot be a designated hospital", d.Code, k)
			}
		}
		if d.Price < 0 {
			return SpecialList{}, fmt.Errorf("povertywatch: special-treatment disease %s: negative price", d.Code)
		}
	}
	return l, nil
}

// Disease returns the list's disease with code, or nil.
func (l SpecialList) Disease(code string) *SpecialDisease {
	for i := range l.Diseases {
		if l.Diseases[i].Code == code {
			return &l.Diseases[i]
		}
	}
	return nil
}

// Covers reports whether a diagnosis (ICD-10) falls under the disease: its
// code equals one of the disease's codes or starts with one followed by a
// dot or a further digit (C15 covers C15.9; Q21.1 covers Q21.1 but not Q21.2).
func (d *SpecialDisease) Covers(diagnosis string) bool {
	n := icd10.Normalize(diagnosis)
	for _, c := range d.ICD10 {
		if n == c || strings.HasPrefix(n, c) && (n[len(c)] == '.' || n[len(c)] >= '0' && n[len(c)] <= '9') {
			return true
		}
	}
	return false
}

// Special-treatment statuses.
const (
	SpecialEnrolled  = "enrolled"  // 已登记，待入院
	SpecialTreating  = "treating"  // 救治中
	SpecialCompleted = "completed" // 救治完成
	SpecialEnded     = "ended"     // 终止（须说明）
)

// SpecialStatuses lists them in order.
var SpecialStatuses = []string{SpecialEnrolled, SpecialTreating, SpecialCompleted, SpecialEnded}

// SpecialActions are the steps of a case.
const (
	SpecialStart    = "start"    // admitted at the designated hospital
	SpecialComplete = "complete" // the pathway is completed
	SpecialEnd      = "end"      // stopped: died, refused, moved, not eligible …
)

// NextSpecialStatus is the status a step leads to from status, or "" when
// the step is not allowed: start from enrolled; complete from treating;
// end from enrolled or treating. Completed and ended cases are closed.
func NextSpecialStatus(status, step string) string {
	if step == SpecialStart && status == SpecialEnrolled {
		return SpecialTreating
	}
	if step == SpecialComplete && status == SpecialTreating {
		return SpecialCompleted
	}
	if step == SpecialEnd && (status == SpecialEnrolled || status == SpecialTreating) {
		return SpecialEnded
	}
	return ""
}

// SpecialCase is one patient enrolled for one disease.
type SpecialCase struct {
	ID           int64
	County       string
	ResidentID   int64
	ResidentName string
	Disease      string // SpecialDisease.Code
	Diagnosis    string // ICD-10
	HospitalID   int64
	Status       string
	Note         string // why it ended
	EnrolledAt   time.Time
	StartedAt    time.Time
	ClosedAt     time.Time
	By           int64
	Version      int
}

// SpecialRepository stores the cases; store.Store implements it.
type SpecialRepository interface {
	// CreateSpecialCase stores c with its audit row; ECONFLICT when the
	// resident has an open case of the same disease.
	CreateSpecialCase(ctx context.Context, c *SpecialCase, ev audit.Event) error
	SpecialCase(ctx context.Context, county string, id int64) (*SpecialCase, error)
	// UpdateSpecialCase writes c's status if its version is still
	// c.Version (ECONFLICT otherwise), with its audit row.
	UpdateSpecialCase(ctx context.Context, c *SpecialCase, ev audit.Event) error
	// SpecialCases lists a county's cases, open first, newest first.
	SpecialCases(ctx context.Context, county string, limit int) ([]SpecialCase, error)
}

// Special is the major-illness special-treatment register, kept by the
// county's insurance office (which pays the pathway through medical
// assistance). Every case touches a patient record: each call is audited
// against the resident.
type Special struct {
	Repo      SpecialRepository
	Residents ResidentReader // *resident.Service: scope and the read audit
	Orgs      OrgTree        // *org.Service
	Audit     audit.Recorder
	List      SpecialList
	Now       func() time.Time
}

// ResidentReader reads a resident within the actor's scope, audited
// (resident.Service.Get).
type ResidentReader interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// OrgTree gives the organisation tree (org.Service.Tree).
type OrgTree interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Audit actions of the register.
const (
	ActSpecialEnrol  = "povertywatch.special_enrol"
	ActSpecialUpdate = "povertywatch.special_update"
	ActSpecialList   = "povertywatch.special_list"
)

// MaxSpecialNote is the longest note in characters.
const MaxSpecialNote = 200

// Enrol registers a poor resident with a listed disease for treatment at a
// designated hospital. Errors: EFORBIDDEN (not the insurance office),
// ENOTFOUND (resident out of scope), EINVALID (not in a poverty category,
// unknown disease, a diagnosis the disease does not cover, a hospital not
// designated for it), ECONFLICT (an open case of the same disease).
func (s *Special) Enrol(ctx context.Context, a care.Actor, residentID int64, disease, diagnosis string, hospitalID int64) (*SpecialCase, error) {
	if !Watcher(a) {
		return nil, &care.Error{Code: care.EFORBIDDEN, Key: "error.forbidden", Op: "povertywatch.Enrol"}
	}
	var fs []care.FieldError
	d := s.List.Disease(disease)
	if d == nil {
		fs = append(fs, care.FieldError{Field: "disease", Key: "povertywatch.special_disease"})
	} else if !d.Covers(diagnosis) {
		fs = append(fs, care.FieldError{Field: "diagnosis", Key: "povertywatch.special_diagnosis_mismatch", Args: []any{strings.Join(d.ICD10, ", ")}})
	}
	if hospitalID <= 0 {
		fs = append(fs, care.FieldError{Field: "hospital_id", Key: "povertywatch.special_hospital"})
	} else if d != nil {
		tree, err := s.Orgs.Tree(ctx)
		if err != nil {
			return nil, err
		}
		if in := tree.Get(hospitalID); in == nil || !slices.Contains(d.Hospitals, in.Kind) {
			fs = append(fs, care.FieldError{Field: "hospital_id", Key: "povertywatch.special_hospital"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	r, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	if r.Poverty == resident.PovertyNone {
		return nil, care.Invalid([]care.FieldError{{Field: "resident_id", Key: "povertywatch.special_not_poor"}})
	}
	c := &SpecialCase{County: r.CountyCode, ResidentID: r.ID, ResidentName: r.Name, Disease: d.Code, Diagnosis: icd10.Normalize(diagnosis),
		HospitalID: hospitalID, Status: SpecialEnrolled, EnrolledAt: s.Now().UTC(), By: a.AccountID, Version: 1}
	ev := audit.New(ctx, a, ActSpecialEnrol, r.ID)
	ev.Detail = fmt.Sprintf("%s %s at institution %d", d.Code, c.Diagnosis, hospitalID)
	if err := s.Repo.CreateSpecialCase(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// Step moves a case on (start, complete, end); ending needs a note.
// version is the case's version the user saw (ECONFLICT if it changed).
// Errors: EFORBIDDEN, ENOTFOUND, EINVALID (a step the status does not
// allow, a missing or long note), ECONFLICT.
func (s *Special) Step(ctx context.Context, a care.Actor, id int64, step, note string, version int) (*SpecialCase, error) {
	if !Watcher(a) {
		return nil, &care.Error{Code: care.EFORBIDDEN, Key: "error.forbidden", Op: "povertywatch.Step"}
	}
	c, err := s.Repo.SpecialCase(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	next := NextSpecialStatus(c.Status, step)
	if next == "" {
		return nil, care.Invalid([]care.FieldError{{Field: "step", Key: "povertywatch.special_step"}})
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxSpecialNote {
		return nil, care.Invalid([]care.FieldError{{Field: "note", Key: "povertywatch.note_long", Args: []any{MaxSpecialNote}}})
	}
	if step == SpecialEnd && note == "" {
		return nil, care.Invalid([]care.FieldError{{Field: "note", Key: "povertywatch.special_end_note"}})
	}
	now := s.Now().UTC()
	c.Status, c.Version = next, version
	if next == SpecialTreating {
		c.StartedAt = now
	} else {
		c.ClosedAt, c.Note = now, note
	}
	ev := audit.New(ctx, a, ActSpecialUpdate, c.ResidentID)
	ev.Detail = fmt.Sprintf("case %d: %s → %s", c.ID, step, next)
	if err := s.Repo.UpdateSpecialCase(ctx, c, ev); err != nil {
		return nil, err
	}
	c.Version++
	return c, nil
}

// SpecialCount is the register's counts for one disease.
type SpecialCount struct {
	Disease                              string
	Enrolled, Treating, Completed, Ended int
}

// Completion is completed cases over closed ones (completed and ended), in
// basis points; ok is false while none is closed ("no data").
func (c SpecialCount) Completion() (settle.Ratio, bool) {
	closed := c.Completed + c.Ended
	if closed == 0 {
		return 0, false
	}
	return settle.Ratio(int64(c.Completed) * int64(settle.Full) / int64(closed)), true
}

// CountSpecial counts cases per disease of the list, in the list's order.
func CountSpecial(l SpecialList, cases []SpecialCase) []SpecialCount {
	out := make([]SpecialCount, len(l.Diseases))
	idx := map[string]int{}
	for i, d := range l.Diseases {
		out[i].Disease = d.Code
		idx[d.Code] = i
	}
	for _, c := range cases {
		i, ok := idx[c.Disease]
		if !ok {
			continue // a disease a later list dropped
		}
		switch c.Status {
		case SpecialEnrolled:
			out[i].Enrolled++
		case SpecialTreating:
			out[i].Treating++
		case SpecialCompleted:
			out[i].Completed++
		case SpecialEnded:
			out[i].Ended++
		}
	}
	return out
}

// Register lists the county's cases with the counts per disease, audited
// as a list naming patients. Errors: EFORBIDDEN.
func (s *Special) Register(ctx context.Context, a care.Actor) ([]SpecialCase, []SpecialCount, error) {
	if !Watcher(a) {
		return nil, nil, &care.Error{Code: care.EFORBIDDEN, Key: "error.forbidden", Op: "povertywatch.Register"}
	}
	cases, err := s.Repo.SpecialCases(ctx, a.CountyCode, 500)
	if err != nil {
		return nil, nil, err
	}
	ev := audit.New(ctx, a, ActSpecialList, 0)
	ev.Detail = fmt.Sprintf("%d cases", len(cases))
	s.Audit.Record(ctx, ev)
	return cases, CountSpecial(s.List, cases), nil
}
