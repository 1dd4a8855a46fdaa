package web

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"countycare/account"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
	"countycare/settle"
)

// settleForm reads a settlement form (or its hidden copy on the preview page).
func settleForm(get func(string) string) (settle.Input, int64, []care.FieldError) {
	var fs []care.FieldError
	in := settle.Input{
		ResidentID:      formInt(get("resident_id"), "resident_id", &fs),
		InstitutionID:   formInt(get("institution_id"), "institution_id", &fs),
		VisitID:         get("visit_id"),
		Date:            strings.TrimSpace(get("date")),
		VisitType:       get("visit_type"),
		ChronicCategory: get("chronic_category"),
		Referred:        get("referred") != "",
		Insured:         get("insured") != "",
		DRG:             strings.TrimSpace(get("drg")),
	}
	if in.VisitType != settle.Chronic {
		in.ChronicCategory = ""
	}
	lines, lfs := settle.ParseBillLines(get("lines"))
	in.Lines = lines
	fs = append(fs, lfs...)
	replace := formInt(get("replace"), "replace", &fs)
	return in, replace, fs
}

type settleFormView struct {
	Resident     *residentView
	Institutions []*org.Institution
	Chronic      map[string]settle.ChronicCategory
	Replace      int64
	Result       *settle.Result
	Key          string
	Policy       string
	Certs        []settle.Certification // chronic special-outpatient certifications (门慢/门特)
}

func (s *Server) settleFormData(r *http.Request, rc *reqCtx, residentID int64) (*settleFormView, error) {
	res, err := s.Residents.Get(r.Context(), rc.Actor, residentID)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := s.viewOf(t, rc.Actor, res)
	fv := &settleFormView{Resident: &v}
	for _, k := range []org.Kind{org.KindCountyHospital, org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC, org.KindVillageClinic, org.KindPartner} {
		fv.Institutions = append(fv.Institutions, t.OfKind(0, k)...)
	}
	if sp, err := s.Settle.Repo.PolicyFor(r.Context(), res.CountyCode, care.Today(s.Now())); err == nil {
		fv.Chronic, fv.Policy = sp.Policy.Chronic, sp.Policy.Name
	}
	if fv.Certs, err = s.Settle.Certifications(r.Context(), rc.Actor, res.ID); err != nil {
		return nil, err
	}
	return fv, nil
}

func (s *Server) settleHome(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query().Get("q")
	d := pageData{Title: s.msgs.T(rc.Lang, "settle.title"), Form: r.URL.Query()}
	data := map[string]any{}
	if q != "" {
		res, _, err := s.Residents.Search(r.Context(), rc.Actor, q, resident.Filter{Limit: 10})
		if err != nil {
			ce, ok := err.(*care.Error)
			if !ok {
				return err
			}
			d.Error = ce
		} else if data["Found"], err = s.views(r, rc.Actor, res); err != nil {
			return err
		}
	}
	recent, err := s.Settle.Repo.Settlements(r.Context(), settle.SettlementFilter{County: rc.Actor.CountyCode, Limit: 20})
	if err != nil {
		return err
	}
	data["Recent"] = recent
	adms, err := s.Window.Admissions(r.Context(), rc.Actor, true)
	if err != nil {
		return err
	}
	data["Admissions"] = adms
	d.Data = data
	s.render(w, r, rc, http.StatusOK, "settle_home", d)
	return nil
}

func (s *Server) settleNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, _ := strconv.ParseInt(r.URL.Query().Get("resident"), 10, 64)
	fv, err := s.settleFormData(r, rc, id)
	if err != nil {
		return err
	}
	form := url.Values{"date": {care.Today(s.Now()).String()}, "insured": {"1"}, "visit_type": {settle.Inpatient},
		"visit_id": {r.URL.Query().Get("visit")}, "institution_id": {r.URL.Query().Get("institution")}}
	s.render(w, r, rc, http.StatusOK, "settle_form", pageData{Title: s.msgs.T(rc.Lang, "settle.new"), Data: fv, Form: form})
	return nil
}

func (s *Server) settleCorrect(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, err := s.Settle.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	fv, err := s.settleFormData(r, rc, st.ResidentID)
	if err != nil {
		return err
	}
	fv.Replace = st.ID
	c := st.Claim
	form := url.Values{"date": {c.Date}, "visit_id": {c.VisitID}, "visit_type": {c.VisitType}, "chronic_category": {c.ChronicCategory},
		"institution_id": {strconv.FormatInt(st.InstitutionID, 10)}, "drg": {st.DRG}, "lines": {billLinesFor(rc.Lang, c.Lines)}}
	if c.Referred {
		form.Set("referred", "1")
	}
	if c.Insured {
		form.Set("insured", "1")
	}
	s.render(w, r, rc, http.StatusOK, "settle_form", pageData{Title: s.msgs.T(rc.Lang, "settle.correct"), Data: fv, Form: form})
	return nil
}

// settlePost reads a posted bill and prepares the form page to show again
// if it is refused.
func (s *Server) settlePost(r *http.Request, rc *reqCtx) (settle.Input, int64, *settleFormView, pageData, []care.FieldError, error) {
	in, replace, fs := settleForm(r.PostFormValue)
	fv, err := s.settleFormData(r, rc, in.ResidentID)
	if err != nil {
		return in, 0, nil, pageData{}, nil, err
	}
	fv.Replace = replace
	return in, replace, fv, pageData{Title: s.msgs.T(rc.Lang, "settle.new"), Data: fv}, fs, nil
}

// settlePreview shows the split before anything is written, with a
// confirm button that carries a fresh idempotency key: pressing it twice,
// or reloading, settles once.
func (s *Server) settlePreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	in, _, fv, d, fs, err := s.settlePost(r, rc)
	if err != nil {
		return err
	}
	if err := care.Invalid(fs); err != nil {
		return s.formError(w, r, rc, "settle_form", d, err)
	}
	res, _, err := s.Settle.Preview(r.Context(), rc.Actor, in)
	if err != nil {
		return s.formError(w, r, rc, "settle_form", d, err)
	}
	fv.Result, fv.Key = res, account.NewToken()
	d.Form = r.PostForm
	s.render(w, r, rc, http.StatusOK, "settle_form", d)
	return nil
}

func (s *Server) settleSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	in, replace, _, d, fs, err := s.settlePost(r, rc)
	if err != nil {
		return err
	}
	if err := care.Invalid(fs); err != nil {
		return s.formError(w, r, rc, "settle_form", d, err)
	}
	st, _, err := s.Settle.Settle(r.Context(), rc.Actor, in, r.PostFormValue("idempotency_key"), replace)
	if err != nil {
		return s.formError(w, r, rc, "settle_form", d, err)
	}
	http.Redirect(w, r, "/settlements/"+strconv.FormatInt(st.ID, 10)+"?ok=settled", http.StatusSeeOther)
	return nil
}

type eobView struct {
	S           *settle.Settlement
	Resident    *residentView
	Institution string
	Receivable  *settle.Receivable
	Layers      []settle.LayerResult
}

func (s *Server) eobData(r *http.Request, rc *reqCtx) (*eobView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	st, err := s.Settle.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, st.ResidentID)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := s.viewOf(t, rc.Actor, res)
	ev := &eobView{S: st, Resident: &v, Layers: st.Result.Layers}
	if in := t.Get(st.InstitutionID); in != nil {
		ev.Institution = in.Name
	}
	recs, err := s.Window.Receivables(r.Context(), rc.Actor, st.ResidentID, false)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if recs[i].SettlementID == st.ID {
			ev.Receivable = &recs[i]
		}
	}
	return ev, nil
}

func (s *Server) settlementShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ev, err := s.eobData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "settlement", pageData{Title: s.msgs.T(rc.Lang, "settle.eob"), Data: ev})
	return nil
}

func (s *Server) settlementReverse(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Settle.Reverse(r.Context(), rc.Actor, id, r.PostFormValue("reason")); err != nil {
		if ce, ok := err.(*care.Error); ok && (ce.Code == care.EINVALID || ce.Code == care.ECONFLICT) {
			ev, verr := s.eobData(r, rc)
			if verr != nil {
				return verr
			}
			return s.formError(w, r, rc, "settlement", pageData{Title: s.msgs.T(rc.Lang, "settle.eob"), Data: ev}, err)
		}
		return err
	}
	http.Redirect(w, r, "/settlements/"+strconv.FormatInt(id, 10)+"?ok=reversed", http.StatusSeeOther)
	return nil
}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ps, err := s.Settle.Policies(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "settle_policies", pageData{Title: s.msgs.T(rc.Lang, "settle.policies"), Data: map[string]any{"Policies": ps, "Examples": settle.ExampleNames()}})
	return nil
}

func (s *Server) policyUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body := []byte(r.PostFormValue("policy"))
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		body, err = io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			return err
		}
	} else if ex := r.PostFormValue("example"); ex != "" {
		b, err := settle.ExampleFile(ex)
		if err != nil {
			return care.Invalid([]care.FieldError{{Field: "example", Key: "settle.policy_invalid", Args: []any{ex}}})
		}
		body = b
	}
	if _, err := s.Settle.UploadPolicy(r.Context(), rc.Actor, body); err != nil {
		ps, perr := s.Settle.Policies(r.Context(), rc.Actor)
		if perr != nil {
			return perr
		}
		return s.formError(w, r, rc, "settle_policies", pageData{Title: s.msgs.T(rc.Lang, "settle.policies"), Data: map[string]any{"Policies": ps, "Examples": settle.ExampleNames()}}, err)
	}
	http.Redirect(w, r, "/settle/policies?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) admit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	resID := formInt(r.PostFormValue("resident_id"), "resident_id", &fs)
	inst := formInt(r.PostFormValue("institution_id"), "institution_id", &fs)
	on, derr := care.ParseDate(strings.TrimSpace(r.PostFormValue("admitted_on")))
	if derr != nil {
		fs = append(fs, care.FieldError{Field: "admitted_on", Key: "field.date"})
	}
	err := care.Invalid(fs)
	var adm *settle.Admission
	if err == nil {
		adm, err = s.Window.Admit(r.Context(), rc.Actor, resID, inst, r.PostFormValue("visit_id"), on)
	}
	if err != nil {
		fv, ferr := s.settleFormData(r, rc, resID)
		if ferr != nil {
			return err
		}
		return s.formError(w, r, rc, "settle_form", pageData{Title: s.msgs.T(rc.Lang, "settle.new"), Data: fv}, err)
	}
	flash := "admitted_deposit"
	if adm.NoDeposit {
		flash = "admitted_no_deposit"
	}
	http.Redirect(w, r, "/settlement?ok="+flash, http.StatusSeeOther)
	return nil
}

func (s *Server) receivablesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	recs, err := s.Window.Receivables(r.Context(), rc.Actor, 0, r.URL.Query().Get("all") == "")
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "receivables", pageData{Title: s.msgs.T(rc.Lang, "settle.receivables"), Data: map[string]any{"Receivables": recs, "Methods": settle.PaymentMethods, "Key": account.NewToken()}})
	return nil
}

func (s *Server) receivablePay(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	amount, aerr := settle.ParseYuan(r.PostFormValue("amount"))
	if aerr != nil {
		return care.Invalid([]care.FieldError{{Field: "amount", Key: "settle.line_amount", Args: []any{0, r.PostFormValue("amount")}}})
	}
	if _, _, err := s.Window.Pay(r.Context(), rc.Actor, id, amount, r.PostFormValue("method"), r.PostFormValue("idempotency_key")); err != nil {
		return err
	}
	http.Redirect(w, r, "/receivables?ok=paid", http.StatusSeeOther)
	return nil
}

func (s *Server) receivableInstalments(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(r.PostFormValue("instalments"))
	if err := s.Window.SetInstalments(r.Context(), rc.Actor, id, n); err != nil {
		return err
	}
	http.Redirect(w, r, "/receivables?ok=saved", http.StatusSeeOther)
	return nil
}

type reportView struct {
	*settle.Report
	Insts map[int64]string
	Years []int
}

func (s *Server) reportData(r *http.Request, rc *reqCtx) (*reportView, error) {
	year, _ := strconv.Atoi(r.URL.Query().Get("year"))
	if year == 0 {
		year = care.Today(s.Now()).Year
	}
	rep, err := s.Window.Reports(r.Context(), rc.Actor, year, r.URL.Query().Get("month"))
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &reportView{Report: rep, Insts: map[int64]string{}}
	for _, x := range rep.Reconciled {
		if in := t.Get(x.InstitutionID); in != nil {
			v.Insts[x.InstitutionID] = in.Name
		}
	}
	for _, b := range rep.Budget {
		if in := t.Get(b.CommunityID); in != nil {
			v.Insts[b.CommunityID] = in.Name
		}
	}
	now := care.Today(s.Now()).Year
	v.Years = []int{now, now - 1}
	return v, nil
}

func (s *Server) settleReports(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.reportData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "settle_reports", pageData{Title: s.msgs.T(rc.Lang, "settle.reports"), Data: v, Form: r.URL.Query()})
	return nil
}

func (s *Server) setBudget(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	comm := formInt(r.PostFormValue("community_id"), "community_id", &fs)
	year, _ := strconv.Atoi(r.PostFormValue("year"))
	amount, aerr := settle.ParseYuan(r.PostFormValue("amount"))
	if aerr != nil {
		fs = append(fs, care.FieldError{Field: "amount", Key: "settle.line_amount", Args: []any{0, r.PostFormValue("amount")}})
	}
	err := care.Invalid(fs)
	if err == nil {
		err = s.Window.SetBudget(r.Context(), rc.Actor, comm, year, amount)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/settle/reports?year="+strconv.Itoa(year)+"&ok=saved", http.StatusSeeOther)
	return nil
}

// mySettlements is the resident's own list on /me.
func (s *Server) mySettlements(r *http.Request, rc *reqCtx) ([]settle.Settlement, []settle.Receivable, error) {
	sts, err := s.Settle.ForResident(r.Context(), rc.Actor, rc.Actor.ResidentID)
	if err != nil {
		return nil, nil, err
	}
	recs, err := s.Window.Receivables(r.Context(), rc.Actor, rc.Actor.ResidentID, false)
	return sts, recs, err
}

// billLinesFor writes a bill's lines for the window's textarea in the
// page's language (classes 药品/耗材… on a Chinese page).
func billLinesFor(lang string, ls []settle.Line) string {
	if lang == "zh" {
		return settle.FormatBillLinesZH(ls)
	}
	return settle.FormatBillLines(ls)
}
