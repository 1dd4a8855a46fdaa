package maternal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
	"countycare/resident"
)

// Audit actions.
const (
	ActRegister = "maternal.register"
	ActVisit    = "maternal.visit"
	ActDelivery = "maternal.delivery"
	ActRead     = "maternal.read"
	ActOverdue  = "maternal.overdue"
	ActHighRisk = "maternal.high_risk"
)

// Limits of an adult's measurements: outside them a value is a typing
// error (a 15-kg adult, a 3-m woman), refused before anything is stored.
const (
	MinHeightMM = 1200
	MaxHeightMM = 2100
	MinWeightG  = 30000
	MaxWeightG  = 200000
	MinBMI      = 120 // tenths
	MaxBMI      = 600
	MaxNote     = 300
	MaxFactors  = 20
	ListMax     = 200 // rows of one list (overdue, orange/red), most urgent first
)

// Repository is the storage of pregnancies; store.Store implements it.
type Repository interface {
	// CreatePregnancy stores p with its audit row and sets ID. Errors:
	// ECONFLICT maternal.open_exists (the resident has an open pregnancy).
	CreatePregnancy(ctx context.Context, p *Pregnancy, ev audit.Event) error
	// Pregnancy reads one. Errors: ENOTFOUND.
	Pregnancy(ctx context.Context, county string, id int64) (*Pregnancy, error)
	// PregnanciesOf lists a resident's pregnancies, newest first.
	PregnanciesOf(ctx context.Context, county string, residentID int64) ([]Pregnancy, error)
	// PregnancyVisits lists a pregnancy's visits in order.
	PregnancyVisits(ctx context.Context, id int64) ([]Visit, error)
	// UpdatePregnancy stores p (read at p.Version; bumped) and, when v is
	// not nil, the visit, with ev, in one transaction. Errors: ECONFLICT
	// maternal.stale (changed since read), maternal.kind_done.
	UpdatePregnancy(ctx context.Context, p *Pregnancy, v *Visit, ev audit.Event) error
	// OverduePregnancies lists open or delivered pregnancies managed by the
	// clinics whose next visit's window ended before today, most overdue first.
	OverduePregnancies(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]Pregnancy, error)
	// HighRiskPregnancies lists the county's open pregnancies of the colours.
	HighRiskPregnancies(ctx context.Context, county string, colours []Colour, limit int) ([]Pregnancy, error)
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	ManagedClinics(ctx context.Context, a care.Actor) ([]int64, error)
}

// Service runs the maternal programme.
type Service struct {
	Repo      Repository
	Residents Residents
	Audit     audit.Recorder
	Config    Config
	Now       func() time.Time
}

// Writer reports whether a may register pregnancies and record visits: a
// village doctor or a township health center's staff, of an institution.
func Writer(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// County reports whether a works at a county hospital's MCH service: a
// county specialist, who sees the county's orange and red pregnancies.
func County(a care.Actor) bool { return a.Role == care.RoleCountySpecialist && a.InstitutionID != 0 }

// RegisterInput is a registration as typed.
type RegisterInput struct {
	LMP      care.Date
	On       care.Date // the registration date (zero: today)
	Gravida  int
	Parity   int
	HeightMM int
	WeightG  int
	Factors  []string
}

// Register opens a pregnancy for a woman in a's scope: the EDD by
// Naegele's rule, the risk grade from the factors and the measurements,
// the first visit due. Errors: EFORBIDDEN (role), ENOTFOUND (resident),
// EINVALID (not a woman of 12–60, an LMP in the future or more than 42
// weeks ago, a date before the LMP or in the future, gravida/parity,
// height, weight or BMI impossible for an adult, an unknown factor),
// ECONFLICT maternal.open_exists. Nothing is stored on an error.
func (s *Service) Register(ctx context.Context, a care.Actor, residentID int64, in RegisterInput) (*Pregnancy, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	if in.On.IsZero() {
		in.On = today
	}
	var fs []care.FieldError
	if res.Sex != idcard.Female {
		fs = append(fs, care.FieldError{Field: "resident", Key: "maternal.not_woman"})
	} else if age := res.Age(in.On); age < 12 || age > 60 {
		fs = append(fs, care.FieldError{Field: "resident", Key: "maternal.age", Args: []any{age}})
	}
	switch {
	case in.LMP.IsZero():
		fs = append(fs, care.FieldError{Field: "lmp", Key: "field.required"})
	case in.LMP.After(in.On):
		fs = append(fs, care.FieldError{Field: "lmp", Key: "maternal.lmp_future"})
	case GestDays(in.LMP, in.On) > 42*7:
		fs = append(fs, care.FieldError{Field: "lmp", Key: "maternal.lmp_old"})
	}
	if in.On.After(today) {
		fs = append(fs, care.FieldError{Field: "on", Key: "maternal.date_future"})
	}
	if in.Gravida < 1 || in.Gravida > 20 || in.Parity < 0 || in.Parity >= in.Gravida {
		fs = append(fs, care.FieldError{Field: "gravida", Key: "maternal.gravida"})
	}
	fs = append(fs, adultBody(in.HeightMM, in.WeightG)...)
	fs = append(fs, s.checkFactors(in.Factors)...)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	p := &Pregnancy{CountyCode: res.CountyCode, ResidentID: res.ID, ManagedBy: res.VillageID, ClinicID: a.InstitutionID,
		LMP: in.LMP, EDD: EDD(in.LMP), RegisteredOn: in.On, RegisteredBy: a.AccountID, Gravida: in.Gravida, Parity: in.Parity,
		HeightMM: in.HeightMM, WeightG: in.WeightG, Status: StatusOpen, Version: 1}
	p.Factors = merge(dedupe(in.Factors), s.Config.Derive(Measures{Age: res.Age(in.On), HeightMM: in.HeightMM, WeightG: in.WeightG}))
	p.Colour, p.Purple = Grade(p.Factors, s.Config.Factors)
	s.setNext(p, "", today)
	ev := audit.New(ctx, a, ActRegister, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("pregnancy, LMP %s, EDD %s, %s", p.LMP, p.EDD, p.Colour)
	if err := s.Repo.CreatePregnancy(ctx, p, ev); err != nil {
		return nil, err
	}
	return p, nil
}

// LateRegistration reports whether p was registered at or after the
// configured week (规范: 孕13周前建册; the early-registration rate counts
// the others).
func (s *Service) LateRegistration(p *Pregnancy) bool {
	return GestDays(p.LMP, p.RegisteredOn) >= s.Config.RegisterByWeek*7
}

func adultBody(heightMM, weightG int) []care.FieldError {
	var fs []care.FieldError
	if heightMM != 0 && (heightMM < MinHeightMM || heightMM > MaxHeightMM) {
		fs = append(fs, care.FieldError{Field: "height", Key: "maternal.height_range", Args: []any{MinHeightMM / 10, MaxHeightMM / 10}})
	}
	if weightG != 0 && (weightG < MinWeightG || weightG > MaxWeightG) {
		fs = append(fs, care.FieldError{Field: "weight", Key: "maternal.weight_range", Args: []any{MinWeightG / 1000, MaxWeightG / 1000}})
	}
	if len(fs) == 0 && heightMM != 0 && weightG != 0 {
		if b := BMITenths(weightG, heightMM); b < MinBMI || b > MaxBMI {
			fs = append(fs, care.FieldError{Field: "weight", Key: "maternal.bmi_implausible", Args: []any{float64(b) / 10}})
		}
	}
	return fs
}

func (s *Service) checkFactors(fs []string) []care.FieldError {
	var out []care.FieldError
	if len(fs) > MaxFactors {
		return []care.FieldError{{Field: "factors", Key: "maternal.factors_many", Args: []any{MaxFactors}}}
	}
	for _, f := range fs {
		if _, ok := s.Config.Factors[f]; !ok {
			out = append(out, care.FieldError{Field: "factors", Key: "maternal.factor_unknown", Args: []any{clip(f, 30)}})
		}
	}
	return out
}

func (s *Service) setNext(p *Pregnancy, last Kind, today care.Date) {
	w, ok := s.Config.Next(p, last, today)
	if !ok {
		p.NextKind, p.NextFrom, p.NextDue = "", care.Date{}, care.Date{}
		if last == Postpartum6 {
			p.Status = StatusClosed
		}
		return
	}
	p.NextKind, p.NextFrom, p.NextDue = w.Kind, w.From, w.To
}

// VisitInput is a visit as typed (0: not measured).
type VisitInput struct {
	Kind     Kind
	Date     care.Date
	WeightG  int
	SBP, DBP int
	FundalMM int
	FetalHR  int
	HbGL     int
	Factors  []string
	Note     string
}

// RecordVisit stores a visit on a pregnancy in a's scope and regrades it.
// Errors: EFORBIDDEN, ENOTFOUND, EINVALID (an unknown kind; a kind not
// after the last recorded; an antenatal visit after delivery or a
// postpartum one before it; a date in the future, before registration,
// before the last visit, before its window or, postpartum, before
// discharge; a fundal height or fetal heart rate on a postpartum visit or
// before 12 weeks; a fundal height more than 10 cm off the weeks of
// gestation after 20 weeks (McDonald); a weight, pressure or haemoglobin
// impossible for an adult; an unknown factor), ECONFLICT. Nothing is
// stored on an error.
func (s *Service) RecordVisit(ctx context.Context, a care.Actor, pregnancyID int64, in VisitInput) (*Visit, *Pregnancy, error) {
	if !Writer(a) {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	p, visits, err := s.load(ctx, a, pregnancyID)
	if err != nil {
		return nil, nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	var last *Visit
	if len(visits) > 0 {
		last = &visits[len(visits)-1]
	}
	delivered := !p.DeliveredOn.IsZero()
	switch {
	case p.Status == StatusClosed:
		return nil, nil, care.Errorf(care.ECONFLICT, "maternal.closed")
	case !in.Kind.Valid():
		fs = append(fs, care.FieldError{Field: "kind", Key: "maternal.kind_unknown"})
	case last != nil && in.Kind.index() <= last.Kind.index():
		fs = append(fs, care.FieldError{Field: "kind", Key: "maternal.kind_order"})
	case in.Kind.Antenatal() && delivered:
		fs = append(fs, care.FieldError{Field: "kind", Key: "maternal.antenatal_after_delivery"})
	case !in.Kind.Antenatal() && !delivered:
		fs = append(fs, care.FieldError{Field: "kind", Key: "maternal.postpartum_before_delivery"})
	}
	var lastDate care.Date
	if last != nil {
		lastDate = last.Date
	}
	switch f := checkDate(in.Date, today, p.RegisteredOn, lastDate); {
	case f != nil:
		fs = append(fs, *f)
	case in.Kind.Antenatal() && in.Kind != Antenatal1:
		if w, _ := s.Config.Schedule(p, in.Kind); in.Date.Before(w.From) {
			fs = append(fs, care.FieldError{Field: "date", Key: "maternal.date_early", Args: []any{w.From.String()}})
		}
	case in.Kind.Valid() && !in.Kind.Antenatal() && delivered:
		if base := firstNonZero(p.DischargedOn, p.DeliveredOn); in.Date.Before(base) {
			fs = append(fs, care.FieldError{Field: "date", Key: "maternal.date_before_discharge", Args: []any{base.String()}})
		}
	}
	ga := 0
	if in.Kind.Antenatal() {
		ga = GestDays(p.LMP, in.Date)
	}
	if in.FundalMM != 0 || in.FetalHR != 0 {
		switch {
		case !in.Kind.Antenatal():
			fs = append(fs, care.FieldError{Field: "fundal", Key: "maternal.fundal_no_pregnancy"})
		case ga < 12*7:
			fs = append(fs, care.FieldError{Field: "fundal", Key: "maternal.fundal_early"})
		}
	}
	if in.FundalMM != 0 && in.Kind.Antenatal() && ga >= 12*7 {
		if in.FundalMM < 50 || in.FundalMM > 500 || ga >= 20*7 && abs(in.FundalMM/10-ga/7) > 10 {
			fs = append(fs, care.FieldError{Field: "fundal", Key: "maternal.fundal_implausible", Args: []any{ga / 7}})
		}
	}
	if in.FetalHR != 0 && (in.FetalHR < 80 || in.FetalHR > 220) {
		fs = append(fs, care.FieldError{Field: "fetal_hr", Key: "maternal.fetal_hr_range"})
	}
	fs = append(fs, adultBody(p.HeightMM, in.WeightG)...)
	if in.SBP != 0 || in.DBP != 0 {
		if in.SBP < 60 || in.SBP > 260 || in.DBP < 30 || in.DBP > 160 || in.DBP >= in.SBP {
			fs = append(fs, care.FieldError{Field: "sbp", Key: "maternal.bp_range"})
		}
	}
	if in.HbGL != 0 && (in.HbGL < 20 || in.HbGL > 200) {
		fs = append(fs, care.FieldError{Field: "hb", Key: "maternal.hb_range"})
	}
	fs = append(fs, s.checkFactors(in.Factors)...)
	if !utf8.ValidString(in.Note) || utf8.RuneCountInString(in.Note) > MaxNote {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{MaxNote}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, nil, err
	}
	found := merge(dedupe(in.Factors), s.Config.Derive(Measures{SBP: in.SBP, DBP: in.DBP, HbGL: in.HbGL}))
	p.Factors = merge(p.Factors, found)
	p.Colour, p.Purple = Grade(p.Factors, s.Config.Factors)
	v := &Visit{PregnancyID: p.ID, CountyCode: p.CountyCode, ResidentID: p.ResidentID, Kind: in.Kind, Date: in.Date, GestDays: ga,
		WeightG: in.WeightG, SBP: in.SBP, DBP: in.DBP, FundalMM: in.FundalMM, FetalHR: in.FetalHR, HbGL: in.HbGL, Factors: found,
		Colour: p.Colour, Note: strings.TrimSpace(in.Note), ClinicID: a.InstitutionID, By: a.AccountID, CreatedAt: s.Now().UTC()}
	s.setNext(p, in.Kind, today)
	ev := audit.New(ctx, a, ActVisit, p.ResidentID)
	ev.CountyCode = p.CountyCode
	ev.Detail = fmt.Sprintf("pregnancy %d %s %s, %s", p.ID, v.Kind, v.Date, p.Colour)
	if err := s.Repo.UpdatePregnancy(ctx, p, v, ev); err != nil {
		return nil, nil, err
	}
	return v, p, nil
}

// Delivery modes and outcomes.
var (
	Modes    = []string{"vaginal", "assisted", "caesarean"}
	Outcomes = []string{"live", "stillbirth", "miscarriage"}
)

// DeliveryInput is the delivery record (分娩记录) as typed.
type DeliveryInput struct {
	Date         care.Date
	DischargedOn care.Date
	Mode         string
	Outcome      string
	BabyWeightG  int
}

// RecordDelivery records the end of an open pregnancy and makes the
// postpartum visits due. Errors: EFORBIDDEN, ENOTFOUND, ECONFLICT
// (maternal.delivered: recorded already), EINVALID (a date in the future,
// before registration or the last antenatal visit, before 20 weeks for a
// birth; discharge before delivery or more than 60 days after; an unknown
// mode or outcome; a baby's weight outside 300–6500 g). Nothing is stored
// on an error.
func (s *Service) RecordDelivery(ctx context.Context, a care.Actor, pregnancyID int64, in DeliveryInput) (*Pregnancy, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	p, visits, err := s.load(ctx, a, pregnancyID)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusOpen {
		return nil, care.Errorf(care.ECONFLICT, "maternal.delivered")
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	var lastDate care.Date
	if len(visits) > 0 {
		lastDate = visits[len(visits)-1].Date
	}
	switch f := checkDate(in.Date, today, p.RegisteredOn, lastDate); {
	case f != nil:
		fs = append(fs, *f)
	case in.Outcome != "miscarriage" && GestDays(p.LMP, in.Date) < 20*7:
		fs = append(fs, care.FieldError{Field: "date", Key: "maternal.delivery_early"})
	}
	if !in.DischargedOn.IsZero() && (in.DischargedOn.Before(in.Date) || GestDays(in.Date, in.DischargedOn) > 60 || in.DischargedOn.After(today)) {
		fs = append(fs, care.FieldError{Field: "discharged_on", Key: "maternal.discharge_date"})
	}
	if !slices.Contains(Modes, in.Mode) {
		fs = append(fs, care.FieldError{Field: "mode", Key: "maternal.mode_unknown"})
	}
	if !slices.Contains(Outcomes, in.Outcome) {
		fs = append(fs, care.FieldError{Field: "outcome", Key: "maternal.outcome_unknown"})
	}
	if in.BabyWeightG != 0 && (in.BabyWeightG < 300 || in.BabyWeightG > 6500) {
		fs = append(fs, care.FieldError{Field: "baby_weight", Key: "maternal.baby_weight", Args: []any{300, 6500}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	p.Status, p.DeliveredOn, p.DischargedOn, p.DeliveryMode, p.Outcome, p.BabyWeightG =
		StatusDelivered, in.Date, in.DischargedOn, in.Mode, in.Outcome, in.BabyWeightG
	s.setNext(p, Antenatal5, today)
	ev := audit.New(ctx, a, ActDelivery, p.ResidentID)
	ev.CountyCode = p.CountyCode
	ev.Detail = fmt.Sprintf("pregnancy %d delivered %s, %s, %s", p.ID, in.Date, in.Mode, in.Outcome)
	if err := s.Repo.UpdatePregnancy(ctx, p, nil, ev); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Pregnancy, []Visit, error) {
	p, err := s.Repo.Pregnancy(ctx, a.CountyCode, id)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Residents.Get(ctx, a, p.ResidentID); err != nil {
		return nil, nil, err
	}
	vs, err := s.Repo.PregnancyVisits(ctx, p.ID)
	return p, vs, err
}

// Detail reads a pregnancy with its visits, audited. Errors: EFORBIDDEN
// (not a clinical role), ENOTFOUND (none, or out of a's scope).
func (s *Service) Detail(ctx context.Context, a care.Actor, id int64) (*Pregnancy, []Visit, error) {
	if !a.Role.Clinical() {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	p, vs, err := s.load(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	s.audit(ctx, a, ActRead, p.ResidentID, p.CountyCode, fmt.Sprintf("pregnancy %d, %d visits", p.ID, len(vs)))
	return p, vs, nil
}

// OfResident lists the pregnancies of a resident a has read already
// through resident.Service.Get, audited.
func (s *Service) OfResident(ctx context.Context, a care.Actor, res *resident.Resident) ([]Pregnancy, error) {
	ps, err := s.Repo.PregnanciesOf(ctx, res.CountyCode, res.ID)
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	s.audit(ctx, a, ActRead, res.ID, res.CountyCode, fmt.Sprintf("%d pregnancies", len(ps)))
	return ps, nil
}

// Overdue lists the pregnancies of a's managed clinics (a village, or a
// township's villages) whose next visit's window has closed, audited.
// Errors: EFORBIDDEN.
func (s *Service) Overdue(ctx context.Context, a care.Actor) ([]Pregnancy, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.OverduePregnancies(ctx, a.CountyCode, clinics, care.Today(s.Now()), ListMax)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, a, ActOverdue, 0, a.CountyCode, fmt.Sprintf("overdue antenatal/postpartum n=%d", len(list)))
	return list, nil
}

// HighRisk lists the open orange and red pregnancies of a's county — the
// ones NeedsReferral sends up — for the county's MCH staff, audited.
// Errors: EFORBIDDEN (not a county specialist).
func (s *Service) HighRisk(ctx context.Context, a care.Actor) ([]Pregnancy, error) {
	if !County(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	list, err := s.Repo.HighRiskPregnancies(ctx, a.CountyCode, []Colour{Orange, Red}, ListMax)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, a, ActHighRisk, 0, a.CountyCode, fmt.Sprintf("orange/red pregnancies n=%d", len(list)))
	return list, nil
}

func (s *Service) audit(ctx context.Context, a care.Actor, act string, residentID int64, county, detail string) {
	ev := audit.New(ctx, a, act, residentID)
	ev.CountyCode, ev.Detail = county, detail
	s.Audit.Record(ctx, ev)
}

// checkDate is the fault of a visit's or delivery's date d, if any:
// missing, in the future, before the registration or before the last
// visit (zero: none) — the order the spec's record keeps.
func checkDate(d, today, registered, last care.Date) *care.FieldError {
	switch {
	case d.IsZero():
		return &care.FieldError{Field: "date", Key: "field.required"}
	case d.After(today):
		return &care.FieldError{Field: "date", Key: "maternal.date_future"}
	case d.Before(registered):
		return &care.FieldError{Field: "date", Key: "maternal.date_before_registration", Args: []any{registered.String()}}
	case !last.IsZero() && d.Before(last):
		return &care.FieldError{Field: "date", Key: "maternal.date_order", Args: []any{last.String()}}
	}
	return nil
}

func firstNonZero(ds ...care.Date) care.Date {
	for _, d := range ds {
		if !d.IsZero() {
			return d
		}
	}
	return care.Date{}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func dedupe(fs []string) []string {
	var out []string
	for _, f := range fs {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// merge appends to a the codes of b it lacks.
func merge(a, b []string) []string {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
