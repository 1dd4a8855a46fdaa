package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/consult"
	"countycare/org"
	"countycare/referral"
	"countycare/resident"
)

func newKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hubs lists the hospitals a request may go to and their departments.
func (s *Server) hubs(r *http.Request) ([]*org.Institution, []org.Department, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, nil, err
	}
	// Hospitals with departments to invite (a county's lead hospital first by tree order).
	var hubs []*org.Institution
	var depts []org.Department
	for _, h := range append(t.OfKind(0, org.KindCountyHospital), t.OfKind(0, org.KindPartner)...) {
		ds, err := s.Store.Departments(r.Context(), h.ID)
		if err != nil {
			return nil, nil, err
		}
		if len(ds) > 0 {
			hubs = append(hubs, h)
			depts = append(depts, ds...)
		}
	}
	return hubs, depts, nil
}

// queueRow is a case in the invited doctor's queue with its patient, masked
// (the list and the live alert may be seen by others; the case page shows
// the name), and the countdown to its response deadline.
type queueRow struct {
	consult.Consultation
	Patient  string // masked name
	Sex      string
	Age      int
	Deadline string // RFC 3339 in Beijing time, for the countdown
	Left     string // time left at rendering, m:ss ("" when past)
	Over     string // time past the deadline at rendering, m:ss
	Waiting  bool   // requested: the deadline to accept or decline runs
}

// mmss formats a duration as minutes:seconds, rounded down to the second.
func mmss(d time.Duration) string {
	sec := int(d / time.Second)
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

func (s *Server) consultList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	mine, queue, board, err := s.Consult.Lists(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	now := s.Now()
	rows := make([]queueRow, 0, len(queue))
	for _, c := range queue {
		q := queueRow{Consultation: c, Deadline: c.Deadline.In(care.Shanghai).Format(time.RFC3339), Waiting: c.Status == consult.StatusRequested}
		if left := c.Deadline.Sub(now); left >= 0 {
			q.Left = mmss(left)
		} else {
			q.Over = mmss(-left)
		}
		// The assigned doctor's care link puts the patient in scope; the read is audited.
		if res, err := s.Residents.Get(r.Context(), rc.Actor, c.ResidentID); err == nil {
			q.Patient, q.Sex, q.Age = resident.MaskName(res.Name), string(res.Sex), res.Age(care.Today(now))
		}
		rows = append(rows, q)
	}
	s.render(w, r, rc, http.StatusOK, "consult_list", pageData{Title: s.msgs.T(rc.Lang, "consult.title"),
		Data: map[string]any{"Mine": mine, "Queue": rows, "Board": board, "Now": now.In(care.Shanghai).Format(time.RFC3339),
			"Invited": rc.Actor.PractitionerID != 0 && rc.Actor.Role == care.RoleCountySpecialist}})
	return nil
}

func (s *Server) consultNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := strconv.ParseInt(r.URL.Query().Get("resident"), 10, 64)
	if err != nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return s.consultForm(w, r, rc, id, http.StatusOK, nil)
}

func (s *Server) consultForm(w http.ResponseWriter, r *http.Request, rc *reqCtx, residentID int64, status int, ferr error) error {
	res, err := s.Residents.Get(r.Context(), rc.Actor, residentID)
	if err != nil {
		return err
	}
	hubs, depts, err := s.hubs(r)
	if err != nil {
		return err
	}
	pd := pageData{Title: s.msgs.T(rc.Lang, "consult.new"), Data: map[string]any{"Resident": res, "Hubs": hubs, "Departments": depts,
		"Titles": []org.Title{org.TitleAttending, org.TitleAssociateChief, org.TitleChief}},
		Form: map[string][]string{"key": {newKey()}, "consent_at": {s.Now().In(care.Shanghai).Format("2006-01-02T15:04")}, "urgency": {"routine"}, "kind": {"one_to_one"}}}
	if ferr != nil {
		return s.formError(w, r, rc, "consult_new", pd, ferr)
	}
	s.render(w, r, rc, status, "consult_new", pd)
	return nil
}

// draftFrom reads the request form.
func draftFrom(get func(string) string, all []string) (consult.Draft, []care.FieldError) {
	var fs []care.FieldError
	d := consult.Draft{Kind: consult.Kind(get("kind")), Urgency: consult.Urgency(get("urgency")), Reason: get("reason"), Purpose: get("purpose"),
		Summary: get("summary"), Specialty: get("specialty"), MinTitle: org.Title(get("min_title")), Key: get("key"),
		Consent: consult.Consent{By: get("consent_by"), Name: get("consent_name"), Method: get("consent_method")}}
	d.ResidentID, _ = strconv.ParseInt(get("resident_id"), 10, 64)
	d.ToInstitution, _ = strconv.ParseInt(get("to_institution"), 10, 64)
	if v := get("rehab_sessions"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "rehab_sessions", Key: "field.number"})
		}
		d.RehabSessions = n
	}
	for _, v := range all {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			d.Departments = append(d.Departments, id)
		}
	}
	if v := get("consent_at"); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, care.Shanghai)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				fs = append(fs, care.FieldError{Field: "consent_at", Key: "consult.consent.time"})
			}
		}
		d.Consent.At = t
	}
	return d, fs
}

func (s *Server) consultCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, fs := draftFrom(r.PostFormValue, r.PostForm["departments"])
	err := care.Invalid(fs)
	var c *consult.Consultation
	if err == nil {
		c, err = s.Consult.Request(r.Context(), rc.Actor, d)
	}
	if err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && (ce.Code == care.EINVALID || ce.Code == care.ECONFLICT) {
			return s.consultForm(w, r, rc, d.ResidentID, http.StatusUnprocessableEntity, err)
		}
		return err
	}
	http.Redirect(w, r, "/consult/"+strconv.FormatInt(c.ID, 10)+"?ok=requested", http.StatusSeeOther)
	return nil
}

type consultView struct {
	C         *consult.Consultation
	Events    []consult.Event
	Messages  []consult.Message
	Resident  string
	Names     map[int64]string
	Insts     map[int64]string
	Assignee  bool // the actor holds the case
	Inviter   bool // the actor's institution asked
	Overdue   bool
	Decisions []string
	Reasons   []referral.Reason
	Plan      []consult.Session // remote rehabilitation: the sessions
	Video     bool              // the video call section: a practitioner party of an open case
	ICE       string            // RTCIceServer list (JSON) for the call
}

func (s *Server) consultData(r *http.Request, rc *reqCtx, id int64) (*consultView, error) {
	c, evs, ms, err := s.Consult.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	v := &consultView{C: c, Events: evs, Messages: ms, Names: map[int64]string{}, Insts: map[int64]string{},
		Assignee: rc.Actor.PractitionerID == c.AssignedTo, Inviter: rc.Actor.InstitutionID == c.FromInstitution,
		Overdue: c.Status == consult.StatusRequested && s.Now().After(c.Deadline), Decisions: []string{consult.DecisionAdvice, consult.DecisionReferral, consult.DecisionLocal}, Reasons: referral.Reasons}
	if res, err := s.Residents.Get(r.Context(), rc.Actor, c.ResidentID); err == nil {
		v.Resident = res.Name
	}
	v.Plan = consult.RehabPlan(c, evs)
	if c.Status.Open() && s.Live != nil && rc.Actor.PractitionerID != 0 {
		v.Video, v.ICE = true, s.cfg.ICEServers
		if v.ICE == "" {
			v.ICE = "[]"
		}
	}
	ids := []int64{c.AssignedTo, c.FromDoctor}
	for _, e := range evs {
		ids = append(ids, e.Practitioner)
	}
	for _, pid := range ids {
		if _, ok := v.Names[pid]; ok || pid == 0 {
			continue
		}
		if p, err := s.Store.Practitioner(r.Context(), pid); err == nil {
			v.Names[pid] = p.Name
		}
	}
	if t, err := s.Orgs.Tree(r.Context()); err == nil {
		for _, in := range []int64{c.FromInstitution, c.ToInstitution} {
			if x := t.Get(in); x != nil {
				v.Insts[in] = x.Name
			}
		}
	}
	return v, nil
}

func (s *Server) consultShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.consultData(r, rc, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "consult", pageData{Title: s.msgs.T(rc.Lang, "consult.case") + " " + strconv.FormatInt(id, 10), Data: v})
	return nil
}

// consultAction runs one state change from a form and returns to the case,
// or re-renders it with the error.
func (s *Server) consultAction(w http.ResponseWriter, r *http.Request, rc *reqCtx, do func(id int64) error) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := do(id); err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && (ce.Code == care.EINVALID || ce.Code == care.ECONFLICT || ce.Code == care.ETOOLARGE) {
			v, verr := s.consultData(r, rc, id)
			if verr != nil {
				return verr
			}
			return s.formError(w, r, rc, "consult", pageData{Title: s.msgs.T(rc.Lang, "consult.case"), Data: v}, err)
		}
		return err
	}
	http.Redirect(w, r, "/consult/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) consultAccept(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error { _, err := s.Consult.Accept(r.Context(), rc.Actor, id); return err })
}

func (s *Server) consultDecline(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		_, err := s.Consult.Decline(r.Context(), rc.Actor, id, r.PostFormValue("reason"))
		return err
	})
}

func (s *Server) consultOpinion(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		_, err := s.Consult.Sign(r.Context(), rc.Actor, id, consult.Opinion{Assessment: r.PostFormValue("assessment"), DiagnosisCode: r.PostFormValue("diagnosis_code"),
			DiagnosisText: r.PostFormValue("diagnosis_text"), Plan: r.PostFormValue("plan"), Refer: r.PostFormValue("refer") != ""})
		return err
	})
}

func (s *Server) consultDecide(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		_, err := s.Consult.Decide(r.Context(), rc.Actor, id, r.PostFormValue("decision"), r.PostFormValue("note"))
		return err
	})
}

func (s *Server) consultCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		_, err := s.Consult.Cancel(r.Context(), rc.Actor, id, r.PostFormValue("reason"))
		return err
	})
}

// readFiles stores the uploaded files of a message form.
func (s *Server) readFiles(r *http.Request, rc *reqCtx, id int64, files []*multipart.FileHeader) ([]consult.Attachment, error) {
	var out []consult.Attachment
	for _, fh := range files {
		f, err := fh.Open()
		if err != nil {
			return nil, care.Invalid([]care.FieldError{{Field: "files", Key: "consult.file.type", Args: []any{fh.Filename}}})
		}
		data, err := readUpload(f, fh.Size, s.Consult.Config.MaxAttachment)
		f.Close()
		if err != nil {
			return nil, err
		}
		a, err := s.Consult.Attach(r.Context(), rc.Actor, id, fh.Filename, data)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *Server) consultMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		var files []*multipart.FileHeader
		if r.MultipartForm != nil {
			files = r.MultipartForm.File["files"]
		}
		if len(files) > s.Consult.Config.MaxAttachments {
			return care.Invalid([]care.FieldError{{Field: "files", Key: "consult.files.too_many", Args: []any{s.Consult.Config.MaxAttachments}}})
		}
		atts, err := s.readFiles(r, rc, id, files)
		if err != nil {
			return err
		}
		_, err = s.Consult.Post(r.Context(), rc.Actor, id, r.PostFormValue("body"), atts)
		return err
	})
}

func (s *Server) consultFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, data, err := s.Consult.File(r.Context(), rc.Actor, id, r.PathValue("sha"))
	if err != nil {
		return err
	}
	typ := a.Type
	if strings.HasPrefix(typ, "application/octet-stream") {
		typ = "application/octet-stream"
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(a.Name, `"`, "")+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(data)
	return nil
}

func (s *Server) consultRoster(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ro, err := s.Consult.Roster(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, p := range ro.Doctors {
		names[p.ID] = p.Name
	}
	s.render(w, r, rc, http.StatusOK, "consult_roster", pageData{Title: s.msgs.T(rc.Lang, "consult.roster"), Data: map[string]any{"Roster": ro, "Names": names},
		Form: map[string][]string{"position": {"1"}}})
	return nil
}

func (s *Server) consultSlotAdd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	sl := consult.Slot{}
	sl.PractitionerID, _ = strconv.ParseInt(r.PostFormValue("practitioner_id"), 10, 64)
	sl.Position, _ = strconv.Atoi(r.PostFormValue("position"))
	start, err1 := time.ParseInLocation("2006-01-02T15:04", r.PostFormValue("start"), care.Shanghai)
	hours, err2 := strconv.Atoi(r.PostFormValue("hours"))
	if err1 != nil || err2 != nil {
		fs = append(fs, care.FieldError{Field: "end", Key: "consult.slot.times"})
	} else {
		sl.Start, sl.End = start, start.Add(time.Duration(hours)*time.Hour)
	}
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Consult.AddSlot(r.Context(), rc.Actor, sl)
	}
	if err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && ce.Code == care.EINVALID {
			ro, rerr := s.Consult.Roster(r.Context(), rc.Actor)
			if rerr != nil {
				return rerr
			}
			names := map[int64]string{}
			for _, p := range ro.Doctors {
				names[p.ID] = p.Name
			}
			return s.formError(w, r, rc, "consult_roster", pageData{Title: s.msgs.T(rc.Lang, "consult.roster"), Data: map[string]any{"Roster": ro, "Names": names}}, err)
		}
		return err
	}
	http.Redirect(w, r, "/consult/roster?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) consultSlotDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Consult.RemoveSlot(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/consult/roster?ok=saved", http.StatusSeeOther)
	return nil
}

// consultRefer turns a consultation into an up-referral in one step: the
// receiving hospital and department are the consultation's, the summary
// carries the case and the signed opinion. A second click finds the same
// referral (its idempotency key is the consultation's).
func (s *Server) consultRefer(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, _, _, err := s.Consult.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	if rc.Actor.InstitutionID != c.FromInstitution || c.Opinion == nil {
		return care.Errorf(care.ECONFLICT, "consult.refer.not_ready")
	}
	reason := referral.Reason(r.PostFormValue("reason"))
	if reason == "" {
		reason = referral.OtherBeyond
	}
	urgency := referral.Routine
	if c.Urgency == consult.Emergency {
		urgency = referral.Emergency
	}
	summary := c.Summary + "\n会诊意见（" + c.Opinion.SignedAt.In(care.Shanghai).Format("2006-01-02 15:04") + "）：" + c.Opinion.Assessment + "\n建议：" + c.Opinion.Plan
	if n := []rune(summary); len(n) > 2000 {
		summary = string(n[:2000])
	}
	ref, err := s.Referral.FromConsultation(r.Context(), rc.Actor, c.ID, referral.Draft{ResidentID: c.ResidentID, Reasons: []referral.Reason{reason},
		Summary: summary, Urgency: urgency, ToInst: c.ToInstitution, ToDept: c.ToDepartment})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/referrals/"+strconv.FormatInt(ref.ID, 10), http.StatusSeeOther)
	return nil
}

// consultPeriod reads ?from=&to= as dates (default: the last 365 days).
func (s *Server) consultPeriod(r *http.Request) (time.Time, time.Time, error) {
	today := care.Today(s.Now())
	from, to, err := periodFrom(r, today)
	if r.URL.Query().Get("from") == "" {
		from = today.AddDays(-364)
	}
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	f := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, care.Shanghai)
	t := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, 1)
	return f, t, nil
}

func (s *Server) consultIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.consultPeriod(r)
	var ind *consult.Indicators
	if err == nil {
		ind, err = s.Consult.Report(r.Context(), rc.Actor, from, to)
	}
	names := map[int64]string{}
	if t, terr := s.Orgs.Tree(r.Context()); terr == nil && ind != nil {
		for id := range ind.ByTownship {
			if in := t.Get(id); in != nil {
				names[id] = in.Name
			}
		}
	}
	pd := pageData{Title: s.msgs.T(rc.Lang, "consult.indicators"), Data: map[string]any{"I": ind, "Names": names},
		Form: map[string][]string{"from": {from.Format("2006-01-02")}, "to": {to.AddDate(0, 0, -1).Format("2006-01-02")}}}
	if err != nil {
		return s.formError(w, r, rc, "consult_indicators", pd, err)
	}
	s.render(w, r, rc, http.StatusOK, "consult_indicators", pd)
	return nil
}

func (s *Server) consultSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.consultAction(w, r, rc, func(id int64) error {
		n, err := strconv.Atoi(r.PostFormValue("n"))
		if err != nil {
			return care.Invalid([]care.FieldError{{Field: "n", Key: "consult.session.invalid"}})
		}
		return s.Consult.SessionDone(r.Context(), rc.Actor, id, n, r.PostFormValue("note"))
	})
}
