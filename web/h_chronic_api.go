package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"countycare/care"
	"countycare/chronic"
)

// Wire types of the chronic disease API.
type apiRegistrationOut struct {
	ID         int64  `json:"id"`
	ResidentID int64  `json:"resident_id"`
	Disease    string `json:"disease"`
	Status     string `json:"status"`
	Source     string `json:"source"`
	EnrolledOn string `json:"enrolled_on"`
	ClinicID   int64  `json:"clinic_id"`
	Tier       string `json:"tier"`
	TierSince  string `json:"tier_since"`
	LastClass  string `json:"last_class,omitempty"`
	LastVisit  string `json:"last_visit,omitempty"`
	NextVisit  string `json:"next_visit"`
	Risk       int    `json:"risk"`
	ClosedOn   string `json:"closed_on,omitempty"`
	Version    int    `json:"version"`
}

func apiRegistration(r *chronic.Registration) apiRegistrationOut {
	return apiRegistrationOut{ID: r.ID, ResidentID: r.ResidentID, Disease: string(r.Disease), Status: r.Status, Source: r.Source,
		EnrolledOn: r.EnrolledOn.String(), ClinicID: r.ClinicID, Tier: string(r.Tier), TierSince: r.TierSince.String(), LastClass: string(r.LastClass),
		LastVisit: r.LastVisit.String(), NextVisit: r.NextVisit.String(), Risk: r.Risk, ClosedOn: r.ClosedOn.String(), Version: r.Version}
}

type apiVisitOut struct {
	ID           int64    `json:"id"`
	Date         string   `json:"date"`
	FaceToFace   bool     `json:"face_to_face"`
	SBP          int      `json:"sbp,omitempty"`
	DBP          int      `json:"dbp,omitempty"`
	HeartRate    int      `json:"heart_rate,omitempty"`
	FPGTenths    int      `json:"fpg_tenths_mmol_l,omitempty"`
	Symptoms     []string `json:"symptoms"`
	Class        string   `json:"class"`
	Urgent       []string `json:"urgent"`
	Refer        bool     `json:"refer"`
	ReferReasons []string `json:"refer_reasons"`
	NextVisit    string   `json:"next_visit"`
}

func apiVisit(v *chronic.StoredVisit) apiVisitOut {
	out := apiVisitOut{ID: v.ID, Date: v.Date.String(), FaceToFace: v.FaceToFace, SBP: v.SBP, DBP: v.DBP, HeartRate: v.HeartRate, FPGTenths: v.FPG,
		Symptoms: []string{}, Class: string(v.Outcome.Class), Urgent: append([]string{}, v.Outcome.Urgent...), Refer: v.Outcome.Refer,
		ReferReasons: append([]string{}, v.Outcome.ReferReasons...), NextVisit: v.Outcome.NextVisit.String()}
	for _, s := range v.Symptoms {
		out.Symptoms = append(out.Symptoms, string(s))
	}
	return out
}

func (s *Server) apiChronicOf(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	regs, err := s.Chronic.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]apiRegistrationOut, 0, len(regs))
	for i := range regs {
		out = append(out, apiRegistration(&regs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"registrations": out})
	return nil
}

func (s *Server) apiChronicEnroll(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Disease    string `json:"disease"`
		Source     string `json:"source"`
		EnrolledOn string `json:"enrolled_on"`
		Note       string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	on, derr := care.ParseDate(strings.TrimSpace(in.EnrolledOn))
	if derr != nil {
		return care.Invalid([]care.FieldError{{Field: "enrolled_on", Key: "field.date"}})
	}
	reg, err := s.Chronic.Enroll(r.Context(), rc.Actor, id, chronic.Disease(in.Disease), in.Source, on, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiRegistration(reg))
	return nil
}

func (s *Server) apiChronicGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	reg, visits, changes, err := s.Chronic.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	vs := make([]apiVisitOut, 0, len(visits))
	for i := range visits {
		vs = append(vs, apiVisit(&visits[i]))
	}
	cs := make([]map[string]any, 0, len(changes))
	for _, c := range changes {
		cs = append(cs, map[string]any{"from": c.From, "to": c.To, "reason": c.Reason, "to_institution": c.ToInstitution,
			"acknowledged": !c.AcknowledgedAt.IsZero(), "created_at": c.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"registration": apiRegistration(reg), "visits": vs, "tier_changes": cs})
	return nil
}

// apiVisitIn is a follow-up as JSON: numbers as typed on the national form
// (FPG and temperature with one decimal, weight in kg), validated exactly
// like the form.
type apiVisitIn struct {
	Date                  string      `json:"date"`
	Mode                  string      `json:"mode"` // "face" (default) or "phone"
	SBP                   json.Number `json:"sbp"`
	DBP                   json.Number `json:"dbp"`
	HeartRate             json.Number `json:"heart_rate"`
	FPG                   json.Number `json:"fpg"`
	Temperature           json.Number `json:"temperature"`
	Weight                json.Number `json:"weight"`
	Height                json.Number `json:"height"`
	Symptoms              []string    `json:"symptoms"`
	Adherence             string      `json:"adherence"`
	Adverse               bool        `json:"adverse"`
	AdverseUncontrollable bool        `json:"adverse_uncontrollable"`
	Complication          bool        `json:"complication"`
	Pregnant              bool        `json:"pregnant"`
	RiskLevel             json.Number `json:"risk_level"`
	Insight               bool        `json:"insight"`
	Symptomatic           bool        `json:"symptomatic"`
	DosesDue              json.Number `json:"doses_due"`
	DosesMissed           json.Number `json:"doses_missed"`
	Lifestyle             string      `json:"lifestyle"`
	Confirm               bool        `json:"confirm"`
}

func (in *apiVisitIn) get(k string) string {
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return ""
	}
	switch k {
	case "date":
		return in.Date
	case "mode":
		return in.Mode
	case "sbp":
		return in.SBP.String()
	case "dbp":
		return in.DBP.String()
	case "heart_rate":
		return in.HeartRate.String()
	case "fpg":
		return in.FPG.String()
	case "temperature":
		return in.Temperature.String()
	case "weight":
		return in.Weight.String()
	case "height":
		return in.Height.String()
	case "adherence":
		return in.Adherence
	case "adverse":
		return flag(in.Adverse)
	case "adverse_uncontrollable":
		return flag(in.AdverseUncontrollable)
	case "complication":
		return flag(in.Complication)
	case "pregnant":
		return flag(in.Pregnant)
	case "risk_level":
		return in.RiskLevel.String()
	case "insight":
		return flag(in.Insight)
	case "symptomatic":
		return flag(in.Symptomatic)
	case "doses_due":
		return in.DosesDue.String()
	case "doses_missed":
		return in.DosesMissed.String()
	}
	return ""
}

func (s *Server) apiChronicVisit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiVisitIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, fs := visitFrom(in.get, func(string) []string { return in.Symptoms })
	if err := care.Invalid(fs); err != nil {
		return err
	}
	sv, err := s.Chronic.RecordVisit(r.Context(), rc.Actor, id, v, in.Lifestyle, in.Confirm)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiVisit(sv))
	return nil
}

func (s *Server) apiChronicOverdue(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Chronic.Overdue(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		o := &list[i]
		out = append(out, map[string]any{"registration": apiRegistration(&o.Registration), "name": o.Name, "phone": o.Phone, "days_overdue": o.DaysOverdue})
	}
	writeJSON(w, http.StatusOK, map[string]any{"overdue": out})
	return nil
}

func (s *Server) apiChronicRemind(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	res, err := s.Chronic.SendReminders(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"overdue": res.Overdue, "queued": res.Queued, "no_phone": res.NoPhone, "limited": res.Limited})
	return nil
}

func (s *Server) apiChronicCall(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Outcome string `json:"outcome"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Chronic.RecordCall(r.Context(), rc.Actor, id, in.Outcome)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "outcome": c.Outcome, "hide_until": c.HideUntil.String()})
	return nil
}

func (s *Server) apiChronicIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := periodFrom(r, care.Today(s.Now()))
	if err != nil {
		return err
	}
	rep, err := s.Chronic.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	rate := func(x chronic.Rate) map[string]any {
		return map[string]any{"numerator": x.Num, "denominator": x.Den, "basis_points": x.BP()}
	}
	units := make([]map[string]any, 0, len(rep.Units))
	for _, u := range rep.Units {
		ds := map[string]any{}
		for d, c := range u.Cells {
			m := map[string]any{"managed": c.Managed, "standardised": rate(c.Standardised)}
			if d.HasControlRate() {
				m["controlled"], m["health_managed"] = rate(c.Controlled), rate(c.HealthManaged)
				hm := rate(c.HealthManaged)
				if c.PrevalenceBP > 0 {
					// The denominator's derivation: max(estimate, managed).
					hm["estimated_patients"], hm["prevalence_basis_points"], hm["estimate_raised_to_managed"] = c.Estimated, c.PrevalenceBP, c.EstimateRaised()
				}
				m["health_managed"] = hm
			}
			if d == chronic.Tuberculosis {
				m["regular_doses"] = rate(c.RegularDoses)
			}
			ds[string(d)] = m
		}
		units = append(units, map[string]any{"institution_id": u.Unit.ID, "name": u.Unit.Name, "kind": u.Unit.Kind, "adults": u.Adults, "adults_min_age": u.AdultsFrom, "diseases": ds})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.String(), "to": to.String(), "units": units})
	return nil
}
