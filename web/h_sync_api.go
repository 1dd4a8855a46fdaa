package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
	"countycare/screening"
	"countycare/villagesync"
)

// The village app's sync (docs/village-app.md). Field names are short:
// the first pull of a village of 1,250 residents goes over a slow mobile
// link (and is gzipped by the server's compressor).

// syncResidentOut is a resident as the device holds it: the masked ID
// number only (the phone never holds full ID numbers).
type syncResidentOut struct {
	ID           int64  `json:"i"`
	Name         string `json:"n"`
	RecordNumber string `json:"rn"`
	MaskedID     string `json:"id,omitempty"`
	Sex          string `json:"x"`
	Birth        string `json:"b"`
	Phone        string `json:"p,omitempty"`
	Address      string `json:"a,omitempty"`
	Household    int64  `json:"h,omitempty"`
	Relation     string `json:"rl,omitempty"`
	Poverty      string `json:"pv,omitempty"`
	Disability   int    `json:"dg,omitempty"`
	EDD          string `json:"e,omitempty"`
	Status       string `json:"s,omitempty"` // omitted when active
	MergedInto   int64  `json:"m,omitempty"`
	Version      int    `json:"v"`
}

func syncResident(r *resident.Resident) syncResidentOut {
	out := syncResidentOut{ID: r.ID, Name: r.Name, RecordNumber: r.RecordNumber, MaskedID: r.MaskedIDNumber(), Sex: string(r.Sex), Birth: r.BirthDate.String(),
		Phone: r.Phone, Address: r.Address, Household: r.HouseholdID, Relation: string(r.Relation), Poverty: string(r.Poverty), Disability: r.DisabilityGrade,
		EDD: r.PregnancyEDD.String(), MergedInto: r.MergedInto, Version: r.Version}
	if r.Status != resident.StatusActive {
		out.Status = string(r.Status)
	}
	return out
}

type syncRegistrationOut struct {
	ID        int64  `json:"i"`
	Resident  int64  `json:"r"`
	Disease   string `json:"d"`
	Tier      string `json:"t"`
	LastClass string `json:"lc,omitempty"`
	LastVisit string `json:"lv,omitempty"`
	NextVisit string `json:"nv"`
}

type syncVisitOut struct {
	ID     int64    `json:"i"`
	Reg    int64    `json:"g"`
	Date   string   `json:"d"`
	Phone  bool     `json:"ph,omitempty"` // by phone (default face to face)
	SBP    int      `json:"s,omitempty"`
	DBP    int      `json:"b,omitempty"`
	FPG    int      `json:"gl,omitempty"` // 0.1 mmol/L
	HR     int      `json:"hr,omitempty"`
	Class  string   `json:"c"`
	Urgent bool     `json:"u,omitempty"`
	Next   string   `json:"nv"`
	Sym    []string `json:"sy,omitempty"`
}

// syncUrgentRules are the urgent-transfer criteria the device applies the
// moment a follow-up is entered offline: chronic.Config's thresholds, and
// the symptoms each disease's rule counts, found by asking the rule itself
// (chronic.UrgentHypertension, chronic.UrgentDiabetes) so there is no
// second list to keep in step.
type syncUrgentRules struct {
	UrgentSBP         int      `json:"sbp"`
	UrgentDBP         int      `json:"dbp"`
	FPGHigh           int      `json:"gh"`
	FPGLow            int      `json:"gl"`
	HeartRate         int      `json:"hr"`
	TemperatureDC     int      `json:"tc"`
	TargetSBP         int      `json:"tsbp"`
	TargetDBP         int      `json:"tdbp"`
	FPGTarget         int      `json:"tgl"`
	HypertensionSigns []string `json:"hs"`
	DiabetesSigns     []string `json:"ds"`
	// Limits are the plausible ranges the form refuses values outside
	// (chronic.CheckVisit), so the device says so before queueing.
	Limits map[string][2]int `json:"lim"`
}

func urgentRules(c chronic.Config) syncUrgentRules {
	u := syncUrgentRules{UrgentSBP: c.UrgentSBP, UrgentDBP: c.UrgentDBP, FPGHigh: c.UrgentFPGHigh, FPGLow: c.UrgentFPGLow, HeartRate: c.UrgentHeartRate,
		TemperatureDC: c.UrgentTemperatureDC, TargetSBP: c.BPTargetSBP, TargetDBP: c.BPTargetDBP, FPGTarget: c.FPGTarget, HypertensionSigns: []string{}, DiabetesSigns: []string{},
		Limits: map[string][2]int{"sbp": {chronic.MinSBP, chronic.MaxSBP}, "dbp": {chronic.MinDBP, chronic.MaxDBP}, "fpg": {chronic.MinFPG, chronic.MaxFPG},
			"heart_rate": {chronic.MinHR, chronic.MaxHR}}}
	for _, s := range allSymptoms {
		v := chronic.Visit{Symptoms: []chronic.Symptom{s}}
		if len(chronic.UrgentHypertension(&v, c)) > 0 {
			u.HypertensionSigns = append(u.HypertensionSigns, string(s))
		}
		if len(chronic.UrgentDiabetes(&v, c)) > 0 {
			u.DiabetesSigns = append(u.DiabetesSigns, string(s))
		}
	}
	return u
}

// allSymptoms are the symptoms of the national follow-up forms, in the form's order.
var allSymptoms = []chronic.Symptom{chronic.SymConsciousness, chronic.SymSevereHeadache, chronic.SymNauseaVomiting, chronic.SymBlurredVision,
	chronic.SymEyePain, chronic.SymPalpitations, chronic.SymChestTightness, chronic.SymOrthopnoea, chronic.SymFruityBreath, chronic.SymSweating,
	chronic.SymDeepBreathing, chronic.SymFlushedSkin, chronic.SymSuddenVisionLoss, chronic.SymPolyuria, chronic.SymNumbness, chronic.SymOedema}

type syncOverdueOut struct {
	Reg  int64 `json:"g"`
	Days int   `json:"n"`
}

type syncPullOut struct {
	Cursor        string                `json:"c"`
	Full          bool                  `json:"f,omitempty"`
	Clinic        int64                 `json:"cl"`
	Today         string                `json:"t"`
	ServerTime    time.Time             `json:"now"`
	WipeAfter     int64                 `json:"w"`            // seconds without contact before the device wipes its data
	ClockSkew     int64                 `json:"sk,omitempty"` // seconds the device's clock is ahead (negative: behind)
	Residents     []syncResidentOut     `json:"r"`
	LiveIDs       []int64               `json:"ids,omitempty"`
	Registrations []syncRegistrationOut `json:"g"`
	Visits        []syncVisitOut        `json:"v"`
	Overdue       []syncOverdueOut      `json:"o"`
	Urgent        syncUrgentRules       `json:"u"`
	Campaigns     []syncCampaignOut     `json:"sc,omitempty"`
	Screen        *syncScreenRules      `json:"sr,omitempty"` // with campaigns only
}

// syncCampaignOut is an open screening campaign of the village with the
// residents still to be screened in it.
type syncCampaignOut struct {
	ID       int64    `json:"i"`
	Name     string   `json:"n"`
	Diseases []string `json:"d"`
	MinAge   int      `json:"a"`
	Starts   string   `json:"s"`
	Ends     string   `json:"e"`
	ToScreen []int64  `json:"td"`
}

// syncScreenRules are the limits of a screening measurement
// (screening.checkMeasurement's, from its constants), so the phone names
// an impossible value before queueing it; the server checks again.
type syncScreenRules struct {
	Limits map[string][2]int `json:"lim"`
}

var screenRules = &syncScreenRules{Limits: map[string][2]int{"sbp": {screening.MinSBP, screening.MaxSBP}, "dbp": {screening.MinDBP, screening.MaxDBP},
	"glucose": {screening.MinGlucose, screening.MaxGlucose}, "meal_hours": {0, screening.MaxMealHours}, "cough_days": {0, screening.MaxCoughDays}}}

// apiSyncPull is GET /api/v1/sync/pull?since=TOKEN&now=DEVICE_TIME.
func (s *Server) apiSyncPull(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	var deviceNow time.Time
	if t := q.Get("now"); t != "" {
		var err error
		if deviceNow, err = time.Parse(time.RFC3339, t); err != nil {
			return care.Invalid([]care.FieldError{{Field: "now", Key: "sync.device_time_invalid"}})
		}
	}
	if s.Sync == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	p, err := s.Sync.Pull(r.Context(), rc.Actor, q.Get("since"), deviceNow)
	if err != nil {
		return err
	}
	out := syncPullOut{Cursor: p.Cursor.String(), Full: p.Full, Clinic: p.ClinicID, Today: p.Today.String(), ServerTime: p.Cursor.At.UTC(),
		WipeAfter: int64(s.Sync.Config.WipeAfter / time.Second), ClockSkew: int64(p.ClockSkew / time.Second), LiveIDs: p.LiveIDs,
		Residents: make([]syncResidentOut, len(p.Residents)), Registrations: make([]syncRegistrationOut, len(p.Registrations)),
		Visits: make([]syncVisitOut, len(p.Visits)), Overdue: make([]syncOverdueOut, len(p.Overdue)), Urgent: urgentRules(s.Chronic.Config)}
	for i := range p.Residents {
		out.Residents[i] = syncResident(&p.Residents[i])
	}
	for i, g := range p.Registrations {
		out.Registrations[i] = syncRegistrationOut{ID: g.ID, Resident: g.ResidentID, Disease: string(g.Disease), Tier: string(g.Tier), LastClass: string(g.LastClass),
			LastVisit: g.LastVisit.String(), NextVisit: g.NextVisit.String()}
	}
	for i := range p.Visits {
		v := &p.Visits[i]
		out.Visits[i] = syncVisitOut{ID: v.ID, Reg: v.RegistrationID, Date: v.Date.String(), Phone: !v.FaceToFace, SBP: v.SBP, DBP: v.DBP, FPG: v.FPG, HR: v.HeartRate,
			Class: string(v.Outcome.Class), Urgent: len(v.Outcome.Urgent) > 0, Next: v.Outcome.NextVisit.String()}
		for _, sy := range v.Symptoms {
			out.Visits[i].Sym = append(out.Visits[i].Sym, string(sy))
		}
	}
	for i, o := range p.Overdue {
		out.Overdue[i] = syncOverdueOut{Reg: o.ID, Days: o.DaysOverdue}
	}
	for _, w := range p.Campaigns {
		c := syncCampaignOut{ID: w.Campaign.ID, Name: w.Campaign.Name, MinAge: w.Campaign.MinAge, Starts: w.Campaign.StartsOn.String(),
			Ends: w.Campaign.EndsOn.String(), ToScreen: nonNil(w.ToScreen)}
		for _, d := range w.Campaign.Diseases {
			c.Diseases = append(c.Diseases, string(d))
		}
		out.Campaigns, out.Screen = append(out.Campaigns, c), screenRules
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Push wire format: {"now": device time, "changes": [{"id": UUID, "k": kind, "d": record}]}.
type syncPushIn struct {
	Now     string         `json:"now"`
	Changes []syncChangeIn `json:"changes"`
}

type syncChangeIn struct {
	ID   string          `json:"id"`
	Kind string          `json:"k"`
	Data json.RawMessage `json:"d"`
}

type syncFollowUpIn struct {
	RegistrationID  int64      `json:"registration_id"`
	RegistrationRef string     `json:"registration_ref"` // the client ID of an enrolment made offline
	Visit           apiVisitIn `json:"visit"`
}

type syncEnrolIn struct {
	ResidentID  int64  `json:"resident_id"`
	ResidentRef string `json:"resident_ref"` // the client ID of a registration made offline
	Disease     string `json:"disease"`
	Source      string `json:"source"`
	EnrolledOn  string `json:"enrolled_on"`
}

// syncScreeningIn is a screening measurement: the API's fields
// (POST /api/v1/screening/campaigns/{id}/measurements) with the campaign.
type syncScreeningIn struct {
	CampaignID  int64  `json:"campaign_id"`
	ResidentRef string `json:"resident_ref"` // the client ID of a registration made offline
	apiScreeningIn
}

type syncCallIn struct {
	RegistrationID int64  `json:"registration_id"`
	Outcome        string `json:"outcome"`
}

type syncContactIn struct {
	ResidentID  int64  `json:"resident_id"`
	Phone       string `json:"phone"`
	Address     string `json:"address"`
	BasePhone   string `json:"base_phone"`
	BaseAddress string `json:"base_address"`
}

type syncServiceIn struct {
	ResidentID  int64  `json:"resident_id"`
	ResidentRef string `json:"resident_ref"` // the client ID of a registration made offline
	Kind        string `json:"kind"`
	Date        string `json:"date"`
	Note        string `json:"note"`
}

// syncSuspectOut is a suspected case a screening routed to the township:
// the disease's name in the doctor's language, the day it is due.
type syncSuspectOut struct {
	Disease string `json:"d"`
	Name    string `json:"n"`
	Due     string `json:"due"`
}

type syncFieldOut struct {
	Field   string `json:"f"`
	Message string `json:"m"`
}

type syncResultOut struct {
	ID       string           `json:"id"`
	Status   string           `json:"s"`
	Reason   string           `json:"why,omitempty"`
	Message  string           `json:"m,omitempty"`
	Fields   []syncFieldOut   `json:"fields,omitempty"`
	ServerID int64            `json:"sid,omitempty"`
	Redirect int64            `json:"to,omitempty"`
	Urgent   []string         `json:"u,omitempty"`
	Suspect  []syncSuspectOut `json:"sus,omitempty"`
	Replayed bool             `json:"rp,omitempty"`
	Resident *syncResidentOut `json:"r,omitempty"`
}

// syncChange decodes one record of a batch; a record that cannot be read
// becomes a change with its faults (refused as malformed), so one bad
// record never stops the others.
func syncChange(r *http.Request, in syncChangeIn) villagesync.Change {
	c := villagesync.Change{ClientID: in.ID, Kind: villagesync.Kind(in.Kind), Hash: villagesync.Hash(append([]byte(in.Kind+"\x00"), in.Data...))}
	fault := func(err error) {
		if ce, ok := err.(*care.Error); ok && len(ce.Fields) > 0 {
			c.Fault = ce.Fields
		} else if ok {
			c.Fault = []care.FieldError{{Field: "d", Key: ce.Key, Args: ce.Args}}
		} else {
			c.Fault = []care.FieldError{{Field: "d", Key: "error.bad_json"}}
		}
	}
	if len(in.Data) == 0 && in.Kind != "" {
		c.Fault = []care.FieldError{{Field: "d", Key: "field.required"}}
		return c
	}
	switch c.Kind {
	case villagesync.KindRegister:
		// The API's registration; its village is always the doctor's clinic (villagesync).
		var d apiResidentIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		in := d.input()
		c.Register = &in
	case villagesync.KindFollowUp:
		var d syncFollowUpIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		v, fs := visitFrom(d.Visit.get, func(string) []string { return d.Visit.Symptoms })
		if len(fs) > 0 {
			c.Fault = fs
			return c
		}
		c.FollowUp = &villagesync.FollowUp{RegistrationID: d.RegistrationID, RegistrationRef: villagesync.Ref(d.RegistrationRef), Visit: v, Lifestyle: d.Visit.Lifestyle, Confirmed: d.Visit.Confirm}
	case villagesync.KindCall:
		var d syncCallIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		c.Call = &villagesync.Call{RegistrationID: d.RegistrationID, Outcome: d.Outcome}
	case villagesync.KindService:
		var d syncServiceIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		on, err := care.ParseDate(strings.TrimSpace(d.Date))
		if err != nil {
			c.Fault = []care.FieldError{{Field: "date", Key: "field.date"}}
			return c
		}
		c.FamilyService = &villagesync.FamilyService{ResidentID: d.ResidentID, ResidentRef: villagesync.Ref(d.ResidentRef), Kind: d.Kind, Date: on, Note: d.Note}
	case villagesync.KindEnrol:
		var d syncEnrolIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		on, err := care.ParseDate(strings.TrimSpace(d.EnrolledOn))
		if err != nil {
			c.Fault = []care.FieldError{{Field: "enrolled_on", Key: "field.date"}}
			return c
		}
		c.Enrol = &villagesync.Enrol{ResidentID: d.ResidentID, ResidentRef: villagesync.Ref(d.ResidentRef), Disease: chronic.Disease(d.Disease), Source: d.Source, On: on}
	case villagesync.KindScreening:
		var d syncScreeningIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		c.Screening = &villagesync.Screening{CampaignID: d.CampaignID, ResidentID: d.ResidentID, ResidentRef: villagesync.Ref(d.ResidentRef), Measure: d.input()}
	case villagesync.KindContact:
		var d syncContactIn
		if err := decodeJSONBytes(r, in.Data, &d); err != nil {
			fault(err)
			return c
		}
		c.Contact = &villagesync.Contact{ResidentID: d.ResidentID, Phone: strings.TrimSpace(d.Phone), Address: strings.TrimSpace(d.Address),
			BasePhone: d.BasePhone, BaseAdr: d.BaseAddress}
	}
	return c
}

// apiSyncPush is POST /api/v1/sync/push: a batch of changes recorded on a
// device, answered per record.
func (s *Server) apiSyncPush(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if s.Sync == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	var in syncPushIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	changes := make([]villagesync.Change, len(in.Changes))
	for i, c := range in.Changes {
		changes[i] = syncChange(r, c)
	}
	res, err := s.Sync.Push(r.Context(), rc.Actor, changes)
	if err != nil {
		return err
	}
	out := make([]syncResultOut, len(res))
	for i := range res {
		out[i] = s.syncResult(rc.Lang, &res[i])
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

func (s *Server) syncResult(lang string, x *villagesync.Result) syncResultOut {
	o := syncResultOut{ID: x.ClientID, Status: string(x.Status), Reason: x.Reason, ServerID: x.ServerID, Redirect: x.RedirectTo, Replayed: x.Replayed}
	if x.Key != "" {
		o.Message = s.msgs.T(lang, x.Key, x.Args...)
	}
	for _, f := range x.Fields {
		o.Fields = append(o.Fields, syncFieldOut{Field: f.Field, Message: s.msgs.T(lang, f.Key, f.Args...)})
	}
	for _, u := range x.Urgent {
		o.Urgent = append(o.Urgent, s.msgs.T(lang, urgentKey(u)))
	}
	for _, c := range x.Suspected {
		o.Suspect = append(o.Suspect, syncSuspectOut{Disease: string(c.Disease), Name: s.msgs.T(lang, "screening.disease."+string(c.Disease)), Due: c.DueOn.String()})
	}
	if x.Resident != nil {
		r := syncResident(x.Resident)
		o.Resident = &r
	}
	return o
}

// urgentKey is the catalogue key of an urgent-transfer reason: a symptom
// reason reads as the symptom's name.
func urgentKey(k string) string {
	if sym, ok := strings.CutPrefix(k, "chronic.urgent.symptom."); ok {
		return "chronic.symptom." + sym
	}
	return k
}
