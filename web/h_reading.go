package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/ecg"
	"countycare/reading"
)

// Reading workflow pages and API: the worklist per center and modality,
// a study with claim/assign/release, the structured report and addenda,
// the clinic's returned reports and the indicators.

// readingModalities are the worklist's modality groups.
var readingModalities = []string{"ECG", "DR", "CT", "MR", "US", "FHM", "FUNDUS", "SKIN", "OT"}

// readingRow is a worklist row as shown.
type readingRow struct {
	reading.Study
	Breached    bool
	DueBy       time.Time // the report deadline (not the next reminder)
	WaitMin     int
	DueInMin    int // negative: overdue by
	ClaimedByMe bool
}

type readingWorklistView struct {
	Modality   string
	Modalities []string
	Rows       []readingRow
}

func (s *Server) readingRows(sts []reading.Study, me int64) []readingRow {
	now := s.Now()
	rows := make([]readingRow, len(sts))
	for i, st := range sts {
		rows[i] = readingRow{Study: st, Breached: st.Breached(now), DueBy: st.Deadline(s.ReadFlow.Targets), WaitMin: int(max(now.Sub(st.UploadedAt), 0) / time.Minute),
			DueInMin: int(st.DueAt.Sub(now) / time.Minute), ClaimedByMe: st.ClaimedBy == me && me != 0}
	}
	return rows
}

func (s *Server) readingWorklist(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	mod := strings.ToUpper(r.URL.Query().Get("modality"))
	if mod != "" {
		mod = reading.TemplateModality(mod)
	}
	sts, err := s.ReadFlow.Worklist(r.Context(), rc.Actor, mod, 0)
	if err != nil {
		return err
	}
	v := &readingWorklistView{Modality: mod, Modalities: readingModalities, Rows: s.readingRows(sts, rc.Actor.AccountID)}
	s.render(w, r, rc, http.StatusOK, "reading_worklist", pageData{Title: s.msgs.T(rc.Lang, "reading.worklist_title"), Data: v})
	return nil
}

// readingField is a template field with its label and the value to show.
type readingField struct {
	reading.Field
	Label string
	Value string
}

type readingReportView struct {
	reading.Report
	Rows   []readingField
	SealOK bool
}

type readingStudyView struct {
	S        *reading.Study
	Deadline time.Time // the report deadline (报告时限)
	Next     time.Time // the next escalation reminder, once escalated
	Breached bool
	Reader   bool // the actor reads for the center
	Mine     bool // the actor holds the study
	Readers  []reading.Reader
	Form     []readingField // the report form (when Mine)
	Prefill  url.Values     // the form's values from the automatic pre-read (f_<field>)
	RRms     int            // the pre-read's median RR interval (ms), 0 if none
	Reports  []readingReportView
	// The study in its viewer beside the form (nil when it has none or it
	// cannot be shown: the links to the viewer pages remain).
	ECG   *reading.ECGView
	Image *reading.ImagingView
	// KeyImages are the imaging study's key images, shown with its report.
	KeyImages []keyImageView
}

// readingPrefill fills the report form from the automatic pre-read: an
// ECG's heart rate (the median RR interval is shown beside it) and, when
// the pre-read found something, its findings as the rhythm line; a fetal
// trace's baseline. The reader checks and corrects them before signing.
func (s *Server) readingPrefill(lang string, st *reading.Study, tpl *reading.Template) url.Values {
	has := map[string]bool{}
	for _, f := range tpl.Fields {
		has[f.Name] = true
	}
	v := url.Values{}
	if st.HeartRate <= 0 {
		return v
	}
	hr := strconv.Itoa(int(math.Round(st.HeartRate)))
	switch tpl.Modality {
	case "ECG":
		if has["rate"] {
			v.Set("f_rate", hr)
		}
		if has["rhythm"] && len(st.Findings) > 0 {
			var fs []string
			for _, f := range st.Findings {
				fs = append(fs, s.msgs.T(lang, "ecg.finding."+string(f)))
			}
			v.Set("f_rhythm", strings.Join(fs, "；"))
		}
	case "FHM":
		if has["baseline"] {
			v.Set("f_baseline", hr)
		}
	}
	return v
}

func (s *Server) readingStudyData(r *http.Request, rc *reqCtx, id int64) (*readingStudyView, error) {
	st, reps, err := s.ReadFlow.Study(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	v := &readingStudyView{S: st, Deadline: st.Deadline(s.ReadFlow.Targets), Breached: st.Breached(s.Now()), Reader: rc.Actor.Role == care.RoleReader,
		Mine: st.Status == reading.FlowClaimed && st.ClaimedBy == rc.Actor.AccountID}
	if st.Escalations > 0 && st.Status != reading.FlowReported {
		v.Next = st.DueAt
	}
	tpl := s.ReadFlow.Templates.For(st.Modality)
	if v.Reader && st.Status != reading.FlowReported {
		if v.Readers, err = s.ReadFlow.CenterReaders(r.Context(), rc.Actor); err != nil {
			return nil, err
		}
	}
	if v.Mine {
		for _, f := range tpl.Fields {
			v.Form = append(v.Form, readingField{Field: f, Label: f.Label(rc.Lang)})
		}
		v.Prefill = s.readingPrefill(rc.Lang, st, tpl)
		if st.Kind == reading.KindECG && st.HeartRate > 0 {
			v.RRms = int(math.Round(60000 / st.HeartRate))
		}
	}
	// The viewer beside the form: the ECG on its grid, or the study's first
	// image with the previous study of the same body part. Each is the
	// viewer's own read (scope checked, audited).
	if s.Viewer != nil {
		switch st.Kind {
		case reading.KindECG:
			if eid, err := strconv.ParseInt(st.SourceKey, 10, 64); err == nil {
				v.ECG, _ = s.Viewer.ECG(r.Context(), rc.Actor, eid)
			}
		case reading.KindImaging:
			if ins, err := s.Viewer.Repo.ImagingStudyInstances(r.Context(), st.County, st.ResidentID, st.SourceKey); err == nil && len(ins) > 0 {
				v.Image, _ = s.Viewer.Imaging(r.Context(), rc.Actor, ins[0].ID)
			}
			v.KeyImages = s.keyImageViews(r.Context(), rc, st)
		}
	}
	for _, rep := range reps {
		rv := readingReportView{Report: rep, SealOK: rep.SealOK()}
		if rep.Kind == reading.ReportAddendum {
			rv.Rows = []readingField{{Label: s.msgs.T(rc.Lang, "reading.addendum"), Value: rep.Fields["text"]}}
		} else {
			for _, f := range s.ReadFlow.Templates.For(rep.Template).Fields {
				if val := rep.Fields[f.Name]; val != "" {
					rv.Rows = append(rv.Rows, readingField{Field: f, Label: f.Label(rc.Lang), Value: val})
				}
			}
		}
		v.Reports = append(v.Reports, rv)
	}
	return v, nil
}

func (s *Server) readingStudy(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.readingStudyData(r, rc, id)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "reading.study_title", v.S.ID), Data: v, Form: v.Prefill}
	// The notice names what was done: a claim is not a save.
	if ok := r.URL.Query().Get("ok"); readingFlash[ok] {
		d.Flash = "reading.flash." + ok
	}
	s.render(w, r, rc, http.StatusOK, "reading_study", d)
	return nil
}

// readingFlash are the study page's notices after an action (?ok=…).
var readingFlash = map[string]bool{"claimed": true, "assigned": true, "signed": true, "addendum": true, "key_image": true}

// readingDraftFrom reads the report form: one input per template field
// ("f_<name>"), normal, critical, critical_text.
func readingDraftFrom(r *http.Request) reading.ReportDraft {
	d := reading.ReportDraft{Fields: map[string]string{}, Normal: r.PostFormValue("normal") == "1",
		Critical: r.PostFormValue("critical") == "1", CriticalText: r.PostFormValue("critical_text")}
	for k, vs := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "f_"); ok && len(vs) > 0 {
			d.Fields[name] = vs[0]
		}
	}
	return d
}

// readingAct: POST /reading/studies/{id}/{action} from the study page.
func (s *Server) readingAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return care.Errorf(care.EINVALID, "error.invalid")
	}
	ctx, a := r.Context(), rc.Actor
	next := "/reading/studies/" + strconv.FormatInt(id, 10) + "?ok="
	switch r.PathValue("action") {
	case "claim":
		_, err = s.ReadFlow.Claim(ctx, a, id)
		next += "claimed"
	case "release":
		_, err = s.ReadFlow.Release(ctx, a, id)
		next = "/reading/worklist"
	case "assign":
		var fs []care.FieldError
		to := formInt(r.PostFormValue("reader_id"), "reader_id", &fs)
		if err = care.Invalid(fs); err == nil {
			_, err = s.ReadFlow.Assign(ctx, a, id, to)
		}
		next += "assigned"
	case "report":
		_, _, err = s.ReadFlow.Sign(ctx, a, id, readingDraftFrom(r))
		next += "signed"
	case "key-image":
		err = s.saveKeyImage(r, rc, id)
		next += "key_image#key-images"
	case "addendum":
		_, err = s.ReadFlow.Addend(ctx, a, id, r.PostFormValue("text"), r.PostFormValue("critical") == "1", r.PostFormValue("critical_text"))
		next += "addendum"
	default:
		return notFound()
	}
	if err != nil {
		v, lerr := s.readingStudyData(r, rc, id)
		if lerr != nil {
			return lerr
		}
		return s.formError(w, r, rc, "reading_study", pageData{Title: s.msgs.T(rc.Lang, "reading.study_title", id), Data: v}, err)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) readingReturned(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	sts, err := s.ReadFlow.Returned(r.Context(), rc.Actor, 0)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "reading_returned", pageData{Title: s.msgs.T(rc.Lang, "reading.returned_title"), Data: sts})
	return nil
}

// readingPeriod reads from and to (YYYY-MM-DD, Shanghai days, to
// inclusive); the default is the last 30 days.
func (s *Server) readingPeriod(r *http.Request) (from, to time.Time, f, t string, err error) {
	q := r.URL.Query()
	today := s.Now().In(care.Shanghai)
	f, t = q.Get("from"), q.Get("to")
	if t == "" {
		t = today.Format(time.DateOnly)
	}
	if f == "" {
		f = today.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	var fs []care.FieldError
	from, e1 := time.ParseInLocation(time.DateOnly, f, care.Shanghai)
	if e1 != nil {
		fs = append(fs, care.FieldError{Field: "from", Key: "reading.period_invalid"})
	}
	end, e2 := time.ParseInLocation(time.DateOnly, t, care.Shanghai)
	if e2 != nil {
		fs = append(fs, care.FieldError{Field: "to", Key: "reading.period_invalid"})
	}
	return from, end.AddDate(0, 0, 1), f, t, care.Invalid(fs)
}

type readingIndicatorsView struct {
	From, To string
	I        *reading.Indicators
}

func (s *Server) readingIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, f, t, err := s.readingPeriod(r)
	v := &readingIndicatorsView{From: f, To: t}
	d := pageData{Title: s.msgs.T(rc.Lang, "reading.indicators_title"), Data: v}
	if err == nil {
		v.I, err = s.ReadFlow.Indicators(r.Context(), rc.Actor, from, to)
	}
	if err != nil {
		return s.formError(w, r, rc, "reading_indicators", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "reading_indicators", d)
	return nil
}

// JSON API.

func apiReadingStudy(st *reading.Study, now time.Time) map[string]any {
	findings := st.Findings
	if findings == nil {
		findings = []ecg.Finding{}
	}
	m := map[string]any{"id": st.ID, "kind": st.Kind, "source_key": st.SourceKey, "modality": st.Modality, "resident_id": st.ResidentID,
		"resident_name": st.ResidentName, "clinic_id": st.ClinicID, "clinic": st.ClinicName, "center_id": st.CenterID, "urgent": st.Urgent,
		"priority": st.Priority, "preread": st.PreRead, "findings": findings, "heart_rate": math.Round(st.HeartRate*10) / 10, "status": st.Status, "claimed_by": st.ClaimedBy, "claimed_name": st.ClaimedName,
		"uploaded_at": st.UploadedAt, "due_at": st.DueAt, "breached": st.Breached(now), "escalations": st.Escalations, "version": st.Version}
	if u := readingSourceURL(st); u != "" {
		m["source_url"] = u
	}
	if !st.ReportedAt.IsZero() {
		m["reported_at"] = st.ReportedAt
		m["turnaround_minutes"] = int(st.Turnaround() / time.Minute)
	}
	if st.Summary != "" {
		m["summary"] = st.Summary
		m["critical"] = st.Critical
	}
	return m
}

// readingSourceURL is the page or file a study's source is shown on: the
// photo (GET /photos/{id}), the fetal trace on CTG paper (GET /fetal/{id}),
// the ECG viewer (GET /ecg/studies/{id}) or, for imaging, the resident's
// studies with their image viewers (an imaging study has many instances).
func readingSourceURL(st *reading.Study) string {
	switch st.Kind {
	case reading.KindPhoto:
		return "/photos/" + st.SourceKey
	case reading.KindFetal:
		return "/fetal/" + st.SourceKey
	case reading.KindECG:
		return "/ecg/studies/" + st.SourceKey
	case reading.KindImaging:
		return fmt.Sprintf("/residents/%d/studies", st.ResidentID)
	}
	return ""
}

func apiReadingReport(r *reading.Report) map[string]any {
	return map[string]any{"id": r.ID, "kind": r.Kind, "parent_id": r.ParentID, "template": r.Template, "fields": r.Fields, "normal": r.Normal,
		"critical": r.Critical, "critical_text": r.CriticalText, "signed_by": r.SignedBy, "signer_name": r.SignerName, "signed_at": r.SignedAt,
		"seal": r.Seal, "seal_ok": r.SealOK()}
}

// apiReadingWorklist: GET /api/v1/reading/worklist?modality=ECG|DR|CT|MR|US|FHM|FUNDUS|SKIN|OT.
func (s *Server) apiReadingWorklist(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	mod := strings.ToUpper(r.URL.Query().Get("modality"))
	if mod != "" {
		mod = reading.TemplateModality(mod)
	}
	sts, err := s.ReadFlow.Worklist(r.Context(), rc.Actor, mod, 0)
	if err != nil {
		return err
	}
	now := s.Now()
	out := make([]map[string]any, len(sts))
	for i := range sts {
		out[i] = apiReadingStudy(&sts[i], now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"studies": out})
	return nil
}

// apiReadingStudy: GET /api/v1/reading/studies/{id}.
func (s *Server) apiReadingStudyGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, reps, err := s.ReadFlow.Study(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(reps))
	for i := range reps {
		out[i] = apiReadingReport(&reps[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"study": apiReadingStudy(st, s.Now()), "reports": out})
	return nil
}

// apiReadingAct: POST /api/v1/reading/studies/{id}/{action}, action claim,
// release, assign {"reader_id"}, report {"fields", "normal", "critical",
// "critical_text"} or addendum {"text", "critical", "critical_text"}.
func (s *Server) apiReadingAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		ReaderID     int64             `json:"reader_id"`
		Fields       map[string]string `json:"fields"`
		Normal       bool              `json:"normal"`
		Critical     bool              `json:"critical"`
		CriticalText string            `json:"critical_text"`
		Text         string            `json:"text"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	ctx, a := r.Context(), rc.Actor
	var st *reading.Study
	switch r.PathValue("action") {
	case "claim":
		st, err = s.ReadFlow.Claim(ctx, a, id)
	case "release":
		st, err = s.ReadFlow.Release(ctx, a, id)
	case "assign":
		st, err = s.ReadFlow.Assign(ctx, a, id, in.ReaderID)
	case "report":
		var rep *reading.Report
		st, rep, err = s.ReadFlow.Sign(ctx, a, id, reading.ReportDraft{Fields: in.Fields, Normal: in.Normal, Critical: in.Critical, CriticalText: in.CriticalText})
		if err == nil {
			writeJSON(w, http.StatusCreated, map[string]any{"study": apiReadingStudy(st, s.Now()), "report": apiReadingReport(rep)})
			return nil
		}
	case "addendum":
		var rep *reading.Report
		if rep, err = s.ReadFlow.Addend(ctx, a, id, in.Text, in.Critical, in.CriticalText); err == nil {
			writeJSON(w, http.StatusCreated, map[string]any{"report": apiReadingReport(rep)})
			return nil
		}
	default:
		return notFound()
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"study": apiReadingStudy(st, s.Now())})
	return nil
}

// apiReadingReturned: GET /api/v1/reading/returned, the clinic's returned reports.
func (s *Server) apiReadingReturned(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	sts, err := s.ReadFlow.Returned(r.Context(), rc.Actor, 0)
	if err != nil {
		return err
	}
	now := s.Now()
	out := make([]map[string]any, len(sts))
	for i := range sts {
		out[i] = apiReadingStudy(&sts[i], now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"studies": out})
	return nil
}

// apiReadingIndicators: GET /api/v1/reading/indicators?from=YYYY-MM-DD&to=YYYY-MM-DD.
func (s *Server) apiReadingIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, f, t, err := s.readingPeriod(r)
	if err != nil {
		return err
	}
	in, err := s.ReadFlow.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	counts := func(cs []reading.Count) []map[string]any {
		out := make([]map[string]any, len(cs))
		for i, c := range cs {
			out[i] = map[string]any{"name": c.Name, "studies": c.Studies, "reported": c.Reported}
		}
		return out
	}
	tat := make([]map[string]any, len(in.Turnaround))
	for i, x := range in.Turnaround {
		tat[i] = map[string]any{"modality": x.Modality, "reported": x.Reported, "median_minutes": x.MedianMinutes, "p90_minutes": x.P90Minutes,
			"target_minutes": x.TargetMinutes, "within_target": x.WithinTarget}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": f, "to": t, "by_modality": counts(in.ByModality), "by_clinic": counts(in.ByClinic),
		"by_reader": counts(in.ByReader), "turnaround": tat, "preread_normal": in.PreReadNormal, "confirmed_normal": in.ConfirmedNormal,
		"confirmed_normal_bp": in.ConfirmedShare()})
	return nil
}

// apiReadingTemplates: GET /api/v1/reading/templates, the report templates.
func (s *Server) apiReadingTemplates(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	writeJSON(w, http.StatusOK, map[string]any{"templates": s.ReadFlow.Templates})
	return nil
}

// residentReading is one study on the resident page with its reports'
// summaries (the report's summary field, or the addendum's text).
type residentReading struct {
	S       reading.Study
	Reports []residentReport
	Open    bool // the viewer may open the study's page (else no link: it would answer 404)
}

type residentReport struct {
	reading.Report
	Summary string
}

// residentReadings lists the resident's studies and reports for the
// resident page (whose read of the resident is the audited one).
func (s *Server) residentReadings(r *http.Request, rc *reqCtx, county string, residentID int64) ([]residentReading, error) {
	sts, reps, err := s.ReadFlow.ForResident(r.Context(), rc.Actor, county, residentID)
	if err != nil {
		return nil, err
	}
	out := make([]residentReading, len(sts))
	for i, st := range sts {
		out[i].S = st
		out[i].Open = reading.MayRead(rc.Actor, &st)
		for _, rep := range reps[st.ID] {
			sum := rep.Fields["text"]
			if rep.Kind == reading.ReportSigned {
				sum = rep.Fields[s.ReadFlow.Templates.For(rep.Template).Summary]
			}
			out[i].Reports = append(out[i].Reports, residentReport{Report: rep, Summary: sum})
		}
	}
	return out, nil
}
