// Package proxy holds proxy grants (代理授权): a guardian (监护人) who sees
// a child's record, a family member (家属) who sees an elderly resident's,
// or someone an adult resident chose themself. A grant names two
// residents — the ward, whose record is seen, and the proxy, who signs in
// with their own account — and each access through it is the proxy's own,
// audited with purpose "proxy" (care.PurposeProxy). Staff who manage the
// ward grant and revoke; an adult ward grants and revokes their own. A
// resident without a grant never sees another's record, even one of their
// own household: switching to it is refused as not found and audited.
package proxy

import (
	"context"
	"slices"
	"strconv"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
	"countycare/resident"
)

// Kind is why a proxy may see the ward's record.
type Kind string

// Kinds of grant.
const (
	Guardian Kind = "guardian" // 监护人 of a child under care.AdultAge; granted by staff; ends at the ward's 18th birthday
	Family   Kind = "family"   // 家属 of an elderly resident (resident.ElderlyAge or older); granted by staff
	Chosen   Kind = "chosen"   // someone an adult ward chose (授权委托); granted by staff or by the ward
)

// Kinds lists the kinds of grant, in the order forms offer them.
var Kinds = []Kind{Guardian, Family, Chosen}

// Audit actions.
const (
	ActGrant  = "proxy.grant"
	ActRevoke = "proxy.revoke"
	ActSwitch = "proxy.switch" // a proxy began viewing a ward's record (or their own again)
)

// Grant is one proxy grant.
type Grant struct {
	ID         int64
	CountyCode string
	WardID     int64
	ProxyID    int64
	Kind       Kind
	GrantedBy  int64 // account
	GrantedAt  time.Time
	ExpiresAt  time.Time // zero: no end
	RevokedAt  time.Time
	RevokedBy  int64

	WardName, ProxyName string // for lists
}

// Live reports whether the grant lets its proxy in at t.
func (g *Grant) Live(t time.Time) bool {
	return g.RevokedAt.IsZero() && (g.ExpiresAt.IsZero() || t.Before(g.ExpiresAt))
}

// Repository is the storage of grants; store.Store implements it.
type Repository interface {
	// CreateGrant stores g with ev in one transaction; ECONFLICT if the
	// pair already has a live grant.
	CreateGrant(ctx context.Context, g *Grant, ev audit.Event) error
	// ProxyGrant returns one grant (ENOTFOUND).
	ProxyGrant(ctx context.Context, id int64) (*Grant, error)
	// GrantsOfWard lists the ward's grants live at now, with the proxies' names.
	GrantsOfWard(ctx context.Context, wardID int64, now time.Time) ([]Grant, error)
	// GrantsOfProxy lists the proxy's grants live at now, with the wards' names.
	GrantsOfProxy(ctx context.Context, proxyID int64, now time.Time) ([]Grant, error)
	// RevokeGrant marks grant id revoked by account by at now with ev —
	// only if it was not revoked (ECONFLICT otherwise) — and ends the
	// proxy's sessions' views of the ward, in one transaction; it returns
	// the proxy's account (0: none).
	RevokeGrant(ctx context.Context, id, by int64, now time.Time, ev audit.Event) (int64, error)
	// SetActing records which resident's record session id views (0: its
	// account's own).
	SetActing(ctx context.Context, sessionID, residentID int64) error
	Resident(ctx context.Context, id int64) (*resident.Resident, error)
	ResidentsByIDNumber(ctx context.Context, county, n string) ([]resident.Resident, error)
}

// Service grants, revokes and switches.
type Service struct {
	Repo      Repository
	Residents *resident.Service // staff's scope and audited reads of the ward
	Audit     audit.Recorder
	Now       func() time.Time
	// Forget is told of an account whose cached sessions must be looked
	// up again (account.Service.Forget, and the other replicas).
	Forget func(accountID int64)
}

// Check returns the faults of a grant of kind from proxy to ward on day:
// a guardian's ward is under care.AdultAge, a family member's ward is
// resident.ElderlyAge or older, a chosen proxy's ward is an adult; the
// proxy is an adult, another person, and active. Ages come from the birth
// dates the GB 11643 identity numbers carry (resident.Validate).
func Check(kind Kind, ward, proxy *resident.Resident, day care.Date) []care.FieldError {
	var fs []care.FieldError
	add := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	age := BirthDate(ward).AgeOn(day)
	switch kind {
	case Guardian:
		if age >= care.AdultAge {
			add("kind", "proxy.guardian_adult", care.AdultAge)
		}
	case Family:
		if age < resident.ElderlyAge {
			add("kind", "proxy.family_young", resident.ElderlyAge)
		}
	case Chosen:
		if age < care.AdultAge {
			add("kind", "proxy.chosen_minor", care.AdultAge)
		}
	default:
		add("kind", "proxy.kind_invalid")
	}
	switch {
	case proxy == nil:
	case proxy.ID == ward.ID:
		add("id_number", "proxy.self")
	case proxy.Status != resident.StatusActive:
		add("id_number", "proxy.not_found")
	case BirthDate(proxy).AgeOn(day) < care.AdultAge:
		add("id_number", "proxy.proxy_minor", care.AdultAge)
	}
	return fs
}

// BirthDate is r's birth date as their GB 11643-1999 identity number
// carries it (digits 7–14), or the registered date for a record without
// a number (a newborn not yet given one).
func BirthDate(r *resident.Resident) care.Date {
	if len(r.IDNumber) == 18 {
		return care.DateOf(r.IDNumber.BirthDate())
	}
	return r.BirthDate
}

// Expiry is when a grant of kind for ward ends: a guardian's at the
// ward's 18th birthday (midnight in China), others never.
func Expiry(kind Kind, ward *resident.Resident) time.Time {
	if kind != Guardian {
		return time.Time{}
	}
	b := BirthDate(ward)
	return time.Date(b.Year+care.AdultAge, b.Month, b.Day, 0, 0, 0, 0, care.Shanghai)
}

// mayManage loads the ward for a and reports whether a may grant and
// revoke on their record: staff whose scope covers it (an audited read
// through resident.Service), or the ward themself if adult (their own
// record, not a ward's they view as a proxy). kind "" skips the kind rule.
func (s *Service) mayManage(ctx context.Context, a care.Actor, wardID int64, kind Kind) (*resident.Resident, error) {
	if a.Role == care.RoleResident {
		if a.ResidentID != wardID || a.Proxy != 0 {
			return nil, care.Errorf(care.ENOTFOUND, "resident.not_found")
		}
		if kind != "" && kind != Chosen {
			return nil, care.Invalid([]care.FieldError{{Field: "kind", Key: "proxy.kind_staff"}})
		}
	}
	if a.Role != care.RoleResident && !slices.Contains(access.Registrars, a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Residents.Get(ctx, a, wardID)
}

// GrantAccess lets the resident with identity number idNumber (in the
// ward's county) see ward's record as a proxy of kind. Errors: EINVALID
// (fields "kind", "id_number"), ENOTFOUND (ward missing or out of a's
// scope), ECONFLICT (a live grant exists), EFORBIDDEN.
func (s *Service) GrantAccess(ctx context.Context, a care.Actor, wardID int64, kind Kind, idNumber string) (*Grant, error) {
	ward, err := s.mayManage(ctx, a, wardID, kind)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var proxy *resident.Resident
	var fs []care.FieldError
	n, err := idcard.Parse(idNumber, now)
	if err != nil {
		fs = append(fs, care.FieldError{Field: "id_number", Key: "proxy.id_number_format"})
	} else {
		found, err := s.Repo.ResidentsByIDNumber(ctx, ward.CountyCode, string(n))
		if err != nil {
			return nil, err
		}
		for i := range found {
			if found[i].Status == resident.StatusActive {
				proxy = &found[i]
			}
		}
		if proxy == nil {
			fs = append(fs, care.FieldError{Field: "id_number", Key: "proxy.not_found"})
		}
	}
	fs = append(fs, Check(kind, ward, proxy, care.Today(now))...)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	g := &Grant{CountyCode: ward.CountyCode, WardID: ward.ID, ProxyID: proxy.ID, Kind: kind, GrantedBy: a.AccountID, GrantedAt: now,
		ExpiresAt: Expiry(kind, ward), WardName: ward.Name, ProxyName: proxy.Name}
	ev := audit.New(ctx, a, ActGrant, ward.ID)
	ev.CountyCode = ward.CountyCode
	ev.Detail = "proxy " + string(kind) + ": resident " + strconv.FormatInt(proxy.ID, 10) + " may see this record"
	if err := s.Repo.CreateGrant(ctx, g, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, &care.Error{Code: care.ECONFLICT, Key: "proxy.exists", Fields: []care.FieldError{{Field: "id_number", Key: "proxy.exists"}}}
		}
		return nil, err
	}
	return g, nil
}

// Revoke ends grant id: by staff managing the ward, by the adult ward
// themself, or by the proxy giving it up. Errors: ENOTFOUND (no such
// grant for a, or revoked already).
func (s *Service) Revoke(ctx context.Context, a care.Actor, id int64) error {
	g, err := s.Repo.ProxyGrant(ctx, id)
	if err != nil {
		return care.Errorf(care.ENOTFOUND, "proxy.not_found")
	}
	own := a.ResidentID
	if a.Proxy != 0 {
		own = a.Proxy
	}
	if !(a.Role == care.RoleResident && own == g.ProxyID) {
		if _, err := s.mayManage(ctx, a, g.WardID, ""); err != nil {
			if care.IsCode(err, care.ENOTFOUND) {
				return care.Errorf(care.ENOTFOUND, "proxy.not_found")
			}
			return err
		}
	}
	ev := audit.New(ctx, a, ActRevoke, g.WardID)
	ev.CountyCode = g.CountyCode
	ev.Detail = "proxy " + string(g.Kind) + " of resident " + strconv.FormatInt(g.ProxyID, 10) + " revoked"
	acc, err := s.Repo.RevokeGrant(ctx, id, a.AccountID, s.Now(), ev)
	if err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return care.Errorf(care.ENOTFOUND, "proxy.not_found")
		}
		return err
	}
	// The proxy's sessions stop viewing the ward at once: their cached
	// copies are dropped here and on the other replicas, and every lookup
	// checks the grant.
	if acc != 0 && s.Forget != nil {
		s.Forget(acc)
	}
	return nil
}

// OfWard lists the live grants on ward's record — ward as resident.Service.Get
// returned it to a (scoped and audited) — for staff who keep records or
// the ward themself. Errors: EFORBIDDEN.
func (s *Service) OfWard(ctx context.Context, a care.Actor, ward *resident.Resident) ([]Grant, error) {
	self := a.Role == care.RoleResident && a.Proxy == 0 && a.ResidentID == ward.ID
	if !self && !slices.Contains(access.Registrars, a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.GrantsOfWard(ctx, ward.ID, s.Now())
}

// Wards lists the records a resident may switch to: their live grants
// as a proxy (whatever record they view now).
func (s *Service) Wards(ctx context.Context, a care.Actor) ([]Grant, error) {
	own := a.ResidentID
	if a.Proxy != 0 {
		own = a.Proxy
	}
	if a.Role != care.RoleResident || own == 0 {
		return nil, nil
	}
	return s.Repo.GrantsOfProxy(ctx, own, s.Now())
}

// Switch makes a's session view resident id's record: their own, or a
// ward's through a live grant. Anything else — another household
// member's record without a grant, a revoked or expired grant, a made-up
// number — is ENOTFOUND, with an audit row of the refusal.
func (s *Service) Switch(ctx context.Context, a care.Actor, id int64) error {
	own := a.ResidentID
	if a.Proxy != 0 {
		own = a.Proxy
	}
	ev := audit.New(ctx, a, ActSwitch, id)
	if a.Role != care.RoleResident || own == 0 || a.SessionID == 0 {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	acting := int64(0)
	if id != own {
		gs, err := s.Repo.GrantsOfProxy(ctx, own, s.Now())
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.WardID == id {
				acting, ev.CountyCode = id, g.CountyCode
				ev.Detail = "viewing as " + string(g.Kind) + " (grant " + strconv.FormatInt(g.ID, 10) + ")"
			}
		}
		if acting == 0 {
			ev.Outcome, ev.Detail = audit.OutcomeDenied, "no live proxy grant"
			s.Audit.Record(ctx, ev)
			return care.Errorf(care.ENOTFOUND, "resident.not_found")
		}
	} else {
		ev.Detail = "viewing own record"
	}
	if err := s.Repo.SetActing(ctx, a.SessionID, acting); err != nil {
		return err
	}
	s.Audit.Record(ctx, ev)
	if s.Forget != nil {
		s.Forget(a.AccountID)
	}
	return nil
}
