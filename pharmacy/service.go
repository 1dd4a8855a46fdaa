package pharmacy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
)

// Audit actions of the pharmacy.
const (
	ActStockRead    = "pharmacy.stock_read"
	ActStockMove    = "pharmacy.stock_move"
	ActThreshold    = "pharmacy.threshold"
	ActOrderCreate  = "pharmacy.order_create"
	ActOrderMove    = "pharmacy.order_move"
	ActOrderRead    = "pharmacy.order_read"
	ActDispense     = rx.ActDispense // dispensing is a write of the prescription
	ActFulfilRead   = "pharmacy.fulfil_read"
	ActFulfilMove   = "pharmacy.fulfil_move"
	ActLowStockScan = "pharmacy.low_stock"
	// PurposeLowStock is the outbox purpose of low-stock alerts.
	PurposeLowStock = "pharmacy.low_stock"
)

// Repository is the storage the pharmacy needs; store.Store implements it.
// Every write carries its audit row in the same transaction.
type Repository interface {
	// Lots returns an institution's lots with a quantity above zero
	// (drugCode "" for every drug), by drug and expiry.
	Lots(ctx context.Context, county string, institutionID int64, drugCode string) ([]Lot, error)
	// MoveStock applies one movement: a receipt adds to the lot with the
	// same drug, batch and expiry (creating it); other kinds change lot
	// m.LotID by m.Delta. A change that would make a lot negative is
	// ECONFLICT (pharmacy.stock_short) and writes nothing.
	MoveStock(ctx context.Context, m *Movement, batch string, expiry care.Date, ev audit.Event) error
	// Movements lists an institution's ledger, newest first.
	Movements(ctx context.Context, county string, institutionID int64, drugCode string, limit int) ([]Movement, error)
	// DispensedSince sums units dispensed (net of returns) per drug since t.
	DispensedSince(ctx context.Context, county string, institutionID int64, since time.Time) (map[string]int64, error)
	// StockInstitutions lists every institution that holds or held stock
	// (any lot, empty or not), by county.
	StockInstitutions(ctx context.Context) ([]InstitutionRef, error)
	// Thresholds returns an institution's low-stock thresholds.
	Thresholds(ctx context.Context, county string, institutionID int64) ([]Threshold, error)
	// SaveThreshold sets (replaces) one threshold.
	SaveThreshold(ctx context.Context, county string, t Threshold, ev audit.Event) error
	// QueueStockAlert queues msgs in the outbox and records the alert,
	// unless the institution already had an alert for the drug since
	// since; it reports whether it queued.
	QueueStockAlert(ctx context.Context, county string, institutionID int64, drugCode string, msgs []notify.Message, since time.Time, ev audit.Event) (bool, error)
	// CreateSupplyOrder stores a new order and sets its ID.
	CreateSupplyOrder(ctx context.Context, o *SupplyOrder, ev audit.Event) error
	// SupplyOrder returns one; ENOTFOUND if none.
	SupplyOrder(ctx context.Context, id int64) (*SupplyOrder, error)
	// SupplyOrders lists a county's orders, newest first, of the given
	// clinics (nil: all) and status ("" all).
	SupplyOrders(ctx context.Context, county string, clinics []int64, status OrderStatus, limit int) ([]SupplyOrder, error)
	// UpdateSupplyOrder saves o if it is still in status from at
	// o.Version (ECONFLICT otherwise). With receive set, every shipment
	// is added to the clinic's stock as a receipt in the same transaction.
	UpdateSupplyOrder(ctx context.Context, o *SupplyOrder, from OrderStatus, receive bool, accountID int64, ev audit.Event) error
	// DispenseTx, in one transaction: settles each of pays (their
	// settlements' IDs and patient shares go on f), moves the prescription
	// from status from at its version to dispensed, takes f.Takes from the
	// lots (ECONFLICT pharmacy.stock_short if a lot no longer holds
	// enough), writes the ledger, stores f and queues the alerts (each
	// unless the institution had one for the drug since alertSince).
	DispenseTx(ctx context.Context, sg *rx.Signed, from rx.Status, f *Fulfilment, alerts []Alert, alertSince time.Time, pays []*settle.Pending, ev audit.Event) error
	// Fulfilment returns a prescription's fulfilment; ENOTFOUND if none.
	Fulfilment(ctx context.Context, prescriptionID int64) (*Fulfilment, error)
	// Fulfilments lists a county's fulfilments of one resident (residentID
	// ≠ 0) or of institutions (dispensed there or picked up there), newest first.
	Fulfilments(ctx context.Context, county string, residentID int64, institutions []int64, limit int) ([]Fulfilment, error)
	// UpdateFulfilment saves f if still in status from at f.Version. With
	// restock set, f.Takes go back on their lots (returns) in the same
	// transaction.
	UpdateFulfilment(ctx context.Context, f *Fulfilment, from FulfilStatus, restock bool, accountID int64, ev audit.Event) error
	// Practitioners lists an institution's staff (for alerts).
	Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error)
}

// Bill is what a dispensed prescription costs, for settlement.
type Bill struct {
	PrescriptionID int64
	ResidentID     int64
	InstitutionID  int64
	Date           care.Date
	Insured        bool
	County         string
	Lines          []BillLine
}

// BillLine is one drug of a Bill.
type BillLine struct {
	DrugCode  string
	Name      string
	Category  string
	AmountFen int64
	ATC       string   // the drug's main WHO ATC code (a chronic category's drug range is given in ATC)
	Diagnoses []string // the ICD-10 diagnoses it was prescribed for: its lines' own, else the prescription's
}

// Total is the bill's sum in fen.
func (b *Bill) Total() int64 {
	var t int64
	for _, l := range b.Lines {
		t += l.AmountFen
	}
	return t
}

// Payer settles a dispensed prescription and reverses it; SettlePayer is
// the one-stop settlement engine.
type Payer interface {
	// Prepare checks and prices b's settlements without writing them (one,
	// or one per part when b splits between the chronic special-outpatient
	// layer and plain outpatient care): the dispensing transaction writes
	// them (DispenseTx), so payment and the drugs leaving the shelf happen
	// together or not at all.
	Prepare(ctx context.Context, a care.Actor, b *Bill) ([]*settle.Pending, error)
	// Refund reverses settlement id with a reason.
	Refund(ctx context.Context, a care.Actor, id int64, reason string) error
}

// Rx is what the pharmacy needs of prescriptions: a scoped, audited read.
type Rx interface {
	Get(ctx context.Context, a care.Actor, id int64) (*rx.Signed, error)
}

// Service runs stock, supply orders, dispensing and fulfilment.
type Service struct {
	Repo   Repository
	Rx     Rx
	KB     *rx.KB
	Config rx.Config
	Prices PriceList
	Orgs   interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Residents interface {
		Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	}
	Payer Payer
	Audit audit.Recorder
	Now   func() time.Time
	// MinPerClass is the stocking rule's minimum (MinDrugsPerClass if 0).
	MinPerClass int
}

func clinicStaff(r care.Role) bool {
	return r == care.RoleVillageDoctor || r == care.RoleTownshipDoctor
}

func (s *Service) tree(ctx context.Context) (*org.Tree, error) { return s.Orgs.Tree(ctx) }

// institutionIn returns the institution id if the actor may see its stock:
// its own staff; a township doctor for clinics below the township; a
// county pharmacist for any institution of the county. ENOTFOUND otherwise.
func (s *Service) viewable(ctx context.Context, a care.Actor, id int64) (*org.Institution, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	inst := t.Get(id)
	if inst == nil || inst.CountyCode != a.CountyCode {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	switch {
	case a.InstitutionID == id && (clinicStaff(a.Role) || a.Role == care.RolePharmacist):
	case a.Role == care.RoleTownshipDoctor && t.IsWithin(id, a.InstitutionID):
	case a.Role == care.RolePharmacist:
	default:
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return inst, nil
}

// StockView is an institution's stock page: lots, levels per drug with
// low-stock flags, and the chronic-class shortfalls.
type StockView struct {
	Institution *org.Institution
	Lots        []Lot
	Levels      []Level
	Shortfalls  []Shortfall
	Movements   []Movement
	Day         care.Date
}

// Stock returns an institution's stock the actor may see. Staff data, no
// resident's: the read is audited without a resident.
func (s *Service) Stock(ctx context.Context, a care.Actor, institutionID int64) (*StockView, error) {
	inst, err := s.viewable(ctx, a, institutionID)
	if err != nil {
		return nil, err
	}
	v := &StockView{Institution: inst, Day: care.Today(s.Now())}
	if v.Lots, err = s.Repo.Lots(ctx, a.CountyCode, inst.ID, ""); err != nil {
		return nil, err
	}
	if v.Levels, err = s.levels(ctx, a.CountyCode, inst.ID, v.Lots, v.Day); err != nil {
		return nil, err
	}
	min := s.MinPerClass
	if min <= 0 {
		min = MinDrugsPerClass
	}
	if inst.Level == org.LevelVillage || inst.Level == org.LevelTownship {
		v.Shortfalls = Shortfalls(s.KB, string(inst.Level), v.Lots, v.Day, min)
	}
	if v.Movements, err = s.Repo.Movements(ctx, a.CountyCode, inst.ID, "", 50); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActStockRead, 0)
	ev.Detail = fmt.Sprintf("institution %d lots=%d", inst.ID, len(v.Lots))
	s.Audit.Record(ctx, ev)
	return v, nil
}

// levels computes the low-stock levels of every drug held or dispensed.
func (s *Service) levels(ctx context.Context, county string, inst int64, lots []Lot, day care.Date) ([]Level, error) {
	used, err := s.Repo.DispensedSince(ctx, county, inst, s.Now().AddDate(0, 0, -CoverWindowDays))
	if err != nil {
		return nil, err
	}
	ths, err := s.Repo.Thresholds(ctx, county, inst)
	if err != nil {
		return nil, err
	}
	byDrug := map[string]*Level{}
	var order []string
	get := func(code string) *Level {
		if l := byDrug[code]; l != nil {
			return l
		}
		l := &Level{DrugCode: code, Threshold: Threshold{InstitutionID: inst, DrugCode: code, MinCoverDays: DefaultMinCoverDays}}
		byDrug[code] = l
		order = append(order, code)
		return l
	}
	for i := range lots {
		l := get(lots[i].DrugCode)
		if lots[i].Usable(day) {
			l.OnHand += lots[i].Quantity
		}
	}
	for code, n := range used {
		get(code).Dispensed = n
	}
	for _, t := range ths {
		get(t.DrugCode).Threshold = t
	}
	out := make([]Level, 0, len(order))
	for _, code := range order {
		l := byDrug[code]
		CheckLevel(l)
		out = append(out, *l)
	}
	return out, nil
}

// MaxReasonLen bounds reasons and notes.
const MaxReasonLen = 200

// StockInput is a manual stock movement: an opening balance or a receipt
// outside a supply order (receipt, with batch and expiry), a stock-take
// adjustment (adjust, signed delta, reason required), or an expiry
// write-off of a lot (expire).
type StockInput struct {
	Kind     string
	DrugCode string
	LotID    int64
	Batch    string
	Expiry   care.Date
	Delta    int64
	Reason   string
}

// MoveStock records a manual movement at the actor's own institution
// (clinic doctors and pharmacists). EINVALID names each fault: a drug the
// level may not stock, a missing batch or an expiry in the past on a
// receipt, a zero delta, a missing reason, writing off a lot that has not
// expired; ECONFLICT if the lot would go negative.
func (s *Service) MoveStock(ctx context.Context, a care.Actor, in StockInput) (*Movement, error) {
	if !clinicStaff(a.Role) && a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	inst, err := s.viewable(ctx, a, a.InstitutionID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	in.Reason, in.Batch = strings.TrimSpace(in.Reason), strings.TrimSpace(in.Batch)
	var fs []care.FieldError
	if utf8.RuneCountInString(in.Reason) > MaxReasonLen {
		fs = append(fs, care.FieldError{Field: "reason", Key: "field.too_long", Args: []any{MaxReasonLen}})
	}
	m := &Movement{County: a.CountyCode, InstitutionID: inst.ID, Kind: in.Kind, Reason: in.Reason, AccountID: a.AccountID, At: s.Now().UTC()}
	switch in.Kind {
	case MoveReceipt:
		d := s.KB.Drug(in.DrugCode)
		switch {
		case d == nil:
			fs = append(fs, care.FieldError{Field: "drug_code", Key: "pharmacy.unknown_drug", Args: []any{in.DrugCode}})
		case !MayStock(d, string(inst.Level)):
			fs = append(fs, care.FieldError{Field: "drug_code", Key: "pharmacy.not_at_level", Args: []any{in.DrugCode}})
		}
		if in.Batch == "" || utf8.RuneCountInString(in.Batch) > 40 {
			fs = append(fs, care.FieldError{Field: "batch", Key: "pharmacy.batch_required"})
		}
		if in.Expiry.IsZero() || in.Expiry.Before(today) {
			fs = append(fs, care.FieldError{Field: "expiry", Key: "pharmacy.expiry_past"})
		}
		if in.Delta <= 0 || in.Delta > MaxOrderUnits {
			fs = append(fs, care.FieldError{Field: "delta", Key: "pharmacy.quantity_range", Args: []any{MaxOrderUnits}})
		}
		m.DrugCode, m.Delta, m.Ref = in.DrugCode, in.Delta, "manual"
	case MoveAdjust, MoveExpire:
		lot, err := s.lot(ctx, a.CountyCode, inst.ID, in.LotID)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "lot_id", Key: "pharmacy.unknown_lot"})
			break
		}
		m.LotID, m.DrugCode = lot.ID, lot.DrugCode
		if in.Kind == MoveAdjust {
			if in.Delta == 0 || in.Delta > MaxOrderUnits || in.Delta < -MaxOrderUnits {
				fs = append(fs, care.FieldError{Field: "delta", Key: "pharmacy.quantity_range", Args: []any{MaxOrderUnits}})
			}
			if in.Reason == "" {
				fs = append(fs, care.FieldError{Field: "reason", Key: "pharmacy.reason_required"})
			}
			m.Delta = in.Delta
		} else {
			if !lot.Expiry.Before(today) {
				fs = append(fs, care.FieldError{Field: "lot_id", Key: "pharmacy.not_expired"})
			}
			m.Delta = -lot.Quantity
			if m.Reason == "" {
				m.Reason = "expired " + lot.Expiry.String()
			}
		}
	default:
		fs = append(fs, care.FieldError{Field: "kind", Key: "pharmacy.kind"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActStockMove, 0)
	ev.Detail = fmt.Sprintf("institution %d %s %s %+d", inst.ID, m.Kind, m.DrugCode, m.Delta)
	if err := s.Repo.MoveStock(ctx, m, in.Batch, in.Expiry, ev); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Service) lot(ctx context.Context, county string, inst, id int64) (*Lot, error) {
	lots, err := s.Repo.Lots(ctx, county, inst, "")
	if err != nil {
		return nil, err
	}
	for i := range lots {
		if lots[i].ID == id {
			return &lots[i], nil
		}
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// SetThreshold sets the low-stock threshold of a drug at the actor's
// institution (or, for a pharmacist, any of the county's).
func (s *Service) SetThreshold(ctx context.Context, a care.Actor, t Threshold) error {
	if !clinicStaff(a.Role) && a.Role != care.RolePharmacist {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if _, err := s.viewable(ctx, a, t.InstitutionID); err != nil {
		return err
	}
	var fs []care.FieldError
	if s.KB.Drug(t.DrugCode) == nil {
		fs = append(fs, care.FieldError{Field: "drug_code", Key: "pharmacy.unknown_drug", Args: []any{t.DrugCode}})
	}
	if t.MinUnits < 0 || t.MinUnits > MaxOrderUnits {
		fs = append(fs, care.FieldError{Field: "min_units", Key: "pharmacy.quantity_range", Args: []any{MaxOrderUnits}})
	}
	if t.MinCoverDays < 0 || t.MinCoverDays > 365 {
		fs = append(fs, care.FieldError{Field: "min_cover_days", Key: "pharmacy.cover_range"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActThreshold, 0)
	ev.Detail = fmt.Sprintf("institution %d %s units=%d days=%d", t.InstitutionID, t.DrugCode, t.MinUnits, t.MinCoverDays)
	return s.Repo.SaveThreshold(ctx, a.CountyCode, t, ev)
}

// AlertLowStock checks an institution's levels and queues one SMS per low
// drug to the institution's staff with a phone, at most once a week per
// drug. It returns the low levels and how many alerts it queued.
func (s *Service) AlertLowStock(ctx context.Context, a care.Actor, county string, institutionID int64) ([]Level, int, error) {
	lots, err := s.Repo.Lots(ctx, county, institutionID, "")
	if err != nil {
		return nil, 0, err
	}
	levels, err := s.levels(ctx, county, institutionID, lots, care.Today(s.Now()))
	if err != nil {
		return nil, 0, err
	}
	staff, err := s.staff(ctx, institutionID)
	if err != nil {
		return nil, 0, err
	}
	var low []Level
	queued := 0
	for _, l := range levels {
		if !l.Low {
			continue
		}
		low = append(low, l)
		msgs := s.alertMessages(county, institutionID, l, staff)
		ev := audit.New(ctx, a, ActLowStockScan, 0)
		ev.CountyCode, ev.Detail = county, fmt.Sprintf("institution %d %s on hand %d", institutionID, l.DrugCode, l.OnHand)
		ok, err := s.Repo.QueueStockAlert(ctx, county, institutionID, l.DrugCode, msgs, s.Now().Add(-AlertEvery), ev)
		if err != nil {
			return low, queued, err
		}
		if ok {
			queued++
		}
	}
	return low, queued, nil
}

// InstitutionRef names an institution of a county.
type InstitutionRef struct {
	County string
	ID     int64
}

// ScanLowStock is the periodic low-stock scan (serve's scheduler, daily by
// default): AlertLowStock for every institution that keeps stock, as the
// system actor a. Each drug still alerts at most once a week per
// institution, so a scan after a dispensing's alert queues nothing new.
// It returns how many institutions it scanned and alerts it queued; an
// institution that fails is reported after the others are scanned.
func (s *Service) ScanLowStock(ctx context.Context, a care.Actor) (int, int, error) {
	insts, err := s.Repo.StockInstitutions(ctx)
	if err != nil {
		return 0, 0, err
	}
	queued := 0
	var errs []error
	for _, in := range insts {
		if ctx.Err() != nil {
			return 0, queued, ctx.Err()
		}
		_, n, err := s.AlertLowStock(ctx, a, in.County, in.ID)
		queued += n
		if err != nil {
			errs = append(errs, fmt.Errorf("institution %d: %w", in.ID, err))
		}
	}
	return len(insts), queued, errors.Join(errs...)
}

// Alert is a low-stock alert: the drug and the messages to send.
type Alert struct {
	DrugCode string
	Messages []notify.Message
}

// AlertEvery is how often one drug at one institution may raise an alert.
const AlertEvery = 7 * 24 * time.Hour

func (s *Service) staff(ctx context.Context, institutionID int64) ([]org.Practitioner, error) {
	return s.Repo.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{institutionID}, Limit: 50})
}

// alertMessages is one SMS per staff member with a phone.
func (s *Service) alertMessages(county string, institutionID int64, l Level, staff []org.Practitioner) []notify.Message {
	name := l.DrugCode
	if d := s.KB.Drug(l.DrugCode); d != nil {
		name = d.NameZH
	}
	var msgs []notify.Message
	for _, p := range staff {
		if p.Phone == "" {
			continue
		}
		msgs = append(msgs, notify.Message{County: county, Channel: notify.ChannelSMS, Recipient: p.Phone, Purpose: PurposeLowStock,
			Body:         fmt.Sprintf("【医共体】%s库存%d，约%s天用量，低于阈值，请申领（建议%d）。", name, l.OnHand, coverText(l.CoverDays), l.SuggestQty),
			Practitioner: p.ID, Institution: institutionID,
			Params: map[string]string{"drug": name, "on_hand": fmt.Sprint(l.OnHand), "days": coverText(l.CoverDays), "suggest": fmt.Sprint(l.SuggestQty)}})
	}
	return msgs
}

func coverText(d float64) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", d)
}

// pickupCode is six random digits.
func pickupCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%06d", n.Int64())
}
