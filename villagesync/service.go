package villagesync

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/family"
	"countycare/resident"
	"countycare/screening"
)

// Repository is the storage the sync needs; store.Store implements it.
type Repository interface {
	// ClaimReceipt inserts r as pending. If a receipt for its account and
	// client ID exists it returns that one and false — unless it has
	// been pending since before staleBefore, when r takes it over.
	ClaimReceipt(ctx context.Context, r *Receipt, staleBefore time.Time) (*Receipt, bool, error)
	// FinishReceipt stores r's status and result.
	FinishReceipt(ctx context.Context, r *Receipt) error
	// DropReceipt removes a pending receipt whose change failed, so that
	// a retry applies it.
	DropReceipt(ctx context.Context, accountID int64, clientID string) error
	// Receipt returns the receipt of an account's client ID (nil if none).
	Receipt(ctx context.Context, accountID int64, clientID string) (*Receipt, error)
	// Registration returns one chronic registration; ENOTFOUND if none.
	Registration(ctx context.Context, id int64) (*chronic.Registration, error)
	// PullResidents lists the residents managed by the clinics, of every
	// status, updated after since (all of them for the zero time).
	PullResidents(ctx context.Context, county string, clinics []int64, since time.Time) ([]resident.Resident, error)
	// PullResidentIDs lists the IDs of the clinics' residents that are
	// not merged, ascending.
	PullResidentIDs(ctx context.Context, county string, clinics []int64) ([]int64, error)
	// PullRegistrations lists the active chronic registrations of the clinics.
	PullRegistrations(ctx context.Context, county string, clinics []int64) ([]chronic.Registration, error)
	// PullVisits lists the follow-ups of the clinics' active
	// registrations stored after since and dated on or after from.
	PullVisits(ctx context.Context, county string, clinics []int64, since time.Time, from care.Date) ([]chronic.StoredVisit, error)
}

// Service is the village app's sync. Residents, Chronic, Family and
// Screening are the online services every change goes through.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Chronic   *chronic.Service
	Family    *family.Service
	// Screening, when set, sends the open screening campaigns at every
	// pull and applies screening measurements.
	Screening *screening.Service
	Audit     audit.Recorder
	Config    Config
	Now       func() time.Time
}

// Audit actions of the sync (the changes themselves are audited by the
// services that apply them).
const (
	ActPull = "sync.pull"
	ActPush = "sync.push"
)

// Cursor is where a device's last pull ended: the server's time when it
// began, bound to the account and clinic it was made for.
type Cursor struct {
	AccountID int64
	ClinicID  int64
	At        time.Time
}

// String encodes c as the opaque token the device sends back.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("v1.%d.%d.%d", c.AccountID, c.ClinicID, c.At.UnixMicro())))
}

// ParseCursor decodes a token made by Cursor.String. Errors: EINVALID
// (field since, sync.cursor_invalid) for anything else.
func ParseCursor(s string) (Cursor, error) {
	bad := care.Invalid([]care.FieldError{{Field: "since", Key: "sync.cursor_invalid"}})
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	p := strings.Split(string(b), ".")
	if len(p) != 4 || p[0] != "v1" {
		return Cursor{}, bad
	}
	var n [3]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(p[i+1], 10, 64); err != nil || n[i] <= 0 {
			return Cursor{}, bad
		}
	}
	return Cursor{AccountID: n[0], ClinicID: n[1], At: time.UnixMicro(n[2]).UTC()}, nil
}

// Pull is what a device receives: its clinic's data changed since its cursor.
type Pull struct {
	Cursor Cursor
	// Full is true for a first pull (or a cursor of another account or
	// clinic): the device replaces what it holds.
	Full          bool
	ClinicID      int64
	Residents     []resident.Resident
	LiveIDs       []int64 // incremental pulls: every resident the device may keep; it drops the others
	Registrations []chronic.Registration
	Visits        []chronic.StoredVisit
	Overdue       []chronic.Overdue
	// Campaigns are the screening campaigns open over the clinic, each
	// with the residents still to be screened (every pull: the list shrinks).
	Campaigns []screening.Worklist
	Today     care.Date
	ClockSkew time.Duration // device clock minus server clock, when beyond Config.ClockSkewWarn
}

// clinicOf returns the village clinic a village doctor works for.
// Errors: EFORBIDDEN for any other role.
func (s *Service) clinicOf(ctx context.Context, a care.Actor) (int64, error) {
	if a.Role != care.RoleVillageDoctor {
		return 0, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return 0, err
	}
	if len(clinics) != 1 {
		return 0, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return clinics[0], nil
}

// Pull returns what the village doctor a's device needs since the cursor
// token (empty: everything): residents of a's clinic changed since (with
// the IDs it may keep), the clinic's active registrations, follow-ups
// stored since (a first pull: Config.VisitHistoryDays of them), the
// overdue list. deviceNow is the device's clock, to warn of skew (zero:
// unknown). The read is audited with the residents sent. Errors:
// EFORBIDDEN (not a village doctor), EINVALID (a token that is not one).
func (s *Service) Pull(ctx context.Context, a care.Actor, token string, deviceNow time.Time) (*Pull, error) {
	clinic, err := s.clinicOf(ctx, a)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	p := &Pull{Cursor: Cursor{AccountID: a.AccountID, ClinicID: clinic, At: now}, ClinicID: clinic, Today: care.Today(now), Full: true}
	var since time.Time
	if token != "" {
		c, err := ParseCursor(token)
		if err != nil {
			return nil, err
		}
		// A cursor of another account or clinic (a shared phone, a doctor
		// moved to another village) starts over: the device replaces all.
		if c.AccountID == a.AccountID && c.ClinicID == clinic && !c.At.After(now) {
			p.Full, since = false, c.At.Add(-s.Config.Overlap)
		}
	}
	clinics := []int64{clinic}
	if p.Residents, err = s.Repo.PullResidents(ctx, a.CountyCode, clinics, since); err != nil {
		return nil, err
	}
	if !p.Full {
		if p.LiveIDs, err = s.Repo.PullResidentIDs(ctx, a.CountyCode, clinics); err != nil {
			return nil, err
		}
	}
	if p.Registrations, err = s.Repo.PullRegistrations(ctx, a.CountyCode, clinics); err != nil {
		return nil, err
	}
	from := p.Today.AddDays(-s.Config.VisitHistoryDays)
	if p.Visits, err = s.Repo.PullVisits(ctx, a.CountyCode, clinics, since, from); err != nil {
		return nil, err
	}
	if p.Overdue, err = s.Chronic.Overdue(ctx, a); err != nil {
		return nil, err
	}
	if s.Screening != nil {
		if p.Campaigns, err = s.Screening.Worklists(ctx, a); err != nil {
			return nil, err
		}
	}
	if !deviceNow.IsZero() {
		if d := deviceNow.Sub(now); d > s.Config.ClockSkewWarn || -d > s.Config.ClockSkewWarn {
			p.ClockSkew = d
		}
	}
	ids := make([]string, len(p.Residents))
	for i := range p.Residents {
		ids[i] = strconv.FormatInt(p.Residents[i].ID, 10)
	}
	ev := audit.New(ctx, a, ActPull, 0)
	kind := "incremental since " + since.Format(time.RFC3339)
	if p.Full {
		kind = "full"
	}
	toScreen := 0
	for _, w := range p.Campaigns {
		toScreen += len(w.ToScreen)
	}
	ev.Detail = fmt.Sprintf("%s clinic=%d residents=%d registrations=%d visits=%d campaigns=%d to_screen=%d ids=%s", kind, clinic, len(p.Residents),
		len(p.Registrations), len(p.Visits), len(p.Campaigns), toScreen, strings.Join(ids, ","))
	if len(p.Residents) == 1 {
		ev.ResidentID = p.Residents[0].ID
	}
	s.Audit.Record(ctx, ev)
	return p, nil
}

// Push applies a batch of changes recorded on a village doctor's device
// and answers each, in the batch's order. Urgent follow-ups are applied
// first. A change whose client ID was seen before is not applied again:
// its earlier answer is returned (Replayed), or a refusal if the ID came
// with a different record. Errors (for the whole batch): EFORBIDDEN (not
// a village doctor), EINVALID (more than Config.MaxBatch changes).
func (s *Service) Push(ctx context.Context, a care.Actor, changes []Change) ([]Result, error) {
	if len(changes) > s.Config.MaxBatch {
		return nil, care.Invalid([]care.FieldError{{Field: "changes", Key: "sync.batch_too_large", Args: []any{s.Config.MaxBatch}}})
	}
	clinic, err := s.clinicOf(ctx, a)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(changes))
	counts := map[Status]int{}
	for _, i := range applyOrder(changes, func(f *FollowUp) bool { return Urgent(f, s.Chronic.Config) }) {
		out[i] = s.one(ctx, a, clinic, &changes[i])
		counts[out[i].Status]++
	}
	ev := audit.New(ctx, a, ActPush, 0)
	ev.Detail = fmt.Sprintf("batch n=%d accepted=%d refused=%d conflicted=%d retry=%d", len(changes), counts[Accepted], counts[Refused], counts[Conflicted], counts[Retry])
	s.Audit.Record(ctx, ev)
	return out, nil
}

// applyOrder is the order a batch is applied in: urgent follow-ups first,
// then the rest as sent — except that a change building on another change
// of the same batch (Ref) comes after it, so a follow-up on a registration
// enrolled offline for a resident registered offline is applied after
// both, urgent or not.
func applyOrder(changes []Change, urgent func(*FollowUp) bool) []int {
	byID := make(map[string]int, len(changes))
	for i := range changes {
		if _, dup := byID[strings.ToLower(changes[i].ClientID)]; !dup {
			byID[strings.ToLower(changes[i].ClientID)] = i
		}
	}
	first := make([]int, len(changes))
	for i := range first {
		first[i] = i
	}
	isUrgent := func(i int) bool { return changes[i].FollowUp != nil && urgent(changes[i].FollowUp) }
	sort.SliceStable(first, func(x, y int) bool { return isUrgent(first[x]) && !isUrgent(first[y]) })
	order := make([]int, 0, len(changes))
	state := make([]int8, len(changes)) // 0 not yet, 1 being placed, 2 placed
	var place func(i int)
	place = func(i int) {
		if state[i] != 0 {
			return // placed, or a cycle (refs that name each other): each is answered on its own
		}
		state[i] = 1
		if j, ok := byID[strings.ToLower(string(changes[i].ref()))]; ok && j != i {
			place(j)
		}
		state[i] = 2
		order = append(order, i)
	}
	for _, i := range first {
		place(i)
	}
	return order
}

// ref is the change of the same device this change builds on ("" if none).
func (c *Change) ref() Ref {
	switch {
	case c.FollowUp != nil:
		return c.FollowUp.RegistrationRef
	case c.FamilyService != nil:
		return c.FamilyService.ResidentRef
	case c.Enrol != nil:
		return c.Enrol.ResidentRef
	case c.Screening != nil:
		return c.Screening.ResidentRef
	}
	return ""
}

// resolve returns the server's record that the change ref of account a
// created: the resident a registration made (or found registered
// already), the registration an enrolment made (or found). A change not
// yet received (or being applied) is Retry — the device sends it again
// after; a refused one is refused with it, for the doctor to correct that
// one first.
func (s *Service) resolve(ctx context.Context, a care.Actor, ref Ref, want Kind) (int64, *Result, error) {
	if !ValidClientID(string(ref)) {
		r := refused(ReasonBadRef, "sync.ref_invalid")
		return 0, &r, nil
	}
	rc, err := s.Repo.Receipt(ctx, a.AccountID, strings.ToLower(string(ref)))
	if err != nil {
		return 0, nil, err
	}
	if rc == nil || rc.Status == pending {
		return 0, &Result{Status: Retry, Reason: ReasonRefPending, Key: "sync.ref_pending"}, nil
	}
	if rc.Kind != want {
		r := refused(ReasonBadRef, "sync.ref_invalid")
		return 0, &r, nil
	}
	var prev Result
	if err := json.Unmarshal(rc.Result, &prev); err != nil {
		return 0, nil, err
	}
	id := prev.ServerID
	if want == KindRegister {
		id = prev.ResidentID
	}
	if id == 0 || (prev.Status != Accepted && prev.Status != Conflicted) {
		r := refused(ReasonRefRefused, "sync.ref_refused")
		return 0, &r, nil
	}
	return id, nil, nil
}

func refused(reason, key string, args ...any) Result {
	return Result{Status: Refused, Reason: reason, Key: key, Args: args}
}

// one applies one change under its receipt.
func (s *Service) one(ctx context.Context, a care.Actor, clinic int64, c *Change) Result {
	res := s.claimAndApply(ctx, a, clinic, c)
	res.ClientID = c.ClientID
	return res
}

func (s *Service) claimAndApply(ctx context.Context, a care.Actor, clinic int64, c *Change) Result {
	switch {
	case len(c.Fault) > 0:
		r := refused(ReasonMalformed, "sync.malformed")
		r.Fields = c.Fault
		return r
	case !ValidClientID(c.ClientID):
		return refused(ReasonBadClientID, "sync.bad_client_id")
	case c.Register == nil && c.FollowUp == nil && c.Call == nil && c.Contact == nil && c.FamilyService == nil && c.Enrol == nil &&
		(c.Screening == nil || s.Screening == nil):
		return refused(ReasonUnknownKind, "sync.unknown_kind")
	}
	now := s.Now()
	rc := &Receipt{AccountID: a.AccountID, ClientID: strings.ToLower(c.ClientID), Kind: c.Kind, Hash: c.Hash, Status: pending, CreatedAt: now, UpdatedAt: now}
	prev, claimed, err := s.Repo.ClaimReceipt(ctx, rc, now.Add(-s.Config.ClaimTimeout))
	if err != nil {
		return Result{Status: Retry, Reason: ReasonServer, Key: "sync.server_failed"}
	}
	if !claimed {
		switch {
		case prev.Hash != c.Hash || prev.Kind != c.Kind:
			return refused(ReasonClientIDReused, "sync.client_id_reused")
		case prev.Status == pending:
			return Result{Status: Retry, Reason: ReasonInProgress, Key: "sync.in_progress"}
		}
		var r Result
		if err := json.Unmarshal(prev.Result, &r); err != nil {
			return Result{Status: Retry, Reason: ReasonServer, Key: "sync.server_failed"}
		}
		r.Replayed = true
		s.attachResident(ctx, a, &r)
		return r
	}
	r, err := s.apply(ctx, a, clinic, c)
	if err != nil {
		// Nothing was written (each service writes in one transaction):
		// the receipt goes, so the device's retry applies the change.
		if derr := s.Repo.DropReceipt(ctx, rc.AccountID, rc.ClientID); derr != nil {
			err = errors.Join(err, derr)
		}
		return Result{Status: Retry, Reason: ReasonServer, Key: "sync.server_failed"}
	}
	if r.Status == Retry {
		// Nothing was written and the answer is not final (what it builds
		// on has not arrived): the receipt goes, so that the device's next
		// send applies it.
		if err := s.Repo.DropReceipt(ctx, rc.AccountID, rc.ClientID); err != nil {
			return Result{Status: Retry, Reason: ReasonServer, Key: "sync.server_failed"}
		}
		return r
	}
	rc.Status = r.Status
	if rc.Result, err = json.Marshal(r); err == nil {
		err = s.Repo.FinishReceipt(ctx, rc)
	}
	// If the receipt could not be finished the change is applied but its
	// receipt stays pending: a retry after Config.ClaimTimeout applies it
	// again, and the natural keys (one follow-up a registration a day, one
	// record an ID number) answer it as a duplicate.
	return r
}

// attachResident fills a stored answer's server record again for a replay
// (the receipt stores the answer, not the record, which may have changed).
func (s *Service) attachResident(ctx context.Context, a care.Actor, r *Result) {
	id := r.ResidentID
	if id == 0 {
		id = r.RedirectTo
	}
	if id == 0 {
		return
	}
	if res, err := s.Residents.Get(ctx, a, id); err == nil {
		r.Resident = res
	}
}

// apply applies c through the online services. An error is a failure of
// the server (the change may be sent again); everything the doctor can
// act on is a Result.
func (s *Service) apply(ctx context.Context, a care.Actor, clinic int64, c *Change) (Result, error) {
	switch {
	case c.Register != nil:
		return s.register(ctx, a, clinic, c.Register)
	case c.FollowUp != nil:
		return s.followUp(ctx, a, c.FollowUp)
	case c.Call != nil:
		return s.call(ctx, a, c.Call)
	case c.FamilyService != nil:
		return s.familyService(ctx, a, c.FamilyService)
	case c.Enrol != nil:
		return s.enrol(ctx, a, c.Enrol)
	case c.Screening != nil:
		return s.screen(ctx, a, c.Screening)
	default:
		return s.contact(ctx, a, c.Contact)
	}
}

// serverFault reports whether err is the server's fault (to retry) rather
// than an answer about the change.
func serverFault(err error) bool {
	var ce *care.Error
	if !errors.As(err, &ce) {
		return true
	}
	switch ce.Code {
	case care.EINVALID, care.ENOTFOUND, care.ECONFLICT, care.EFORBIDDEN:
		return false
	}
	return true
}

// refusal is the service's answer about the change, or err itself when
// it is the server's fault (to retry).
func refusal(err error) (*care.Error, error) {
	if serverFault(err) {
		return nil, err
	}
	var ce *care.Error
	errors.As(err, &ce)
	return ce, nil
}

// notFound answers a record the doctor may not see (or that does not
// exist: the same answer, as online) — unless err is the server's fault.
func notFound(err error) (Result, error) {
	if serverFault(err) {
		return Result{}, err
	}
	return refused(ReasonOutOfScope, "sync.out_of_scope"), nil
}

// answer turns a service's refusal into a Result.
func answer(err error) Result {
	var ce *care.Error
	errors.As(err, &ce)
	switch ce.Code {
	case care.ENOTFOUND, care.EFORBIDDEN:
		return refused(ReasonOutOfScope, "sync.out_of_scope")
	case care.ECONFLICT:
		return Result{Status: Conflicted, Reason: ReasonStale, Key: ce.Key, Args: ce.Args, Fields: ce.Fields}
	}
	r := Result{Status: Refused, Reason: ReasonInvalid, Key: ce.Key, Args: ce.Args, Fields: ce.Fields}
	if r.Key == "" {
		r.Key = "error.invalid"
	}
	return r
}

func (s *Service) register(ctx context.Context, a care.Actor, clinic int64, in *resident.Input) (Result, error) {
	in.VillageID = clinic // a device registers at its own clinic, whatever it sent
	res, err := s.Residents.Register(ctx, a, *in)
	if err == nil {
		return Result{Status: Accepted, ServerID: res.ID, Resident: res, ResidentID: res.ID}, nil
	}
	ce, ferr := refusal(err)
	if ferr != nil {
		return Result{}, ferr
	}
	switch ce.Key {
	case "resident.duplicate_here":
		// Identity is the server's: the person is registered here already,
		// and the device replaces its new record by the server's.
		r := Result{Status: Conflicted, Reason: ReasonDuplicate, Key: ce.Key, Args: ce.Args, Fields: ce.Fields}
		if found, _, serr := s.Residents.Search(ctx, a, strings.TrimSpace(in.IDNumber), resident.Filter{}); serr == nil && len(found) == 1 {
			r.Resident, r.ResidentID, r.ServerID = &found[0], found[0].ID, found[0].ID
		}
		return r, nil
	case "resident.duplicate_elsewhere":
		return Result{Status: Refused, Reason: ReasonDuplicate, Key: ce.Key, Fields: ce.Fields}, nil
	}
	return answer(err), nil
}

func (s *Service) followUp(ctx context.Context, a care.Actor, f *FollowUp) (Result, error) {
	var out Result
	if f.RegistrationRef != "" {
		id, r, err := s.resolve(ctx, a, f.RegistrationRef, KindEnrol)
		if r != nil || err != nil {
			return deref(r), err
		}
		f.RegistrationID = id
	}
	reg, err := s.Repo.Registration(ctx, f.RegistrationID)
	if err != nil {
		return notFound(err)
	}
	owner, err := s.Residents.Get(ctx, a, reg.ResidentID)
	if err != nil {
		return notFound(err)
	}
	if owner.Status == resident.StatusMerged {
		// The resident was merged on the server: the follow-up goes to the
		// survivor's registration for the same disease.
		regs, err := s.Chronic.ForResident(ctx, a, owner.MergedInto)
		if err != nil {
			return notFound(err)
		}
		target := int64(0)
		for _, g := range regs {
			if g.Disease == reg.Disease && g.Status == chronic.StatusActive {
				target = g.ID
			}
		}
		if target == 0 {
			r := refused(ReasonMerged, "sync.merged_no_registration")
			r.RedirectTo, r.ResidentID = owner.MergedInto, owner.MergedInto
			return r, nil
		}
		f.RegistrationID, out.RedirectTo, out.ResidentID = target, owner.MergedInto, owner.MergedInto
	}
	sv, err := s.Chronic.RecordVisit(ctx, a, f.RegistrationID, f.Visit, f.Lifestyle, f.Confirmed)
	if err == nil {
		out.Status, out.ServerID, out.Urgent = Accepted, sv.ID, sv.Outcome.Urgent
		return out, nil
	}
	ce, ferr := refusal(err)
	if ferr != nil {
		return Result{}, ferr
	}
	switch {
	case ce.Key == chronic.KeyConfirm:
		r := refused(ReasonConfirm, ce.Key)
		r.Fields = ce.Fields
		return r, nil
	case ce.Key == "chronic.visit_duplicate":
		// Follow-ups append; only one a day per registration: the one the
		// server holds stands.
		return Result{Status: Conflicted, Reason: ReasonDuplicate, Key: ce.Key, Args: ce.Args, RedirectTo: out.RedirectTo}, nil
	case ce.Key == "chronic.not_active":
		return refused(ReasonNotActive, ce.Key), nil
	case hasField(ce.Fields, "date", "chronic.date.future"):
		return refused(ReasonClockSkew, "sync.clock_skew", f.Visit.Date.String(), care.Today(s.Now()).String()), nil
	}
	return answer(err), nil
}

func hasField(fs []care.FieldError, field, key string) bool {
	for _, f := range fs {
		if f.Field == field && f.Key == key {
			return true
		}
	}
	return false
}

func (s *Service) call(ctx context.Context, a care.Actor, c *Call) (Result, error) {
	call, err := s.Chronic.RecordCall(ctx, a, c.RegistrationID, c.Outcome)
	if err == nil {
		return Result{Status: Accepted, ServerID: call.ID}, nil
	}
	if serverFault(err) {
		return Result{}, err
	}
	return answer(err), nil
}

func (s *Service) contact(ctx context.Context, a care.Actor, c *Contact) (Result, error) {
	var out Result
	cur, err := s.Residents.Get(ctx, a, c.ResidentID)
	if err != nil {
		return notFound(err)
	}
	if cur.Status == resident.StatusMerged {
		// A resident merged on the server: the edit goes to the survivor,
		// under the same field rule.
		out.RedirectTo = cur.MergedInto
		if cur, err = s.Residents.Get(ctx, a, cur.MergedInto); err != nil {
			return notFound(err)
		}
	}
	out.ResidentID = cur.ID
	phone, okP := mergeField(cur.Phone, c.BasePhone, c.Phone)
	addr, okA := mergeField(cur.Address, c.BaseAdr, c.Address)
	if !okP || !okA {
		out.Status, out.Reason, out.Key, out.Resident = Conflicted, ReasonStale, "sync.contact_conflict", cur
		return out, nil
	}
	if phone == cur.Phone && addr == cur.Address {
		out.Status, out.ServerID, out.Resident = Accepted, cur.ID, cur
		return out, nil
	}
	in := inputOf(cur)
	in.Phone, in.Address = phone, addr
	upd, err := s.Residents.Update(ctx, a, cur.ID, cur.Version, "", in)
	if err == nil {
		out.Status, out.ServerID, out.Resident = Accepted, upd.ID, upd
		return out, nil
	}
	if serverFault(err) {
		return Result{}, err
	}
	r := answer(err)
	r.RedirectTo, r.ResidentID = out.RedirectTo, cur.ID
	if r.Status == Conflicted {
		// Changed between our read and the write: the server's record.
		if fresh, gerr := s.Residents.Get(ctx, a, cur.ID); gerr == nil {
			r.Resident = fresh
		}
	}
	return r, nil
}

func (s *Service) familyService(ctx context.Context, a care.Actor, v *FamilyService) (Result, error) {
	out, ans, err := s.subject(ctx, a, v.ResidentID, v.ResidentRef)
	if ans != nil || err != nil {
		return deref(ans), err
	}
	d, err := s.Family.Record(ctx, a, out.ResidentID, family.Kind(v.Kind), v.Date, v.Note)
	if err == nil {
		out.Status, out.ServerID = Accepted, d.ID
		return out, nil
	}
	ce, ferr := refusal(err)
	if ferr != nil {
		return Result{}, ferr
	}
	switch {
	case ce.Key == "family.service.duplicate":
		// One service of a kind a day (a chronic follow-up counts as one):
		// the server's stands.
		out.Status, out.Reason, out.Key, out.Args = Conflicted, ReasonDuplicate, ce.Key, ce.Args
		return out, nil
	case hasField(ce.Fields, "date", "family.service.future"):
		return refused(ReasonClockSkew, "sync.clock_skew", v.Date.String(), care.Today(s.Now()).String()), nil
	}
	r := answer(err)
	r.RedirectTo = out.RedirectTo
	return r, nil
}

// subject is the resident a change is about — by ID, or by ref to a
// registration change of the device — as the answer's ResidentID: a
// resident merged on the server is followed to the survivor (RedirectTo),
// to whom the change then goes. A non-nil *Result is the answer already:
// the reference pending or refused, the resident out of scope.
func (s *Service) subject(ctx context.Context, a care.Actor, id int64, ref Ref) (Result, *Result, error) {
	if ref != "" {
		rid, r, err := s.resolve(ctx, a, ref, KindRegister)
		if r != nil || err != nil {
			return Result{}, r, err
		}
		id = rid
	}
	cur, err := s.Residents.Get(ctx, a, id)
	if err != nil {
		r, ferr := notFound(err)
		if ferr != nil {
			return Result{}, nil, ferr
		}
		return Result{}, &r, nil
	}
	out := Result{ResidentID: id}
	if cur.Status == resident.StatusMerged {
		out.RedirectTo, out.ResidentID = cur.MergedInto, cur.MergedInto
	}
	return out, nil, nil
}

// deref is *r, or the zero Result for nil.
func deref(r *Result) Result {
	if r == nil {
		return Result{}
	}
	return *r
}

// enrol registers a resident in a chronic registry (chronic.Service.Enroll)
// — one the device pulled, or one it registered offline (ResidentRef). A
// resident merged on the server is enrolled as the survivor. Already
// registered for the disease: conflicted, with the server's registration
// (ServerID), to which the device's follow-ups on its enrolment then go.
func (s *Service) enrol(ctx context.Context, a care.Actor, e *Enrol) (Result, error) {
	out, ans, err := s.subject(ctx, a, e.ResidentID, e.ResidentRef)
	if ans != nil || err != nil {
		return deref(ans), err
	}
	g, err := s.Chronic.Enroll(ctx, a, out.ResidentID, e.Disease, e.Source, e.On, "")
	if err == nil {
		out.Status, out.ServerID = Accepted, g.ID
		return out, nil
	}
	ce, ferr := refusal(err)
	if ferr != nil {
		return Result{}, ferr
	}
	switch {
	case hasField(ce.Fields, "disease", "chronic.already_registered"):
		regs, err := s.Chronic.ForResident(ctx, a, out.ResidentID)
		if err != nil {
			return notFound(err)
		}
		for _, g := range regs {
			if g.Disease == e.Disease && g.Status == chronic.StatusActive {
				out.Status, out.Reason, out.Key, out.ServerID = Conflicted, ReasonDuplicate, "chronic.already_registered", g.ID
				return out, nil
			}
		}
	case hasField(ce.Fields, "enrolled_on", "chronic.date.invalid") && e.On.After(care.Today(s.Now())):
		return refused(ReasonClockSkew, "sync.clock_skew", e.On.String(), care.Today(s.Now()).String()), nil
	}
	r := answer(err)
	r.RedirectTo, r.ResidentID = out.RedirectTo, out.ResidentID
	return r, nil
}

// screen records a screening measurement through screening.Service.Record
// — the page's write path: the campaign's rules, suspected cases routed to
// the township with their due date, the audit row — for a resident the
// device pulled or registered offline (ResidentRef); a resident merged on
// the server is screened as the survivor. Measurements append, one a
// resident a campaign a day: a second for the same day (recorded online
// meanwhile, or by another device) is conflicted and the server's stands.
// A measurement dated within the campaign is applied even if the campaign
// ended before the sync; one dated outside it is refused (campaign_closed).
func (s *Service) screen(ctx context.Context, a care.Actor, v *Screening) (Result, error) {
	out, ans, err := s.subject(ctx, a, v.ResidentID, v.ResidentRef)
	if ans != nil || err != nil {
		return deref(ans), err
	}
	m, cases, err := s.Screening.Record(ctx, a, v.CampaignID, out.ResidentID, v.Measure)
	if err == nil {
		out.Status, out.ServerID = Accepted, m.ID
		for _, c := range cases {
			out.Suspected = append(out.Suspected, Suspicion{Disease: c.Disease, DueOn: c.DueOn})
		}
		return out, nil
	}
	ce, ferr := refusal(err)
	if ferr != nil {
		return Result{}, ferr
	}
	var r Result
	switch {
	case ce.Key == "screening.campaign_not_found":
		// Not a campaign over the doctor's village (or none such): named as
		// the campaign, not the resident.
		r = refused(ReasonOutOfScope, ce.Key)
	case ce.Key == "screening.measured_today":
		r = Result{Status: Conflicted, Reason: ReasonDuplicate, Key: ce.Key}
	case hasField(ce.Fields, "date", "screening.date_future"):
		r = refused(ReasonClockSkew, "sync.clock_skew", v.Measure.Date.String(), care.Today(s.Now()).String())
	case hasField(ce.Fields, "date", "screening.date_outside"):
		r = refused(ReasonCampaignClosed, "sync.campaign_closed")
		r.Fields = ce.Fields
	default:
		r = answer(err)
	}
	r.RedirectTo, r.ResidentID = out.RedirectTo, out.ResidentID
	return r, nil
}

// mergeField applies the device's edit of one field: the new value when
// the server still holds the value the device started from (or holds the
// new one already); false when both changed it differently.
func mergeField(server, base, edited string) (string, bool) {
	switch {
	case edited == base, edited == server:
		return server, true
	case server == base:
		return edited, true
	}
	return server, false
}

// inputOf is a stored record as the registry's input, for an edit that
// keeps every field but the ones it changes.
func inputOf(r *resident.Resident) resident.Input {
	return resident.Input{Name: r.Name, IDNumber: string(r.IDNumber), Sex: string(r.Sex), BirthDate: r.BirthDate.String(), Phone: r.Phone, Address: r.Address,
		VillageID: r.VillageID, HouseholdID: r.HouseholdID, Relation: string(r.Relation), Poverty: string(r.Poverty), DisabilityGrade: r.DisabilityGrade,
		PregnancyEDD: r.PregnancyEDD.String()}
}

// Hash is the digest of a record as sent, stored with its receipt.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
