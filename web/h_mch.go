package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/childhealth"
	"countycare/idcard"
	"countycare/maternal"
	"countycare/resident"
)

// mchView is the resident's maternal and child health page.
type mchView struct {
	R           *resident.Resident
	Writer      bool
	Pregnancies []maternal.Pregnancy
	Open        *maternal.Pregnancy // the open or latest pregnancy not closed
	Visits      []maternal.Visit    // of Open
	CanRegister bool                // a woman of 12–60 without an open pregnancy
	Kinds       []maternal.Kind
	Factors     []string
	Modes       []string
	Outcomes    []string
	Today       care.Date
	Child       *childhealth.Child
	Checks      []childhealth.Check
	CanChild    bool // under 7 without a record
	ChildKinds  []childhealth.Kind
	Chart       *growthChart
	// FactorColours gives each factor's colour (its badge).
	FactorColours map[string]maternal.Colour
}

// GestWeeks formats a gestational age in days as "孕 n 周 + d 天".
func (p pageData) GestWeeks(days int) string { return p.T("mch.gest_weeks", days/7, days%7) }

// Kg formats grams as kilograms with one decimal.
func (p pageData) Kg(g int) string { return strconv.FormatFloat(float64(g)/1000, 'f', 1, 64) }

// Cm formats millimetres as centimetres with one decimal.
func (p pageData) Cm(mm int) string { return strconv.FormatFloat(float64(mm)/10, 'f', 1, 64) }

// ZS formats a z-score with its sign and two decimals; "—" for none.
func (p pageData) ZS(z *float64) string {
	if z == nil {
		return "—"
	}
	return fmt.Sprintf("%+.2f", *z)
}

// AgeDays formats a child's age in days as months and days.
func (p pageData) AgeDays(d int) string {
	m := int(float64(d) / 30.4375)
	return p.T("mch.age_md", m, d-int(float64(m)*30.4375))
}

func (s *Server) mchData(r *http.Request, rc *reqCtx) (*mchView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	v := &mchView{R: res, Writer: maternal.Writer(rc.Actor), Kinds: maternal.Kinds, Factors: s.Maternal.Config.FactorCodes(),
		Modes: maternal.Modes, Outcomes: maternal.Outcomes, Today: today, ChildKinds: childhealth.Kinds,
		FactorColours: s.Maternal.Config.Factors}
	if res.Sex == idcard.Female {
		if v.Pregnancies, err = s.Maternal.OfResident(r.Context(), rc.Actor, res); err != nil {
			return nil, err
		}
		for i := range v.Pregnancies {
			if v.Pregnancies[i].Status != maternal.StatusClosed {
				v.Open = &v.Pregnancies[i]
				break
			}
		}
		if v.Open != nil {
			if v.Visits, err = s.Maternal.Repo.PregnancyVisits(r.Context(), v.Open.ID); err != nil {
				return nil, err
			}
		}
		age := res.Age(today)
		v.CanRegister = v.Writer && (v.Open == nil || v.Open.Status != maternal.StatusOpen) && age >= 12 && age <= 60
	}
	if v.Child, v.Checks, err = s.Children.OfResident(r.Context(), rc.Actor, res); err != nil {
		return nil, err
	}
	v.CanChild = v.Writer && v.Child == nil && !res.BirthDate.IsZero() && res.Age(today) < s.Children.Config.MaxAgeYears
	if v.Child != nil {
		v.Chart = s.growthChart(rc.Lang, v.Child, v.Checks)
	}
	return v, nil
}

func (s *Server) mchTitle(rc *reqCtx) string { return s.msgs.T(rc.Lang, "mch.title") }

// mchPage is GET /residents/{id}/mch.
func (s *Server) mchPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.mchData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "mch", pageData{Title: s.mchTitle(rc), Flash: okFlash(r), Data: v})
	return nil
}

// okFlash is the flash key named by ?ok= among the page's own.
func okFlash(r *http.Request) string {
	switch k := r.URL.Query().Get("ok"); k {
	case "mch_registered", "mch_visit", "mch_delivery", "mch_child", "mch_check":
		return "flash." + k
	}
	return ""
}

// mchFormError renders the page again with the form's faults.
func (s *Server) mchFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, residentID int64, err error) error {
	r.SetPathValue("id", strconv.FormatInt(residentID, 10))
	v, perr := s.mchData(r, rc)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "mch", pageData{Title: s.mchTitle(rc), Data: v}, err)
}

// scaled reads a decimal field ("55.2", "55,2") times mul as an integer
// (kg → g with 1000); empty is 0. A malformed value adds mch.number.
func scaled(r *http.Request, field string, mul float64, fs *[]care.FieldError) int {
	v := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue(field)), ",", ".")
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*mul) > 1e7 {
		*fs = append(*fs, care.FieldError{Field: field, Key: "mch.number"})
		return 0
	}
	return int(math.Round(f * mul))
}

// mchDate reads an optional date field; a malformed one adds mch.date.
func mchDate(r *http.Request, field string, fs *[]care.FieldError) care.Date {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return care.Date{}
	}
	d, err := care.ParseDate(v)
	if err != nil {
		*fs = append(*fs, care.FieldError{Field: field, Key: "mch.date"})
	}
	return d
}

// mchRegister is POST /residents/{id}/pregnancies.
func (s *Server) mchRegister(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := maternal.RegisterInput{LMP: mchDate(r, "lmp", &fs), On: mchDate(r, "on", &fs), Gravida: scaled(r, "gravida", 1, &fs),
		Parity: scaled(r, "parity", 1, &fs), HeightMM: scaled(r, "height", 10, &fs), WeightG: scaled(r, "weight", 1000, &fs), Factors: r.PostForm["factors"]}
	if err := care.Invalid(fs); err != nil {
		return s.mchFormError(w, r, rc, id, err)
	}
	if _, err := s.Maternal.Register(r.Context(), rc.Actor, id, in); err != nil {
		return s.mchFormError(w, r, rc, id, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/mch?ok=mch_registered", id), http.StatusSeeOther)
	return nil
}

// pregnancyResident reads the pregnancy of a path for its resident (the
// service checks the scope again on the write).
func (s *Server) pregnancyResident(r *http.Request, rc *reqCtx) (int64, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, 0, err
	}
	p, err := s.Maternal.Repo.Pregnancy(r.Context(), rc.Actor.CountyCode, id)
	if err != nil {
		return 0, 0, err
	}
	return id, p.ResidentID, nil
}

// mchVisit is POST /pregnancies/{id}/visits.
func (s *Server) mchVisit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, rid, err := s.pregnancyResident(r, rc)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := maternal.VisitInput{Kind: maternal.Kind(r.PostFormValue("kind")), Date: mchDate(r, "date", &fs), WeightG: scaled(r, "weight", 1000, &fs),
		SBP: scaled(r, "sbp", 1, &fs), DBP: scaled(r, "dbp", 1, &fs), FundalMM: scaled(r, "fundal", 10, &fs), FetalHR: scaled(r, "fetal_hr", 1, &fs),
		HbGL: scaled(r, "hb", 1, &fs), Factors: r.PostForm["factors"], Note: r.PostFormValue("note")}
	if err := care.Invalid(fs); err != nil {
		return s.mchFormError(w, r, rc, rid, err)
	}
	if _, _, err := s.Maternal.RecordVisit(r.Context(), rc.Actor, id, in); err != nil {
		return s.mchFormError(w, r, rc, rid, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/mch?ok=mch_visit", rid), http.StatusSeeOther)
	return nil
}

// mchDelivery is POST /pregnancies/{id}/delivery.
func (s *Server) mchDelivery(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, rid, err := s.pregnancyResident(r, rc)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := maternal.DeliveryInput{Date: mchDate(r, "delivered_on", &fs), DischargedOn: mchDate(r, "discharged_on", &fs), Mode: r.PostFormValue("mode"),
		Outcome: r.PostFormValue("outcome"), BabyWeightG: scaled(r, "baby_weight", 1000, &fs)}
	if err := care.Invalid(fs); err != nil {
		return s.mchFormError(w, r, rc, rid, err)
	}
	if _, err := s.Maternal.RecordDelivery(r.Context(), rc.Actor, id, in); err != nil {
		return s.mchFormError(w, r, rc, rid, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/mch?ok=mch_delivery", rid), http.StatusSeeOther)
	return nil
}

// mchChild is POST /residents/{id}/child.
func (s *Server) mchChild(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := childhealth.RegisterInput{DischargedOn: mchDate(r, "discharged_on", &fs), BirthWeightG: scaled(r, "birth_weight", 1000, &fs),
		BirthLengthMM: scaled(r, "birth_length", 10, &fs), GestWeeks: scaled(r, "gest_weeks", 1, &fs)}
	if err := care.Invalid(fs); err != nil {
		return s.mchFormError(w, r, rc, id, err)
	}
	if _, err := s.Children.Register(r.Context(), rc.Actor, id, in); err != nil {
		return s.mchFormError(w, r, rc, id, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/mch?ok=mch_child", id), http.StatusSeeOther)
	return nil
}

// mchCheck is POST /children/{id}/checks.
func (s *Server) mchCheck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.Children.Repo.Child(r.Context(), rc.Actor.CountyCode, id)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := childhealth.CheckInput{Kind: childhealth.Kind(r.PostFormValue("kind")), Date: mchDate(r, "date", &fs), WeightG: scaled(r, "weight", 1000, &fs),
		LengthMM: scaled(r, "length", 10, &fs), HeadMM: scaled(r, "head", 10, &fs), Note: r.PostFormValue("note")}
	if err := care.Invalid(fs); err != nil {
		return s.mchFormError(w, r, rc, c.ResidentID, err)
	}
	if _, _, err := s.Children.Record(r.Context(), rc.Actor, id, in); err != nil {
		return s.mchFormError(w, r, rc, c.ResidentID, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/mch?ok=mch_check", c.ResidentID), http.StatusSeeOther)
	return nil
}

// mchListView is the programme's working list: a village's or township's
// overdue visits and checks, or the county's orange and red pregnancies.
type mchListView struct {
	Local     bool
	County    bool
	Antenatal []maternal.Pregnancy
	Children  []childhealth.Child
	HighRisk  []maternal.Pregnancy
	Today     care.Date
}

// DaysLate is how many days past its window's end a due date is.
func (v *mchListView) DaysLate(due care.Date) int {
	return int(v.Today.Time().Sub(due.Time()).Hours() / 24)
}

func (s *Server) mchListData(r *http.Request, rc *reqCtx) (*mchListView, error) {
	v := &mchListView{Local: maternal.Writer(rc.Actor), County: maternal.County(rc.Actor), Today: care.Today(s.Now())}
	var err error
	if v.Local {
		if v.Antenatal, err = s.Maternal.Overdue(r.Context(), rc.Actor); err != nil {
			return nil, err
		}
		if v.Children, err = s.Children.Overdue(r.Context(), rc.Actor); err != nil {
			return nil, err
		}
	}
	if v.County {
		if v.HighRisk, err = s.Maternal.HighRisk(r.Context(), rc.Actor); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// mchList is GET /mch.
func (s *Server) mchList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.mchListData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "mch_list", pageData{Title: s.mchTitle(rc), Data: v})
	return nil
}

// apiMCHList is GET /api/v1/mch/overdue: {"antenatal": […], "children":
// […], "high_risk": […]} for the caller's scope.
func (s *Server) apiMCHList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.mchListData(r, rc)
	if err != nil {
		return err
	}
	out := map[string]any{"antenatal": nonNil(v.Antenatal), "children": nonNil(v.Children), "high_risk": nonNil(v.HighRisk)}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiMCHResident is GET /api/v1/residents/{id}/mch: the pregnancies (the
// current one with its visits) and the child record with its checks.
func (s *Server) apiMCHResident(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.mchData(r, rc)
	if err != nil {
		return err
	}
	out := map[string]any{"pregnancies": nonNil(v.Pregnancies), "visits": nonNil(v.Visits), "child": v.Child, "checks": nonNil(v.Checks)}
	if v.Open != nil {
		out["current_pregnancy_id"] = v.Open.ID
		out["needs_referral"] = maternal.NeedsReferral(v.Open.Colour)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiMCHRegister is POST /api/v1/residents/{id}/pregnancies with {"lmp",
// "on", "gravida", "parity", "height_mm", "weight_g", "factors"}.
func (s *Server) apiMCHRegister(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		LMP      care.Date `json:"lmp"`
		On       care.Date `json:"on"`
		Gravida  int       `json:"gravida"`
		Parity   int       `json:"parity"`
		HeightMM int       `json:"height_mm"`
		WeightG  int       `json:"weight_g"`
		Factors  []string  `json:"factors"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Maternal.Register(r.Context(), rc.Actor, id, maternal.RegisterInput{LMP: in.LMP, On: in.On, Gravida: in.Gravida, Parity: in.Parity,
		HeightMM: in.HeightMM, WeightG: in.WeightG, Factors: in.Factors})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// apiMCHVisit is POST /api/v1/pregnancies/{id}/visits with {"kind",
// "date", "weight_g", "sbp", "dbp", "fundal_mm", "fetal_hr", "hb_gl",
// "factors", "note"}.
func (s *Server) apiMCHVisit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind     maternal.Kind `json:"kind"`
		Date     care.Date     `json:"date"`
		WeightG  int           `json:"weight_g"`
		SBP      int           `json:"sbp"`
		DBP      int           `json:"dbp"`
		FundalMM int           `json:"fundal_mm"`
		FetalHR  int           `json:"fetal_hr"`
		HbGL     int           `json:"hb_gl"`
		Factors  []string      `json:"factors"`
		Note     string        `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, p, err := s.Maternal.RecordVisit(r.Context(), rc.Actor, id, maternal.VisitInput{Kind: in.Kind, Date: in.Date, WeightG: in.WeightG, SBP: in.SBP,
		DBP: in.DBP, FundalMM: in.FundalMM, FetalHR: in.FetalHR, HbGL: in.HbGL, Factors: in.Factors, Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"visit": v, "pregnancy": p, "needs_referral": maternal.NeedsReferral(p.Colour)})
	return nil
}

// apiMCHDelivery is POST /api/v1/pregnancies/{id}/delivery with {"date",
// "discharged_on", "mode", "outcome", "baby_weight_g"}.
func (s *Server) apiMCHDelivery(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Date         care.Date `json:"date"`
		DischargedOn care.Date `json:"discharged_on"`
		Mode         string    `json:"mode"`
		Outcome      string    `json:"outcome"`
		BabyWeightG  int       `json:"baby_weight_g"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Maternal.RecordDelivery(r.Context(), rc.Actor, id, maternal.DeliveryInput{Date: in.Date, DischargedOn: in.DischargedOn, Mode: in.Mode,
		Outcome: in.Outcome, BabyWeightG: in.BabyWeightG})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// apiMCHChild is POST /api/v1/residents/{id}/child with {"discharged_on",
// "birth_weight_g", "birth_length_mm", "gest_weeks"}.
func (s *Server) apiMCHChild(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		DischargedOn  care.Date `json:"discharged_on"`
		BirthWeightG  int       `json:"birth_weight_g"`
		BirthLengthMM int       `json:"birth_length_mm"`
		GestWeeks     int       `json:"gest_weeks"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Children.Register(r.Context(), rc.Actor, id, childhealth.RegisterInput{DischargedOn: in.DischargedOn, BirthWeightG: in.BirthWeightG,
		BirthLengthMM: in.BirthLengthMM, GestWeeks: in.GestWeeks})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// apiMCHCheck is POST /api/v1/children/{id}/checks with {"kind", "date",
// "weight_g", "length_mm", "head_mm", "note"}: the check with its z-scores
// and findings.
func (s *Server) apiMCHCheck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind     childhealth.Kind `json:"kind"`
		Date     care.Date        `json:"date"`
		WeightG  int              `json:"weight_g"`
		LengthMM int              `json:"length_mm"`
		HeadMM   int              `json:"head_mm"`
		Note     string           `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, c, err := s.Children.Record(r.Context(), rc.Actor, id, childhealth.CheckInput{Kind: in.Kind, Date: in.Date, WeightG: in.WeightG,
		LengthMM: in.LengthMM, HeadMM: in.HeadMM, Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"check": k, "child": c})
	return nil
}

// HasFactor reports whether the open pregnancy records factor f (the
// form's checkboxes).
func (v *mchView) HasFactor(f string) bool {
	return v.Open != nil && slices.Contains(v.Open.Factors, f)
}

// NeedsReferral reports whether the current pregnancy is orange or red.
func (v *mchView) NeedsReferral() bool { return v.Open != nil && maternal.NeedsReferral(v.Open.Colour) }

// GA is the current pregnancy's gestational age today in days.
func (v *mchView) GA() int { return maternal.GestDays(v.Open.LMP, v.Today) }
