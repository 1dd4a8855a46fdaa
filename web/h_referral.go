package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/referral"
)

// referralTarget is one choice of receiving institution and department.
type referralTarget struct {
	Value string // "inst:dept"
	Label string
	Group string
}

// referralTargets lists the county hospitals (with their departments),
// diagnosis centers and partner hospitals a referral may go to.
func (s *Server) referralTargets(r *http.Request, t *org.Tree, county string) ([]referralTarget, error) {
	var out []referralTarget
	for _, root := range t.Roots() {
		if root.Kind == org.KindCounty && root.CountyCode == county {
			for _, k := range []org.Kind{org.KindCountyHospital, org.KindDiagnosis} {
				for _, in := range t.OfKind(root.ID, k) {
					out = append(out, referralTarget{Value: fmt.Sprintf("%d:0", in.ID), Label: in.Name, Group: in.Name})
					ds, err := s.Store.Departments(r.Context(), in.ID)
					if err != nil {
						return nil, err
					}
					for _, d := range ds {
						out = append(out, referralTarget{Value: fmt.Sprintf("%d:%d", in.ID, d.ID), Label: in.Name + " · " + d.Name, Group: in.Name})
					}
				}
			}
		}
		if root.Kind == org.KindPartner {
			out = append(out, referralTarget{Value: fmt.Sprintf("%d:0", root.ID), Label: root.Name, Group: "partner"})
		}
	}
	return out, nil
}

// parseTarget reads "inst:dept".
func parseTarget(v string) (int64, int64) {
	a, b, _ := strings.Cut(v, ":")
	inst, _ := strconv.ParseInt(a, 10, 64)
	dept, _ := strconv.ParseInt(b, 10, 64)
	return inst, dept
}

// parseLocal reads a datetime-local value in China time ("" gives zero).
func parseLocal(v, field string) (time.Time, []care.FieldError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", v, care.Shanghai)
	if err != nil {
		return time.Time{}, []care.FieldError{{Field: field, Key: "field.datetime"}}
	}
	return t, nil
}

// referralNames resolves institution and department names for pages.
type referralNames struct {
	Inst map[int64]string
	Dept map[int64]string
}

func (s *Server) namesFor(r *http.Request, t *org.Tree, rs ...*referral.Referral) referralNames {
	n := referralNames{Inst: map[int64]string{}, Dept: map[int64]string{}}
	seen := map[int64]bool{}
	for _, x := range rs {
		for _, id := range []int64{x.FromInst, x.ToInst} {
			if in := t.Get(id); in != nil {
				n.Inst[id] = in.Name
			}
		}
		if (x.ToDept != 0 || x.FromDept != 0) && !seen[x.ToInst] {
			seen[x.ToInst] = true
			for _, inst := range []int64{x.ToInst, x.FromInst} {
				if ds, err := s.Store.Departments(r.Context(), inst); err == nil {
					for _, d := range ds {
						n.Dept[d.ID] = d.Name
					}
				}
			}
		}
	}
	return n
}

type referralNewView struct {
	Resident *residentView
	Reasons  []referral.Reason
	Targets  []referralTarget
	Checked  map[referral.Reason]bool // reasons ticked before an error
}

func (s *Server) referralNewData(r *http.Request, rc *reqCtx, id int64) (*referralNewView, error) {
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := s.viewOf(t, rc.Actor, res)
	targets, err := s.referralTargets(r, t, rc.Actor.CountyCode)
	if err != nil {
		return nil, err
	}
	return &referralNewView{Resident: &v, Reasons: referral.Reasons, Targets: targets}, nil
}

func (s *Server) referralNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.referralNewData(r, rc, id)
	if err != nil {
		return err
	}
	// A follow-up that proposed a referral links here with its reasons
	// (?chronic=1&chronic=3: chronic.Refer* codes), checked in advance.
	for _, code := range r.URL.Query()["chronic"] {
		if reason := referral.FromChronic(code); reason != "" {
			if v.Checked == nil {
				v.Checked = map[referral.Reason]bool{}
			}
			v.Checked[reason] = true
		}
	}
	s.render(w, r, rc, http.StatusOK, "referral_new", pageData{Title: s.msgs.T(rc.Lang, "referral.new"), Data: v,
		Form: url.Values{"key": {newRequestID()}, "urgency": {"routine"}}})
	return nil
}

func draftFromForm(r *http.Request, residentID int64) (referral.Draft, []care.FieldError) {
	inst, dept := parseTarget(r.PostFormValue("target"))
	d := referral.Draft{ResidentID: residentID, Summary: r.PostFormValue("summary"), Urgency: referral.Urgency(r.PostFormValue("urgency")),
		ToInst: inst, ToDept: dept, BedRequested: r.PostFormValue("bed_requested") != "", IdempotencyKey: r.PostFormValue("key")}
	for _, x := range r.PostForm["reasons"] {
		d.Reasons = append(d.Reasons, referral.Reason(x))
	}
	var fs []care.FieldError
	d.RequestedAt, fs = parseLocal(r.PostFormValue("requested_at"), "requested_at")
	return d, fs
}

func (s *Server) referralCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, fs := draftFromForm(r, id)
	err = care.Invalid(fs)
	var ref *referral.Referral
	if err == nil {
		ref, err = s.Referral.Create(r.Context(), rc.Actor, d)
	}
	if err != nil {
		v, verr := s.referralNewData(r, rc, id)
		if verr != nil {
			return verr
		}
		v.Checked = map[referral.Reason]bool{}
		for _, x := range d.Reasons {
			v.Checked[x] = true
		}
		return s.formError(w, r, rc, "referral_new", pageData{Title: s.msgs.T(rc.Lang, "referral.new"), Data: v}, err)
	}
	http.Redirect(w, r, "/referrals/"+strconv.FormatInt(ref.ID, 10)+"?ok=referral_sent", http.StatusSeeOther)
	return nil
}

type referralListView struct {
	Box     referral.Box
	Items   []referral.Item
	Names   referralNames
	Open    bool
	Depts   []org.Department
	Dept    int64
	ShowAll string
}

func (s *Server) referralBox(w http.ResponseWriter, r *http.Request, rc *reqCtx, box referral.Box, title string) error {
	open := r.URL.Query().Get("all") == ""
	var dept int64
	var depts []org.Department
	if box == referral.BoxIncoming {
		if v := r.URL.Query().Get("dept"); v != "" {
			dept, _ = strconv.ParseInt(v, 10, 64)
		} else {
			dept = s.Referral.MyDepartment(r.Context(), rc.Actor)
		}
		depts, _ = s.Store.Departments(r.Context(), rc.Actor.InstitutionID)
	}
	items, err := s.Referral.List(r.Context(), rc.Actor, box, open, dept)
	if err != nil {
		return err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	rs := make([]*referral.Referral, len(items))
	for i := range items {
		rs[i] = &items[i].Referral
	}
	s.render(w, r, rc, http.StatusOK, "referrals", pageData{Title: s.msgs.T(rc.Lang, title),
		Data: &referralListView{Box: box, Items: items, Names: s.namesFor(r, t, rs...), Open: open, Depts: depts, Dept: dept}})
	return nil
}

func (s *Server) referralSent(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.referralBox(w, r, rc, referral.BoxSent, "referral.sent")
}

func (s *Server) referralIncoming(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.referralBox(w, r, rc, referral.BoxIncoming, "referral.incoming")
}

func (s *Server) referralTasks(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.referralBox(w, r, rc, referral.BoxTasks, "referral.tasks")
}

type referralView struct {
	*referral.Detail
	Names   referralNames
	Targets []referralTarget
	Down    bool // the actor may write the down-referral
}

func (s *Server) referralData(r *http.Request, rc *reqCtx, id int64) (*referralView, error) {
	d, err := s.Referral.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	rs := []*referral.Referral{d.Referral}
	for i := range d.Related {
		rs = append(rs, &d.Related[i])
	}
	v := &referralView{Detail: d, Names: s.namesFor(r, t, rs...)}
	if d.Receiver && d.Referral.Direction == referral.Up {
		if v.Targets, err = s.referralTargets(r, t, d.Referral.County); err != nil {
			return nil, err
		}
		v.Down = d.Referral.Status == referral.StatusArrived && (rc.Actor.Role == care.RoleCountySpecialist || rc.Actor.Role == care.RoleTownshipDoctor)
	}
	return v, nil
}

func (s *Server) referralShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.referralData(r, rc, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "referral", pageData{Title: s.msgs.T(rc.Lang, "referral.title"), Data: v})
	return nil
}

// referralActions are the actions the {action} path segment may name.
var referralActions = map[string]referral.Action{"accept": referral.ActAccept, "redirect": referral.ActRedirect, "arrive": referral.ActArrive,
	"complete": referral.ActComplete, "cancel": referral.ActCancel, "acknowledge": referral.ActAcknowledge}

func stepFrom(get func(string) string) (referral.Step, []care.FieldError) {
	st := referral.Step{Note: get("note"), Bed: get("bed")}
	st.ToInst, st.ToDept = parseTarget(get("target"))
	var fs []care.FieldError
	st.Appointment, fs = parseLocal(get("appointment"), "appointment")
	return st, fs
}

func (s *Server) referralAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	act, ok := referralActions[r.PathValue("action")]
	if !ok {
		return notFound()
	}
	st, fs := stepFrom(r.PostFormValue)
	err = care.Invalid(fs)
	var ref *referral.Referral
	if err == nil {
		ref, err = s.Referral.Act(r.Context(), rc.Actor, id, act, st)
	}
	if err != nil {
		v, verr := s.referralData(r, rc, id)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "referral", pageData{Title: s.msgs.T(rc.Lang, "referral.title"), Data: v}, err)
	}
	next := "/referrals/" + strconv.FormatInt(id, 10)
	if act == referral.ActRedirect {
		next = "/referrals/" + strconv.FormatInt(ref.ID, 10)
	}
	if act == referral.ActAcknowledge {
		next = "/referrals/tasks"
	}
	http.Redirect(w, r, next+"?ok=referral_"+string(act), http.StatusSeeOther)
	return nil
}

type referralDownView struct {
	Resident *residentView
	Up       int64
	Kinds    []referral.TaskKind
	Rows     []int
}

func (s *Server) referralDownData(r *http.Request, rc *reqCtx, residentID, up int64) (*referralDownView, error) {
	if up != 0 {
		d, err := s.Referral.Get(r.Context(), rc.Actor, up)
		if err != nil {
			return nil, err
		}
		residentID = d.Referral.ResidentID
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, residentID)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := s.viewOf(t, rc.Actor, res)
	return &referralDownView{Resident: &v, Up: up, Kinds: referral.TaskKinds, Rows: []int{0, 1, 2}}, nil
}

func queryID(r *http.Request, k string) int64 {
	n, _ := strconv.ParseInt(r.FormValue(k), 10, 64)
	return n
}

func (s *Server) referralDownNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.referralDownData(r, rc, queryID(r, "resident"), queryID(r, "up"))
	if err != nil {
		return err
	}
	today := care.Today(s.Now())
	s.render(w, r, rc, http.StatusOK, "referral_down", pageData{Title: s.msgs.T(rc.Lang, "referral.down_new"), Data: v,
		Form: url.Values{"key": {newRequestID()}, "kind.0": {"follow_up"}, "due.0": {today.AddDays(14).String()}}})
	return nil
}

func downFromForm(get func(string) string) (referral.DownDraft, []care.FieldError) {
	d := referral.DownDraft{Summary: get("summary"), Diagnosis: get("diagnosis"), DiagnosisText: get("diagnosis_text"), Plan: get("plan"),
		ToTownship: get("to_township") != "", IdempotencyKey: get("key")}
	d.ResidentID, _ = strconv.ParseInt(get("resident"), 10, 64)
	d.UpReferralID, _ = strconv.ParseInt(get("up"), 10, 64)
	var fs []care.FieldError
	for i := 0; i < referral.MaxTasks; i++ {
		k := strings.TrimSpace(get(fmt.Sprintf("kind.%d", i)))
		if k == "" {
			continue
		}
		due, err := care.ParseDate(strings.TrimSpace(get(fmt.Sprintf("due.%d", i))))
		if err != nil {
			fs = append(fs, care.FieldError{Field: fmt.Sprintf("tasks.%d", i), Key: "field.date"})
		}
		d.Tasks = append(d.Tasks, referral.TaskInput{Kind: referral.TaskKind(k), Due: due, Note: get(fmt.Sprintf("note.%d", i))})
	}
	return d, fs
}

func (s *Server) referralDownCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, fs := downFromForm(r.PostFormValue)
	err := care.Invalid(fs)
	var ref *referral.Referral
	if err == nil {
		ref, err = s.Referral.CreateDown(r.Context(), rc.Actor, d)
	}
	if err != nil {
		v, verr := s.referralDownData(r, rc, d.ResidentID, d.UpReferralID)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "referral_down", pageData{Title: s.msgs.T(rc.Lang, "referral.down_new"), Data: v}, err)
	}
	http.Redirect(w, r, "/referrals/"+strconv.FormatInt(ref.ID, 10)+"?ok=referral_sent", http.StatusSeeOther)
	return nil
}

// hoursOf formats a duration in hours with one decimal.
func hoursOf(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'f', 1, 64) }

type referralIndicatorsView struct {
	Report *referral.Report
	Hours  map[int64][2]string // unit → median, p90 hours
}

func (s *Server) referralIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	today := care.Today(s.Now())
	if q.Get("from") == "" && q.Get("to") == "" {
		q.Set("from", care.Date{Year: today.Year, Month: 1, Day: 1}.String())
		q.Set("to", today.String())
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "referral.indicators"), Form: q}
	from, err1 := care.ParseDate(q.Get("from"))
	to, err2 := care.ParseDate(q.Get("to"))
	if err1 != nil || err2 != nil {
		return s.formError(w, r, rc, "referral_indicators", d, care.Invalid([]care.FieldError{{Field: "from", Key: "field.date"}}))
	}
	rep, err := s.Referral.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return s.formError(w, r, rc, "referral_indicators", d, err)
	}
	v := &referralIndicatorsView{Report: rep, Hours: map[int64][2]string{}}
	for _, u := range rep.Units {
		v.Hours[u.Unit.ID] = [2]string{hoursOf(u.Ind.MedianArrival), hoursOf(u.Ind.P90Arrival)}
	}
	d.Data = v
	s.render(w, r, rc, http.StatusOK, "referral_indicators", d)
	return nil
}
