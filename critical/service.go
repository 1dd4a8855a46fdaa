package critical

import (
	"context"
	"fmt"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Filter selects alerts. Institution 0 means the whole county (analysts);
// otherwise alerts the institution is alerted for: its own orders, and
// those escalated to it (township at LevelTownship, county at LevelCounty).
type Filter struct {
	County      string
	Institution int64
	ResidentID  int64
	Open        bool      // unacknowledged only
	From, To    time.Time // raised in [From, To); zero: unbounded
	Limit       int
}

// Repository is the storage of alerts; store.Store implements it.
type Repository interface {
	// RaiseAlert stores al (unless an alert of the same source exists),
	// its messages and the audit row in one transaction. created is false
	// when the source was already alerted: al is then the stored alert.
	RaiseAlert(ctx context.Context, al *Alert, msgs []notify.Message, ev audit.Event) (created bool, err error)
	// CriticalAlert returns one alert of a county (ENOTFOUND).
	CriticalAlert(ctx context.Context, county string, id int64) (*Alert, error)
	// CriticalAlerts lists alerts, newest first.
	CriticalAlerts(ctx context.Context, f Filter) ([]Alert, error)
	// AckAlert records the acknowledgement with its audit row; an alert
	// acknowledged meanwhile is ECONFLICT.
	AckAlert(ctx context.Context, al *Alert, ev audit.Event) error
	// DueAlerts returns open alerts whose next escalation is due at now.
	DueAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error)
	// EscalateAlerts saves escalations in one transaction, skipping alerts
	// acknowledged or moved meanwhile, and returns how many moved.
	EscalateAlerts(ctx context.Context, es []Escalation) (int, error)
}

// Publisher pushes live events to connected browsers (web's SSE broker).
type Publisher interface {
	Publish(practitionerIDs []int64, kind string, id int64, text string)
}

// Service raises, lists, acknowledges and escalates alerts.
type Service struct {
	Repo      Repository
	Residents *resident.Service // Raise checks the resident is in the actor's scope
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Staff interface {
		Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error)
	}
	Audit  audit.Recorder
	Live   Publisher // may be nil
	Config Config
	Now    func() time.Time
}

// Live event kinds.
const (
	EventRaised    = "critical.raised"
	EventEscalated = "critical.escalated"
)

// clinical reports whether the role takes part in care (may raise, see and
// acknowledge alerts of its institution).
func clinical(r care.Role) bool {
	switch r {
	case care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader:
		return true
	}
	return false
}

// Prepare fills in a new alert's escalation targets, level and first
// deadline from the organisation tree, and returns the messages to queue
// with it and the practitioners to alert live once it is stored. The lab
// service calls it before saving a result and its alert in one
// transaction; Raise calls it for every other source.
func (s *Service) Prepare(ctx context.Context, al *Alert) ([]notify.Message, []int64, error) {
	if err := validateNew(al); err != nil {
		return nil, nil, err
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	clinic := tree.Get(al.ClinicID)
	if clinic == nil || clinic.CountyCode != al.CountyCode {
		return nil, nil, care.Invalid([]care.FieldError{{Field: "clinic_id", Key: "critical.clinic"}})
	}
	al.TownshipID, al.CountyID = targets(tree, clinic)
	if al.RaisedAt.IsZero() {
		al.RaisedAt = s.Now().UTC()
	}
	al.Level, al.AckAt, al.EscalatedAt = LevelClinic, time.Time{}, time.Time{}
	al.NextDueAt = s.Config.nextDue(al.RaisedAt, LevelClinic)
	msgs, ids, err := s.recipients(ctx, al, al.ClinicID, nil)
	return msgs, ids, err
}

// targets finds the escalation targets of a clinic: the nearest township,
// central health center or sub-center above it (none if the clinic is one
// itself), and the county hospital of its community (the lead hospital).
func targets(tree *org.Tree, clinic *org.Institution) (township, county int64) {
	as := tree.Ancestors(clinic.ID)
	for i := len(as) - 1; i >= 0; i-- {
		switch as[i].Kind {
		case org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
			if township == 0 {
				township = as[i].ID
			}
		}
	}
	if c := tree.Community(clinic.ID); c != nil {
		if c.LeadID != 0 {
			county = c.LeadID
		} else if hs := tree.OfKind(c.ID, org.KindCountyHospital); len(hs) > 0 {
			county = hs[0].ID
		}
	}
	if county == clinic.ID {
		county = 0
	}
	return township, county
}

// staffCache keeps the practitioners of institutions for one batch.
type staffCache map[int64][]org.Practitioner

// recipients returns a text message for each active practitioner with a
// phone at institution, and the practitioners to alert live. cache may be
// nil.
func (s *Service) recipients(ctx context.Context, al *Alert, institution int64, cache staffCache) ([]notify.Message, []int64, error) {
	ps, ok := cache[institution]
	if !ok {
		var err error
		if ps, err = s.Staff.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{institution}, Limit: 500}); err != nil {
			return nil, nil, err
		}
		if cache != nil {
			cache[institution] = ps
		}
	}
	var msgs []notify.Message
	var ids []int64
	body := fmt.Sprintf("【危急值】%s %s，请立即登录平台处理，并读回确认。", al.Finding, al.Value)
	params := map[string]string{"finding": al.Finding, "value": al.Value, "stage": "请读回确认"}
	if al.Level > LevelClinic {
		body = fmt.Sprintf("【危急值升级】%s %s 超时未确认，已升级至贵机构，请立即登录平台处理。", al.Finding, al.Value)
		params["stage"] = "超时未确认已升级"
	}
	ref := "" // a new alert's ID is known once stored: the store sets it
	if al.ID != 0 {
		ref = MessageRef(al.ID)
	}
	for _, p := range ps {
		if !p.Active {
			continue
		}
		ids = append(ids, p.ID)
		if p.Phone != "" {
			msgs = append(msgs, notify.Message{County: al.CountyCode, Channel: notify.ChannelSMS, Recipient: p.Phone, Purpose: PurposeAlert, Body: body,
				Params: params, Practitioner: p.ID, Institution: institution, Ref: ref})
		}
	}
	return msgs, ids, nil
}

// Announce alerts the practitioners live that al was raised (after the
// transaction that stored it committed).
func (s *Service) Announce(al *Alert, practitioners []int64) {
	if s.Live != nil && len(practitioners) > 0 {
		s.Live.Publish(practitioners, EventRaised, al.ID, al.Finding+" "+al.Value)
	}
}

// Raise raises an alert for any source kind — a reader's signed report
// with an acute MI finding, say — and alerts the ordering clinic at once.
// It is idempotent on (SourceKind, SourceID): raising the same source again
// returns the stored alert and alerts nobody. Errors: EFORBIDDEN (a role
// that takes no part in care, or another county), ENOTFOUND (a resident
// outside the actor's scope), EINVALID (missing source, resident, clinic
// or finding; a clinic outside the county).
func (s *Service) Raise(ctx context.Context, a care.Actor, al Alert) (*Alert, error) {
	if !clinical(a.Role) || (al.CountyCode != "" && al.CountyCode != a.CountyCode) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if al.ResidentID > 0 {
		if _, err := s.Residents.Get(ctx, a, al.ResidentID); err != nil {
			return nil, err
		}
	}
	al.CountyCode, al.RaisedBy = a.CountyCode, a.AccountID
	msgs, ids, err := s.Prepare(ctx, &al)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRaise, al.ResidentID)
	ev.CountyCode = al.CountyCode
	ev.Detail = fmt.Sprintf("%s %d: critical value raised to clinic %d", al.SourceKind, al.SourceID, al.ClinicID)
	created, err := s.Repo.RaiseAlert(ctx, &al, msgs, ev)
	if err != nil {
		return nil, err
	}
	if created {
		s.Announce(&al, ids)
	}
	return &al, nil
}

// RaiseLate raises al on behalf of the account that found it (al.RaisedBy)
// when that person's request cannot do it any more: the reading
// scheduler's sweep of signed critical findings left without an alert. It
// is idempotent like Raise; it reports whether the alert was created.
func (s *Service) RaiseLate(ctx context.Context, al Alert) (bool, error) {
	if al.CountyCode == "" || al.SourceKind == "" || al.SourceID == 0 {
		return false, care.Errorf(care.EINVALID, "critical.alert_invalid")
	}
	msgs, ids, err := s.Prepare(ctx, &al)
	if err != nil {
		return false, err
	}
	ev := audit.Event{Action: ActRaise, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment, CountyCode: al.CountyCode, ResidentID: al.ResidentID,
		AccountID: al.RaisedBy, Detail: fmt.Sprintf("%s %d: critical value raised to clinic %d by the scheduler (the signer's request did not)", al.SourceKind, al.SourceID, al.ClinicID)}
	created, err := s.Repo.RaiseAlert(ctx, &al, msgs, ev)
	if err != nil {
		return false, err
	}
	if created {
		s.Announce(&al, ids)
	}
	return created, nil
}

// visible reports whether the actor's institution is alerted for al.
func visible(a care.Actor, al *Alert) bool {
	if a.CountyCode != al.CountyCode || !clinical(a.Role) {
		return false
	}
	return a.InstitutionID == al.ClinicID ||
		(al.Level >= LevelTownship && al.TownshipID != 0 && a.InstitutionID == al.TownshipID) ||
		(al.Level >= LevelCounty && al.CountyID != 0 && a.InstitutionID == al.CountyID)
}

// List returns the alerts the actor's institution is alerted for (open
// ones only if open), newest first; the listing is audited.
// Errors: EFORBIDDEN for a role that takes no part in care.
func (s *Service) List(ctx context.Context, a care.Actor, open bool) ([]Alert, error) {
	ev := audit.New(ctx, a, ActList, 0)
	if !clinical(a.Role) {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	als, err := s.Repo.CriticalAlerts(ctx, Filter{County: a.CountyCode, Institution: a.InstitutionID, Open: open, Limit: 300})
	ev.Detail = fmt.Sprintf("critical alerts: %d rows, open=%v", len(als), open)
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	s.Audit.Record(ctx, ev)
	return als, err
}

// Get returns one alert the actor's institution is alerted for; the read
// is audited. Errors: ENOTFOUND (no such alert, or not the actor's).
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Alert, error) {
	al, err := s.Repo.CriticalAlert(ctx, a.CountyCode, id)
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	if err != nil || !visible(a, al) {
		ev := audit.New(ctx, a, ActRead, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("critical alert %d", id)
		if al != nil {
			ev.ResidentID = al.ResidentID
		}
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	ev := audit.New(ctx, a, ActRead, al.ResidentID)
	ev.CountyCode, ev.Detail = al.CountyCode, fmt.Sprintf("critical alert %d", id)
	s.Audit.Record(ctx, ev)
	return al, nil
}

// Acknowledge records that a doctor of an institution alerted for the
// alert has received it, with a note that reads the value back.
// Errors: ENOTFOUND (not the actor's alert), EINVALID (the note does not
// read the value back: critical.read_back), ECONFLICT (already
// acknowledged: critical.already_acked).
func (s *Service) Acknowledge(ctx context.Context, a care.Actor, id int64, note string) (*Alert, error) {
	al, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !al.Open() {
		return nil, care.Errorf(care.ECONFLICT, "critical.already_acked")
	}
	if !ReadBackOK(al.Value, note) {
		return nil, care.Invalid([]care.FieldError{{Field: "note", Key: "critical.read_back_missing", Args: []any{leadingNumber(al.Value)}}})
	}
	al.AckAt, al.AckBy, al.AckNote = s.Now().UTC(), a.AccountID, note
	ev := audit.New(ctx, a, ActAck, al.ResidentID)
	ev.CountyCode = al.CountyCode
	ev.Detail = fmt.Sprintf("critical alert %d acknowledged at level %d after %s", al.ID, al.Level, al.AckDuration().Round(time.Second))
	if err := s.Repo.AckAlert(ctx, al, ev); err != nil {
		return nil, err
	}
	return al, nil
}

// Indicators returns the acknowledgement-time indicator of alerts raised
// in [from, to): for an analyst the whole county, for a doctor the alerts
// their institution is alerted for. Errors: EFORBIDDEN for other roles.
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to time.Time) (Indicator, error) {
	f := Filter{County: a.CountyCode, From: from, To: to, Limit: 100000}
	switch {
	case a.Role == care.RoleAnalyst:
	case clinical(a.Role):
		f.Institution = a.InstitutionID
	default:
		return Indicator{}, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	als, err := s.Repo.CriticalAlerts(ctx, f)
	if err != nil {
		return Indicator{}, err
	}
	ev := audit.New(ctx, a, ActList, 0)
	ev.Detail = fmt.Sprintf("critical indicators %s–%s: %d alerts", from.Format(time.DateOnly), to.Format(time.DateOnly), len(als))
	s.Audit.Record(ctx, ev)
	return AckTimes(als), nil
}

// UnitAcks is AckInTimeByClinic over the alerts raised in [from, to), for
// the dashboard: the county's for an analyst, those ordered by the
// institutions of a township doctor's township for its staff
// (EFORBIDDEN for anyone else). Aggregates only; the read is audited.
func (s *Service) UnitAcks(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]UnitAck, error) {
	if a.Role != care.RoleAnalyst && a.Role != care.RoleTownshipDoctor {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	als, err := s.Repo.CriticalAlerts(ctx, Filter{County: a.CountyCode, From: from, To: to, Limit: 100000})
	if err != nil {
		return nil, err
	}
	if a.Role == care.RoleTownshipDoctor {
		t, err := s.Orgs.Tree(ctx)
		if err != nil {
			return nil, err
		}
		mine := als[:0]
		for _, al := range als {
			if t.IsWithin(al.ClinicID, a.InstitutionID) {
				mine = append(mine, al)
			}
		}
		als = mine
	}
	ev := audit.New(ctx, a, ActList, 0)
	ev.Detail = fmt.Sprintf("critical unit figures %s–%s: %d alerts", from.Format(time.DateOnly), to.Format(time.DateOnly), len(als))
	s.Audit.Record(ctx, ev)
	return AckInTimeByClinic(als, s.Config, s.Now()), nil
}

// RunScheduler escalates due alerts every tick until ctx ends. Deadlines
// are stored with the alerts, so a restart loses nothing.
func (s *Service) RunScheduler(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.EscalateDue(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// escalateBatch is how many alerts one transaction escalates.
const escalateBatch = 500

// EscalateDue moves every open alert whose deadline passed up one level
// (skipping a level without a target), in batches of escalateBatch per
// transaction, and returns how many moved. It is idempotent: an alert moves
// only from the level it was read at, so two schedulers never move one
// twice, and one acknowledged meanwhile stays put.
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	n := 0
	cache := staffCache{}
	for {
		now := s.Now().UTC()
		due, err := s.Repo.DueAlerts(ctx, now, escalateBatch)
		if err != nil || len(due) == 0 {
			return n, err
		}
		es := make([]Escalation, 0, len(due))
		for i := range due {
			e, err := s.escalation(ctx, &due[i], now, cache)
			if err != nil {
				return n, err
			}
			es = append(es, e)
		}
		moved, err := s.Repo.EscalateAlerts(ctx, es)
		if err != nil {
			return n, err
		}
		n += moved
		if s.Live != nil {
			for _, e := range es {
				if e.Alert.Level != e.FromLevel && len(e.Notify) > 0 {
					s.Live.Publish(e.Notify, EventEscalated, e.Alert.ID, e.Alert.Finding+" "+e.Alert.Value)
				}
			}
		}
		if len(due) < escalateBatch || moved == 0 {
			return n, nil
		}
	}
}

// escalation moves al to the next level that has a target.
func (s *Service) escalation(ctx context.Context, al *Alert, now time.Time, cache staffCache) (Escalation, error) {
	e := Escalation{Alert: al, FromLevel: al.Level}
	level := al.Level + 1
	target := int64(0)
	for ; level <= LevelCounty; level++ {
		if level == LevelTownship && al.TownshipID != 0 {
			target = al.TownshipID
			break
		}
		if level == LevelCounty && al.CountyID != 0 {
			target = al.CountyID
			break
		}
	}
	if level > LevelCounty {
		level = LevelCounty
	}
	al.Level, al.EscalatedAt = level, now
	al.NextDueAt = s.Config.nextDue(al.RaisedAt, level)
	e.Audit = audit.Event{Action: ActEscalate, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment, CountyCode: al.CountyCode,
		ResidentID: al.ResidentID, Detail: fmt.Sprintf("critical alert %d escalated from level %d to %d (institution %d)", al.ID, e.FromLevel, level, target)}
	if target != 0 && level == LevelCounty {
		e.Link = &access.CareLink{CountyCode: al.CountyCode, ResidentID: al.ResidentID, InstitutionID: target, Kind: LinkCritical,
			Reason: fmt.Sprintf("critical alert %d", al.ID), CreatedAt: now, ExpiresAt: now.Add(LinkTTL)}
	}
	if target != 0 {
		msgs, ids, err := s.recipients(ctx, al, target, cache)
		if err != nil {
			return e, err
		}
		e.Msgs, e.Notify = msgs, ids
	}
	return e, nil
}
