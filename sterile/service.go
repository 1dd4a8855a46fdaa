package sterile

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// Audit actions.
const (
	ActPackType  = "sterile.pack_type"
	ActOrder     = "sterile.order"
	ActCycle     = "sterile.cycle"
	ActIndicator = "sterile.indicator" // the detail says whether it recalled the cycle
	ActScan      = "sterile.scan"      // delivery, use, return; the detail names the step
	ActRefused   = "sterile.use_refused"
	ActTrace     = "sterile.trace" // a resident's packs, or a cycle's patients, read
)

// Limits.
const (
	MaxPacksPerCycle = 500
	MaxOrderQuantity = 500
)

// Repository is the storage of the sterile supply; store.Store implements it.
type Repository interface {
	// SterileCreatePackType stores a type (sets ID) with its audit row. Errors: ECONFLICT (code taken).
	SterileCreatePackType(ctx context.Context, t *PackType, ev audit.Event) error
	// SterilePackTypes lists a county's pack types by code.
	SterilePackTypes(ctx context.Context, county string) ([]PackType, error)
	// SterileCreateOrder stores an order (sets ID) with its audit row.
	SterileCreateOrder(ctx context.Context, o *Order, ev audit.Event) error
	// SterileOrders lists orders, newest first: to center (centerID) or of a clinic (clinicID); 0 is any.
	SterileOrders(ctx context.Context, county string, centerID, clinicID int64, limit int) ([]Order, error)
	// SterileCreateCycle stores a cycle and its packs (sets IDs and barcodes) with their events and the audit row.
	SterileCreateCycle(ctx context.Context, c *Cycle, packs []*Pack, ev audit.Event) error
	// SterileCycle reads one cycle. Errors: ENOTFOUND.
	SterileCycle(ctx context.Context, county string, id int64) (*Cycle, error)
	// SterileCycles lists a center's cycles, newest first, with their pack counts.
	SterileCycles(ctx context.Context, county string, centerID int64, limit int) ([]Cycle, error)
	// SterileSetIndicator stores c's results and status; when c is recalled, its
	// packs still sterile or delivered become recalled (with events) at
	// c.RecalledAt. One transaction with the audit row; returns how many
	// packs it recalled.
	SterileSetIndicator(ctx context.Context, c *Cycle, by int64, ev audit.Event) (int, error)
	// SterilePackByBarcode reads one pack with its type, cycle and clinic. Errors: ENOTFOUND.
	SterilePackByBarcode(ctx context.Context, county, barcode string) (*Pack, error)
	// SterileMovePack stores p's new state from the version it was read at, its
	// event, the order's delivery count (orderID ≠ 0) and the audit row,
	// in one transaction. Errors: ECONFLICT sterile.scanned_twice (the
	// pack moved meanwhile; nothing written).
	SterileMovePack(ctx context.Context, p *Pack, e Event, orderID int64, ev audit.Event) error
	// SterileRecordRefusal stores a refused use's event (the alert) and its audit row.
	SterileRecordRefusal(ctx context.Context, county string, e Event, ev audit.Event) error
	// SterilePacks lists packs: of a cycle, of a resident, or at a clinic (one of the ids set).
	SterilePacks(ctx context.Context, f PackFilter) ([]Pack, error)
	// SterileRefusals lists refused uses (alerts), newest first: of a center's packs or at a clinic.
	SterileRefusals(ctx context.Context, county string, centerID, clinicID int64, limit int) ([]Event, error)
}

// PackFilter selects packs.
type PackFilter struct {
	County     string
	CycleID    int64
	ResidentID int64
	ClinicID   int64
	Statuses   []PackStatus
	Limit      int
}

// Residents reads a resident within the actor's scope, audited (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// Service runs the sterile supply.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
}

// CenterStaff reports whether a works at a sterile supply center: the
// county hospital's (the community's lead hospital hosts it) county
// specialists.
func (s *Service) CenterStaff(ctx context.Context, a care.Actor) bool {
	if a.Role != care.RoleCountySpecialist {
		return false
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return false
	}
	in := t.Get(a.InstitutionID)
	return in != nil && in.Kind == org.KindCountyHospital
}

// ClinicStaff reports whether a uses packs at a clinic (village or township).
func ClinicStaff(a care.Actor) bool {
	return a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor
}

func (s *Service) center(ctx context.Context, a care.Actor) error {
	if !s.CenterStaff(ctx, a) {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

func clinic(a care.Actor) error {
	if !ClinicStaff(a) {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

var typeCode = regexp.MustCompile(`^[A-Za-z0-9-]{1,20}$`)

// AddPackType adds a pack type of the actor's center. Errors: EFORBIDDEN,
// EINVALID (code, name, packaging), ECONFLICT (code taken).
func (s *Service) AddPackType(ctx context.Context, a care.Actor, code, name string, p Packaging) (*PackType, error) {
	if err := s.center(ctx, a); err != nil {
		return nil, err
	}
	code, name = strings.TrimSpace(code), strings.TrimSpace(name)
	var fs []care.FieldError
	if !typeCode.MatchString(code) {
		fs = append(fs, care.FieldError{Field: "code", Key: "sterile.code_invalid"})
	}
	if name == "" || utf8.RuneCountInString(name) > 40 {
		fs = append(fs, care.FieldError{Field: "name", Key: "field.too_long", Args: []any{40}})
	}
	if _, ok := s.Config.ShelfLifeDays[p]; !ok {
		fs = append(fs, care.FieldError{Field: "packaging", Key: "sterile.packaging_invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	t := &PackType{CountyCode: a.CountyCode, CenterID: a.InstitutionID, Code: code, Name: name, Packaging: p, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActPackType, 0)
	ev.CountyCode, ev.Detail = a.CountyCode, fmt.Sprintf("pack type %s %s", code, p)
	if err := s.Repo.SterileCreatePackType(ctx, t, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, care.Invalid([]care.FieldError{{Field: "code", Key: "sterile.code_taken"}})
		}
		return nil, err
	}
	return t, nil
}

func (s *Service) packType(ctx context.Context, county string, id int64) (*PackType, error) {
	ts, err := s.Repo.SterilePackTypes(ctx, county)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i], nil
		}
	}
	return nil, nil
}

// PlaceOrder orders quantity packs of type typeID for the actor's clinic.
// Errors: EFORBIDDEN, EINVALID (type, quantity 1–MaxOrderQuantity).
func (s *Service) PlaceOrder(ctx context.Context, a care.Actor, typeID int64, quantity int) (*Order, error) {
	if err := clinic(a); err != nil {
		return nil, err
	}
	t, err := s.packType(ctx, a.CountyCode, typeID)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	if t == nil {
		fs = append(fs, care.FieldError{Field: "pack_type_id", Key: "sterile.type_invalid"})
	}
	if quantity < 1 || quantity > MaxOrderQuantity {
		fs = append(fs, care.FieldError{Field: "quantity", Key: "sterile.quantity_range", Args: []any{MaxOrderQuantity}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	o := &Order{CountyCode: a.CountyCode, ClinicID: a.InstitutionID, CenterID: t.CenterID, PackTypeID: t.ID, Quantity: quantity,
		Status: OrderOpen, OrderedBy: a.AccountID, OrderedAt: s.Now().UTC(), TypeName: t.Name}
	ev := audit.New(ctx, a, ActOrder, 0)
	ev.CountyCode, ev.Detail = a.CountyCode, fmt.Sprintf("%d × %s", quantity, t.Code)
	return o, s.Repo.SterileCreateOrder(ctx, o, ev)
}

// Line is one pack type and how many packs of it go into a cycle.
type Line struct {
	TypeID int64
	Count  int
}

// StartCycle records a sterilizer load of the actor's center with its
// packs (their expiry from the packaging's shelf life). Errors:
// EFORBIDDEN, EINVALID (cycle number, sterilizer, lines), and EINVALID
// sterile.cycle_taken for a cycle number the center used.
func (s *Service) StartCycle(ctx context.Context, a care.Actor, cycleNo, sterilizer string, lines []Line) (*Cycle, []*Pack, error) {
	if err := s.center(ctx, a); err != nil {
		return nil, nil, err
	}
	cycleNo, sterilizer = strings.TrimSpace(cycleNo), strings.TrimSpace(sterilizer)
	var fs []care.FieldError
	if !typeCode.MatchString(cycleNo) {
		fs = append(fs, care.FieldError{Field: "cycle_no", Key: "sterile.code_invalid"})
	}
	if sterilizer == "" || utf8.RuneCountInString(sterilizer) > 40 {
		fs = append(fs, care.FieldError{Field: "sterilizer", Key: "field.too_long", Args: []any{40}})
	}
	now := s.Now().UTC()
	var packs []*Pack
	for _, l := range lines {
		if l.Count == 0 {
			continue
		}
		t, err := s.packType(ctx, a.CountyCode, l.TypeID)
		if err != nil {
			return nil, nil, err
		}
		if t == nil || t.CenterID != a.InstitutionID || l.Count < 0 {
			fs = append(fs, care.FieldError{Field: "lines", Key: "sterile.type_invalid"})
			continue
		}
		for range l.Count {
			packs = append(packs, &Pack{CountyCode: a.CountyCode, PackTypeID: t.ID, CenterID: a.InstitutionID, Packaging: t.Packaging,
				PackedAt: now, ExpiresOn: s.Config.ExpiresOn(t.Packaging, now), Status: PackSterile, Version: 1, TypeName: t.Name})
		}
	}
	if len(packs) == 0 || len(packs) > MaxPacksPerCycle {
		fs = append(fs, care.FieldError{Field: "lines", Key: "sterile.packs_range", Args: []any{MaxPacksPerCycle}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, nil, err
	}
	c := &Cycle{CountyCode: a.CountyCode, CenterID: a.InstitutionID, CycleNo: cycleNo, Sterilizer: sterilizer, StartedAt: now,
		Physical: Pending, Chemical: Pending, Biological: Pending, Status: CycleRunning, RecordedBy: a.AccountID, Packs: len(packs)}
	ev := audit.New(ctx, a, ActCycle, 0)
	ev.CountyCode, ev.Detail = a.CountyCode, fmt.Sprintf("cycle %s on %s: %d packs", cycleNo, sterilizer, len(packs))
	if err := s.Repo.SterileCreateCycle(ctx, c, packs, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, nil, care.Invalid([]care.FieldError{{Field: "cycle_no", Key: "sterile.cycle_taken"}})
		}
		return nil, nil, err
	}
	for _, p := range packs {
		p.CycleNo = cycleNo
	}
	return c, packs, nil
}

// Indicate records an indicator's result for cycle id of the actor's
// center. A failure recalls the cycle (WS 310.3-2016 4.4): its packs not
// yet used become recalled, and Recall lists the patients the cycle's used
// packs touched. Errors: EFORBIDDEN, ENOTFOUND, EINVALID (indicator,
// result), ECONFLICT sterile.cycle_recalled (a recalled cycle stays so).
func (s *Service) Indicate(ctx context.Context, a care.Actor, id int64, ind Indicator, r Result) (*Cycle, int, error) {
	if err := s.center(ctx, a); err != nil {
		return nil, 0, err
	}
	var fs []care.FieldError
	if ind != Physical && ind != Chemical && ind != Biological {
		fs = append(fs, care.FieldError{Field: "indicator", Key: "sterile.indicator_invalid"})
	}
	if r != Pass && r != Fail {
		fs = append(fs, care.FieldError{Field: "result", Key: "sterile.result_invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, 0, err
	}
	c, err := s.cycle(ctx, a, id)
	if err != nil {
		return nil, 0, err
	}
	if c.Status == CycleRecalled {
		return nil, 0, care.Errorf(care.ECONFLICT, "sterile.cycle_recalled", c.CycleNo)
	}
	if c.Set(ind, r) == CycleRecalled {
		c.RecalledAt = s.Now().UTC()
	}
	ev := audit.New(ctx, a, ActIndicator, 0)
	ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("cycle %s %s %s → %s", c.CycleNo, ind, r, c.Status)
	n, err := s.Repo.SterileSetIndicator(ctx, c, a.AccountID, ev)
	return c, n, err
}

func (s *Service) cycle(ctx context.Context, a care.Actor, id int64) (*Cycle, error) {
	c, err := s.Repo.SterileCycle(ctx, a.CountyCode, id)
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && c.CenterID != a.InstitutionID) {
		return nil, care.Errorf(care.ENOTFOUND, "sterile.cycle_not_found")
	}
	return c, err
}

// CyclePatients returns cycle id with its packs (for a recall: the
// patients its used packs touched, with their names). The center's staff
// only; one audit row per patient listed.
func (s *Service) CyclePatients(ctx context.Context, a care.Actor, id int64) (*Cycle, []Pack, error) {
	if err := s.center(ctx, a); err != nil {
		return nil, nil, err
	}
	c, err := s.cycle(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	ps, err := s.Repo.SterilePacks(ctx, PackFilter{County: c.CountyCode, CycleID: c.ID, Limit: MaxPacksPerCycle})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range ps {
		if p.ResidentID != 0 {
			ev := audit.New(ctx, a, ActTrace, p.ResidentID)
			ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("cycle %s → pack %s", c.CycleNo, p.Barcode)
			s.Audit.Record(ctx, ev)
		}
	}
	return c, ps, nil
}

// ScanInput is a scanned pack label and what is done with it.
type ScanInput struct {
	Barcode    string
	Step       string // StepDeliver, StepUse, StepReturn
	ResidentID int64  // StepUse: the patient
}

// Scan moves a pack at the actor's clinic: delivery (received from the
// center: the cycle released, the pack sterile and in date; counted
// against the clinic's oldest open order of its type), use on a patient
// in the actor's scope, or return to the center. A use of a pack past its
// expiry date or from a recalled cycle is refused with an alert (an event
// the center and the clinic see) and audited. Errors: EFORBIDDEN,
// ENOTFOUND (pack, resident), EINVALID (step), ECONFLICT with the reason
// (sterile.expired, sterile.recalled, sterile.not_released, a step that
// does not follow, sterile.scanned_twice).
func (s *Service) Scan(ctx context.Context, a care.Actor, in ScanInput) (*Pack, error) {
	if err := clinic(a); err != nil {
		return nil, err
	}
	p, err := s.Repo.SterilePackByBarcode(ctx, a.CountyCode, strings.ToUpper(strings.TrimSpace(in.Barcode)))
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Errorf(care.ENOTFOUND, "sterile.pack_not_found")
	}
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	today := care.Today(now)
	ev := audit.New(ctx, a, ActScan, 0)
	ev.CountyCode = a.CountyCode
	e := Event{PackID: p.ID, Step: in.Step, At: now, InstitutionID: a.InstitutionID, AccountID: a.AccountID}
	var orderID int64
	switch in.Step {
	case StepDeliver:
		switch {
		case p.Status != PackSterile:
			return nil, care.Errorf(care.ECONFLICT, "sterile.out_of_order."+string(p.Status))
		case p.CycleStatus == CycleRecalled:
			return nil, care.Errorf(care.ECONFLICT, "sterile.recalled", p.CycleNo)
		case p.CycleStatus != CycleReleased:
			return nil, care.Errorf(care.ECONFLICT, "sterile.not_released", p.CycleNo)
		case p.Expired(today):
			return nil, care.Errorf(care.ECONFLICT, "sterile.expired", p.ExpiresOn.String())
		}
		os, err := s.Repo.SterileOrders(ctx, a.CountyCode, 0, a.InstitutionID, 200)
		if err != nil {
			return nil, err
		}
		for i := len(os) - 1; i >= 0; i-- { // oldest first
			if os[i].Status == OrderOpen && os[i].PackTypeID == p.PackTypeID {
				orderID = os[i].ID
				break
			}
		}
		p.Status, p.ClinicID, p.DeliveredAt, p.OrderID = PackDelivered, a.InstitutionID, now, orderID
	case StepUse:
		if (p.Status != PackDelivered && p.Status != PackRecalled) || p.ClinicID != a.InstitutionID {
			return nil, care.Errorf(care.ECONFLICT, "sterile.out_of_order."+string(p.Status))
		}
		res, err := s.Residents.Get(ctx, a, in.ResidentID)
		if err != nil {
			return nil, err
		}
		var refuse *care.Error
		switch {
		case p.CycleStatus == CycleRecalled:
			refuse = care.Errorf(care.ECONFLICT, "sterile.recalled", p.CycleNo)
		case p.Expired(today):
			refuse = care.Errorf(care.ECONFLICT, "sterile.expired", p.ExpiresOn.String())
		}
		if refuse != nil {
			e.Step, e.ResidentID, e.Detail = StepUseRefused, res.ID, "sterile.refused."+strings.TrimPrefix(refuse.Key, "sterile.")
			rev := audit.New(ctx, a, ActRefused, res.ID)
			rev.CountyCode, rev.Outcome, rev.Detail = a.CountyCode, audit.OutcomeDenied, fmt.Sprintf("pack %s: %s", p.Barcode, refuse.Key)
			if err := s.Repo.SterileRecordRefusal(ctx, a.CountyCode, e, rev); err != nil {
				return nil, err
			}
			return nil, refuse
		}
		p.Status, p.ResidentID, p.UsedAt, p.UsedBy = PackUsed, res.ID, now, a.AccountID
		e.ResidentID, ev.ResidentID = res.ID, res.ID
	case StepReturn:
		if p.Status != PackDelivered || p.ClinicID != a.InstitutionID {
			return nil, care.Errorf(care.ECONFLICT, "sterile.out_of_order."+string(p.Status))
		}
		p.Status, p.ReturnedAt = PackReturned, now
	default:
		return nil, care.Invalid([]care.FieldError{{Field: "step", Key: "sterile.step_invalid"}})
	}
	ev.Detail = fmt.Sprintf("pack %s %s (cycle %s)", p.Barcode, in.Step, p.CycleNo)
	if err := s.Repo.SterileMovePack(ctx, p, e, orderID, ev); err != nil {
		return nil, err
	}
	p.Version++
	return p, nil
}

// ResidentPacks lists the packs used on resident id, with their cycles
// (patient → pack → cycle), for clinicians in scope; the read is audited.
func (s *Service) ResidentPacks(ctx context.Context, a care.Actor, id int64) ([]Pack, error) {
	res, err := s.Residents.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	ps, err := s.Repo.SterilePacks(ctx, PackFilter{County: res.CountyCode, ResidentID: res.ID, Limit: 200})
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActTrace, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%d sterile packs", len(ps))
	s.Audit.Record(ctx, ev)
	return ps, nil
}

// Board is a center's or a clinic's working view.
type Board struct {
	Center   bool
	Types    []PackType
	Orders   []Order
	Cycles   []Cycle // a center's
	Packs    []Pack  // a clinic's packs in stock
	Refusals []Event // refused uses (alerts)
	Expiring int     // a clinic's packs in stock expiring within 7 days
}

// BoardFor returns the actor's board: the center's or the clinic's.
// Errors: EFORBIDDEN for anyone else.
func (s *Service) BoardFor(ctx context.Context, a care.Actor) (*Board, error) {
	b := &Board{Center: s.CenterStaff(ctx, a)}
	if !b.Center && !ClinicStaff(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var err error
	if b.Types, err = s.Repo.SterilePackTypes(ctx, a.CountyCode); err != nil {
		return nil, err
	}
	if b.Center {
		if b.Orders, err = s.Repo.SterileOrders(ctx, a.CountyCode, a.InstitutionID, 0, 100); err != nil {
			return nil, err
		}
		if b.Cycles, err = s.Repo.SterileCycles(ctx, a.CountyCode, a.InstitutionID, 50); err != nil {
			return nil, err
		}
		b.Refusals, err = s.Repo.SterileRefusals(ctx, a.CountyCode, a.InstitutionID, 0, 50)
		return b, err
	}
	if b.Orders, err = s.Repo.SterileOrders(ctx, a.CountyCode, 0, a.InstitutionID, 50); err != nil {
		return nil, err
	}
	if b.Packs, err = s.Repo.SterilePacks(ctx, PackFilter{County: a.CountyCode, ClinicID: a.InstitutionID, Statuses: []PackStatus{PackDelivered}, Limit: 500}); err != nil {
		return nil, err
	}
	soon := care.Today(s.Now()).AddDays(7)
	for _, p := range b.Packs {
		if !soon.Before(p.ExpiresOn) {
			b.Expiring++
		}
	}
	b.Refusals, err = s.Repo.SterileRefusals(ctx, a.CountyCode, 0, a.InstitutionID, 50)
	return b, err
}
