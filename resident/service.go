package resident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
	"countycare/org"
)

// Repository is the storage the registry needs; store.Store implements it.
type Repository interface {
	// Resident returns a record in any status; ENOTFOUND if none.
	Resident(ctx context.Context, id int64) (*Resident, error)
	// ResidentScoped returns a record and whether sc covers it, at the same
	// cost either way; ENOTFOUND if none.
	ResidentScoped(ctx context.Context, id int64, sc access.Scope, now time.Time) (*Resident, bool, error)
	// LinkedInstitutions lists institutions with a live care link to the resident.
	LinkedInstitutions(ctx context.Context, county string, id int64, now time.Time) ([]int64, error)
	SearchResidents(ctx context.Context, sc access.Scope, q Query, f Filter, now time.Time) ([]Resident, bool, error)
	ResidentsByIDNumber(ctx context.Context, county, n string) ([]Resident, error)
	// CreateResident numbers, stores and indexes r with ev in one transaction.
	CreateResident(ctx context.Context, r *Resident, ev audit.Event) error
	// ImportResidents stores households of new residents in one transaction.
	ImportResidents(ctx context.Context, households [][]*Resident, ev audit.Event) error
	// UpdateResident saves r if r.Version is current (ECONFLICT otherwise).
	UpdateResident(ctx context.Context, r *Resident, ev audit.Event) error
	MergeResidents(ctx context.Context, survivor, merged *Resident, ev audit.Event) error
	DuplicateGroups(ctx context.Context, sc access.Scope, limit int, now time.Time) ([][]Resident, error)
	Household(ctx context.Context, id int64) (*Household, []Resident, error)
	// HouseholdIDByNumber finds a county's household by its number; ENOTFOUND if none.
	HouseholdIDByNumber(ctx context.Context, county, number string) (int64, error)
	AddCareLink(ctx context.Context, l *access.CareLink, ev audit.Event) error
}

// OrgSource gives the current organisation tree.
type OrgSource interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service is the resident registry. Every method takes the acting user,
// applies their scope (access.ScopeFor) and writes the audit trail: reads
// and searches through Audit (queued), writes in the same transaction as
// the data. A resident outside the actor's scope is reported as
// ENOTFOUND, exactly like a resident that does not exist.
type Service struct {
	Repo  Repository
	Orgs  OrgSource
	Audit audit.Recorder
	Now   func() time.Time
}

// Scope returns the residents a may see.
func (s *Service) Scope(ctx context.Context, a care.Actor) (access.Scope, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return access.Scope{}, err
	}
	return access.ScopeFor(a, t), nil
}

// ManagedClinics returns the village clinics whose residents a manages (a
// village doctor's clinic, a township's villages); EFORBIDDEN for actors
// without a managed scope (county staff, analysts). Lists by clinic —
// overdue follow-ups, contract shortfalls, unit indicators — start here.
func (s *Service) ManagedClinics(ctx context.Context, a care.Actor) ([]int64, error) {
	sc, err := s.Scope(ctx, a)
	if err != nil {
		return nil, err
	}
	if sc.Kind != access.ScopeManaged {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return sc.Institutions, nil
}

// allowed loads what access needs to decide whether sc covers r.
func (s *Service) allowed(ctx context.Context, sc access.Scope, r *Resident) (bool, error) {
	sub := access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID}
	if sc.Kind == access.ScopeCareLinks {
		links, err := s.Repo.LinkedInstitutions(ctx, r.CountyCode, r.ID, s.Now())
		if err != nil {
			return false, err
		}
		sub.LinkedTo = links
	}
	return sc.Allows(sub), nil
}

// load fetches resident id for a and checks scope, auditing a refusal
// under action. It returns ENOTFOUND both for a missing record and for one
// out of scope.
func (s *Service) load(ctx context.Context, a care.Actor, id int64, action string) (*Resident, error) {
	ev := audit.New(ctx, a, action, id)
	sc, err := s.Scope(ctx, a)
	if err != nil {
		return nil, err
	}
	r, ok, err := s.Repo.ResidentScoped(ctx, id, sc, s.Now())
	if care.IsCode(err, care.ENOTFOUND) {
		ev.Outcome = audit.OutcomeNotFound
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		ev.Outcome = audit.OutcomeDenied
		ev.CountyCode = r.CountyCode
		ev.Detail = "out of scope"
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	return r, nil
}

// Get returns resident id if a may see it, and audits the read.
// Errors: ENOTFOUND (missing or out of scope).
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Resident, error) {
	r, err := s.load(ctx, a, id, audit.ActResidentRead)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, audit.ActResidentRead, id)
	ev.CountyCode = r.CountyCode
	s.Audit.Record(ctx, ev)
	return r, nil
}

// RevealIDNumber returns the unmasked ID number of resident id, with an
// audit row of its own: screens show it masked until asked.
func (s *Service) RevealIDNumber(ctx context.Context, a care.Actor, id int64) (string, error) {
	r, err := s.load(ctx, a, id, audit.ActResidentRevealID)
	if err != nil {
		return "", err
	}
	ev := audit.New(ctx, a, audit.ActResidentRevealID, id)
	ev.CountyCode = r.CountyCode
	s.Audit.Record(ctx, ev)
	return string(r.IDNumber), nil
}

// Search finds residents in a's scope. text is a name, pinyin, pinyin
// initials, ID number, record number or phone number; empty text browses
// the scope with the filter. Errors: EINVALID (unusable query text),
// EFORBIDDEN (a role that sees no residents).
func (s *Service) Search(ctx context.Context, a care.Actor, text string, f Filter) ([]Resident, bool, error) {
	ev := audit.New(ctx, a, audit.ActResidentSearch, 0)
	sc, err := s.Scope(ctx, a)
	if err != nil {
		return nil, false, err
	}
	if sc.Kind == access.ScopeNone || sc.Kind == access.ScopeSelf {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, false, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var q Query
	if strings.TrimSpace(text) != "" {
		if utf8.RuneCountInString(text) > MaxQueryLen {
			return nil, false, &care.Error{Code: care.EINVALID, Key: "search.too_long", Args: []any{MaxQueryLen},
				Fields: []care.FieldError{{Field: "q", Key: "search.too_long", Args: []any{MaxQueryLen}}}}
		}
		q = ParseQuery(text)
		if !q.Valid {
			key := "search.invalid"
			if q.Kind == QueryIDNumber {
				key = "idcard.check_digit_query"
			}
			return nil, false, &care.Error{Code: care.EINVALID, Key: key, Fields: []care.FieldError{{Field: "q", Key: key}}}
		}
	}
	res, more, err := s.Repo.SearchResidents(ctx, sc, q, f, s.Now())
	if err != nil {
		return nil, false, err
	}
	shown := q.Text
	if q.Kind == QueryIDNumber {
		shown = idcard.Mask(q.Text)
	} else if q.Kind == QueryPhone {
		shown = MaskPhone(q.Text)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = fmt.Sprint(r.ID)
	}
	ev.Detail = fmt.Sprintf("q=%q filter=%s n=%d ids=%s", shown, f.describe(), len(res), strings.Join(ids, ","))
	if len(res) == 1 {
		ev.ResidentID = res[0].ID
	}
	s.Audit.Record(ctx, ev)
	return res, more, nil
}

func (f Filter) describe() string {
	var parts []string
	if f.Poverty != "" {
		parts = append(parts, "poverty:"+string(f.Poverty))
	}
	if !f.BornOnOrBefore.IsZero() {
		parts = append(parts, "born<="+f.BornOnOrBefore.String())
	}
	if !f.BornOnOrAfter.IsZero() {
		parts = append(parts, "born>="+f.BornOnOrAfter.String())
	}
	if f.DisabledOnly {
		parts = append(parts, "disabled")
	}
	if f.AfterRecord != "" {
		parts = append(parts, "after:"+f.AfterRecord)
	}
	if !f.PregnantOn.IsZero() {
		parts = append(parts, "pregnant")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ";")
}

// Register validates in and registers a new resident managed by
// in.VillageID, which must be a village clinic in a's scope.
// Errors: EINVALID (field errors), ECONFLICT (ID number already
// registered in the county — the error says where if a may know),
// EFORBIDDEN (village outside a's scope).
func (s *Service) Register(ctx context.Context, a care.Actor, in Input) (*Resident, error) {
	now := s.Now()
	r, fs := Validate(in, now)
	ev := audit.New(ctx, a, audit.ActResidentCreate, 0)
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	sc := access.ScopeFor(a, t)
	if r.VillageID > 0 {
		v := t.Get(r.VillageID)
		switch {
		case v == nil || sc.Kind != access.ScopeManaged || !sc.Allows(access.Subject{CountyCode: v.CountyCode, ManagedBy: v.ID}):
			fs = append(fs, care.FieldError{Field: "village_id", Key: "resident.village_out_of_scope"})
		case v.Kind != org.KindVillageClinic:
			fs = append(fs, care.FieldError{Field: "village_id", Key: "resident.village_not_clinic"})
		default:
			r.CountyCode = v.CountyCode
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	if r.HouseholdID != 0 {
		h, _, err := s.Repo.Household(ctx, r.HouseholdID)
		if err != nil || h.VillageID != r.VillageID {
			return nil, care.Invalid([]care.FieldError{{Field: "household_id", Key: "resident.household_other_village"}})
		}
	}
	if r.IDNumber != "" {
		dup, err := s.duplicateError(ctx, sc, r.CountyCode, string(r.IDNumber))
		if err != nil {
			return nil, err
		}
		if dup != nil {
			return nil, s.refuseDuplicate(ctx, ev, r.CountyCode, r.IDNumber, dup)
		}
	}
	if err := s.Repo.CreateResident(ctx, &r, ev); err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && ce.Code == care.ECONFLICT && ce.Key == "resident.duplicate_elsewhere" {
			// Registered by someone else since the check above: the
			// store checks again inside its transaction.
			dup, derr := s.duplicateError(ctx, sc, r.CountyCode, string(r.IDNumber))
			if derr != nil || dup == nil {
				dup = ce
			}
			return nil, s.refuseDuplicate(ctx, ev, r.CountyCode, r.IDNumber, dup)
		}
		return nil, err
	}
	return &r, nil
}

// refuseDuplicate audits the refusal of an ID number already registered
// and returns dup: telling the user the number is registered reveals that
// a person exists in the county, so every such answer is audited.
func (s *Service) refuseDuplicate(ctx context.Context, ev audit.Event, county string, n idcard.Number, dup *care.Error) error {
	ev.Outcome, ev.CountyCode = audit.OutcomeInvalid, county
	ev.Detail = "refused: ID number " + idcard.Mask(string(n)) + " already registered (" + dup.Key + ")"
	s.Audit.Record(ctx, ev)
	return dup
}

// duplicateError returns ECONFLICT if ID number n is already registered
// in the county, naming the record when the scope covers it.
func (s *Service) duplicateError(ctx context.Context, sc access.Scope, county, n string) (*care.Error, error) {
	existing, err := s.Repo.ResidentsByIDNumber(ctx, county, n)
	if err != nil || len(existing) == 0 {
		return nil, err
	}
	for i := range existing {
		if ok, _ := s.allowed(ctx, sc, &existing[i]); ok {
			return &care.Error{Code: care.ECONFLICT, Key: "resident.duplicate_here", Args: []any{existing[i].RecordNumber},
				Fields: []care.FieldError{{Field: "id_number", Key: "resident.duplicate_here", Args: []any{existing[i].RecordNumber}}}}, nil
		}
	}
	return &care.Error{Code: care.ECONFLICT, Key: "resident.duplicate_elsewhere",
		Fields: []care.FieldError{{Field: "id_number", Key: "resident.duplicate_elsewhere"}}}, nil
}

// MaxVersion is the largest record version Update accepts; versions
// count edits, and the column is a 32-bit integer.
const MaxVersion = 1_000_000_000

// Update validates in and saves it over resident id, provided version is
// the version a read. The managing village and household do not change
// here. Errors: EINVALID (also for a version outside 1…MaxVersion),
// ENOTFOUND, ECONFLICT (stale version or the new ID number belongs to
// another record).
func (s *Service) Update(ctx context.Context, a care.Actor, id int64, version int, status Status, in Input) (*Resident, error) {
	if version < 1 || version > MaxVersion {
		return nil, care.Invalid([]care.FieldError{{Field: "version", Key: "resident.version_invalid"}})
	}
	old, err := s.load(ctx, a, id, audit.ActResidentUpdate)
	if err != nil {
		return nil, err
	}
	if old.Status == StatusMerged {
		return nil, care.Errorf(care.ECONFLICT, "resident.merged")
	}
	in.VillageID = old.VillageID
	in.HouseholdID = old.HouseholdID
	if in.Relation == "" {
		in.Relation = string(old.Relation)
	}
	r, fs := ValidateUpdate(in, old, s.Now())
	if in.HouseholdID != 0 && r.Relation != RelHead {
		fs = removeField(fs, "relation", "relation.new_household_head")
	}
	switch status {
	case "":
		status = old.Status
	case StatusActive, StatusMoved, StatusDied:
	default:
		fs = append(fs, care.FieldError{Field: "status", Key: "resident.status.invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	if r.IDNumber != "" && r.IDNumber != old.IDNumber {
		sc, err := s.Scope(ctx, a)
		if err != nil {
			return nil, err
		}
		if dup, err := s.duplicateError(ctx, sc, old.CountyCode, string(r.IDNumber)); err != nil || dup != nil {
			if err != nil {
				return nil, err
			}
			return nil, s.refuseDuplicate(ctx, audit.New(ctx, a, audit.ActResidentUpdate, id), old.CountyCode, r.IDNumber, dup)
		}
	}
	r.ID, r.CountyCode, r.RecordNumber, r.Version, r.Status = old.ID, old.CountyCode, old.RecordNumber, version, status
	r.CreatedAt, r.MergedInto = old.CreatedAt, old.MergedInto
	ev := audit.New(ctx, a, audit.ActResidentUpdate, id)
	ev.Detail = "changed: " + strings.Join(changedFields(old, &r), ",")
	if err := s.Repo.UpdateResident(ctx, &r, ev); err != nil {
		// Another registration or change took the number after the check
		// above: the store's check, under the registration lock, refused it.
		var ce *care.Error
		if errors.As(err, &ce) && ce.Code == care.ECONFLICT && ce.Key == "resident.duplicate_elsewhere" {
			sc, serr := s.Scope(ctx, a)
			if serr != nil {
				return nil, serr
			}
			dup, derr := s.duplicateError(ctx, sc, old.CountyCode, string(r.IDNumber))
			if derr != nil || dup == nil {
				dup = ce
			}
			return nil, s.refuseDuplicate(ctx, audit.New(ctx, a, audit.ActResidentUpdate, id), old.CountyCode, r.IDNumber, dup)
		}
		return nil, err
	}
	return &r, nil
}

func removeField(fs []care.FieldError, field, key string) []care.FieldError {
	out := fs[:0]
	for _, f := range fs {
		if f.Field != field || f.Key != key {
			out = append(out, f)
		}
	}
	return out
}

// changedFields names the fields that differ (never their values: the
// audit trail must not become a second copy of the record).
func changedFields(a, b *Resident) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("name", a.Name != b.Name)
	add("id_number", a.IDNumber != b.IDNumber)
	add("sex", a.Sex != b.Sex)
	add("birth_date", a.BirthDate != b.BirthDate)
	add("phone", a.Phone != b.Phone)
	add("address", a.Address != b.Address)
	add("relation", a.Relation != b.Relation)
	add("poverty", a.Poverty != b.Poverty)
	add("disability_grade", a.DisabilityGrade != b.DisabilityGrade)
	add("pregnancy_edd", a.PregnancyEDD != b.PregnancyEDD)
	add("status", a.Status != b.Status)
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

// Duplicates lists groups of active records in a's scope that share an ID
// number — left by imports from older systems or by simultaneous
// registrations — for review and merge.
func (s *Service) Duplicates(ctx context.Context, a care.Actor) ([][]Resident, error) {
	sc, err := s.Scope(ctx, a)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, audit.ActDuplicatesList, 0)
	if sc.Kind != access.ScopeManaged {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	groups, err := s.Repo.DuplicateGroups(ctx, sc, 50, s.Now())
	if err != nil {
		return nil, err
	}
	ev.Detail = fmt.Sprintf("groups=%d", len(groups))
	s.Audit.Record(ctx, ev)
	return groups, nil
}

// Merge merges record mergedID into survivorID. Both must be active, in
// a's scope, of one county, with the same ID number, and at the versions
// given (what a reviewed). Errors: ENOTFOUND, EINVALID (not duplicates),
// ECONFLICT (changed meanwhile).
func (s *Service) Merge(ctx context.Context, a care.Actor, survivorID int64, survivorVersion int, mergedID int64, mergedVersion int) error {
	if survivorID == mergedID {
		return care.Errorf(care.EINVALID, "resident.merge_same")
	}
	sv, err := s.load(ctx, a, survivorID, audit.ActResidentMerge)
	if err != nil {
		return err
	}
	mg, err := s.load(ctx, a, mergedID, audit.ActResidentMerge)
	if err != nil {
		return err
	}
	if sv.Status != StatusActive || mg.Status != StatusActive || sv.CountyCode != mg.CountyCode || sv.IDNumber == "" || sv.IDNumber != mg.IDNumber {
		return care.Errorf(care.EINVALID, "resident.merge_not_duplicates")
	}
	if sv.Version != survivorVersion || mg.Version != mergedVersion {
		return care.Errorf(care.ECONFLICT, "resident.stale")
	}
	return s.Repo.MergeResidents(ctx, sv, mg, audit.New(ctx, a, audit.ActResidentMerge, survivorID))
}

// Household returns household id and those of its members a may see.
// Errors: ENOTFOUND when a sees none of its members.
func (s *Service) Household(ctx context.Context, a care.Actor, id int64) (*Household, []Resident, error) {
	ev := audit.New(ctx, a, audit.ActHouseholdRead, 0)
	h, members, err := s.Repo.Household(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		ev.Outcome = audit.OutcomeNotFound
		s.Audit.Record(ctx, ev)
		return nil, nil, care.Errorf(care.ENOTFOUND, "household.not_found")
	}
	if err != nil {
		return nil, nil, err
	}
	sc, err := s.Scope(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	var seen []Resident
	var ids []string
	for i := range members {
		if ok, err := s.allowed(ctx, sc, &members[i]); err != nil {
			return nil, nil, err
		} else if ok {
			seen = append(seen, members[i])
			ids = append(ids, fmt.Sprint(members[i].ID))
		}
	}
	ev.CountyCode = h.CountyCode
	ev.Detail = fmt.Sprintf("household %s members=%s", h.Number, strings.Join(ids, ","))
	if len(seen) == 0 {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, nil, care.Errorf(care.ENOTFOUND, "household.not_found")
	}
	s.Audit.Record(ctx, ev)
	return h, seen, nil
}

// HouseholdByNumber is Household for the household of a's county with
// number (户编号). Errors: ENOTFOUND when there is none or a sees none of
// its members (audited as Household).
func (s *Service) HouseholdByNumber(ctx context.Context, a care.Actor, number string) (*Household, []Resident, error) {
	id, err := s.Repo.HouseholdIDByNumber(ctx, a.CountyCode, number)
	if care.IsCode(err, care.ENOTFOUND) {
		ev := audit.New(ctx, a, audit.ActHouseholdRead, 0)
		ev.Outcome, ev.CountyCode, ev.Detail = audit.OutcomeNotFound, a.CountyCode, "household "+number
		s.Audit.Record(ctx, ev)
		return nil, nil, care.Errorf(care.ENOTFOUND, "household.not_found")
	}
	if err != nil {
		return nil, nil, err
	}
	return s.Household(ctx, a, id)
}

// MinEmergencyReason is the shortest reason accepted for emergency access.
const MinEmergencyReason = 4

// EmergencyAccess is break-the-glass: a county clinician treating a
// patient in an emergency (PIPL art. 13(4)) opens the record of the
// resident with ID number idNumber until access.EmergencyExpiry, giving
// a reason. It is audited as access.emergency and shows on the auditor's
// page. Errors: EINVALID (no reason, bad number), ENOTFOUND, EFORBIDDEN
// (roles other than county specialists and readers).
func (s *Service) EmergencyAccess(ctx context.Context, a care.Actor, idNumber, reason string) (*Resident, error) {
	ev := audit.New(ctx, a, audit.ActEmergencyAccess, 0)
	ev.Purpose = care.PurposeEmergency
	if a.Role != care.RoleCountySpecialist && a.Role != care.RoleReader {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	reason = strings.TrimSpace(reason)
	var fs []care.FieldError
	if utf8.RuneCountInString(reason) < MinEmergencyReason {
		fs = append(fs, care.FieldError{Field: "reason", Key: "emergency.reason_required", Args: []any{MinEmergencyReason}})
	} else if utf8.RuneCountInString(reason) > 200 {
		fs = append(fs, care.FieldError{Field: "reason", Key: "field.too_long", Args: []any{200}})
	}
	n, perr := idcard.Parse(idNumber, care.Today(s.Now()).Time())
	if f, ok := perr.(*idcard.Fault); ok {
		fs = append(fs, care.FieldError{Field: "id_number", Key: f.Key, Args: f.Args})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	found, err := s.Repo.ResidentsByIDNumber(ctx, a.CountyCode, string(n))
	if err != nil {
		return nil, err
	}
	var r *Resident
	for i := range found {
		if found[i].Status == StatusActive {
			r = &found[i]
			break
		}
	}
	ev.Detail = "reason: " + reason
	if r == nil {
		ev.Outcome = audit.OutcomeNotFound
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	ev.ResidentID, ev.CountyCode = r.ID, r.CountyCode
	l := &access.CareLink{CountyCode: r.CountyCode, ResidentID: r.ID, InstitutionID: a.InstitutionID, Kind: access.LinkEmergency,
		Reason: reason, CreatedBy: a.AccountID, ExpiresAt: access.EmergencyExpiry(s.Now())}
	if err := s.Repo.AddCareLink(ctx, l, ev); err != nil {
		return nil, err
	}
	return r, nil
}

// Import registers the residents of an import file (ParseImport) at
// village villageID, which must be a village clinic in a's scope. Every
// row is checked as Register checks one resident, plus: each household's
// first row is its head, and no ID number appears twice in the file or is
// already registered in the county. Any fault refuses the whole file
// (EINVALID listing every fault with its line), so nothing is
// half-imported. It returns the number of residents registered.
func (s *Service) Import(ctx context.Context, a care.Actor, villageID int64, rows []ImportRow) (int, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return 0, err
	}
	sc := access.ScopeFor(a, t)
	v := t.Get(villageID)
	if v == nil || v.Kind != org.KindVillageClinic || sc.Kind != access.ScopeManaged || !sc.Allows(access.Subject{CountyCode: v.CountyCode, ManagedBy: v.ID}) {
		return 0, care.Invalid([]care.FieldError{{Field: "village_id", Key: "resident.village_out_of_scope"}})
	}
	now := s.Now()
	var fs []care.FieldError
	dups := 0
	seenID := map[string]int{}
	var households [][]*Resident
	index := map[string]int{}
	for _, row := range rows {
		in := row.Input
		in.VillageID = villageID
		_, known := index[row.Household]
		first := !known
		if in.Relation == "" {
			in.Relation = string(RelOther)
			if first {
				in.Relation = string(RelHead)
			}
		}
		r, rfs := Validate(in, now)
		rfs = removeField(rfs, "relation", "relation.new_household_head")
		if first && r.Relation != RelHead {
			rfs = append(rfs, care.FieldError{Field: "relation", Key: "import.head_first"})
		}
		if r.IDNumber != "" {
			if l, dup := seenID[string(r.IDNumber)]; dup {
				rfs = append(rfs, care.FieldError{Field: "id_number", Key: "import.duplicate_in_file", Args: []any{l}})
			} else {
				seenID[string(r.IDNumber)] = row.Line
				if existing, err := s.Repo.ResidentsByIDNumber(ctx, v.CountyCode, string(r.IDNumber)); err != nil {
					return 0, err
				} else if len(existing) > 0 {
					dups++
					rfs = append(rfs, care.FieldError{Field: "id_number", Key: "resident.duplicate_elsewhere"})
				}
			}
		}
		for _, f := range rfs {
			f.Field = rowField(row.Line, f.Field)
			fs = append(fs, f)
		}
		r.CountyCode = v.CountyCode
		rp := &r
		if first {
			index[row.Household] = len(households)
			households = append(households, []*Resident{rp})
		} else {
			i := index[row.Household]
			households[i] = append(households[i], rp)
		}
	}
	if len(rows) == 0 {
		fs = append(fs, care.FieldError{Field: "file", Key: "import.empty"})
	}
	if dups > 0 {
		ev := audit.New(ctx, a, audit.ActResidentCreate, 0)
		ev.Outcome, ev.CountyCode = audit.OutcomeInvalid, v.CountyCode
		ev.Detail = fmt.Sprintf("import refused: %d of %d rows have ID numbers already registered", dups, len(rows))
		s.Audit.Record(ctx, ev)
	}
	if err := care.Invalid(CapFaults(fs)); err != nil {
		return 0, err
	}
	ev := audit.New(ctx, a, audit.ActResidentCreate, 0)
	ev.Detail = fmt.Sprintf("import of %d rows", len(rows))
	if err := s.Repo.ImportResidents(ctx, households, ev); err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && ce.Code == care.ECONFLICT && ce.Key == "resident.duplicate_elsewhere" {
			// An ID number was registered since the check above (the
			// store checks again inside its transaction).
			ev.Outcome, ev.CountyCode = audit.OutcomeInvalid, v.CountyCode
			ev.Detail = fmt.Sprintf("import refused: an ID number of its %d rows was registered meanwhile", len(rows))
			s.Audit.Record(ctx, ev)
		}
		return 0, err
	}
	return len(rows), nil
}

// MaxFaults is the most faults reported for one request; the rest are
// counted in one last fault (import.more_errors).
const MaxFaults = 100

// CapFaults keeps the first MaxFaults faults and sums up the rest.
func CapFaults(fs []care.FieldError) []care.FieldError {
	if len(fs) <= MaxFaults {
		return fs
	}
	return append(fs[:MaxFaults:MaxFaults], care.FieldError{Field: "file", Key: "import.more_errors", Args: []any{len(fs) - MaxFaults}})
}
