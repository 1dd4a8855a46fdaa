package web

import (
	"fmt"
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/chronic"
	"countycare/org"
	"countycare/resident"
	"countycare/screening"
)

// screeningView is the campaigns page: a township's campaigns with the
// form to plan one, or the campaigns covering a village doctor's village.
type screeningView struct {
	Township  bool
	Campaigns []screening.Campaign
	Villages  []*org.Institution // the township's village clinics (the plan form)
	Diseases  []chronic.Disease
	Names     map[int64]string
	Today     care.Date
}

// VillageName is an institution's name from the page's tree.
func (v *screeningView) VillageName(id int64) string { return v.Names[id] }

// Checked reports whether the plan form ticked id (all by default).
func (p pageData) Checked(field, value string) bool {
	if p.Form == nil {
		return true
	}
	for _, v := range p.Form[field] {
		if v == value {
			return true
		}
	}
	return false
}

// RatePct formats a screening rate as a percentage with one decimal, or
// "no data" when its denominator is empty.
func (p pageData) RatePct(r screening.Rate) string {
	pct, ok := r.Percent()
	if !ok {
		return p.T("screening.no_data")
	}
	return p.T("screening.pct", pct)
}

// Mmol formats a glucose in tenths of mmol/L.
func (p pageData) Mmol(tenths int) string { return strconv.FormatFloat(float64(tenths)/10, 'f', 1, 64) }

func (s *Server) screeningNames(r *http.Request) (*org.Tree, map[int64]string, error) {
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	for _, in := range tree.OfKind(0, org.KindVillageClinic) {
		names[in.ID] = in.Name
	}
	return tree, names, nil
}

func (s *Server) screeningData(r *http.Request, rc *reqCtx) (*screeningView, error) {
	cs, err := s.Screening.Campaigns(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	tree, names, err := s.screeningNames(r)
	if err != nil {
		return nil, err
	}
	v := &screeningView{Township: screening.Township(rc.Actor), Campaigns: cs, Diseases: screening.Screenable, Names: names, Today: care.Today(s.Now())}
	if v.Township {
		v.Villages = tree.OfKind(rc.Actor.InstitutionID, org.KindVillageClinic)
	}
	return v, nil
}

func (s *Server) screeningTitle(rc *reqCtx) string { return s.msgs.T(rc.Lang, "screening.title") }

// screeningPage is GET /screening.
func (s *Server) screeningPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.screeningData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "screening", pageData{Title: s.screeningTitle(rc), Data: v})
	return nil
}

// screeningPlan is POST /screening/campaigns.
func (s *Server) screeningPlan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := screening.PlanInput{Name: r.PostFormValue("name"), StartsOn: mchDate(r, "starts_on", &fs), EndsOn: mchDate(r, "ends_on", &fs)}
	for _, d := range r.PostForm["diseases"] {
		in.Diseases = append(in.Diseases, chronic.Disease(d))
	}
	for _, v := range r.PostForm["villages"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "villages", Key: "screening.village_not_ours"})
			continue
		}
		in.Villages = append(in.Villages, id)
	}
	err := care.Invalid(fs)
	var c *screening.Campaign
	if err == nil {
		c, err = s.Screening.Plan(r.Context(), rc.Actor, in)
	}
	if err != nil {
		v, verr := s.screeningData(r, rc)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "screening", pageData{Title: s.screeningTitle(rc), Data: v}, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/screening/campaigns/%d?ok=screening_planned", c.ID), http.StatusSeeOther)
	return nil
}

// coverageView is a campaign's coverage and yield per village.
type coverageView struct {
	C     *screening.Campaign
	Rows  []screening.Counts
	Total screening.Counts
	Names map[int64]string
	Chart []coverageBar
}

// coverageBar is one village's bar of the coverage chart (SVG units).
type coverageBar struct {
	Name  string
	Y     int
	Width int // coverage in per mille of the bar's full width (0–300)
	Label string
}

// chartHeight is the chart's height for its bars.
func (v *coverageView) ChartHeight() int { return 24*len(v.Chart) + 4 }

func (s *Server) coverageData(r *http.Request, rc *reqCtx) (*coverageView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	c, rows, total, err := s.Screening.Coverage(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	_, names, err := s.screeningNames(r)
	if err != nil {
		return nil, err
	}
	v := &coverageView{C: c, Rows: rows, Total: total, Names: names}
	p := pageData{Lang: rc.Lang, msgs: s.msgs}
	for i, row := range rows {
		pct, _ := row.Coverage().Percent()
		v.Chart = append(v.Chart, coverageBar{Name: names[row.VillageID], Y: 24*i + 2, Width: int(3 * min(pct, 100)), Label: p.RatePct(row.Coverage())})
	}
	return v, nil
}

// screeningCampaign is GET /screening/campaigns/{id}.
func (s *Server) screeningCampaign(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.coverageData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "screening_campaign", pageData{Title: s.screeningTitle(rc), Data: v})
	return nil
}

// followUpsView is the township's pending confirmations.
type followUpsView struct {
	Cases   []screening.Case
	Overdue int
	Today   care.Date
	Names   map[int64]string
}

// DaysLate is how many days past its due date a case is.
func (v *followUpsView) DaysLate(c screening.Case) int {
	return int(v.Today.Time().Sub(c.DueOn.Time()).Hours() / 24)
}

func (s *Server) followUpsData(r *http.Request, rc *reqCtx) (*followUpsView, error) {
	cs, err := s.Screening.FollowUps(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	_, names, err := s.screeningNames(r)
	if err != nil {
		return nil, err
	}
	v := &followUpsView{Cases: cs, Today: care.Today(s.Now()), Names: names}
	for i := range cs {
		if cs[i].Overdue(v.Today) {
			v.Overdue++
		}
	}
	return v, nil
}

// screeningFollowUps is GET /screening/follow-ups.
func (s *Server) screeningFollowUps(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.followUpsData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "screening_follow_ups", pageData{Title: s.msgs.T(rc.Lang, "screening.follow_ups"), Data: v})
	return nil
}

// screeningClose is POST /screening/cases/{id}/confirm and …/rule-out.
func (s *Server) screeningClose(confirm bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var fs []care.FieldError
		on := mchDate(r, "on", &fs)
		err = care.Invalid(fs)
		ok := "screening_confirmed"
		if err == nil && confirm {
			_, err = s.Screening.Confirm(r.Context(), rc.Actor, id, on, r.PostFormValue("note"))
		} else if err == nil {
			_, err = s.Screening.RuleOut(r.Context(), rc.Actor, id, on, r.PostFormValue("reason"))
			ok = "screening_ruled_out"
		}
		if err != nil {
			v, verr := s.followUpsData(r, rc)
			if verr != nil {
				return verr
			}
			return s.formError(w, r, rc, "screening_follow_ups", pageData{Title: s.msgs.T(rc.Lang, "screening.follow_ups"), Data: v}, err)
		}
		http.Redirect(w, r, "/screening/follow-ups?ok="+ok, http.StatusSeeOther)
		return nil
	}
}

// screeningResidentView is a resident's screening: measurements, cases,
// and the open campaigns of their village (the record form).
type screeningResidentView struct {
	R            *resident.Resident
	Measurements []screening.Measurement
	Cases        []screening.Case
	Open         []screening.Campaign
	Today        care.Date
}

func (s *Server) screeningResidentData(r *http.Request, rc *reqCtx) (*screeningResidentView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, ms, cs, err := s.Screening.OfResident(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	v := &screeningResidentView{R: res, Measurements: ms, Cases: cs, Today: care.Today(s.Now())}
	if screening.Village(rc.Actor) {
		all, err := s.Screening.Campaigns(r.Context(), rc.Actor)
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if c.Covers(res.VillageID) && c.Open(v.Today) {
				v.Open = append(v.Open, c)
			}
		}
	}
	return v, nil
}

// screeningResident is GET /residents/{id}/screening.
func (s *Server) screeningResident(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.screeningResidentData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "screening_resident", pageData{Title: s.screeningTitle(rc), Data: v})
	return nil
}

// screeningRecord is POST /residents/{id}/screening.
func (s *Server) screeningRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	campaign, perr := strconv.ParseInt(r.PostFormValue("campaign"), 10, 64)
	if perr != nil {
		fs = append(fs, care.FieldError{Field: "campaign", Key: "field.required"})
	}
	in := screening.RecordInput{Date: mchDate(r, "date", &fs), SBP1: scaled(r, "sbp1", 1, &fs), DBP1: scaled(r, "dbp1", 1, &fs),
		SBP2: scaled(r, "sbp2", 1, &fs), DBP2: scaled(r, "dbp2", 1, &fs), Glucose: scaled(r, "glucose", 10, &fs),
		MealHours: scaled(r, "meal_hours", 1, &fs), CoughDays: scaled(r, "cough_days", 1, &fs), Haemoptysis: r.PostFormValue("haemoptysis") == "1"}
	err = care.Invalid(fs)
	if err == nil {
		_, _, err = s.Screening.Record(r.Context(), rc.Actor, campaign, id, in)
	}
	if err != nil {
		v, verr := s.screeningResidentData(r, rc)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "screening_resident", pageData{Title: s.screeningTitle(rc), Data: v}, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/screening?ok=screening_recorded", id), http.StatusSeeOther)
	return nil
}

// apiScreeningCampaigns is GET /api/v1/screening/campaigns.
func (s *Server) apiScreeningCampaigns(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	cs, err := s.Screening.Campaigns(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": nonNil(cs)})
	return nil
}

// apiScreeningPlan is POST /api/v1/screening/campaigns with {"name",
// "diseases", "villages", "starts_on", "ends_on"}.
func (s *Server) apiScreeningPlan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name     string            `json:"name"`
		Diseases []chronic.Disease `json:"diseases"`
		Villages []int64           `json:"villages"`
		StartsOn care.Date         `json:"starts_on"`
		EndsOn   care.Date         `json:"ends_on"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Screening.Plan(r.Context(), rc.Actor, screening.PlanInput{Name: in.Name, Diseases: in.Diseases, Villages: in.Villages,
		StartsOn: in.StartsOn, EndsOn: in.EndsOn})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// rateJSON is a rate with its percentage, null when there is no data.
func rateJSON(r screening.Rate) map[string]any {
	out := map[string]any{"num": r.Num, "den": r.Den, "percent": nil}
	if p, ok := r.Percent(); ok {
		out["percent"] = p
	}
	return out
}

func countsJSON(c screening.Counts) map[string]any {
	return map[string]any{"village_id": c.VillageID, "target": c.Target, "screened": c.Screened, "suspected": c.Suspected,
		"confirmed": c.Confirmed, "coverage": rateJSON(c.Coverage()), "yield": rateJSON(c.Yield()), "confirmed_rate": rateJSON(c.ConfirmedRate())}
}

// apiScreeningCoverage is GET /api/v1/screening/campaigns/{id}/coverage.
func (s *Server) apiScreeningCoverage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, rows, total, err := s.Screening.Coverage(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	vs := make([]map[string]any, len(rows))
	for i, row := range rows {
		vs[i] = countsJSON(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaign": c, "villages": vs, "total": countsJSON(total)})
	return nil
}

// apiScreeningIn is a screening measurement as the API and the village
// app's sync send it (glucose in 0.1 mmol/L; 0: not measured).
type apiScreeningIn struct {
	ResidentID  int64     `json:"resident_id"`
	Date        care.Date `json:"date"`
	SBP1        int       `json:"sbp1"`
	DBP1        int       `json:"dbp1"`
	SBP2        int       `json:"sbp2"`
	DBP2        int       `json:"dbp2"`
	Glucose     int       `json:"glucose"`
	MealHours   int       `json:"meal_hours"`
	CoughDays   int       `json:"cough_days"`
	Haemoptysis bool      `json:"haemoptysis"`
}

func (in *apiScreeningIn) input() screening.RecordInput {
	return screening.RecordInput{Date: in.Date, SBP1: in.SBP1, DBP1: in.DBP1, SBP2: in.SBP2, DBP2: in.DBP2, Glucose: in.Glucose,
		MealHours: in.MealHours, CoughDays: in.CoughDays, Haemoptysis: in.Haemoptysis}
}

// apiScreeningRecord is POST /api/v1/screening/campaigns/{id}/measurements
// with {"resident_id", "date", "sbp1", "dbp1", "sbp2", "dbp2", "glucose"
// (0.1 mmol/L), "meal_hours", "cough_days", "haemoptysis"}: the
// measurement with each disease's result and the cases routed.
func (s *Server) apiScreeningRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiScreeningIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, cases, err := s.Screening.Record(r.Context(), rc.Actor, id, in.ResidentID, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"measurement": m, "cases": nonNil(cases)})
	return nil
}

// apiScreeningFollowUps is GET /api/v1/screening/follow-ups: the
// township's pending confirmations, each with "overdue".
func (s *Server) apiScreeningFollowUps(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.followUpsData(r, rc)
	if err != nil {
		return err
	}
	type row struct {
		screening.Case
		Overdue bool `json:"overdue"`
	}
	out := make([]row, len(v.Cases))
	for i, c := range v.Cases {
		out[i] = row{c, c.Overdue(v.Today)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out, "overdue": v.Overdue})
	return nil
}

// apiScreeningClose is POST /api/v1/screening/cases/{id}/confirm with
// {"on", "note"} and …/rule-out with {"on", "reason"}.
func (s *Server) apiScreeningClose(confirm bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			On     care.Date `json:"on"`
			Note   string    `json:"note"`
			Reason string    `json:"reason"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
		var c *screening.Case
		if confirm {
			c, err = s.Screening.Confirm(r.Context(), rc.Actor, id, in.On, in.Note)
		} else {
			c, err = s.Screening.RuleOut(r.Context(), rc.Actor, id, in.On, in.Reason)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

// apiScreeningResident is GET /api/v1/residents/{id}/screening.
func (s *Server) apiScreeningResident(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.screeningResidentData(r, rc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"measurements": nonNil(v.Measurements), "cases": nonNil(v.Cases), "open_campaigns": nonNil(v.Open)})
	return nil
}
