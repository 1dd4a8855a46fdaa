package specimen

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/lab"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Audit actions.
const (
	ActOrder  = "specimen.order"
	ActScan   = "specimen.scan" // every step after the order; the detail names it
	ActRead   = "specimen.read"
	ActList   = "specimen.list"
	ActAlert  = "specimen.overdue"
	ActReport = "specimen.indicators"
)

// PurposeOverdue is the outbox purpose of the overdue alert; its messages
// carry the parameters clinic, count and step.
const PurposeOverdue = "specimen.overdue"

// Limits of free text.
const (
	MaxNote    = 200
	MaxCourier = 40
	MaxPerBox  = 200
	MaxTests   = 20
)

// Move is one step applied to specimens in one transaction.
type Move struct {
	Step      Step
	To        Status
	Specimens []*Specimen // as read: each moves only from its Version
	At        time.Time
	Place     int64 // the scanning institution
	Account   int64
	Box       *Box   // pack: the new box (ID set by the store); hand-over: the box
	Reason    Reason // reject
	Detail    string // the event's detail
	Audit     []audit.Event
}

// Filter selects specimens for a list.
type Filter struct {
	County   string
	ClinicID int64 // 0: any
	LabID    int64 // 0: any
	Statuses []Status
	Limit    int
}

// Repository is the storage of specimens; store.Store implements it.
type Repository interface {
	// CreateSpecimen stores a new specimen with its order event and audit
	// row; it sets ID and Barcode.
	CreateSpecimen(ctx context.Context, sp *Specimen, ev audit.Event) error
	// Specimen reads one specimen with its names. Errors: ENOTFOUND.
	Specimen(ctx context.Context, county string, id int64) (*Specimen, error)
	// SpecimenEvents lists a specimen's steps, oldest first.
	SpecimenEvents(ctx context.Context, county string, id int64) ([]Event, error)
	// Box reads one box. Errors: ENOTFOUND.
	Box(ctx context.Context, county string, id int64) (*Box, error)
	// MoveSpecimens applies m in one transaction: each specimen from the
	// version it was read at, its event row, the box, the audit rows.
	// Errors: ECONFLICT specimen.scanned_elsewhere when a specimen moved
	// since it was read (nothing is written).
	MoveSpecimens(ctx context.Context, m *Move) error
	// Specimens lists specimens, oldest last scan first.
	Specimens(ctx context.Context, f Filter) ([]Specimen, error)
	// WaitingBoxes lists a clinic's packed boxes not yet handed over.
	WaitingBoxes(ctx context.Context, county string, clinicID int64) ([]Box, error)
	// OverdueSpecimens lists open specimens in status st whose last scan
	// is before cutoff and that have no alert for st yet, every county.
	OverdueSpecimens(ctx context.Context, st Status, cutoff time.Time, limit int) ([]Specimen, error)
	// MarkOverdue records the alert on the specimens (only those still in
	// the status and version read), queues msgs and writes ev, in one
	// transaction; it returns how many were marked.
	MarkOverdue(ctx context.Context, sps []Specimen, at time.Time, msgs []notify.Message, ev audit.Event) (int, error)
	// ClosedSpecimens lists the specimens ordered in [from, to) for the
	// indicators (clinicID, labID 0: any).
	ClosedSpecimens(ctx context.Context, county string, clinicID, labID int64, from, to time.Time) ([]Specimen, error)
	// Practitioners lists practitioners (for the alert's recipients).
	Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error)
}

// Residents reads a resident within the actor's scope, audited
// (resident.Service.Get).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// OrgTree gives the organisation tree (org.Service.Tree).
type OrgTree interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Labs files results for an order (lab.Service.File).
type Labs interface {
	File(ctx context.Context, a care.Actor, o lab.Order, ins []lab.Input, prefix func(i int) string) ([]*lab.Result, error)
}

// Service runs the specimen journey.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      OrgTree
	Labs      Labs
	Audit     audit.Recorder
	Config    Config
	Now       func() time.Time
}

// Clinic reports whether a may order and send specimens: a village or
// township doctor of an institution.
func Clinic(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// LabStaff reports whether a works at a diagnosis center that receives
// specimens (a reader there).
func LabStaff(a care.Actor) bool { return a.Role == care.RoleReader && a.InstitutionID != 0 }

// Labs lists the labs of a's county that take specimens: its diagnosis
// centers.
func (s *Service) LabsFor(ctx context.Context, a care.Actor) ([]*org.Institution, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var out []*org.Institution
	for _, in := range t.OfKind(0, org.KindDiagnosis) {
		if in.CountyCode == a.CountyCode && in.Active {
			out = append(out, in)
		}
	}
	return out, nil
}

// OrderInput is a lab order as typed.
type OrderInput struct {
	LabID int64
	Tests []string // analyte codes or LOINC
	Tube  Tube
	Note  string
}

// Order creates a specimen for a resident in a's scope, ordered by a's
// clinic for a lab of the county; its label is printed next. Errors:
// EFORBIDDEN (not a clinic's doctor), ENOTFOUND (resident out of scope),
// EINVALID (lab, tests, tube or note; nothing stored).
func (s *Service) Order(ctx context.Context, a care.Actor, residentID int64, in OrderInput) (*Specimen, error) {
	if !Clinic(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	labs, err := s.LabsFor(ctx, a)
	if err != nil {
		return nil, err
	}
	okLab := false
	for _, l := range labs {
		okLab = okLab || l.ID == in.LabID
	}
	if !okLab {
		fs = append(fs, care.FieldError{Field: "lab_id", Key: "specimen.lab_unknown"})
	}
	var codes []string
	for _, t := range in.Tests {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		an, ok := lab.Lookup(t)
		if !ok {
			fs = append(fs, care.FieldError{Field: "tests", Key: "specimen.test_unknown", Args: []any{clip(t, 20)}})
			continue
		}
		codes = append(codes, an.Code)
	}
	codes = dedupe(codes)
	switch {
	case len(codes) == 0 && len(fs) == 0:
		fs = append(fs, care.FieldError{Field: "tests", Key: "specimen.tests_none"})
	case len(codes) > MaxTests:
		fs = append(fs, care.FieldError{Field: "tests", Key: "specimen.tests_many", Args: []any{MaxTests}})
	}
	if !in.Tube.Valid() {
		fs = append(fs, care.FieldError{Field: "tube", Key: "specimen.tube_unknown"})
	}
	if f := checkText("note", in.Note, MaxNote); f != nil {
		fs = append(fs, *f)
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	sp := &Specimen{CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: a.InstitutionID, OrderedBy: a.AccountID, LabID: in.LabID,
		Tests: strings.Join(codes, ","), Tube: in.Tube, Status: StatusOrdered, Note: strings.TrimSpace(in.Note), Doctor: a.Name, OrderedAt: now,
		LastScanAt: now, LastPlace: a.InstitutionID, Version: 1}
	ev := audit.New(ctx, a, ActOrder, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("tests %s, tube %s, lab %d", sp.Tests, sp.Tube, sp.LabID)
	if err := s.Repo.CreateSpecimen(ctx, sp, ev); err != nil {
		return nil, err
	}
	return sp, nil
}

// byBarcode reads the specimen of a scanned label in a's county. Errors:
// EINVALID specimen.barcode_unknown (not a label, another county's, or no
// such specimen: a scanner must not learn which).
func (s *Service) byBarcode(ctx context.Context, a care.Actor, code string) (*Specimen, error) {
	county, id, err := ParseBarcode(code)
	if err != nil {
		return nil, err
	}
	if county != a.CountyCode {
		return nil, barcodeUnknown(strings.TrimSpace(code))
	}
	sp, err := s.Repo.Specimen(ctx, county, id)
	if care.ErrorCode(err) == care.ENOTFOUND {
		return nil, barcodeUnknown(strings.TrimSpace(code))
	}
	return sp, err
}

// ScanInput is one scan: the label and the step (collect at the clinic,
// receive or reject at the lab), with a rejection's reason.
type ScanInput struct {
	Barcode string
	Step    Step
	Reason  Reason
	Note    string
}

// ScanResult is a scan's outcome: the specimen after the step, and for a
// receipt whether it came past its tube's stability (the lab should reject
// it as too_late) or overdue.
type ScanResult struct {
	Specimen *Specimen
	Late     bool
}

// Scan applies a single-specimen step: collect (by the ordering clinic),
// receive or reject (by the lab it was sent to). Errors: EINVALID
// (unknown barcode or step, a reason, a note), EFORBIDDEN (the step is not
// a's to scan here: another clinic's tube, another lab's), ECONFLICT
// (specimen.out_of_order.<status>: the step does not follow, e.g. a receipt before
// the hand-over; specimen.scanned_elsewhere: another scan moved it
// meanwhile). Nothing is written on an error.
func (s *Service) Scan(ctx context.Context, a care.Actor, in ScanInput) (*ScanResult, error) {
	switch in.Step {
	case StepCollect, StepReceive, StepReject:
	case StepPack, StepHandOver, StepResult, StepOrder:
		return nil, care.Invalid([]care.FieldError{{Field: "step", Key: "specimen.step_not_scan"}})
	default:
		return nil, care.Invalid([]care.FieldError{{Field: "step", Key: "specimen.step_unknown"}})
	}
	if f := checkText("note", in.Note, MaxNote); f != nil {
		return nil, care.Invalid([]care.FieldError{*f})
	}
	sp, err := s.byBarcode(ctx, a, in.Barcode)
	if err != nil {
		return nil, err
	}
	if in.Step == StepCollect && !(Clinic(a) && a.InstitutionID == sp.ClinicID) ||
		in.Step != StepCollect && !(LabStaff(a) && a.InstitutionID == sp.LabID) {
		s.denied(ctx, a, sp, in.Step)
		return nil, care.Errorf(care.EFORBIDDEN, "specimen.not_here")
	}
	to, err := Next(sp.Status, in.Step)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	m := &Move{Step: in.Step, To: to, Specimens: []*Specimen{sp}, At: now, Place: a.InstitutionID, Account: a.AccountID}
	res := &ScanResult{Specimen: sp}
	switch in.Step {
	case StepReject:
		if err := s.Config.CheckRejection(sp, in.Reason, now); err != nil {
			return nil, err
		}
		m.Reason, m.Detail = in.Reason, clip(strings.TrimSpace(string(in.Reason)+" "+strings.TrimSpace(in.Note)), MaxNote)
	case StepReceive:
		res.Late = s.Config.StabilityLeft(sp.Tube, sp.CollectedAt, now) <= 0
	}
	m.Audit = []audit.Event{s.scanEvent(ctx, a, sp, in.Step, m.Detail)}
	if err := s.Repo.MoveSpecimens(ctx, m); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) scanEvent(ctx context.Context, a care.Actor, sp *Specimen, step Step, detail string) audit.Event {
	ev := audit.New(ctx, a, ActScan, sp.ResidentID)
	ev.CountyCode = sp.CountyCode
	ev.Detail = strings.TrimSpace(fmt.Sprintf("%s %s %s", step, sp.Barcode, detail))
	return ev
}

func (s *Service) denied(ctx context.Context, a care.Actor, sp *Specimen, step Step) {
	ev := s.scanEvent(ctx, a, sp, step, "")
	ev.Outcome = audit.OutcomeDenied
	s.Audit.Record(ctx, ev)
}

// Pack puts collected specimens of a's clinic, all for one lab, into a new
// transport box at the temperature measured inside it (tenths of °C).
// Errors: EFORBIDDEN (not a clinic's doctor; a tube of another clinic),
// EINVALID (no barcodes, too many, an unknown barcode, two labs, a
// temperature outside the configured range), ECONFLICT (a tube not
// collected, or scanned meanwhile). All or nothing.
func (s *Service) Pack(ctx context.Context, a care.Actor, barcodes []string, tempTenths int) (*Box, error) {
	if !Clinic(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var fs []care.FieldError
	if tempTenths < s.Config.TempMinTenths || tempTenths > s.Config.TempMaxTenths {
		fs = append(fs, care.FieldError{Field: "temp", Key: "specimen.temp_range",
			Args: []any{float64(s.Config.TempMinTenths) / 10, float64(s.Config.TempMaxTenths) / 10}})
	}
	codes := dedupe(trimAll(barcodes))
	switch {
	case len(codes) == 0:
		fs = append(fs, care.FieldError{Field: "barcodes", Key: "specimen.box_empty"})
	case len(codes) > MaxPerBox:
		fs = append(fs, care.FieldError{Field: "barcodes", Key: "specimen.box_full", Args: []any{MaxPerBox}})
		codes = nil
	}
	var sps []*Specimen
	for _, c := range codes {
		sp, err := s.byBarcode(ctx, a, c)
		if err != nil {
			if ce, ok := err.(*care.Error); ok && ce.Code == care.EINVALID {
				fs = append(fs, ce.Fields...)
				continue
			}
			return nil, err
		}
		sps = append(sps, sp)
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	for _, sp := range sps {
		if sp.ClinicID != a.InstitutionID {
			s.denied(ctx, a, sp, StepPack)
			return nil, care.Errorf(care.EFORBIDDEN, "specimen.not_here")
		}
		if sp.LabID != sps[0].LabID {
			return nil, care.Invalid([]care.FieldError{{Field: "barcodes", Key: "specimen.box_two_labs"}})
		}
		if _, err := Next(sp.Status, StepPack); err != nil {
			return nil, specimenErr(err, sp)
		}
	}
	now := s.Now().UTC()
	b := &Box{CountyCode: a.CountyCode, ClinicID: a.InstitutionID, LabID: sps[0].LabID, TempTenths: tempTenths, PackedAt: now, PackedBy: a.AccountID, Specimens: len(sps)}
	m := &Move{Step: StepPack, To: StatusPacked, Specimens: sps, At: now, Place: a.InstitutionID, Account: a.AccountID, Box: b,
		Detail: fmt.Sprintf("%.1f °C", b.Temp())}
	for _, sp := range sps {
		m.Audit = append(m.Audit, s.scanEvent(ctx, a, sp, StepPack, m.Detail))
	}
	if err := s.Repo.MoveSpecimens(ctx, m); err != nil {
		return nil, err
	}
	return b, nil
}

// HandOver gives a packed box of a's clinic to a courier on a route: its
// specimens are in transit from now. Errors: EFORBIDDEN, ENOTFOUND (no
// such box in a's county), EINVALID (courier or route missing or too
// long), ECONFLICT (the box was handed over already).
func (s *Service) HandOver(ctx context.Context, a care.Actor, boxID int64, courier, route string) (*Box, error) {
	if !Clinic(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	courier, route = strings.TrimSpace(courier), strings.TrimSpace(route)
	var fs []care.FieldError
	for _, f := range []struct{ name, v string }{{"courier", courier}, {"route", route}} {
		if f.v == "" {
			fs = append(fs, care.FieldError{Field: f.name, Key: "field.required"})
		} else if e := checkText(f.name, f.v, MaxCourier); e != nil {
			fs = append(fs, *e)
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	b, err := s.Repo.Box(ctx, a.CountyCode, boxID)
	if err != nil {
		return nil, err
	}
	if b.ClinicID != a.InstitutionID {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if !b.HandedAt.IsZero() {
		return nil, care.Errorf(care.ECONFLICT, "specimen.box_handed")
	}
	sps, err := s.Repo.Specimens(ctx, Filter{County: b.CountyCode, ClinicID: b.ClinicID, Statuses: []Status{StatusPacked}, Limit: 5000})
	if err != nil {
		return nil, err
	}
	var in []*Specimen
	for i := range sps {
		if sps[i].BoxID == b.ID {
			in = append(in, &sps[i])
		}
	}
	if len(in) == 0 {
		return nil, care.Errorf(care.ECONFLICT, "specimen.box_handed")
	}
	now := s.Now().UTC()
	b.Courier, b.Route, b.HandedAt = courier, route, now
	m := &Move{Step: StepHandOver, To: StatusInTransit, Specimens: in, At: now, Place: a.InstitutionID, Account: a.AccountID, Box: b,
		Detail: clip(b.Code+" "+courier+" "+route, MaxNote)}
	for _, sp := range in {
		m.Audit = append(m.Audit, s.scanEvent(ctx, a, sp, StepHandOver, m.Detail))
	}
	if err := s.Repo.MoveSpecimens(ctx, m); err != nil {
		return nil, err
	}
	return b, nil
}

// Result files the lab's results for a received specimen of a's lab,
// back to the ordering clinic (they show in the resident's lab results and
// raise a critical value there, package lab); the specimen is resulted in
// the same transaction. Errors: ENOTFOUND (not a's lab's specimen),
// ECONFLICT (not received, or resulted meanwhile), EINVALID (the results'
// faults, lab.Check).
func (s *Service) Result(ctx context.Context, a care.Actor, id int64, ins []lab.Input, prefix func(i int) string) ([]*lab.Result, error) {
	if !LabStaff(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	sp, err := s.Repo.Specimen(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	if sp.LabID != a.InstitutionID {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if _, err := Next(sp.Status, StepResult); err != nil {
		return nil, specimenErr(err, sp)
	}
	for i := range ins {
		if ins[i].Specimen == "" {
			ins[i].Specimen = string(sp.Tube)
		}
		if ins[i].Doctor == "" {
			ins[i].Doctor = sp.Doctor
		}
		if ins[i].CollectedAt == "" {
			ins[i].CollectedAt = sp.CollectedAt.Format(time.RFC3339)
		}
	}
	return s.Labs.File(ctx, a, lab.Order{CountyCode: sp.CountyCode, ResidentID: sp.ResidentID, ClinicID: sp.ClinicID,
		OrderedBy: sp.OrderedBy, SpecimenID: sp.ID, SpecimenVersion: sp.Version}, ins, prefix)
}

// visible reports whether a may see sp: its clinic's doctors (and the
// township center's above a village clinic), its lab's staff.
func visible(a care.Actor, sp *Specimen, t *org.Tree) bool {
	switch {
	case LabStaff(a):
		return a.InstitutionID == sp.LabID
	case Clinic(a):
		return a.InstitutionID == sp.ClinicID || (a.Role == care.RoleTownshipDoctor && t.IsWithin(sp.ClinicID, a.InstitutionID))
	}
	return false
}

// Get returns a specimen a may see with its steps; the read is audited.
// Errors: ENOTFOUND (none, or not a's to see).
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Specimen, []Event, error) {
	sp, err := s.Repo.Specimen(ctx, a.CountyCode, id)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !visible(a, sp, t) {
		return nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	evs, err := s.Repo.SpecimenEvents(ctx, sp.CountyCode, sp.ID)
	if err != nil {
		return nil, nil, err
	}
	ev := audit.New(ctx, a, ActRead, sp.ResidentID)
	ev.CountyCode, ev.Detail = sp.CountyCode, "specimen "+sp.Barcode
	s.Audit.Record(ctx, ev)
	return sp, evs, nil
}

// BoxFor returns a box a may see (its clinic's doctors, its lab's staff).
// Errors: ENOTFOUND.
func (s *Service) BoxFor(ctx context.Context, a care.Actor, id int64) (*Box, error) {
	b, err := s.Repo.Box(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	if !(Clinic(a) && a.InstitutionID == b.ClinicID) && !(LabStaff(a) && a.InstitutionID == b.LabID) {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return b, nil
}

// Board is a's working list: a clinic's specimens still on their way and
// its boxes waiting for the courier; a lab's specimens on their way to it
// (collected, packed, in transit: the in-transit list) and received ones
// awaiting results. Overdue ones are marked by the caller with
// Config.IsOverdue.
type Board struct {
	Open  []Specimen
	Boxes []Box
	Done  []Specimen // the last closed ones
}

// List returns a's board; the read of the residents' names is audited.
// Errors: EFORBIDDEN (neither a clinic's doctor nor lab staff).
func (s *Service) List(ctx context.Context, a care.Actor) (*Board, error) {
	f := Filter{County: a.CountyCode, Limit: 2000}
	switch {
	case Clinic(a):
		f.ClinicID = a.InstitutionID
	case LabStaff(a):
		f.LabID = a.InstitutionID
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	b := &Board{}
	var err error
	f.Statuses = []Status{StatusOrdered, StatusCollected, StatusPacked, StatusInTransit, StatusReceived}
	if b.Open, err = s.Repo.Specimens(ctx, f); err != nil {
		return nil, err
	}
	f.Statuses, f.Limit = []Status{StatusRejected, StatusResulted}, 50
	if b.Done, err = s.Repo.Specimens(ctx, f); err != nil {
		return nil, err
	}
	if Clinic(a) {
		if b.Boxes, err = s.Repo.WaitingBoxes(ctx, a.CountyCode, a.InstitutionID); err != nil {
			return nil, err
		}
	}
	ev := audit.New(ctx, a, ActList, 0)
	ev.Detail = fmt.Sprintf("%d open, %d closed", len(b.Open), len(b.Done))
	s.Audit.Record(ctx, ev)
	return b, nil
}

// Sweep raises the overdue alert: every open specimen not scanned at its
// next step within Config.Overdue of its last scan, once per status, in
// batches per clinic and lab: one text message to each practitioner with a
// phone at the clinic and at the lab, and the specimens marked (the lists
// show them). It returns how many specimens it marked. serve runs it on
// the lease holder (scheduledJobs).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	marked := 0
	for _, st := range Statuses {
		d, ok := s.Config.Overdue[st]
		if !ok || !st.Open() {
			continue
		}
		sps, err := s.Repo.OverdueSpecimens(ctx, st, now.Add(-time.Duration(d)), 5000)
		if err != nil {
			return marked, err
		}
		groups := map[[2]int64][]Specimen{}
		var keys [][2]int64
		for _, sp := range sps {
			k := [2]int64{sp.ClinicID, sp.LabID}
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], sp)
		}
		for _, k := range keys {
			g := groups[k]
			msgs, err := s.overdueMessages(ctx, g, st)
			if err != nil {
				return marked, err
			}
			ev := audit.New(ctx, care.Actor{Username: "serve:specimen-sweep", Role: care.RoleAdmin}, ActAlert, 0)
			ev.CountyCode = g[0].CountyCode
			ev.Detail = fmt.Sprintf("%d specimens %s past %s, clinic %d, lab %d", len(g), st, time.Duration(d), k[0], k[1])
			n, err := s.Repo.MarkOverdue(ctx, g, now, msgs, ev)
			if err != nil {
				return marked, err
			}
			marked += n
		}
	}
	return marked, nil
}

// stepNames are the steps a specimen waits for, in the alert's Chinese.
var stepNames = map[Status]string{StatusOrdered: "采集", StatusCollected: "装箱", StatusPacked: "交接转运", StatusInTransit: "检验科签收", StatusReceived: "出结果"}

func (s *Service) overdueMessages(ctx context.Context, g []Specimen, st Status) ([]notify.Message, error) {
	ps, err := s.Repo.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{g[0].ClinicID, g[0].LabID}, Limit: 100})
	if err != nil {
		return nil, err
	}
	clinic := g[0].ClinicName
	var msgs []notify.Message
	for _, p := range ps {
		if p.Phone == "" || !p.Active {
			continue
		}
		msgs = append(msgs, notify.Message{County: g[0].CountyCode, Channel: notify.ChannelSMS, Recipient: p.Phone, Purpose: PurposeOverdue,
			Body:         fmt.Sprintf("【医共体】%s有%d份检验标本超时未%s，请核查去向。", clinic, len(g), stepNames[st]),
			Params:       map[string]string{"clinic": clinic, "count": fmt.Sprint(len(g)), "step": stepNames[st]},
			Ref:          fmt.Sprintf("specimen:%d", g[0].ID),
			Practitioner: p.ID, Institution: p.InstitutionID})
	}
	return msgs, nil
}

// ClinicRate is one clinic's indicators for a period.
type ClinicRate struct {
	ClinicID   int64
	ClinicName string
	Ordered    int
	Received   int // reached the lab (received, then resulted or rejected there)
	Rejected   int
	Resulted   int
	Overdue    int // alerted at least once
	// TurnaroundMedian and TurnaroundP90 are from collection to results,
	// nearest rank, over the resulted specimens (0 without any).
	TurnaroundMedian time.Duration
	TurnaroundP90    time.Duration
}

// RejectionRate is Rejected over Received in per mille (ok false when
// nothing was received).
func (c ClinicRate) RejectionRate() (int, bool) {
	if c.Received == 0 {
		return 0, false
	}
	return (c.Rejected*1000 + c.Received/2) / c.Received, true
}

// Indicators are the turnaround and rejection rates per ordering clinic
// for specimens ordered in [from, to) (instants): a lab's staff see their lab's
// clinics, a clinic's doctors their own, analysts the county. Audited
// (aggregates, no resident). Errors: EFORBIDDEN, EINVALID (to not after
// from, or a period over a year).
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to time.Time) ([]ClinicRate, error) {
	var clinicID, labID int64
	switch {
	case LabStaff(a):
		labID = a.InstitutionID
	case Clinic(a):
		clinicID = a.InstitutionID
	case a.Role == care.RoleAnalyst && a.CountyCode != "":
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	f, t := from, to
	if !t.After(f) || t.Sub(f) > 367*24*time.Hour {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "specimen.period"}})
	}
	sps, err := s.Repo.ClosedSpecimens(ctx, a.CountyCode, clinicID, labID, f, t)
	if err != nil {
		return nil, err
	}
	out := Rates(sps)
	ev := audit.New(ctx, a, ActReport, 0)
	ev.Detail = fmt.Sprintf("%s to %s: %d specimens, %d clinics", from.Format(time.RFC3339), to.Format(time.RFC3339), len(sps), len(out))
	s.Audit.Record(ctx, ev)
	return out, nil
}

// Rates computes the indicators of specimens per clinic, by clinic name.
func Rates(sps []Specimen) []ClinicRate {
	by := map[int64]*ClinicRate{}
	tat := map[int64][]time.Duration{}
	for _, sp := range sps {
		c := by[sp.ClinicID]
		if c == nil {
			c = &ClinicRate{ClinicID: sp.ClinicID, ClinicName: sp.ClinicName}
			by[sp.ClinicID] = c
		}
		c.Ordered++
		if !sp.ReceivedAt.IsZero() {
			c.Received++
		}
		switch sp.Status {
		case StatusRejected:
			c.Rejected++
			if sp.ReceivedAt.IsZero() { // rejected at the door, on the receipt scan
				c.Received++
			}
		case StatusResulted:
			c.Resulted++
			tat[sp.ClinicID] = append(tat[sp.ClinicID], sp.ClosedAt.Sub(sp.CollectedAt))
		}
		if sp.Alerts > 0 {
			c.Overdue++
		}
	}
	out := make([]ClinicRate, 0, len(by))
	for id, c := range by {
		if ds := tat[id]; len(ds) > 0 {
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			c.TurnaroundMedian, c.TurnaroundP90 = nearestRank(ds, 50), nearestRank(ds, 90)
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ClinicName != out[j].ClinicName {
			return out[i].ClinicName < out[j].ClinicName
		}
		return out[i].ClinicID < out[j].ClinicID
	})
	return out
}

// nearestRank is the p-th percentile of sorted ds by the nearest-rank method.
func nearestRank(ds []time.Duration, p int) time.Duration {
	r := (p*len(ds) + 99) / 100
	if r < 1 {
		r = 1
	}
	return ds[r-1]
}

// specimenErr names the specimen in an out-of-order error (one of
// several in a box): specimen.out_of_order_at.<status> with its barcode.
func specimenErr(err error, sp *Specimen) error {
	if ce, ok := err.(*care.Error); ok && strings.HasPrefix(ce.Key, "specimen.out_of_order.") {
		return care.Errorf(care.ECONFLICT, "specimen.out_of_order_at."+string(sp.Status), sp.Barcode)
	}
	return err
}

func checkText(field, v string, max int) *care.FieldError {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return &care.FieldError{Field: field, Key: "field.too_long", Args: []any{max}}
	}
	return nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func trimAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' }) {
			out = append(out, f)
		}
	}
	return out
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
