package web

import (
	"net/http"
	"strconv"
	"strings"

	"countycare/access"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/family"
	"countycare/notify"
	"countycare/org"
	"countycare/points"
	"countycare/proxy"
	"countycare/referral"
	"countycare/resident"
)

// residentView is a resident as pages and the API show it: ID and phone
// masked, except for the resident themself.
type residentView struct {
	R           resident.Resident
	Age         int
	Village     string
	VillageID   int64
	Groups      []resident.KeyGroup
	IDNumber    string
	Phone       string
	Unmasked    bool
	MergedInto  int64
	RecordShort string
	Chronic     []chronic.Registration // on the resident page, for roles that manage chronic disease
	ChronicRole bool
	Family      *familyView // on the resident page, for the doctors who sign contracts
	Points      *points.Account
	Referrals   []referral.Referral    // the resident's referrals the actor takes part in
	Consults    []consult.Consultation // the resident's consultations the actor takes part in
	RedeemRef   string                 // makes the redeem form idempotent
	Readings    []residentReading      // the resident's diagnosis-center studies and reports
	Signin      *signinView            // the resident's account and proxies, for the doctors who keep the record
}

// signinView is the resident's account, its consent and the proxies on
// their record, as the doctors who keep the record see them.
type signinView struct {
	HasAccount bool
	Consent    string // consent method, "" if the account predates recorded consent
	Grants     []proxy.Grant
	Kinds      []proxy.Kind
}

// signinOf gathers the resident's sign-in and proxies for staff managing the record.
func (s *Server) signinOf(r *http.Request, rc *reqCtx, res *resident.Resident) (*signinView, error) {
	v := &signinView{Kinds: proxy.Kinds}
	if _, err := s.Store.ResidentAccount(r.Context(), res.ID); err == nil {
		v.HasAccount = true
	} else if !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	if c, err := s.Store.SigninConsent(r.Context(), res.ID); err == nil {
		v.Consent = c.Method
	} else if !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	var err error
	v.Grants, err = s.Proxies.OfWard(r.Context(), rc.Actor, res)
	return v, err
}

func (s *Server) viewOf(t *org.Tree, a care.Actor, r *resident.Resident) residentView {
	day := care.Today(s.Now())
	v := residentView{R: *r, Age: r.Age(day), Groups: r.KeyGroups(day), VillageID: r.VillageID, MergedInto: r.MergedInto}
	if in := t.Get(r.VillageID); in != nil {
		v.Village = in.Name
	}
	if a.Role == care.RoleResident && a.ResidentID == r.ID {
		v.IDNumber, v.Phone, v.Unmasked = string(r.IDNumber), r.Phone, true
	} else {
		v.IDNumber, v.Phone = r.MaskedIDNumber(), r.MaskedPhone()
	}
	return v
}

func (s *Server) views(r *http.Request, a care.Actor, rs []resident.Resident) ([]residentView, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]residentView, len(rs))
	for i := range rs {
		out[i] = s.viewOf(t, a, &rs[i])
	}
	return out, nil
}

// filterFrom reads the list filters (group, poverty, limit) from a query.
func (s *Server) filterFrom(q map[string][]string) (resident.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	var f resident.Filter
	var fs []care.FieldError
	if g := get("group"); g != "" {
		ok := false
		for _, k := range []resident.KeyGroup{resident.KeyElderly, resident.KeyChild, resident.KeyPregnant, resident.KeyDisabled, resident.KeyPoor} {
			if string(k) == g {
				f = resident.FilterForGroup(k, care.Today(s.Now()))
				ok = true
			}
		}
		if !ok {
			fs = append(fs, care.FieldError{Field: "group", Key: "search.group.invalid"})
		}
	}
	if p := get("poverty"); p != "" {
		if pv := resident.Poverty(p); pv.Valid() || pv == resident.PovertyAny {
			f.Poverty = pv
		} else {
			fs = append(fs, care.FieldError{Field: "poverty", Key: "poverty.invalid"})
		}
	}
	if l := get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			fs = append(fs, care.FieldError{Field: "limit", Key: "search.limit"})
		}
		f.Limit = n
	}
	return f, care.Invalid(fs)
}

type listView struct {
	Rows  []residentView
	More  bool
	Q     string
	Group string
	Pov   string
}

func (s *Server) residentList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	d := pageData{Title: s.msgs.T(rc.Lang, "residents.title"), Form: q}
	lv := &listView{Q: q.Get("q"), Group: q.Get("group"), Pov: q.Get("poverty")}
	d.Data = lv
	f, err := s.filterFrom(q)
	if err == nil {
		var res []resident.Resident
		res, lv.More, err = s.Residents.Search(r.Context(), rc.Actor, lv.Q, f)
		if err == nil {
			lv.Rows, err = s.views(r, rc.Actor, res)
		}
	}
	if err != nil {
		ce, ok := err.(*care.Error)
		if !ok || ce.Code != care.EINVALID {
			return err
		}
		d.Error = ce
		s.render(w, r, rc, http.StatusUnprocessableEntity, "residents", d)
		return nil
	}
	s.render(w, r, rc, http.StatusOK, "residents", d)
	return nil
}

// inputFrom reads a resident form (or the same fields of a JSON body).
func inputFrom(get func(string) string) (resident.Input, []care.FieldError) {
	var fs []care.FieldError
	in := resident.Input{
		Name: get("name"), IDNumber: get("id_number"), Sex: get("sex"), BirthDate: get("birth_date"), Phone: get("phone"),
		Address: get("address"), Relation: get("relation"), Poverty: get("poverty"), PregnancyEDD: get("pregnancy_edd"),
		VillageID:   formInt(get("village_id"), "village_id", &fs),
		HouseholdID: formInt(get("household_id"), "household_id", &fs),
	}
	in.DisabilityGrade = int(formInt(get("disability_grade"), "disability_grade", &fs))
	return in, fs
}

type formView struct {
	R         *residentView
	Villages  []*org.Institution
	Poverty   []resident.Poverty
	Relations []resident.Relation
	Household int64
}

// villagesFor lists the village clinics where a may register residents.
func (s *Server) villagesFor(r *http.Request, a care.Actor) ([]*org.Institution, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	sc := access.ScopeFor(a, t)
	var out []*org.Institution
	for _, id := range sc.Institutions {
		if in := t.Get(id); in != nil && in.Kind == org.KindVillageClinic && sc.Kind == access.ScopeManaged {
			out = append(out, in)
		}
	}
	return out, nil
}

func (s *Server) residentFormData(r *http.Request, rc *reqCtx) (*formView, error) {
	vs, err := s.villagesFor(r, rc.Actor)
	if err != nil {
		return nil, err
	}
	return &formView{Villages: vs, Poverty: resident.PovertyCategories, Relations: resident.Relations}, nil
}

func (s *Server) residentNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	fv, err := s.residentFormData(r, rc)
	if err != nil {
		return err
	}
	form := r.URL.Query()
	if h := form.Get("household"); h != "" {
		fv.Household, _ = strconv.ParseInt(h, 10, 64)
		form.Set("household_id", h)
	}
	if len(fv.Villages) == 1 {
		form.Set("village_id", strconv.FormatInt(fv.Villages[0].ID, 10))
	}
	s.render(w, r, rc, http.StatusOK, "resident_form", pageData{Title: s.msgs.T(rc.Lang, "resident.new"), Data: fv, Form: form})
	return nil
}

func (s *Server) residentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	in, fs := inputFrom(r.PostFormValue)
	// The resident's consent to an account of their own, recorded at
	// registration: it needs a mobile number to send codes to, checked
	// before anything is written.
	consent := r.PostFormValue("signin_consent") == "yes"
	if consent && notify.NormalizePhone(in.Phone) == "" {
		fs = append(fs, care.FieldError{Field: "phone", Key: "signin.no_phone"})
	}
	var res *resident.Resident
	err := care.Invalid(fs)
	if err == nil {
		res, err = s.Residents.Register(r.Context(), rc.Actor, in)
	}
	if err == nil && consent {
		if _, err := s.Accounts.CreateResidentAccount(r.Context(), rc.Actor, res.ID, res.CountyCode, res.Phone, true); err != nil {
			return err
		}
		http.Redirect(w, r, "/residents/"+strconv.FormatInt(res.ID, 10)+"?ok=registered_signin", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		fv, ferr := s.residentFormData(r, rc)
		if ferr != nil {
			return ferr
		}
		fv.Household = in.HouseholdID
		return s.formError(w, r, rc, "resident_form", pageData{Title: s.msgs.T(rc.Lang, "resident.new"), Data: fv}, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(res.ID, 10)+"?ok=registered", http.StatusSeeOther)
	return nil
}

func (s *Server) residentShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.showResident(w, r, rc, id, "", "")
}

// residentReveal shows the page with the full ID number, after the reveal
// (its own audit row) succeeded.
func (s *Server) residentReveal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.Residents.RevealIDNumber(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	return s.showResident(w, r, rc, id, n, "flash.revealed")
}

// showResident renders a resident's page (an audited read); idNumber, if
// set, replaces the masked number.
func (s *Server) showResident(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, idNumber, flash string) error {
	d, err := s.residentPage(r, rc, id, idNumber)
	if err != nil {
		return err
	}
	d.Flash = flash
	s.render(w, r, rc, http.StatusOK, "resident", d)
	return nil
}

// residentPage gathers the resident page: the record, and the chronic
// registrations and family doctor contracts for the roles that manage them.
func (s *Server) residentPage(r *http.Request, rc *reqCtx, id int64, idNumber string) (pageData, error) {
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return pageData{}, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return pageData{}, err
	}
	v := s.viewOf(t, rc.Actor, res)
	if idNumber != "" {
		v.IDNumber = idNumber
	}
	if s.Chronic != nil && chronicRole(rc.Actor.Role) {
		if v.Chronic, err = s.Chronic.RegistrationsOf(r.Context(), res); err != nil {
			return pageData{}, err
		}
		v.ChronicRole = true
	}
	if s.Referral != nil {
		if v.Referrals, err = s.Referral.ForResident(r.Context(), rc.Actor, res); err != nil {
			return pageData{}, err
		}
	}
	if s.Consult != nil && rc.Actor.PractitionerID != 0 {
		if v.Consults, err = s.Consult.ForResident(r.Context(), rc.Actor, res); err != nil {
			return pageData{}, err
		}
	}
	if s.ReadFlow != nil && rc.Actor.PractitionerID != 0 {
		if v.Readings, err = s.residentReadings(r, rc, res.CountyCode, res.ID); err != nil {
			return pageData{}, err
		}
	}
	if s.Family != nil && familyRole(rc.Actor.Role) {
		if v.Family, err = s.familyData(r, rc, t, res); err != nil {
			return pageData{}, err
		}
	}
	if s.Points != nil && familyRole(rc.Actor.Role) {
		if v.Points, err = s.Points.LedgerOf(r.Context(), rc.Actor, res); err != nil {
			return pageData{}, err
		}
		v.RedeemRef = newRequestID()
	}
	if s.Proxies != nil && familyRole(rc.Actor.Role) {
		if v.Signin, err = s.signinOf(r, rc, res); err != nil {
			return pageData{}, err
		}
	}
	today := care.Today(s.Now())
	form := map[string][]string{"enrolled_on": {today.String()}, "date": {today.String()}, "start": {today.String()},
		"end": {family.MinEnd(today).String()}, "consent_at": {s.Now().In(care.Shanghai).Format("2006-01-02T15:04")}}
	if v.Family != nil && v.Family.Panel.Current != nil {
		next := v.Family.Panel.Current.End.AddDays(1)
		form["renew_end"] = []string{family.MinEnd(next).String()}
	}
	return pageData{Title: res.Name, Data: v, Form: form}, nil
}

func (s *Server) residentEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	fv, err := s.residentFormData(r, rc)
	if err != nil {
		return err
	}
	t, _ := s.Orgs.Tree(r.Context())
	v := s.viewOf(t, rc.Actor, res)
	fv.R = &v
	form := map[string][]string{
		"name": {res.Name}, "id_number": {string(res.IDNumber)}, "phone": {res.Phone}, "address": {res.Address},
		"relation": {string(res.Relation)}, "poverty": {string(res.Poverty)}, "disability_grade": {strconv.Itoa(res.DisabilityGrade)},
		"pregnancy_edd": {res.PregnancyEDD.String()}, "status": {string(res.Status)}, "version": {strconv.Itoa(res.Version)},
		"sex": {string(res.Sex)}, "birth_date": {res.BirthDate.String()},
	}
	s.render(w, r, rc, http.StatusOK, "resident_form", pageData{Title: res.Name, Data: fv, Form: form})
	return nil
}

func (s *Server) residentUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	in, fs := inputFrom(r.PostFormValue)
	version := int(formInt(r.PostFormValue("version"), "version", &fs))
	err = care.Invalid(fs)
	if err == nil {
		_, err = s.Residents.Update(r.Context(), rc.Actor, id, version, resident.Status(r.PostFormValue("status")), in)
	}
	if err != nil {
		res, gerr := s.Residents.Get(r.Context(), rc.Actor, id)
		if gerr != nil {
			return gerr
		}
		fv, ferr := s.residentFormData(r, rc)
		if ferr != nil {
			return ferr
		}
		t, _ := s.Orgs.Tree(r.Context())
		v := s.viewOf(t, rc.Actor, res)
		fv.R = &v
		return s.formError(w, r, rc, "resident_form", pageData{Title: res.Name, Data: fv}, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

type householdView struct {
	H       *resident.Household
	Members []residentView
	Village string
}

func (s *Server) householdData(r *http.Request, rc *reqCtx) (*householdView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	h, members, err := s.Residents.Household(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.views(r, rc.Actor, members)
	if err != nil {
		return nil, err
	}
	t, _ := s.Orgs.Tree(r.Context())
	hv := &householdView{H: h, Members: vs}
	if in := t.Get(h.VillageID); in != nil {
		hv.Village = in.Name
	}
	return hv, nil
}

func (s *Server) household(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	hv, err := s.householdData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "household", pageData{Title: s.msgs.T(rc.Lang, "household.title") + " " + hv.H.Number, Data: hv})
	return nil
}

func (s *Server) duplicates(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	groups, err := s.Residents.Duplicates(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	var vs [][]residentView
	for _, g := range groups {
		v, err := s.views(r, rc.Actor, g)
		if err != nil {
			return err
		}
		vs = append(vs, v)
	}
	s.render(w, r, rc, http.StatusOK, "duplicates", pageData{Title: s.msgs.T(rc.Lang, "duplicates.title"), Data: vs})
	return nil
}

// mergeArgs reads survivor:version and merged:version.
func mergeArgs(get func(string) string) (int64, int, int64, int, error) {
	var fs []care.FieldError
	sid := formInt(get("survivor_id"), "survivor_id", &fs)
	sv := formInt(get("survivor_version"), "survivor_version", &fs)
	mid := formInt(get("merged_id"), "merged_id", &fs)
	mv := formInt(get("merged_version"), "merged_version", &fs)
	if sid == 0 || mid == 0 {
		fs = append(fs, care.FieldError{Field: "survivor_id", Key: "field.required"})
	}
	return sid, int(sv), mid, int(mv), care.Invalid(fs)
}

func (s *Server) merge(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	sid, sv, mid, mv, err := mergeArgs(r.PostFormValue)
	if err == nil {
		err = s.Residents.Merge(r.Context(), rc.Actor, sid, sv, mid, mv)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(sid, 10)+"?ok=merged", http.StatusSeeOther)
	return nil
}

func (s *Server) emergencyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	s.render(w, r, rc, http.StatusOK, "emergency", pageData{Title: s.msgs.T(rc.Lang, "emergency.title")})
	return nil
}

func (s *Server) emergencySubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	res, err := s.Residents.EmergencyAccess(r.Context(), rc.Actor, r.PostFormValue("id_number"), r.PostFormValue("reason"))
	if err != nil {
		if care.IsCode(err, care.ENOTFOUND) {
			err = &care.Error{Code: care.EINVALID, Key: "resident.not_found", Fields: []care.FieldError{{Field: "id_number", Key: "resident.not_found"}}}
		}
		return s.formError(w, r, rc, "emergency", pageData{Title: s.msgs.T(rc.Lang, "emergency.title")}, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(res.ID, 10)+"?ok=emergency", http.StatusSeeOther)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.mePage(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "me", d)
	return nil
}
