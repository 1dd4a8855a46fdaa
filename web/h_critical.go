package web

import (
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/critical"
)

// criticalRow is an alert as shown.
type criticalRow struct {
	critical.Alert
	WaitMinutes int    // open: minutes since raised; acknowledged: minutes to acknowledge
	SMSText     string // what became of its text messages
}

// criticalPage is the data of the alert page: the actor's alerts, open
// ones first.
func (s *Server) criticalPage(r *http.Request, rc *reqCtx) (pageData, error) {
	als, err := s.Critical.List(r.Context(), rc.Actor, false)
	if err != nil {
		return pageData{}, err
	}
	now := s.Now()
	var open, done []criticalRow
	for _, al := range als {
		d := now.Sub(al.RaisedAt)
		if !al.Open() {
			d = al.AckDuration()
		}
		row := criticalRow{Alert: al, WaitMinutes: int(max(d, 0) / time.Minute), SMSText: s.msgs.T(rc.Lang, "critical.sms_none")}
		if m := al.SMS; m.Messages > 0 {
			row.SMSText = s.msgs.T(rc.Lang, "critical.sms", m.Messages, m.Delivered, m.Failed, m.Pending())
		}
		if al.Open() {
			open = append(open, row)
		} else {
			done = append(done, row)
		}
	}
	return pageData{Title: s.msgs.T(rc.Lang, "critical.title"), Data: map[string]any{"Open": open, "Done": done}}, nil
}

// criticalList is GET /critical: the alerts the doctor's institution is
// alerted for, open first, with what became of their text messages.
func (s *Server) criticalList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.criticalPage(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "critical", d)
	return nil
}

// criticalAck is POST /critical/{id}/ack with the read-back note.
func (s *Server) criticalAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Critical.Acknowledge(r.Context(), rc.Actor, id, r.PostFormValue("note")); err != nil {
		if care.IsCode(err, care.EINVALID) || care.IsCode(err, care.ECONFLICT) {
			d, lerr := s.criticalPage(r, rc)
			if lerr != nil {
				return lerr
			}
			d.Data.(map[string]any)["Failed"] = id
			return s.formError(w, r, rc, "critical", d, err)
		}
		return err
	}
	http.Redirect(w, r, "/critical?ok=critical_acked", http.StatusSeeOther)
	return nil
}

// indicatorPeriod reads from/to (dates, China time) with the last 30 days
// as the default.
func (s *Server) indicatorPeriod(r *http.Request) (time.Time, time.Time, error) {
	to := care.Today(s.Now()).Time().AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -30)
	if v := r.URL.Query().Get("from"); v != "" {
		d, err := care.ParseDate(v)
		if err != nil {
			return from, to, care.Invalid([]care.FieldError{{Field: "from", Key: "critical.date"}})
		}
		from = d.Time()
	}
	if v := r.URL.Query().Get("to"); v != "" {
		d, err := care.ParseDate(v)
		if err != nil {
			return from, to, care.Invalid([]care.FieldError{{Field: "to", Key: "critical.date"}})
		}
		to = d.Time().AddDate(0, 0, 1)
	}
	// Dates are China days: shift the UTC midnights by 8 hours.
	return from.Add(-8 * time.Hour), to.Add(-8 * time.Hour), nil
}

func minutes(d time.Duration) string { return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) }

// criticalIndicators is GET /critical/indicators.
func (s *Server) criticalIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.indicatorPeriod(r)
	if err != nil {
		return err
	}
	ind, err := s.Critical.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "critical_indicators", pageData{Title: s.msgs.T(rc.Lang, "critical.indicators"), Data: map[string]any{
		"I": ind, "Median": minutes(ind.Median), "P90": minutes(ind.P90),
		"From": from.In(care.Shanghai).Format(time.DateOnly), "To": to.Add(-time.Second).In(care.Shanghai).Format(time.DateOnly)}})
	return nil
}

// apiAlert is the JSON form of an alert.
type apiAlert struct {
	ID          int64      `json:"id"`
	SourceKind  string     `json:"source_kind"`
	SourceID    int64      `json:"source_id"`
	ResidentID  int64      `json:"resident_id"`
	Resident    string     `json:"resident_name"`
	ClinicID    int64      `json:"clinic_id"`
	OrderedBy   int64      `json:"ordered_by"`
	Finding     string     `json:"finding"`
	Value       string     `json:"value"`
	RaisedAt    time.Time  `json:"raised_at"`
	AckAt       *time.Time `json:"acknowledged_at"`
	AckBy       int64      `json:"acknowledged_by,omitempty"`
	AckNote     string     `json:"read_back,omitempty"`
	Level       int        `json:"escalation_level"`
	EscalatedAt *time.Time `json:"escalated_at"`
	NextDueAt   *time.Time `json:"next_escalation_at"`
	SMS         apiSMS     `json:"sms"`
}

// apiSMS counts an alert's text messages by what became of them.
type apiSMS struct {
	Messages  int `json:"messages"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Pending   int `json:"pending"`
}

func toAPISMS(d critical.Delivery) apiSMS {
	return apiSMS{Messages: d.Messages, Delivered: d.Delivered, Failed: d.Failed, Pending: d.Pending()}
}

func toAPIAlert(al *critical.Alert) apiAlert {
	return apiAlert{ID: al.ID, SourceKind: al.SourceKind, SourceID: al.SourceID, ResidentID: al.ResidentID, Resident: al.ResidentName,
		ClinicID: al.ClinicID, OrderedBy: al.OrderedBy, Finding: al.Finding, Value: al.Value, RaisedAt: al.RaisedAt, AckAt: optTime(al.AckAt),
		AckBy: al.AckBy, AckNote: al.AckNote, Level: al.Level, EscalatedAt: optTime(al.EscalatedAt), NextDueAt: optTime(al.NextDueAt), SMS: toAPISMS(al.SMS)}
}

// apiCriticalList: GET /api/v1/critical-alerts[?open=1].
func (s *Server) apiCriticalList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	als, err := s.Critical.List(r.Context(), rc.Actor, r.URL.Query().Get("open") == "1")
	if err != nil {
		return err
	}
	out := make([]apiAlert, len(als))
	for i := range als {
		out[i] = toAPIAlert(&als[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	return nil
}

// apiCriticalGet: GET /api/v1/critical-alerts/{id}.
func (s *Server) apiCriticalGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	al, err := s.Critical.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIAlert(al))
	return nil
}

// apiCriticalAck: POST /api/v1/critical-alerts/{id}/ack with {"read_back": "…"}.
func (s *Server) apiCriticalAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		ReadBack string `json:"read_back"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	al, err := s.Critical.Acknowledge(r.Context(), rc.Actor, id, in.ReadBack)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIAlert(al))
	return nil
}

// apiCriticalIndicators: GET /api/v1/critical-alerts/indicators[?from=&to=].
func (s *Server) apiCriticalIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.indicatorPeriod(r)
	if err != nil {
		return err
	}
	ind, err := s.Critical.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "raised": ind.Raised, "acknowledged": ind.Acknowledged, "open": ind.Open,
		"escalated": ind.Escalated, "ack_median_seconds": ind.Median.Seconds(), "ack_p90_seconds": ind.P90.Seconds(),
		"sms": toAPISMS(ind.SMS), "sms_unreached_alerts": ind.SMSUnreached})
	return nil
}
