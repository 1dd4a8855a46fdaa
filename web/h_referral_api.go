package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/referral"
)

// Wire types of the referral API (version 1), kept apart from the domain.
type apiReferralOut struct {
	ID             int64      `json:"id"`
	Direction      string     `json:"direction"`
	Status         string     `json:"status"`
	ResidentID     int64      `json:"resident_id"`
	ResidentName   string     `json:"resident_name,omitempty"`
	Urgency        string     `json:"urgency"`
	GreenChannel   bool       `json:"green_channel"`
	Reasons        []string   `json:"reasons"`
	Summary        string     `json:"summary"`
	FromInst       int64      `json:"from_institution"`
	ToInst         int64      `json:"to_institution"`
	ToDept         int64      `json:"to_department,omitempty"`
	OutOfCounty    bool       `json:"out_of_county"`
	BedRequested   bool       `json:"bed_requested"`
	RequestedAt    *time.Time `json:"requested_at,omitempty"`
	Appointment    *time.Time `json:"appointment,omitempty"`
	Bed            string     `json:"bed,omitempty"`
	Diagnosis      string     `json:"diagnosis,omitempty"`
	DiagnosisText  string     `json:"diagnosis_text,omitempty"`
	Plan           string     `json:"plan,omitempty"`
	UpReferralID   int64      `json:"up_referral_id,omitempty"`
	RedirectedFrom int64      `json:"redirected_from,omitempty"`
	ConsultationID int64      `json:"consultation_id,omitempty"`
	Note           string     `json:"note,omitempty"`
	SentAt         time.Time  `json:"sent_at"`
	AcceptedAt     *time.Time `json:"accepted_at,omitempty"`
	ArrivedAt      *time.Time `json:"arrived_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	Tasks          []apiTask  `json:"tasks,omitempty"`
}

type apiTask struct {
	Kind string `json:"kind"`
	Due  string `json:"due"`
	Note string `json:"note,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func apiReferral(r *referral.Referral, tasks []referral.Task) apiReferralOut {
	out := apiReferralOut{ID: r.ID, Direction: string(r.Direction), Status: string(r.Status), ResidentID: r.ResidentID, ResidentName: r.ResidentName,
		Urgency: string(r.Urgency), GreenChannel: r.GreenChannel, Reasons: []string{}, Summary: r.Summary, FromInst: r.FromInst, ToInst: r.ToInst,
		ToDept: r.ToDept, OutOfCounty: r.OutOfCounty, BedRequested: r.BedRequested, RequestedAt: optTime(r.RequestedAt), Appointment: optTime(r.Appointment),
		Bed: r.Bed, Diagnosis: r.Diagnosis, DiagnosisText: r.DiagnosisText, Plan: r.Plan, UpReferralID: r.UpReferralID, RedirectedFrom: r.RedirectedFrom,
		ConsultationID: r.ConsultationID, Note: r.Note, SentAt: r.SentAt, AcceptedAt: optTime(r.AcceptedAt), ArrivedAt: optTime(r.ArrivedAt), ClosedAt: optTime(r.ClosedAt)}
	for _, x := range r.Reasons {
		out.Reasons = append(out.Reasons, string(x))
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, apiTask{Kind: string(t.Kind), Due: t.Due.String(), Note: t.Note})
	}
	return out
}

// apiReferralIn is an up-referral as JSON. The idempotency key comes from
// the Idempotency-Key header or the field.
type apiReferralIn struct {
	ResidentID     int64     `json:"resident_id"`
	Reasons        []string  `json:"reasons"`
	Summary        string    `json:"summary"`
	Urgency        string    `json:"urgency"`
	ToInst         int64     `json:"to_institution"`
	ToDept         int64     `json:"to_department"`
	RequestedAt    time.Time `json:"requested_at"`
	BedRequested   bool      `json:"bed_requested"`
	IdempotencyKey string    `json:"idempotency_key"`
}

func idemKey(r *http.Request, body string) string {
	if k := strings.TrimSpace(r.Header.Get("Idempotency-Key")); k != "" {
		return k
	}
	return body
}

func (s *Server) apiReferralCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiReferralIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := referral.Draft{ResidentID: in.ResidentID, Summary: in.Summary, Urgency: referral.Urgency(in.Urgency), ToInst: in.ToInst, ToDept: in.ToDept,
		RequestedAt: in.RequestedAt, BedRequested: in.BedRequested, IdempotencyKey: idemKey(r, in.IdempotencyKey)}
	for _, x := range in.Reasons {
		d.Reasons = append(d.Reasons, referral.Reason(x))
	}
	ref, err := s.Referral.Create(r.Context(), rc.Actor, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiReferral(ref, nil))
	return nil
}

type apiDownIn struct {
	ResidentID    int64  `json:"resident_id"`
	UpReferralID  int64  `json:"up_referral_id"`
	ToTownship    bool   `json:"to_township"`
	Summary       string `json:"summary"`
	Diagnosis     string `json:"diagnosis"`
	DiagnosisText string `json:"diagnosis_text"`
	Plan          string `json:"plan"`
	Tasks         []struct {
		Kind string `json:"kind"`
		Due  string `json:"due"`
		Note string `json:"note"`
	} `json:"tasks"`
	IdempotencyKey string `json:"idempotency_key"`
}

func (s *Server) apiReferralDown(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiDownIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := referral.DownDraft{ResidentID: in.ResidentID, UpReferralID: in.UpReferralID, ToTownship: in.ToTownship, Summary: in.Summary, Diagnosis: in.Diagnosis,
		DiagnosisText: in.DiagnosisText, Plan: in.Plan, IdempotencyKey: idemKey(r, in.IdempotencyKey)}
	if d.ResidentID == 0 && d.UpReferralID != 0 {
		up, err := s.Referral.Get(r.Context(), rc.Actor, d.UpReferralID)
		if err != nil {
			return err
		}
		d.ResidentID = up.Referral.ResidentID
	}
	var fs []care.FieldError
	for i, t := range in.Tasks {
		due, err := care.ParseDate(t.Due)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "tasks." + strconv.Itoa(i), Key: "field.date"})
		}
		d.Tasks = append(d.Tasks, referral.TaskInput{Kind: referral.TaskKind(t.Kind), Due: due, Note: t.Note})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	ref, err := s.Referral.CreateDown(r.Context(), rc.Actor, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiReferral(ref, nil))
	return nil
}

func (s *Server) apiReferrals(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	box := referral.Box(q.Get("box"))
	if box == "" {
		box = referral.BoxSent
	}
	dept := queryID(r, "dept")
	items, err := s.Referral.List(r.Context(), rc.Actor, box, q.Get("open") != "0", dept)
	if err != nil {
		return err
	}
	out := make([]apiReferralOut, 0, len(items))
	for i := range items {
		out = append(out, apiReferral(&items[i].Referral, items[i].Tasks))
	}
	writeJSON(w, http.StatusOK, map[string]any{"referrals": out})
	return nil
}

func (s *Server) apiReferralGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Referral.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	evs := make([]map[string]any, 0, len(d.Events))
	for _, e := range d.Events {
		evs = append(evs, map[string]any{"action": e.Action, "from": e.From, "to": e.To, "note": e.Note, "at": e.At})
	}
	acts := make([]string, 0, len(d.Actions))
	for _, a := range d.Actions {
		acts = append(acts, string(a))
	}
	rel := make([]int64, 0, len(d.Related))
	for _, x := range d.Related {
		rel = append(rel, x.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"referral": apiReferral(d.Referral, d.Tasks), "events": evs, "actions": acts, "related": rel})
	return nil
}

func (s *Server) apiReferralAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	act, ok := referralActions[r.PathValue("action")]
	if !ok {
		return notFound()
	}
	var in struct {
		Note        string    `json:"note"`
		Appointment time.Time `json:"appointment"`
		Bed         string    `json:"bed"`
		ToInst      int64     `json:"to_institution"`
		ToDept      int64     `json:"to_department"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	ref, err := s.Referral.Act(r.Context(), rc.Actor, id, act, referral.Step{Note: in.Note, Appointment: in.Appointment, Bed: in.Bed, ToInst: in.ToInst, ToDept: in.ToDept})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiReferral(ref, nil))
	return nil
}

func (s *Server) apiReferralIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, err1 := care.ParseDate(r.URL.Query().Get("from"))
	to, err2 := care.ParseDate(r.URL.Query().Get("to"))
	if err1 != nil || err2 != nil {
		return care.Invalid([]care.FieldError{{Field: "from", Key: "field.date"}})
	}
	rep, err := s.Referral.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	rate := func(x referral.Rate) map[string]int { return map[string]int{"num": x.Num, "den": x.Den, "bp": x.BP()} }
	units := make([]map[string]any, 0, len(rep.Units))
	for _, u := range rep.Units {
		i := u.Ind
		units = append(units, map[string]any{"institution_id": u.Unit.ID, "name": u.Unit.Name, "depth": u.Depth,
			"sent": map[string]int{"up": i.Sent[referral.Up], "down": i.Sent[referral.Down]}, "by_status": i.Counts,
			"completion": rate(i.Completion), "up_completion": rate(i.UpCompletion), "down_completion": rate(i.DownCompletion),
			"arrived": i.Arrived, "median_arrival_hours": i.MedianArrival.Hours(), "p90_arrival_hours": i.P90Arrival.Hours(),
			"out_of_county": rate(i.OutOfCounty), "out_of_county_poverty": rate(i.OutOfCountyPoor), "visits": i.Visits,
			"in_county_visits": rate(i.InCounty), "primary_visits": rate(i.Primary), "out_of_county_inpatient": rate(i.OutOfCountyInpatient)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": rep.From.String(), "to": rep.To.String(), "units": units})
	return nil
}
