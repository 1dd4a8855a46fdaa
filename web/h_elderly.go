package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/elderly"
	"countycare/resident"
)

// elderlyView is a resident's elderly health page: the check-ups with
// their TCM result and guidance, and the form of this year's check-up.
type elderlyView struct {
	R        *resident.Resident
	Age      int
	Eligible bool
	Writer   bool // may record this year's check-up
	Done     bool // this year's is recorded
	Checkups []elderly.Checkup
	Status   elderly.Status
	DueBy    care.Date
	Today    care.Date
	Labs     []elderly.LabItem
	Advice   []tcmAdvice // for the latest identification
	Opts     elderlyOptions
}

// elderlyOptions are the form's choices.
type elderlyOptions struct {
	Symptoms, SelfCare, Screens, Smoking, Drinking, Exercise, Diets, Auxiliary, Guidance, Risks, Aspects []string
	Levels, Questions, Answers                                                                           []int
}

var elderlyOpts = elderlyOptions{Symptoms: elderly.Symptoms, SelfCare: elderly.SelfCareItems, Screens: elderly.Screens, Smoking: elderly.Smoking,
	Drinking: elderly.Drinking, Exercise: elderly.Exercise, Diets: elderly.Diets, Auxiliary: elderly.Auxiliary, Guidance: elderly.Guidance,
	Risks: elderly.Risks, Aspects: elderly.Aspects, Levels: []int{0, 1, 2, 3}, Questions: seq(1, elderly.TCMQuestions), Answers: seq(1, 5)}

func seq(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// tcmAdvice is one constitution's guidance in the reader's language.
type tcmAdvice struct {
	Constitution elderly.Constitution
	Items        []tcmItem
}

type tcmItem struct{ Aspect, Text string }

// adviceFor is the library's guidance for the identified constitutions.
func (s *Server) adviceFor(lang string, r *elderly.TCMResult) []tcmAdvice {
	if r == nil {
		return nil
	}
	var out []tcmAdvice
	for _, c := range r.Types {
		a := tcmAdvice{Constitution: c}
		for _, asp := range elderly.Aspects {
			a.Items = append(a.Items, tcmItem{Aspect: asp, Text: s.Elderly.Library[c][asp].In(lang)})
		}
		out = append(out, a)
	}
	return out
}

// LabValue formats a check-up's value of a lab item with its unit; ""
// when not measured.
func (v *elderlyView) LabValue(k elderly.Checkup, code string) string {
	x, ok := k.Form.Labs[code]
	if !ok {
		return ""
	}
	unit := ""
	for _, c := range v.Labs {
		if c.Code == code {
			unit = c.Unit
		}
	}
	return strings.TrimSpace(strconv.FormatFloat(x, 'f', -1, 64) + " " + unit)
}

// Dec1 formats a tenth-unit integer (BMI × 10, °C × 10) with one decimal.
func (p pageData) Dec1(v int) string { return strconv.FormatFloat(float64(v)/10, 'f', 1, 64) }

// Num formats a lab value without trailing zeros.
func (p pageData) Num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// LabRange formats a lab item's normal range with its unit.
func (p pageData) LabRange(l elderly.LabItem) string {
	var s string
	switch {
	case l.Low != nil && l.High != nil:
		s = p.Num(*l.Low) + "–" + p.Num(*l.High)
	case l.Low != nil:
		s = "≥ " + p.Num(*l.Low)
	case l.High != nil:
		s = "≤ " + p.Num(*l.High)
	}
	return p.T("elderly.range", s+" "+l.Unit)
}

// FormHas reports whether the form re-shown carries value v under k (a
// checkbox ticked).
func (p pageData) FormHas(k, v string) bool { return slices.Contains(p.Form[k], v) }

// Finding labels an assessment finding.
func (p pageData) Finding(f string) string { return p.Label("elderly.finding", f) }

func (s *Server) elderlyData(r *http.Request, rc *reqCtx) (*elderlyView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, ks, err := s.Elderly.History(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	v := &elderlyView{R: res, Age: res.Age(today), Eligible: s.Elderly.Config.Eligible(res.BirthDate, today.Year), Checkups: ks, Today: today,
		Labs: s.Elderly.Config.Labs, Opts: elderlyOpts}
	var last care.Date
	if len(ks) > 0 {
		last = ks[0].Date
		v.Done = ks[0].Year == today.Year
		for i := range ks {
			if ks[i].TCM != nil {
				v.Advice = s.adviceFor(rc.Lang, ks[i].TCM)
				break
			}
		}
	}
	if v.Eligible {
		v.Status, v.DueBy = s.Elderly.Config.StatusOn(res.BirthDate, last, today)
		if !v.Done {
			if v.Writer, err = s.Elderly.Writes(r.Context(), rc.Actor, res); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func (s *Server) elderlyTitle(rc *reqCtx) string { return s.msgs.T(rc.Lang, "elderly.title") }

// elderlyPage is GET /residents/{id}/elderly.
func (s *Server) elderlyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.elderlyData(r, rc)
	if err != nil {
		return err
	}
	flash := ""
	if r.URL.Query().Get("ok") == "1" {
		flash = "flash.elderly_recorded"
	}
	s.render(w, r, rc, http.StatusOK, "elderly", pageData{Title: s.elderlyTitle(rc), Flash: flash, Data: v})
	return nil
}

// elderlyForm reads the check-up form: decimals in the units shown (°C,
// cm, kg), the 33 TCM answers when any is given.
func elderlyForm(r *http.Request, labs []elderly.LabItem) (care.Date, elderly.Form, []care.FieldError) {
	var fs []care.FieldError
	_ = r.PostFormValue("date") // parses the form before PostForm is read
	f := elderly.Form{Symptoms: r.PostForm["symptoms"], TempC10: scaled(r, "temp", 10, &fs), Pulse: scaled(r, "pulse", 1, &fs),
		Resp: scaled(r, "resp", 1, &fs), SBPLeft: scaled(r, "sbp_left", 1, &fs), DBPLeft: scaled(r, "dbp_left", 1, &fs),
		SBPRight: scaled(r, "sbp_right", 1, &fs), DBPRight: scaled(r, "dbp_right", 1, &fs), HeightMM: scaled(r, "height", 10, &fs),
		WeightG: scaled(r, "weight", 1000, &fs), WaistMM: scaled(r, "waist", 10, &fs), Cognitive: r.PostFormValue("cognitive"),
		Depression: r.PostFormValue("depression"), Smoking: r.PostFormValue("smoking"), Drinking: r.PostFormValue("drinking"),
		Exercise: r.PostFormValue("exercise"), Diet: r.PostForm["diet"], ECG: r.PostFormValue("ecg"), Ultrasound: r.PostFormValue("ultrasound"),
		Guidance: r.PostForm["guidance"], Risks: r.PostForm["risks"], Note: r.PostFormValue("note")}
	for _, item := range elderly.SelfCareItems {
		f.SelfCare = append(f.SelfCare, choice(r, "self_care_"+item, 3, &fs))
	}
	for _, l := range labs {
		v := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("lab_"+l.Code)), ",", ".")
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			fs = append(fs, care.FieldError{Field: "lab_" + l.Code, Key: "elderly.number"})
			continue
		}
		if f.Labs == nil {
			f.Labs = map[string]float64{}
		}
		f.Labs[l.Code] = x
	}
	any := false
	ans := make([]int, elderly.TCMQuestions)
	for i := range ans {
		if r.PostFormValue(fmt.Sprintf("tcm_%d", i+1)) != "" {
			any = true
			ans[i] = choice(r, fmt.Sprintf("tcm_%d", i+1), 5, &fs)
		}
	}
	if any {
		f.TCM = ans
	}
	return mchDate(r, "date", &fs), f, fs
}

// choice reads a small whole number 0–hi; empty is -1 (not given), and
// malformed adds elderly.number.
func choice(r *http.Request, field string, hi int, fs *[]care.FieldError) int {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > hi {
		*fs = append(*fs, care.FieldError{Field: field, Key: "elderly.number"})
		return -1
	}
	return n
}

// elderlyRecord is POST /residents/{id}/elderly.
func (s *Server) elderlyRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	on, f, fs := elderlyForm(r, s.Elderly.Config.Labs)
	if err = care.Invalid(fs); err == nil {
		_, err = s.Elderly.Record(r.Context(), rc.Actor, id, on, f)
	}
	if err != nil {
		v, perr := s.elderlyData(r, rc)
		if perr != nil {
			return perr
		}
		return s.formError(w, r, rc, "elderly", pageData{Title: s.elderlyTitle(rc), Data: v}, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/elderly?ok=1", id), http.StatusSeeOther)
	return nil
}

// elderlyListView is the roster of a village or township with the
// suspected cases to confirm.
type elderlyListView struct {
	Roster    *elderly.Roster
	Suspected []elderly.Checkup
	Only      string
	Statuses  []elderly.Status
	Overdue   int // Config.OverdueDays
	Max       int
}

// AgeOf is the age in the roster's year of a resident born on birth.
func (v *elderlyListView) AgeOf(birth care.Date) int { return elderly.AgeInYear(birth, v.Roster.Year) }

// PrevURL and NextURL are the roster's neighbouring pages, the status
// filter kept.
func (v *elderlyListView) PrevURL() string { return v.pageURL(v.Roster.Page - 1) }

// NextURL: see PrevURL.
func (v *elderlyListView) NextURL() string { return v.pageURL(v.Roster.Page + 1) }

func (v *elderlyListView) pageURL(p int) string {
	q := url.Values{"page": {strconv.Itoa(p)}}
	if v.Only != "" {
		q.Set("status", v.Only)
	}
	return "/elderly?" + q.Encode()
}

// Count is the roster's count of a status.
func (v *elderlyListView) Count(st string) int { return v.Roster.Counts[elderly.Status(st)] }

// rosterQuery reads ?status= (one of the statuses, or all) and ?page=
// (from 0).
func rosterQuery(r *http.Request) ([]elderly.Status, int, error) {
	var only []elderly.Status
	var fs []care.FieldError
	if st := elderly.Status(r.URL.Query().Get("status")); st != "" {
		if !slices.Contains(elderly.Statuses, st) {
			fs = append(fs, care.FieldError{Field: "status", Key: "elderly.choice"})
		}
		only = []elderly.Status{st}
	}
	page := 0
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > elderly.MaxRosterPage {
			fs = append(fs, care.FieldError{Field: "page", Key: "elderly.page"})
		}
		page = n
	}
	return only, page, care.Invalid(fs)
}

func (s *Server) elderlyListData(r *http.Request, rc *reqCtx) (*elderlyListView, error) {
	only, page, err := rosterQuery(r)
	if err != nil {
		return nil, err
	}
	v := &elderlyListView{Statuses: elderly.Statuses, Overdue: s.Elderly.Config.OverdueDays, Max: elderly.RosterMax}
	if len(only) > 0 {
		v.Only = string(only[0])
	}
	if v.Roster, err = s.Elderly.Roster(r.Context(), rc.Actor, only, page); err != nil {
		return nil, err
	}
	if v.Suspected, err = s.Elderly.Suspected(r.Context(), rc.Actor); err != nil {
		return nil, err
	}
	return v, nil
}

// elderlyList is GET /elderly.
func (s *Server) elderlyList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.elderlyListData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "elderly_list", pageData{Title: s.elderlyTitle(rc), Data: v})
	return nil
}

// apiElderlyRoster is GET /api/v1/elderly/roster[?status=overdue|due|done][&page=N]:
// the counts and one page of rows, overdue first.
func (s *Server) apiElderlyRoster(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	only, page, err := rosterQuery(r)
	if err != nil {
		return err
	}
	ro, err := s.Elderly.Roster(r.Context(), rc.Actor, only, page)
	if err != nil {
		return err
	}
	ro.Rows = nonNil(ro.Rows)
	writeJSON(w, http.StatusOK, ro)
	return nil
}

// apiElderlySuspected is GET /api/v1/elderly/suspected: this year's
// check-ups with a suspected hypertension or diabetes outside the registry.
func (s *Server) apiElderlySuspected(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Elderly.Suspected(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"suspected": nonNil(list)})
	return nil
}

// apiElderlyResident is GET /api/v1/residents/{id}/elderly: the check-ups,
// newest first, and this year's status.
func (s *Server) apiElderlyResident(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.elderlyData(r, rc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"eligible": v.Eligible, "status": v.Status, "due_by": v.DueBy, "checkups": nonNil(v.Checkups)})
	return nil
}

// apiElderlyRecord is POST /api/v1/residents/{id}/elderly with {"date",
// "form": {…elderly.Form}}: the check-up with its assessment.
func (s *Server) apiElderlyRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Date care.Date    `json:"date"`
		Form elderly.Form `json:"form"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, err := s.Elderly.Record(r.Context(), rc.Actor, id, in.Date, in.Form)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}
