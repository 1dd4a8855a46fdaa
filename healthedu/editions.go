package healthedu

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/icd10"
	"countycare/rx"
)

// The county's editions of the advice library (健康教育处方 的知识库): the
// health-education administrator adds, edits and retires advice per
// ICD-10 prefix on /healthedu/library. Each change is a new edition
// numbered from 1 (the configured file's items, copied at the first
// change); a prescription keeps the items and the edition it was issued
// with (rx.Education.LibraryVersion), so a later edit changes no issued
// prescription.

// Audit action of a change of the library.
const ActLibrary = "healthedu.library"

// Limits of an advice item.
const (
	MaxAdviceText = 200 // characters of each text
	MaxAdviceCode = 40
	MaxNote       = 100 // the change's note
)

// AdviceInput is an item as the administrator types it.
type AdviceInput struct {
	Prefix string `json:"prefix"`
	Code   string `json:"code"`
	ZH     string `json:"zh"`
	EN     string `json:"en"`
}

// AdviceRow is an item of the county's current edition.
type AdviceRow struct {
	ID int64 `json:"id"`
	Advice
	Since     int       `json:"since"` // the edition it entered
	By        int64     `json:"by"`
	CreatedAt time.Time `json:"created_at"`
}

// EditionInfo is one edition: its number, what changed, by whom, when.
type EditionInfo struct {
	Edition int       `json:"edition"`
	Change  string    `json:"change"` // "seed", "add", "edit", "retire"
	Note    string    `json:"note"`   // the prefix and code changed (data, not words)
	By      int64     `json:"by"`
	At      time.Time `json:"at"`
}

// LibraryChange is one change for the repository to store as edition
// Seen+1: retire Retire (an item ID, 0: none) and/or add Add; the first
// change of a county stores Seed as edition 1 first.
type LibraryChange struct {
	Seen   int
	Seed   []Advice
	Retire int64
	Add    *Advice
	Info   EditionInfo
}

// LibraryRepo stores the counties' editions; store.Store implements it.
type LibraryRepo interface {
	// EduEdition is the county's current edition (0: none yet, the file's
	// library in use).
	EduEdition(ctx context.Context, county string) (int, error)
	// EduAdvice lists the county's current items with the edition.
	EduAdvice(ctx context.Context, county string) (int, []AdviceRow, error)
	// EduEditions lists the county's editions, newest first.
	EduEditions(ctx context.Context, county string, limit int) ([]EditionInfo, error)
	// ChangeEduAdvice stores c as the next edition with its audit row in
	// one transaction and returns its number. Errors: ECONFLICT
	// healthedu.library_stale (the current edition is not c.Seen),
	// ENOTFOUND (Retire is not a current item).
	ChangeEduAdvice(ctx context.Context, county string, c LibraryChange, ev audit.Event) (int, error)
}

// Editions is the advice library of each county: the county's latest
// edition, or Base until its first change. It implements rx.Educator:
// each prescription signed asks the database for the county's edition
// number (one indexed row) and reloads the items when another process
// has changed them. Safe for concurrent use.
type Editions struct {
	Base *Library
	Repo LibraryRepo
	mu   sync.Mutex
	libs map[string]countyEdition
}

type countyEdition struct {
	n   int
	lib *Library
}

// Current returns the county's library in use and its edition (0: Base).
func (e *Editions) Current(ctx context.Context, county string) (*Library, int, error) {
	n, err := e.Repo.EduEdition(ctx, county)
	if err != nil || n == 0 {
		return e.Base, 0, err
	}
	e.mu.Lock()
	c, ok := e.libs[county]
	e.mu.Unlock()
	if ok && c.n == n {
		return c.lib, n, nil
	}
	n, rows, err := e.Repo.EduAdvice(ctx, county)
	if err != nil {
		return e.Base, 0, err
	}
	items := make([]Advice, len(rows))
	for i, r := range rows {
		items[i] = r.Advice
	}
	lib := NewLibrary(EditionVersion(n), items)
	e.mu.Lock()
	if e.libs == nil {
		e.libs = map[string]countyEdition{}
	}
	e.libs[county] = countyEdition{n, lib}
	e.mu.Unlock()
	return lib, n, nil
}

// EditionVersion is the version an edition's prescriptions carry.
func EditionVersion(n int) string { return fmt.Sprintf("county-e%d", n) }

// Educate picks a prescription's advice from the county's edition
// (rx.Educator). A database error falls back to the base library: the
// prescription is not refused for its advice.
func (e *Editions) Educate(ctx context.Context, county string, diagnoses []string) *rx.Education {
	lib, _, _ := e.Current(ctx, county)
	return lib.Advise(diagnoses)
}

// NewLibrary builds a library of items (valid ones: ValidateAdvice).
func NewLibrary(version string, items []Advice) *Library {
	l := &Library{Version: version, byPref: map[string][]rx.EducationItem{}}
	for _, a := range items {
		a.EducationItem.Prefix = a.Prefix
		l.Items = append(l.Items, a)
		l.byPref[a.Prefix] = append(l.byPref[a.Prefix], a.EducationItem)
		l.maxLen = max(l.maxLen, len(a.Prefix))
	}
	return l
}

// Editor reports whether a maintains the county's advice library: the
// county health bureau's analyst (卫健局; reads aggregates, never names),
// the least-privileged role of the county's health administration — the
// library holds no patient data, and the system administrator's role has
// no clinical content.
func Editor(a care.Actor) bool { return a.Role == care.RoleAnalyst && a.CountyCode != "" }

// KnownPrefix reports whether p is an ICD-10 prefix the library may key
// advice by: a letter and one or two digits (I1, I10), or a whole valid
// code (E11.9), within one of the 22 chapters (icd10.Chapter).
func KnownPrefix(p string) bool {
	if !validPrefix(p) {
		return false
	}
	if len(p) > 3 && !icd10.Valid(p) {
		return false
	}
	cat := p
	if len(cat) > 3 {
		cat = cat[:3]
	}
	for len(cat) < 3 {
		cat += "0"
	}
	return icd10.Chapter(cat) != ""
}

// ValidateAdvice trims an item and lists its faults: a known ICD-10
// prefix (KnownPrefix), a code of lower-case letters, digits and
// underscores (1–40), the Chinese text required, each text at most
// MaxAdviceText characters.
func ValidateAdvice(in *AdviceInput) []care.FieldError {
	in.Prefix, in.Code = icd10.Normalize(in.Prefix), strings.TrimSpace(in.Code)
	in.ZH, in.EN = strings.TrimSpace(in.ZH), strings.TrimSpace(in.EN)
	var fs []care.FieldError
	if in.Prefix == "" {
		fs = append(fs, care.FieldError{Field: "prefix", Key: "field.required"})
	} else if !KnownPrefix(in.Prefix) {
		fs = append(fs, care.FieldError{Field: "prefix", Key: "healthedu.prefix_unknown"})
	}
	if !validCode(in.Code) {
		fs = append(fs, care.FieldError{Field: "code", Key: "healthedu.advice_code", Args: []any{MaxAdviceCode}})
	}
	if in.ZH == "" {
		fs = append(fs, care.FieldError{Field: "zh", Key: "field.required"})
	}
	for _, t := range []struct{ f, v string }{{"zh", in.ZH}, {"en", in.EN}} {
		if !utf8.ValidString(t.v) || utf8.RuneCountInString(t.v) > MaxAdviceText {
			fs = append(fs, care.FieldError{Field: t.f, Key: "field.too_long", Args: []any{MaxAdviceText}})
		}
	}
	return fs
}

func validCode(c string) bool {
	if c == "" || len(c) > MaxAdviceCode {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// LibraryView is the county's library as its administrator sees it.
type LibraryView struct {
	Edition int           `json:"edition"` // 0: the file's library, not yet changed
	Version string        `json:"version"`
	Items   []AdviceRow   `json:"items"`
	History []EditionInfo `json:"history"`
}

// LibraryOf returns a's county library: the current items (before the
// first change the base library's, numbered -1, -2, … by position) and
// the last editions.
// Errors: EFORBIDDEN (not Editor).
func (s *Service) LibraryOf(ctx context.Context, a care.Actor) (*LibraryView, error) {
	if !Editor(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	n, rows, err := s.Editions.Repo.EduAdvice(ctx, a.CountyCode)
	if err != nil {
		return nil, err
	}
	v := &LibraryView{Edition: n, Version: EditionVersion(n), Items: rows}
	if n == 0 {
		v.Version = s.Editions.Base.Version
		for i, it := range s.Editions.Base.Items {
			v.Items = append(v.Items, AdviceRow{ID: -int64(i + 1), Advice: it})
		}
	}
	if v.History, err = s.Editions.Repo.EduEditions(ctx, a.CountyCode, 20); err != nil {
		return nil, err
	}
	return v, nil
}

// ChangeAdvice applies one change to a's county library as a new
// edition, audited in the same transaction: add (id 0, in given), edit
// (id and in: the item retired and its new text added) or retire (id,
// in nil). seen is the edition the administrator read. The first change
// copies the base library as edition 1; until then its items are named
// by LibraryOf's negative numbers. Errors:
// EFORBIDDEN (not Editor), EINVALID (ValidateAdvice; a prefix and code
// already in the edition), ENOTFOUND (no such current item), ECONFLICT
// healthedu.library_stale (another change came first). Nothing is stored
// on an error.
func (s *Service) ChangeAdvice(ctx context.Context, a care.Actor, seen int, id int64, in *AdviceInput) (int, error) {
	if !Editor(a) {
		return 0, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	n, rows, err := s.Editions.Repo.EduAdvice(ctx, a.CountyCode)
	if err != nil {
		return 0, err
	}
	if n != seen {
		return 0, care.Errorf(care.ECONFLICT, "healthedu.library_stale")
	}
	c := LibraryChange{Seen: seen, Info: EditionInfo{By: a.AccountID, At: s.Now().UTC()}}
	if n == 0 {
		c.Seed = s.Editions.Base.Items
		for i, it := range c.Seed {
			rows = append(rows, AdviceRow{ID: -int64(i + 1), Advice: it})
		}
	}
	var old *AdviceRow
	if id != 0 {
		for i := range rows {
			if rows[i].ID == id {
				old = &rows[i]
			}
		}
		if old == nil {
			return 0, care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		c.Retire = id
	}
	switch {
	case in == nil && old == nil:
		return 0, care.Invalid([]care.FieldError{{Field: "zh", Key: "field.required"}})
	case in == nil:
		c.Info.Change, c.Info.Note = "retire", old.Prefix+" "+old.Code
	default:
		if err := care.Invalid(ValidateAdvice(in)); err != nil {
			return 0, err
		}
		for _, r := range rows {
			if r.Prefix == in.Prefix && r.Code == in.Code && (old == nil || r.ID != old.ID) {
				return 0, care.Invalid([]care.FieldError{{Field: "code", Key: "healthedu.advice_exists"}})
			}
		}
		c.Add = &Advice{Prefix: in.Prefix, EducationItem: rx.EducationItem{Prefix: in.Prefix, Code: in.Code, ZH: in.ZH, EN: in.EN}}
		c.Info.Change, c.Info.Note = "add", in.Prefix+" "+in.Code
		if old != nil {
			c.Info.Change = "edit"
		}
	}
	ev := audit.New(ctx, a, ActLibrary, 0)
	ev.CountyCode = a.CountyCode
	ev.Detail = fmt.Sprintf("advice library after edition %d: %s %s", seen, c.Info.Change, c.Info.Note)
	return s.Editions.Repo.ChangeEduAdvice(ctx, a.CountyCode, c, ev)
}
