package povertywatch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/settle"
)

// Bill is one live settlement behind a household's total.
type Bill struct {
	SettlementID  int64
	ResidentID    int64
	ResidentName  string
	InstitutionID int64
	VisitDate     care.Date
	VisitType     string
	Total         settle.Fen
	Eligible      settle.Fen
	InPolicyOOP   settle.Fen
	Patient       settle.Fen // what the patient paid in all
}

// Alert says a household crossed its line in a year. It is raised once
// per household and year, and handled by the first action recorded.
type Alert struct {
	ID          int64
	County      string
	HouseholdID int64
	Year        int
	Spent       settle.Fen // the compared total when it was raised
	Threshold   settle.Fen
	ByIncome    bool
	RaisedAt    time.Time
	HandledAt   time.Time // zero while open
	// For the list: the household's number and head.
	Number   string
	HeadName string
}

// Open reports whether no action has been recorded yet.
func (a Alert) Open() bool { return a.HandledAt.IsZero() }

// ActionKind is what an office did about a household.
type ActionKind string

// Action kinds (the follow-ups 国办发〔2021〕42号 §(五) names: assistance,
// identification as a monitored household, follow-up).
const (
	ActionAssistance   ActionKind = "assistance_applied" // 申请医疗救助 / 倾斜救助
	ActionRecategorise ActionKind = "recategorised"      // 纳入防返贫监测对象（重新认定）
	ActionFollowUp     ActionKind = "followed_up"        // 入户核实、随访
	ActionNoneNeeded   ActionKind = "no_action_needed"   // 核实后无需干预（须说明）
)

// ActionKinds lists the kinds in display order.
var ActionKinds = []ActionKind{ActionAssistance, ActionRecategorise, ActionFollowUp, ActionNoneNeeded}

// Valid reports whether k is one of ActionKinds.
func (k ActionKind) Valid() bool {
	for _, x := range ActionKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Action is one recorded step for a household's year.
type Action struct {
	ID          int64
	County      string
	HouseholdID int64
	Year        int
	Kind        ActionKind
	Note        string
	By          int64
	ByName      string
	At          time.Time
}

// MaxNote is the longest action note in characters.
const MaxNote = 500

// MaxIncome is the largest yearly household income accepted (¥100 million):
// a bigger figure is a typing error, not a household.
const MaxIncome = settle.Fen(100_000_000) * settle.Yuan

// Filter selects the households listed for a year.
type Filter struct {
	County string
	Year   int
	// MinLevel is the lowest level listed (approaching or crossed).
	MinLevel Level
	Limit    int
}

// Repository is the storage the watch needs; store.Store implements it.
type Repository interface {
	// WatchCandidates returns the county-year's households whose compared
	// total reaches t.Approach of the absolute line or, where an income
	// is recorded, of the income share: a superset of the approaching and
	// crossed households, highest total first, at most limit.
	WatchCandidates(ctx context.Context, county string, year int, t Thresholds, limit int) ([]Cost, error)
	// HouseholdCost returns a household's year (zero totals when its
	// members have no bills); ENOTFOUND for a household not in county.
	HouseholdCost(ctx context.Context, county string, householdID int64, year int) (*Cost, error)
	// HouseholdBills lists the live settlements of the household's members in year.
	HouseholdBills(ctx context.Context, county string, householdID int64, year int) ([]Bill, error)
	// SetHouseholdIncome records a household's yearly income with its audit row.
	SetHouseholdIncome(ctx context.Context, county string, householdID int64, year int, income settle.Fen, by int64, ev audit.Event) error
	// RaiseWatchAlerts stores the alerts not already raised for their
	// household and year, with one audit row; it returns how many were new.
	// msgs[i] are the texts of alerts[i], queued in the same transaction
	// only if that alert is new.
	RaiseWatchAlerts(ctx context.Context, alerts []Alert, msgs [][]notify.Message, ev audit.Event) (int, error)
	// WatchAlerts lists a county-year's alerts, open ones first.
	WatchAlerts(ctx context.Context, county string, year int, limit int) ([]Alert, error)
	// HouseholdAlert returns the household-year's alert (nil if none).
	HouseholdAlert(ctx context.Context, county string, householdID int64, year int) (*Alert, error)
	// RecordWatchAction stores act, marks the household-year's open alert
	// handled, and appends ev, in one transaction.
	RecordWatchAction(ctx context.Context, act *Action, ev audit.Event) error
	// WatchActions lists a household-year's actions, oldest first.
	WatchActions(ctx context.Context, county string, householdID int64, year int) ([]Action, error)
	// HouseholdMemberIDs lists the household's members (for the audit trail).
	HouseholdMemberIDs(ctx context.Context, county string, householdID int64) ([]int64, error)
	// BottomLineBills lists the live bills of a county year whose patient
	// was in a poverty category, in resident and date order.
	BottomLineBills(ctx context.Context, county string, year int) ([]BottomLineBill, error)
	// SettlementPolicy returns a stored policy version.
	SettlementPolicy(ctx context.Context, id int64) (*settle.StoredPolicy, error)
}

// Service is the watch. Only the county's insurance office (医保经办, which
// runs medical assistance) sees households by name; every read of a
// household is audited against each member.
type Service struct {
	Repo   Repository
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
}

// Audit actions.
const (
	ActList   = "povertywatch.list"
	ActRead   = "povertywatch.read"
	ActIncome = "povertywatch.income"
	ActRecord = "povertywatch.action"
	ActAlert  = "povertywatch.alert"
	ActExport = "povertywatch.export" // the list written out for the assistance offices
)

// Row is a listed household with its assessment.
type Row struct {
	Cost
	Assessment
}

// Watcher reports whether a may use the watch: the county's insurance
// officers, who see every household of their county.
func Watcher(a care.Actor) bool { return a.Role == care.RoleInsuranceOfficer && a.CountyCode != "" }

func (s *Service) check(a care.Actor) error {
	if !Watcher(a) {
		return &care.Error{Code: care.EFORBIDDEN, Key: "error.forbidden", Op: "povertywatch"}
	}
	return nil
}

// List returns the actor's county's households at or above f.MinLevel in
// f.Year, highest total first, with the year's thresholds. Errors:
// EFORBIDDEN, EINVALID (a year without thresholds).
func (s *Service) List(ctx context.Context, a care.Actor, f Filter) ([]Row, Thresholds, error) {
	if err := s.check(a); err != nil {
		return nil, Thresholds{}, err
	}
	t, err := s.Config.For(f.Year)
	if err != nil {
		return nil, Thresholds{}, err
	}
	if f.MinLevel != LevelCrossed {
		f.MinLevel = LevelApproaching
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	cands, err := s.Repo.WatchCandidates(ctx, a.CountyCode, f.Year, t, f.Limit)
	if err != nil {
		return nil, t, err
	}
	rows := make([]Row, 0, len(cands))
	for _, c := range cands {
		as := Assess(c, t)
		if as.Level == LevelCrossed || as.Level == LevelApproaching && f.MinLevel == LevelApproaching {
			rows = append(rows, Row{c, as})
		}
	}
	ev := audit.New(ctx, a, ActList, 0)
	ev.Detail = fmt.Sprintf("year %d, %s and above: %d households", f.Year, f.MinLevel, len(rows))
	s.Audit.Record(ctx, ev)
	return rows, t, nil
}

// Household is one household's year with the bills behind it.
type Household struct {
	Row
	Thresholds Thresholds
	Bills      []Bill
	Alert      *Alert
	Actions    []Action
}

// Household returns a household's year: its totals, assessment, bills,
// alert and actions. Every member's record counts as read. Errors:
// EFORBIDDEN, ENOTFOUND, EINVALID (no thresholds).
func (s *Service) Household(ctx context.Context, a care.Actor, householdID int64, year int) (*Household, error) {
	if err := s.check(a); err != nil {
		return nil, err
	}
	t, err := s.Config.For(year)
	if err != nil {
		return nil, err
	}
	c, err := s.Repo.HouseholdCost(ctx, a.CountyCode, householdID, year)
	if err != nil {
		return nil, err
	}
	h := &Household{Row: Row{*c, Assess(*c, t)}, Thresholds: t}
	if h.Bills, err = s.Repo.HouseholdBills(ctx, a.CountyCode, householdID, year); err != nil {
		return nil, err
	}
	if h.Alert, err = s.Repo.HouseholdAlert(ctx, a.CountyCode, householdID, year); err != nil {
		return nil, err
	}
	if h.Actions, err = s.Repo.WatchActions(ctx, a.CountyCode, householdID, year); err != nil {
		return nil, err
	}
	if err := s.auditMembers(ctx, a, householdID, ActRead, fmt.Sprintf("household %d year %d", householdID, year)); err != nil {
		return nil, err
	}
	return h, nil
}

// auditMembers records one read row per member of the household.
func (s *Service) auditMembers(ctx context.Context, a care.Actor, householdID int64, act, detail string) error {
	ids, err := s.Repo.HouseholdMemberIDs(ctx, a.CountyCode, householdID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		ev := audit.New(ctx, a, act, id)
		ev.Detail = detail
		s.Audit.Record(ctx, ev)
	}
	return nil
}

// SetIncome records a household's yearly income, which lowers its line
// where the income share is below the absolute amount. Errors:
// EFORBIDDEN, ENOTFOUND, EINVALID (negative or implausible income, a year
// without thresholds).
func (s *Service) SetIncome(ctx context.Context, a care.Actor, householdID int64, year int, income settle.Fen) error {
	if err := s.check(a); err != nil {
		return err
	}
	if _, err := s.Config.For(year); err != nil {
		return err
	}
	if income < 0 || income > MaxIncome {
		return care.Invalid([]care.FieldError{{Field: "income", Key: "povertywatch.income_range", Args: []any{MaxIncome.String()}}})
	}
	if _, err := s.Repo.HouseholdCost(ctx, a.CountyCode, householdID, year); err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActIncome, 0)
	ev.Detail = fmt.Sprintf("household %d year %d income recorded", householdID, year)
	return s.Repo.SetHouseholdIncome(ctx, a.CountyCode, householdID, year, income, a.AccountID, ev)
}

// Record stores an action for a household's year and closes its alert.
// A "no action needed" needs a note saying why. Errors: EFORBIDDEN,
// ENOTFOUND, EINVALID.
func (s *Service) Record(ctx context.Context, a care.Actor, householdID int64, year int, kind ActionKind, note string) (*Action, error) {
	if err := s.check(a); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	var fs []care.FieldError
	if !kind.Valid() {
		fs = append(fs, care.FieldError{Field: "kind", Key: "povertywatch.action_kind"})
	}
	if utf8.RuneCountInString(note) > MaxNote {
		fs = append(fs, care.FieldError{Field: "note", Key: "povertywatch.note_long", Args: []any{MaxNote}})
	} else if kind == ActionNoneNeeded && note == "" {
		fs = append(fs, care.FieldError{Field: "note", Key: "povertywatch.note_required"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	if _, err := s.Config.For(year); err != nil {
		return nil, err
	}
	if _, err := s.Repo.HouseholdCost(ctx, a.CountyCode, householdID, year); err != nil {
		return nil, err
	}
	act := &Action{County: a.CountyCode, HouseholdID: householdID, Year: year, Kind: kind, Note: note, By: a.AccountID, At: s.Now().UTC()}
	ev := audit.New(ctx, a, ActRecord, 0)
	ev.Detail = fmt.Sprintf("household %d year %d: %s", householdID, year, kind)
	if err := s.Repo.RecordWatchAction(ctx, act, ev); err != nil {
		return nil, err
	}
	return act, nil
}

// Alerts lists the actor's county's alerts for a year, open ones first.
func (s *Service) Alerts(ctx context.Context, a care.Actor, year int) ([]Alert, error) {
	if err := s.check(a); err != nil {
		return nil, err
	}
	return s.Repo.WatchAlerts(ctx, a.CountyCode, year, 200)
}

// Scan raises an alert for every household of county that has crossed its
// line in year and has none yet (the scheduler runs it; an alert is raised
// once per household and year, by whichever replica gets there first). It
// returns how many alerts are new.
func (s *Service) Scan(ctx context.Context, county string, year int) (int, error) {
	t, err := s.Config.For(year)
	if err != nil {
		return 0, nil // a year without lines has nothing to watch
	}
	// Only households past the line: the candidates at a 100 % "approach".
	cross := t
	cross.Approach = settle.Full
	cands, err := s.Repo.WatchCandidates(ctx, county, year, cross, 100_000)
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	var alerts []Alert
	var msgs [][]notify.Message
	for _, c := range cands {
		if as := Assess(c, t); as.Level == LevelCrossed {
			a := Alert{County: county, HouseholdID: c.HouseholdID, Year: year, Spent: as.Spent, Threshold: as.Threshold, ByIncome: as.ByIncome, RaisedAt: now}
			alerts = append(alerts, a)
			msgs = append(msgs, s.Config.crossedTexts(a, c.Number))
		}
	}
	if len(alerts) == 0 {
		return 0, nil
	}
	ev := audit.Event{Action: ActAlert, CountyCode: county, Outcome: audit.OutcomeOK, Purpose: care.PurposePayment}
	ev.Detail = fmt.Sprintf("year %d: %d households over the line", year, len(alerts))
	return s.Repo.RaiseWatchAlerts(ctx, alerts, msgs, ev)
}

// PurposeCrossed is the outbox purpose of the text to the offices when a
// household crosses its line (docs/sms.md): the household's number, the
// year, what it spent and its line, in yuan — no name, no diagnosis.
const PurposeCrossed = "povertywatch.crossed"

// crossedTexts are the texts of a new alert to each office phone, about
// the household numbered number.
func (c Config) crossedTexts(a Alert, number string) []notify.Message {
	var out []notify.Message
	for _, p := range c.OfficePhones {
		params := map[string]string{"household": number, "year": strconv.Itoa(a.Year), "spent": a.Spent.String(), "line": a.Threshold.String()}
		out = append(out, notify.Message{County: a.County, Channel: notify.ChannelSMS, Recipient: p, Purpose: PurposeCrossed, Params: params,
			Ref:  "poverty:" + strconv.FormatInt(a.HouseholdID, 10) + ":" + strconv.Itoa(a.Year),
			Body: fmt.Sprintf("因病致贫返贫监测：户 %s 在 %d 年的医疗自付 %s 元，已超过 %s 元的监测线，请核查并登记处理。", number, a.Year, a.Spent, a.Threshold)})
	}
	return out
}
