package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/huts"
	"countycare/org"
)

// visitFrom reads a follow-up form: vitals as typed (FPG in mmol/L with one
// decimal, weight in kg, temperature in °C), converted to the integer units
// of chronic.Visit.
func visitFrom(get func(string) string, getAll func(string) []string) (chronic.Visit, []care.FieldError) {
	var fs []care.FieldError
	num := func(field string) int {
		v := strings.TrimSpace(get(field))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fs = append(fs, care.FieldError{Field: field, Key: "field.number"})
		}
		return n
	}
	tenths := func(field string) int {
		v := strings.TrimSpace(get(field))
		if v == "" {
			return 0
		}
		whole, frac, _ := strings.Cut(v, ".")
		w, err1 := strconv.Atoi(whole)
		f := 0
		var err2 error
		if frac != "" {
			if len(frac) > 1 {
				fs = append(fs, care.FieldError{Field: field, Key: "chronic.one_decimal"})
				return 0
			}
			f, err2 = strconv.Atoi(frac)
		}
		if err1 != nil || err2 != nil || w < 0 {
			fs = append(fs, care.FieldError{Field: field, Key: "field.number"})
			return 0
		}
		return w*10 + f
	}
	v := chronic.Visit{
		FaceToFace: get("mode") != "phone", SBP: num("sbp"), DBP: num("dbp"), HeartRate: num("heart_rate"), FPG: tenths("fpg"),
		Temperature: tenths("temperature"), WeightDg: tenths("weight"), HeightCm: num("height"), Adherence: chronic.Adherence(get("adherence")),
		Adverse: get("adverse") != "", AdverseUncontrollable: get("adverse_uncontrollable") != "", Complication: get("complication") != "",
		Pregnant: get("pregnant") != "", RiskLevel: num("risk_level"), Insight: get("insight") != "", Symptomatic: get("symptomatic") != "",
		DosesDue: num("doses_due"), DosesMissed: num("doses_missed"),
	}
	d, err := care.ParseDate(strings.TrimSpace(get("date")))
	if err != nil {
		fs = append(fs, care.FieldError{Field: "date", Key: "field.date"})
	}
	v.Date = d
	for _, s := range getAll("symptoms") {
		v.Symptoms = append(v.Symptoms, chronic.Symptom(s))
	}
	return v, fs
}

type chronicView struct {
	Reg      *chronic.Registration
	Resident *residentView
	Visits   []chronic.StoredVisit
	Changes  []chronic.TierChange
	Symptoms []chronic.Symptom
	Last     *chronic.StoredVisit
	Insts    map[int64]string
	Today    care.Date
	// Prefilled are the device readings of the last week the form's
	// measurements were taken from (health huts; docs/huts.md).
	Prefilled []huts.Reading
}

func (s *Server) chronicData(r *http.Request, rc *reqCtx, id int64) (*chronicView, error) {
	reg, visits, changes, err := s.Chronic.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, reg.ResidentID)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := s.viewOf(t, rc.Actor, res)
	cv := &chronicView{Reg: reg, Resident: &v, Visits: visits, Changes: changes, Insts: map[int64]string{}, Today: care.Today(s.Now()),
		Symptoms: []chronic.Symptom{chronic.SymConsciousness, chronic.SymSevereHeadache, chronic.SymNauseaVomiting, chronic.SymBlurredVision, chronic.SymEyePain,
			chronic.SymPalpitations, chronic.SymChestTightness, chronic.SymOrthopnoea, chronic.SymFruityBreath, chronic.SymSweating, chronic.SymDeepBreathing,
			chronic.SymFlushedSkin, chronic.SymSuddenVisionLoss, chronic.SymPolyuria, chronic.SymNumbness, chronic.SymOedema}}
	if len(visits) > 0 {
		cv.Last = &visits[0]
	}
	for _, c := range changes {
		if in := t.Get(c.ToInstitution); in != nil {
			cv.Insts[c.ToInstitution] = in.Name
		}
	}
	return cv, nil
}

func (s *Server) chronicShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cv, err := s.chronicData(r, rc, id)
	if err != nil {
		return err
	}
	form := map[string][]string{"date": {cv.Today.String()}}
	if cv.Reg.Disease == chronic.Hypertension || cv.Reg.Disease == chronic.Diabetes {
		// Offer the week's device readings as the visit's measurements.
		_, rs, err := s.Huts.ForResident(r.Context(), rc.Actor, cv.Reg.ResidentID)
		if err != nil {
			return err
		}
		var v chronic.Visit
		v, cv.Prefilled = huts.Prefill(rs, s.Now(), 7*24*time.Hour)
		for k, n := range map[string]int{"sbp": v.SBP, "dbp": v.DBP, "heart_rate": v.HeartRate, "height": v.HeightCm} {
			if n > 0 {
				form[k] = []string{strconv.Itoa(n)}
			}
		}
		for k, n := range map[string]int{"fpg": v.FPG, "weight": v.WeightDg} {
			if n > 0 {
				form[k] = []string{fmt.Sprintf("%d.%d", n/10, n%10)}
			}
		}
	}
	s.render(w, r, rc, http.StatusOK, "chronic", pageData{Title: s.msgs.T(rc.Lang, "chronic.disease."+string(cv.Reg.Disease)), Data: cv, Form: form})
	return nil
}

func (s *Server) chronicEnroll(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	on, derr := care.ParseDate(strings.TrimSpace(r.PostFormValue("enrolled_on")))
	if derr != nil {
		return care.Invalid([]care.FieldError{{Field: "enrolled_on", Key: "field.date"}})
	}
	reg, err := s.Chronic.Enroll(r.Context(), rc.Actor, id, chronic.Disease(r.PostFormValue("disease")), r.PostFormValue("source"), on, r.PostFormValue("note"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/chronic/"+strconv.FormatInt(reg.ID, 10)+"?ok=enrolled", http.StatusSeeOther)
	return nil
}

func (s *Server) chronicVisit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, fs := visitFrom(r.PostFormValue, func(k string) []string { return r.PostForm[k] })
	err = care.Invalid(fs)
	var sv *chronic.StoredVisit
	if err == nil {
		sv, err = s.Chronic.RecordVisit(r.Context(), rc.Actor, id, v, r.PostFormValue("lifestyle"), r.PostFormValue("confirm") != "")
	}
	if err != nil {
		cv, cerr := s.chronicData(r, rc, id)
		if cerr != nil {
			return cerr
		}
		return s.formError(w, r, rc, "chronic", pageData{Title: s.msgs.T(rc.Lang, "chronic.disease."+string(cv.Reg.Disease)), Data: cv}, err)
	}
	flash := "visit_saved"
	if len(sv.Outcome.Urgent) > 0 {
		flash = "visit_urgent"
	}
	http.Redirect(w, r, "/chronic/"+strconv.FormatInt(id, 10)+"?ok="+flash, http.StatusSeeOther)
	return nil
}

func (s *Server) chronicStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Chronic.SetStatus(r.Context(), rc.Actor, id, r.PostFormValue("status")); err != nil {
		return err
	}
	http.Redirect(w, r, "/chronic/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) chronicOverdue(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Chronic.Overdue(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "chronic_overdue", pageData{Title: s.msgs.T(rc.Lang, "chronic.overdue"), Data: map[string]any{"List": list, "Outcomes": chronic.CallOutcomes}})
	return nil
}

func (s *Server) chronicRemind(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	res, err := s.Chronic.SendReminders(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	list, err := s.Chronic.Overdue(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "chronic_overdue", pageData{Title: s.msgs.T(rc.Lang, "chronic.overdue"),
		Data: map[string]any{"List": list, "Outcomes": chronic.CallOutcomes, "Reminders": res}})
	return nil
}

func (s *Server) chronicCall(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Chronic.RecordCall(r.Context(), rc.Actor, id, r.PostFormValue("outcome")); err != nil {
		return err
	}
	http.Redirect(w, r, "/chronic/overdue?ok=saved", http.StatusSeeOther)
	return nil
}

type handoffRow struct {
	chronic.TierChange
	Name string
}

func (s *Server) chronicHandoffs(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	hs, err := s.Chronic.Handoffs(r.Context(), rc.Actor, r.URL.Query().Get("all") == "")
	if err != nil {
		return err
	}
	rows := make([]handoffRow, 0, len(hs))
	for _, h := range hs {
		row := handoffRow{TierChange: h}
		if res, err := s.Residents.Get(r.Context(), rc.Actor, h.ResidentID); err == nil {
			row.Name = res.Name
		}
		rows = append(rows, row)
	}
	s.render(w, r, rc, http.StatusOK, "chronic_handoffs", pageData{Title: s.msgs.T(rc.Lang, "chronic.handoffs"), Data: rows})
	return nil
}

func (s *Server) chronicAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Chronic.Acknowledge(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/chronic/handoffs?ok=saved", http.StatusSeeOther)
	return nil
}

type boardRow struct {
	Name               string
	Green, Yellow, Red int
}

func (s *Server) chronicBoard(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	counts, err := s.Chronic.Board(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	var rows []boardRow
	var total boardRow
	for _, in := range t.OfKind(0, org.KindVillageClinic) {
		c, ok := counts[in.ID]
		if !ok {
			continue
		}
		row := boardRow{Name: in.Name, Green: c[chronic.Green], Yellow: c[chronic.Yellow], Red: c[chronic.Red]}
		total.Green, total.Yellow, total.Red = total.Green+row.Green, total.Yellow+row.Yellow, total.Red+row.Red
		rows = append(rows, row)
	}
	s.render(w, r, rc, http.StatusOK, "chronic_board", pageData{Title: s.msgs.T(rc.Lang, "chronic.board"), Data: map[string]any{"Rows": rows, "Total": total}})
	return nil
}

// chronicRoles are the roles that manage chronic disease.
func chronicRole(r care.Role) bool {
	return r == care.RoleVillageDoctor || r == care.RoleTownshipDoctor || r == care.RoleCountySpecialist
}

// periodFrom reads ?from=&to= (default: 1 January of this year to today).
func periodFrom(r *http.Request, today care.Date) (from, to care.Date, err error) {
	from, to = care.Date{Year: today.Year, Month: 1, Day: 1}, today
	var fs []care.FieldError
	if v := strings.TrimSpace(r.URL.Query().Get("from")); v != "" {
		if from, err = care.ParseDate(v); err != nil {
			fs = append(fs, care.FieldError{Field: "from", Key: "field.date"})
		}
	}
	if v := strings.TrimSpace(r.URL.Query().Get("to")); v != "" {
		if to, err = care.ParseDate(v); err != nil {
			fs = append(fs, care.FieldError{Field: "to", Key: "field.date"})
		}
	}
	return from, to, care.Invalid(fs)
}

// indicatorDiseases are the columns of the indicators page.
var indicatorDiseases = []chronic.Disease{chronic.Hypertension, chronic.Diabetes, chronic.Mental, chronic.Tuberculosis, chronic.Hepatitis}

func (s *Server) chronicIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := periodFrom(r, care.Today(s.Now()))
	var rep *chronic.Report
	if err == nil {
		rep, err = s.Chronic.Indicators(r.Context(), rc.Actor, from, to)
	}
	pd := pageData{Title: s.msgs.T(rc.Lang, "chronic.indicators"), Data: map[string]any{"Report": rep, "Diseases": indicatorDiseases},
		Form: map[string][]string{"from": {from.String()}, "to": {to.String()}}}
	if err != nil {
		return s.formError(w, r, rc, "chronic_indicators", pd, err)
	}
	s.render(w, r, rc, http.StatusOK, "chronic_indicators", pd)
	return nil
}
