// Package access decides who may do what: the policy attached to every
// route (deny by default) and the scope of residents an actor may see.
//
// Scopes follow the organisation (policy in docs/architecture.md):
//   - a village doctor sees the residents managed by their village clinic;
//   - a township doctor sees residents managed anywhere in their center's
//     subtree (its villages);
//   - county staff (specialists, diagnosis-center readers, pharmacists) see
//     residents whose care reaches their institution through a care link
//     (referral, consultation, study, emergency access);
//   - insurance officers see the residents of their county, for payment;
//   - a resident sees their own record;
//   - analysts, administrators and auditors see no identified resident.
package access

import (
	"slices"
	"time"

	"countycare/care"
	"countycare/org"
)

// Policy is the rule attached to one route. The zero Policy denies
// everyone; every route must be registered with one of the constructors.
type Policy struct {
	public  bool
	anyUser bool
	ops     bool
	device  bool
	roles   []care.Role
}

// Public admits anyone, signed in or not (login page, static files, /healthz).
func Public() Policy { return Policy{public: true} }

// AnyUser admits every signed-in account, whatever its role.
func AnyUser() Policy { return Policy{anyUser: true} }

// Ops admits operations callers (Prometheus): loopback or the metrics token.
// The web layer checks the caller; no user session is involved.
func Ops() Policy { return Policy{ops: true} }

// Devices admits machine clients (DICOMweb modalities, gateways, PACS)
// that present a device credential bound to an institution. The web layer
// checks the credential; no user session is involved, and Admits refuses
// every session actor.
func Devices() Policy { return Policy{device: true} }

// MachineRole is the role a machine client bound to an institution of
// kind k works as (a DICOMweb modality, a health hut's device): a village
// doctor at a village clinic, a township doctor at a township or central
// health center or a sub-center, a reader elsewhere (care links at the
// county). It sets the client's scope like a person's (ScopeFor).
func MachineRole(k org.Kind) care.Role {
	switch k {
	case org.KindVillageClinic:
		return care.RoleVillageDoctor
	case org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
		return care.RoleTownshipDoctor
	}
	return care.RoleReader
}

// IsDevice reports whether the route is for machine clients.
func (p Policy) IsDevice() bool { return p.device }

// Allow admits signed-in accounts with one of roles.
func Allow(roles ...care.Role) Policy { return Policy{roles: slices.Clone(roles)} }

// IsPublic reports whether the route needs no session.
func (p Policy) IsPublic() bool { return p.public }

// IsOps reports whether the route is for operations callers.
func (p Policy) IsOps() bool { return p.ops }

// Defined reports whether p was made by a constructor (a route with an
// undefined policy is a programming error caught by the route test).
func (p Policy) Defined() bool { return p.public || p.anyUser || p.ops || p.device || len(p.roles) > 0 }

// Roles returns the roles the policy names (nil for Public/AnyUser/Ops).
func (p Policy) Roles() []care.Role { return slices.Clone(p.roles) }

// Admits reports whether a may use the route. The anonymous actor is
// admitted only by Public; Ops is decided by the web layer and never here.
func (p Policy) Admits(a care.Actor) bool {
	switch {
	case p.public:
		return true
	case p.ops, p.device:
		return false
	case a.IsZero():
		return false
	case p.anyUser:
		return true
	}
	return slices.Contains(p.roles, a.Role)
}

// Role groups used by routes.
var (
	// Clinicians treat patients within their scope.
	Clinicians = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader, care.RolePharmacist}
	// Registrars may register and edit residents: the primary-care doctors who keep the records.
	Registrars = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor}
	// PatientReaders may search and read identified resident records (each within its scope).
	PatientReaders = append(slices.Clone(Clinicians), care.RoleInsuranceOfficer)
	// OrgViewers may browse the organisation tree and staff list.
	OrgViewers = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader,
		care.RolePharmacist, care.RoleInsuranceOfficer, care.RoleAnalyst, care.RoleAdmin, care.RoleAuditor}
)

// ScopeKind says which rule a Scope applies.
type ScopeKind int

// Scope kinds; ScopeNone is the zero value, so an unset Scope sees nothing.
const (
	ScopeNone      ScopeKind = iota
	ScopeManaged             // residents managed by one of Institutions
	ScopeCareLinks           // residents with a live care link to one of Institutions
	ScopeCounty              // every resident of CountyCode
	ScopeSelf                // only ResidentID
)

// Scope is the set of residents an actor may see, in a form the store can
// turn into a WHERE clause and Allows can check in memory.
type Scope struct {
	Kind         ScopeKind
	CountyCode   string
	Institutions []int64 // managing (ScopeManaged) or linked (ScopeCareLinks) institutions
	ResidentID   int64
}

// ScopeFor returns the scope of a within the organisation tree t. A
// multi-site practitioner acting for another institution today
// (care.Actor.Acting) sees what that institution's own staff see — the
// scope of MachineRole of its kind (a township's residents at a township
// center) — and nothing of their home institution's.
func ScopeFor(a care.Actor, t *org.Tree) Scope {
	role := a.Role
	if a.Acting() && (role == care.RoleVillageDoctor || role == care.RoleTownshipDoctor || role == care.RoleCountySpecialist ||
		role == care.RoleReader || role == care.RolePharmacist) {
		in := t.Get(a.InstitutionID)
		if in == nil {
			return Scope{}
		}
		role = MachineRole(in.Kind)
	}
	switch role {
	case care.RoleVillageDoctor:
		return Scope{Kind: ScopeManaged, CountyCode: a.CountyCode, Institutions: []int64{a.InstitutionID}}
	case care.RoleTownshipDoctor:
		return Scope{Kind: ScopeManaged, CountyCode: a.CountyCode, Institutions: t.Subtree(a.InstitutionID)}
	case care.RoleCountySpecialist, care.RoleReader, care.RolePharmacist:
		return Scope{Kind: ScopeCareLinks, CountyCode: a.CountyCode, Institutions: t.Subtree(a.InstitutionID)}
	case care.RoleInsuranceOfficer:
		return Scope{Kind: ScopeCounty, CountyCode: a.CountyCode}
	case care.RoleResident:
		if a.ResidentID != 0 {
			return Scope{Kind: ScopeSelf, ResidentID: a.ResidentID}
		}
	}
	return Scope{}
}

// Subject is what Allows needs to know of a resident.
type Subject struct {
	ResidentID int64
	CountyCode string
	ManagedBy  int64   // the managing institution (village clinic)
	LinkedTo   []int64 // institutions with a live care link
}

// Allows reports whether the scope includes the subject.
func (s Scope) Allows(sub Subject) bool {
	switch s.Kind {
	case ScopeManaged:
		return sub.CountyCode == s.CountyCode && slices.Contains(s.Institutions, sub.ManagedBy)
	case ScopeCareLinks:
		if sub.CountyCode != s.CountyCode {
			return false
		}
		for _, l := range sub.LinkedTo {
			if slices.Contains(s.Institutions, l) {
				return true
			}
		}
	case ScopeCounty:
		return sub.CountyCode == s.CountyCode
	case ScopeSelf:
		return sub.ResidentID == s.ResidentID
	}
	return false
}

// CareLink records that a resident's care reaches an institution — a
// referral, a consultation, a study sent for reading, an admission, or an
// emergency access — so that its staff may see the resident while the
// link lives.
type CareLink struct {
	ID            int64
	CountyCode    string
	ResidentID    int64
	InstitutionID int64
	Kind          string // LinkReferral, …
	Reason        string
	CreatedBy     int64 // account
	CreatedAt     time.Time
	ExpiresAt     time.Time // zero: no end
}

// Kinds of care link. Later capabilities add links of their own kind.
const (
	LinkReferral     = "referral"
	LinkConsultation = "consultation"
	LinkStudy        = "study"
	LinkAdmission    = "admission"
	LinkEmergency    = "emergency" // break-the-glass (PIPL art. 13(4)); always time-limited
)

// EmergencyAccessHours is how long a break-the-glass link lasts, in hours
// (docs/architecture.md: emergency access "opens one record for 4 hours").
const EmergencyAccessHours = 4

// EmergencyExpiry is when a break-the-glass link opened at opened ends
// (EmergencyAccessHours later).
func EmergencyExpiry(opened time.Time) time.Time {
	return opened.Add(EmergencyAccessHours * time.Hour)
}

// Live reports whether the link admits access at instant t.
func (l CareLink) Live(t time.Time) bool { return l.ExpiresAt.IsZero() || t.Before(l.ExpiresAt) }
