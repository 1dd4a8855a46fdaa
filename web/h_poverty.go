package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/povertywatch"
	"countycare/settle"
)

// The watch on households falling back into poverty through illness
// (issue 14 §3; package povertywatch): the insurance office's list, a
// household's year with its bills, its income and the actions taken.

// watchYear reads ?year= (default: this year).
func (s *Server) watchYear(r *http.Request) (int, error) {
	v := strings.TrimSpace(r.FormValue("year"))
	if v == "" {
		return care.Today(s.Now()).Year, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 2000 || y > 2100 {
		return 0, care.Invalid([]care.FieldError{{Field: "year", Key: "povertywatch.year"}})
	}
	return y, nil
}

type watchView struct {
	Year       int
	Years      []int
	Level      string
	Rows       []povertywatch.Row
	Alerts     []povertywatch.Alert
	Thresholds povertywatch.Thresholds
	Villages   map[int64]string
	Missing    bool // the year has no thresholds
}

func (s *Server) watchList(r *http.Request, rc *reqCtx) (*watchView, error) {
	year, err := s.watchYear(r)
	if err != nil {
		return nil, err
	}
	level := povertywatch.LevelApproaching
	if r.FormValue("level") == string(povertywatch.LevelCrossed) {
		level = povertywatch.LevelCrossed
	}
	rows, t, err := s.PovertyWatch.List(r.Context(), rc.Actor, povertywatch.Filter{Year: year, MinLevel: level})
	if err != nil {
		return nil, err
	}
	alerts, err := s.PovertyWatch.Alerts(r.Context(), rc.Actor, year)
	if err != nil {
		return nil, err
	}
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &watchView{Year: year, Level: string(level), Rows: rows, Alerts: alerts, Thresholds: t, Villages: map[int64]string{}}
	for _, x := range rows {
		if in := tree.Get(x.VillageID); in != nil {
			v.Villages[x.VillageID] = in.Name
		}
	}
	now := care.Today(s.Now()).Year
	v.Years = []int{now, now - 1}
	return v, nil
}

func (s *Server) povertyWatchPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.watchList(r, rc)
	if ce, ok := err.(*care.Error); ok && ce.Key == "povertywatch.no_thresholds" {
		// A year the province has not configured: say so on the page, with
		// the year selector to pick another, rather than an error page.
		year, _ := s.watchYear(r)
		now := care.Today(s.Now()).Year
		v, err = &watchView{Year: year, Years: []int{now, now - 1}, Level: string(povertywatch.LevelApproaching), Missing: true}, nil
	}
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "poverty_watch", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.title"), Data: v})
	return nil
}

type watchHouseholdView struct {
	*povertywatch.Household
	Year     int
	Village  string
	Insts    map[int64]string
	Kinds    []povertywatch.ActionKind
	IncomeIn string // the income field's value
}

func (s *Server) householdWatch(r *http.Request, rc *reqCtx) (*watchHouseholdView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	year, err := s.watchYear(r)
	if err != nil {
		return nil, err
	}
	h, err := s.PovertyWatch.Household(r.Context(), rc.Actor, id, year)
	if err != nil {
		return nil, err
	}
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &watchHouseholdView{Household: h, Year: year, Insts: map[int64]string{}, Kinds: povertywatch.ActionKinds}
	if in := tree.Get(h.VillageID); in != nil {
		v.Village = in.Name
	}
	for _, b := range h.Bills {
		if in := tree.Get(b.InstitutionID); in != nil {
			v.Insts[b.InstitutionID] = in.Name
		}
	}
	if h.Income > 0 {
		v.IncomeIn = h.Income.String()
	}
	return v, nil
}

func (s *Server) povertyHouseholdPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.householdWatch(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "poverty_household", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.household"), Data: v})
	return nil
}

// householdFormError shows the household page again with the form's error.
func (s *Server) householdFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, verr := s.householdWatch(r, rc)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, rc, "poverty_household", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.household"), Data: v}, err)
}

// parseIncome reads a yearly income in yuan ("36000", "36000.50").
func parseIncome(v string) (settle.Fen, error) {
	f, err := settle.ParseYuan(strings.TrimSpace(v))
	if err != nil {
		return 0, care.Invalid([]care.FieldError{{Field: "income", Key: "povertywatch.income_range", Args: []any{povertywatch.MaxIncome.String()}}})
	}
	return f, nil
}

func (s *Server) povertyIncome(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	year, err := s.watchYear(r)
	if err != nil {
		return err
	}
	income, err := parseIncome(r.PostFormValue("income"))
	if err == nil {
		err = s.PovertyWatch.SetIncome(r.Context(), rc.Actor, id, year, income)
	}
	if err != nil {
		return s.householdFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/poverty-watch/households/"+strconv.FormatInt(id, 10)+"?year="+strconv.Itoa(year)+"&ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) povertyAction(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	year, err := s.watchYear(r)
	if err != nil {
		return err
	}
	if _, err := s.PovertyWatch.Record(r.Context(), rc.Actor, id, year, povertywatch.ActionKind(r.PostFormValue("kind")), r.PostFormValue("note")); err != nil {
		return s.householdFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/poverty-watch/households/"+strconv.FormatInt(id, 10)+"?year="+strconv.Itoa(year)+"&ok=saved", http.StatusSeeOther)
	return nil
}

// The JSON API.

type apiWatchRow struct {
	HouseholdID int64      `json:"household_id"`
	Number      string     `json:"household_number"`
	VillageID   int64      `json:"village_id"`
	HeadName    string     `json:"head_name"`
	Members     int        `json:"members"`
	Poverty     string     `json:"poverty,omitempty"`
	TotalOOP    settle.Fen `json:"total_oop"`
	InPolicyOOP settle.Fen `json:"in_policy_oop"`
	Income      settle.Fen `json:"income,omitempty"`
	Bills       int        `json:"bills"`
	Level       string     `json:"level"`
	Threshold   settle.Fen `json:"threshold"`
	ByIncome    bool       `json:"threshold_by_income"`
	Share       string     `json:"share_of_threshold"`
}

func apiWatchRowOf(x povertywatch.Row) apiWatchRow {
	return apiWatchRow{x.HouseholdID, x.Number, x.VillageID, x.HeadName, x.Members, x.Poverty, x.TotalOOP, x.InPolicyOOP, x.Income, x.Cost.Bills,
		string(x.Level), x.Threshold, x.ByIncome, apiPercent(x.Share)}
}

type apiWatchAlert struct {
	ID          int64      `json:"id"`
	HouseholdID int64      `json:"household_id"`
	Spent       settle.Fen `json:"spent"`
	Threshold   settle.Fen `json:"threshold"`
	RaisedAt    string     `json:"raised_at"`
	Open        bool       `json:"open"`
}

func (s *Server) apiPovertyWatch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.watchList(r, rc)
	if err != nil {
		return err
	}
	rows := make([]apiWatchRow, 0, len(v.Rows))
	for _, x := range v.Rows {
		rows = append(rows, apiWatchRowOf(x))
	}
	alerts := make([]apiWatchAlert, 0, len(v.Alerts))
	for _, a := range v.Alerts {
		alerts = append(alerts, apiWatchAlert{a.ID, a.HouseholdID, a.Spent, a.Threshold, a.RaisedAt.Format(time.RFC3339), a.Open()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"year": v.Year, "thresholds": v.Thresholds, "households": rows, "alerts": alerts})
	return nil
}

type apiWatchBill struct {
	SettlementID int64      `json:"settlement_id"`
	ResidentID   int64      `json:"resident_id"`
	VisitDate    care.Date  `json:"visit_date"`
	VisitType    string     `json:"visit_type"`
	Total        settle.Fen `json:"total"`
	Eligible     settle.Fen `json:"eligible"`
	InPolicyOOP  settle.Fen `json:"in_policy_oop"`
	Patient      settle.Fen `json:"patient"`
}

type apiWatchAction struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Note string `json:"note,omitempty"`
	By   int64  `json:"by"`
	At   string `json:"at"`
}

func (s *Server) apiPovertyHousehold(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.householdWatch(r, rc)
	if err != nil {
		return err
	}
	bills := make([]apiWatchBill, 0, len(v.Bills))
	for _, b := range v.Bills {
		bills = append(bills, apiWatchBill{b.SettlementID, b.ResidentID, b.VisitDate, b.VisitType, b.Total, b.Eligible, b.InPolicyOOP, b.Patient})
	}
	acts := make([]apiWatchAction, 0, len(v.Actions))
	for _, a := range v.Actions {
		acts = append(acts, apiWatchAction{a.ID, string(a.Kind), a.Note, a.By, a.At.Format(time.RFC3339)})
	}
	out := map[string]any{"year": v.Year, "household": apiWatchRowOf(v.Row), "bills": bills, "actions": acts}
	if v.Alert != nil {
		out["alert"] = apiWatchAlert{v.Alert.ID, v.Alert.HouseholdID, v.Alert.Spent, v.Alert.Threshold, v.Alert.RaisedAt.Format(time.RFC3339), v.Alert.Open()}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiPovertyAction(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Year int    `json:"year"`
		Kind string `json:"kind"`
		Note string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.PovertyWatch.Record(r.Context(), rc.Actor, id, in.Year, povertywatch.ActionKind(in.Kind), in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiWatchAction{a.ID, string(a.Kind), a.Note, a.By, a.At.Format(time.RFC3339)})
	return nil
}

func (s *Server) apiPovertyIncome(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Year   int        `json:"year"`
		Income settle.Fen `json:"income"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.PovertyWatch.SetIncome(r.Context(), rc.Actor, id, in.Year, in.Income); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bottomLineView is the "985" compliance report page.
type bottomLineView struct {
	*povertywatch.Compliance
	Years []int
	Types []blType
}

// blType is a visit type's row: its share, or none without bills.
type blType struct {
	povertywatch.VisitTypeCompliance
	Share    string
	HasShare bool
}

func (s *Server) bottomLine(r *http.Request, rc *reqCtx) (*bottomLineView, error) {
	year, err := s.watchYear(r)
	if err != nil {
		return nil, err
	}
	c, err := s.PovertyWatch.Compliance(r.Context(), rc.Actor, year)
	if err != nil {
		return nil, err
	}
	now := care.Today(s.Now()).Year
	v := &bottomLineView{Compliance: c, Years: []int{now, now - 1}}
	for _, t := range c.ByVisitType {
		sh, ok := t.Share()
		v.Types = append(v.Types, blType{t, sh.String(), ok})
	}
	return v, nil
}

func (s *Server) bottomLinePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.bottomLine(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "poverty_bottom_line", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.bottom_line"), Data: v})
	return nil
}

func (s *Server) apiBottomLine(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.bottomLine(r, rc)
	if err != nil {
		return err
	}
	type byType struct {
		VisitType string `json:"visit_type"`
		Bills     int    `json:"bills"`
		Reached   int    `json:"reached"`
		Share     string `json:"share,omitempty"` // absent: no bills
	}
	type shortfall struct {
		SettlementID int64      `json:"settlement_id"`
		ResidentID   int64      `json:"resident_id"`
		VisitDate    care.Date  `json:"visit_date"`
		VisitType    string     `json:"visit_type"`
		Base         settle.Fen `json:"base"`
		Target       string     `json:"target"`
		Due          settle.Fen `json:"due"`
		Paid         settle.Fen `json:"paid"`
	}
	type breach struct {
		ResidentID int64      `json:"resident_id"`
		OOP        settle.Fen `json:"out_of_pocket"`
		Cap        settle.Fen `json:"cap"`
	}
	out := struct {
		Year        int         `json:"year"`
		Checked     int         `json:"checked"`
		ByVisitType []byType    `json:"by_visit_type"`
		Shortfalls  []shortfall `json:"shortfalls"`
		CapBreaches []breach    `json:"cap_breaches"`
	}{Year: v.Year, Checked: v.Checked, ByVisitType: []byType{}, Shortfalls: []shortfall{}, CapBreaches: []breach{}}
	for _, t := range v.Types {
		b := byType{VisitType: t.VisitType, Bills: t.Bills, Reached: t.Reached}
		if sh, ok := t.VisitTypeCompliance.Share(); ok {
			b.Share = apiPercent(sh)
		}
		out.ByVisitType = append(out.ByVisitType, b)
	}
	for _, x := range v.Shortfalls {
		out.Shortfalls = append(out.Shortfalls, shortfall{x.SettlementID, x.ResidentID, x.VisitDate, x.VisitType, x.Base, apiPercent(x.Target), x.Due, x.Paid})
	}
	for _, x := range v.CapBreaches {
		out.CapBreaches = append(out.CapBreaches, breach{x.ResidentID, x.OOP, x.Cap})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// The major-illness special-treatment register (大病专项救治).

type specialRow struct {
	povertywatch.SpecialCase
	DiseaseName string
	Hospital    string
	Steps       []string
}

type specialView struct {
	Cases     []specialRow
	Counts    []specialCount
	Diseases  []specialDiseaseOpt
	Hospitals []hospitalOpt
	Source    string
}

type specialCount struct {
	povertywatch.SpecialCount
	Name          string
	Completion    string
	HasCompletion bool
}

type specialDiseaseOpt struct{ Code, Name, Codes, Price string }
type hospitalOpt struct {
	ID   int64
	Name string
}

// diseaseName is the disease's name in the reader's language.
func diseaseName(d *povertywatch.SpecialDisease, lang string) string {
	if d == nil {
		return ""
	}
	if lang == "en" {
		return d.NameEn
	}
	return d.Name
}

func (s *Server) special(r *http.Request, rc *reqCtx) (*specialView, error) {
	cases, counts, err := s.Special.Register(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	l := s.Special.List
	v := &specialView{Source: l.Source}
	for _, c := range cases {
		row := specialRow{SpecialCase: c, DiseaseName: diseaseName(l.Disease(c.Disease), rc.Lang)}
		if in := tree.Get(c.HospitalID); in != nil {
			row.Hospital = in.Name
		}
		for _, st := range []string{povertywatch.SpecialStart, povertywatch.SpecialComplete, povertywatch.SpecialEnd} {
			if povertywatch.NextSpecialStatus(c.Status, st) != "" {
				row.Steps = append(row.Steps, st)
			}
		}
		v.Cases = append(v.Cases, row)
	}
	for _, c := range counts {
		sc := specialCount{SpecialCount: c, Name: diseaseName(l.Disease(c.Disease), rc.Lang)}
		if p, ok := c.Completion(); ok {
			sc.Completion, sc.HasCompletion = p.String(), true
		}
		v.Counts = append(v.Counts, sc)
	}
	for i := range l.Diseases {
		d := &l.Diseases[i]
		v.Diseases = append(v.Diseases, specialDiseaseOpt{d.Code, diseaseName(d, rc.Lang), strings.Join(d.ICD10, ", "), d.Price.String()})
	}
	for _, k := range []org.Kind{org.KindCountyHospital, org.KindPartner} {
		for _, in := range tree.OfKind(0, k) {
			v.Hospitals = append(v.Hospitals, hospitalOpt{in.ID, in.Name})
		}
	}
	return v, nil
}

func (s *Server) specialPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.special(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "poverty_special", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.special"), Data: v})
	return nil
}

func (s *Server) specialFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, verr := s.special(r, rc)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, rc, "poverty_special", pageData{Title: s.msgs.T(rc.Lang, "povertywatch.special"), Data: v}, err)
}

func formNum(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

func (s *Server) specialEnrol(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	_, err := s.Special.Enrol(r.Context(), rc.Actor, formNum(r.PostFormValue("resident_id")), r.PostFormValue("disease"), r.PostFormValue("diagnosis"), formNum(r.PostFormValue("hospital_id")))
	if err != nil {
		return s.specialFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/poverty-watch/special?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) specialStep(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Special.Step(r.Context(), rc.Actor, id, r.PathValue("step"), r.PostFormValue("note"), int(formNum(r.PostFormValue("version")))); err != nil {
		return s.specialFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/poverty-watch/special?ok=saved", http.StatusSeeOther)
	return nil
}

type apiSpecialCase struct {
	ID         int64  `json:"id"`
	ResidentID int64  `json:"resident_id"`
	Disease    string `json:"disease"`
	Diagnosis  string `json:"diagnosis"`
	HospitalID int64  `json:"hospital_id"`
	Status     string `json:"status"`
	Note       string `json:"note,omitempty"`
	EnrolledAt string `json:"enrolled_at"`
	Version    int    `json:"version"`
}

func apiSpecialOf(c *povertywatch.SpecialCase) apiSpecialCase {
	return apiSpecialCase{c.ID, c.ResidentID, c.Disease, c.Diagnosis, c.HospitalID, c.Status, c.Note, c.EnrolledAt.Format(time.RFC3339), c.Version}
}

func (s *Server) apiSpecial(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	cases, counts, err := s.Special.Register(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	type count struct {
		Disease    string `json:"disease"`
		Enrolled   int    `json:"enrolled"`
		Treating   int    `json:"treating"`
		Completed  int    `json:"completed"`
		Ended      int    `json:"ended"`
		Completion string `json:"completion,omitempty"` // absent: none closed
	}
	out := struct {
		Cases  []apiSpecialCase `json:"cases"`
		Counts []count          `json:"counts"`
	}{Cases: []apiSpecialCase{}, Counts: []count{}}
	for i := range cases {
		out.Cases = append(out.Cases, apiSpecialOf(&cases[i]))
	}
	for _, c := range counts {
		x := count{c.Disease, c.Enrolled, c.Treating, c.Completed, c.Ended, ""}
		if p, ok := c.Completion(); ok {
			x.Completion = apiPercent(p)
		}
		out.Counts = append(out.Counts, x)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiSpecialEnrol(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ResidentID int64  `json:"resident_id"`
		Disease    string `json:"disease"`
		Diagnosis  string `json:"diagnosis"`
		HospitalID int64  `json:"hospital_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Special.Enrol(r.Context(), rc.Actor, in.ResidentID, in.Disease, in.Diagnosis, in.HospitalID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiSpecialOf(c))
	return nil
}

func (s *Server) apiSpecialStep(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Note    string `json:"note"`
		Version int    `json:"version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Special.Step(r.Context(), rc.Actor, id, r.PathValue("step"), in.Note, in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiSpecialOf(c))
	return nil
}

// apiPercent writes a ratio as the API writes percentages: "62.5", no sign
// (as settle.Ratio's JSON).
func apiPercent(r settle.Ratio) string {
	b, _ := r.MarshalText()
	return string(b)
}

// povertyExport writes the watch list as CSV for the medical-assistance
// and civil-affairs offices (Excel opens it: UTF-8 with a BOM), in the
// reader's language; the export is audited with its row count.
func (s *Server) povertyExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.povertyExportAs(w, r, rc, false)
}

// povertyExportXLSX is povertyExport as an XLSX workbook (excelize): the
// same columns, counts as numbers.
func (s *Server) povertyExportXLSX(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.povertyExportAs(w, r, rc, true)
}

func (s *Server) povertyExportAs(w http.ResponseWriter, r *http.Request, rc *reqCtx, xlsx bool) error {
	v, err := s.watchList(r, rc)
	if err != nil {
		return err
	}
	t := func(k string, a ...any) string { return s.msgs.T(rc.Lang, k, a...) }
	// Text a person typed goes through csvSafe in a CSV (a spreadsheet
	// would run "=…" as a formula); an XLSX cell is written as text.
	text := csvSafe
	if xlsx {
		text = func(s string) string { return s }
	}
	rows := [][]string{{t("povertywatch.csv_household"), t("kind.village_clinic"), t("povertywatch.head"), t("povertywatch.members"), t("resident.poverty"),
		t("povertywatch.total_oop"), t("povertywatch.in_policy_oop"), t("povertywatch.income"), t("povertywatch.line"), t("povertywatch.by_income"),
		t("povertywatch.level_label"), t("povertywatch.csv_share")}}
	for _, x := range v.Rows {
		pov, income, byIncome := "", "", ""
		if x.Poverty != "" {
			pov = t("poverty." + x.Poverty)
		}
		if x.Income > 0 {
			income = x.Income.String()
		}
		if x.ByIncome {
			byIncome = "✓"
		}
		rows = append(rows, []string{x.Number, text(v.Villages[x.VillageID]), text(x.HeadName), strconv.Itoa(x.Members), pov,
			x.TotalOOP.String(), x.InPolicyOOP.String(), income, x.Threshold.String(), byIncome, t("povertywatch.level." + string(x.Level)), x.Share.String()})
	}
	format := "csv"
	if xlsx {
		format = "xlsx"
	}
	ev := audit.New(r.Context(), rc.Actor, povertywatch.ActExport, 0)
	ev.Detail = fmt.Sprintf("%s year %d rows=%d", format, v.Year, len(v.Rows))
	if !xlsx {
		s.Audit.Record(r.Context(), ev)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="poverty-watch-%d.csv"`, v.Year))
		io.WriteString(w, "\ufeff")
		cw := csv.NewWriter(w)
		cw.WriteAll(rows)
		return cw.Error()
	}
	b, err := xlsxOf([]sheet{{Name: t("povertywatch.title"), Rows: rows}})
	if err != nil {
		return care.Internal("web.povertyExportXLSX", err)
	}
	s.Audit.Record(r.Context(), ev)
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="poverty-watch-%d.xlsx"`, v.Year))
	w.Write(b)
	return nil
}
