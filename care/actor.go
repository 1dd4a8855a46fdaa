package care

// Actor is the authenticated person behind a request: who they are, their
// role, and the institution they act for. Handlers receive it from the web
// middleware; domain services use it to scope data and to fill audit rows.
type Actor struct {
	AccountID      int64
	Username       string
	Name           string
	Role           Role
	InstitutionID  int64  // the institution the account acts for (0 for residents)
	CountyCode     string // six-digit county code of that institution
	PractitionerID int64  // 0 for residents
	ResidentID     int64  // set only for the resident role: the record they view (their own, or a ward's)
	Proxy          int64  // the account's own resident while viewing a ward's record through a proxy grant (0: viewing their own)
	SessionID      int64
	// HomeInstitutionID is set while a multi-site practitioner (多点执业)
	// acts for another institution they are scheduled at today: it is
	// their own institution, and InstitutionID (which every scope check
	// and audit row uses) is the one they work at (docs/outreach.md).
	HomeInstitutionID int64
}

// Acting reports whether a acts for an institution other than their own.
func (a Actor) Acting() bool {
	return a.HomeInstitutionID != 0 && a.HomeInstitutionID != a.InstitutionID
}

// IsZero reports whether a is the anonymous actor.
func (a Actor) IsZero() bool { return a.AccountID == 0 }
