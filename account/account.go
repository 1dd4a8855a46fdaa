// Package account holds sign-in: accounts (one per person), password
// hashing with argon2id, the password policy, lockout after repeated
// failures, and server-side sessions that rotate on sign-in, expire when
// idle and end on sign-out (GB/T 22239-2019 §8.1.4.1; OWASP ASVS V2, V3).
package account

import (
	"time"

	"countycare/care"
	"countycare/org"
)

// Account is one person's sign-in. Staff accounts point at a
// practitioner, resident accounts at a resident; the store keeps both
// unique, so no two accounts share a person and no account is shared.
type Account struct {
	ID                int64
	Username          string
	Role              care.Role
	InstitutionID     int64 // 0 for residents
	PractitionerID    int64
	ResidentID        int64
	PasswordHash      string
	FailedLogins      int
	LockedUntil       time.Time
	Disabled          bool
	PasswordChangedAt time.Time
	LastLoginAt       time.Time
	CreatedAt         time.Time
}

// Config is the sign-in policy, read once in cmd and passed in.
type Config struct {
	IdleTimeout     time.Duration // session ends after this long without a request (default 30 min)
	AbsoluteTimeout time.Duration // session ends this long after sign-in whatever happens (default 12 h)
	MaxFailures     int           // failed sign-ins in a row that lock the account (default 5)
	LockFor         time.Duration // how long the lock lasts (default 15 min)
	MinPasswordLen  int           // default 12 (OWASP ASVS 2.1.1)
	PasswordMaxAge  time.Duration // 0 = no forced rotation (ASVS); GB/T 22239 deployments may set 90 days
	SecureCookies   bool          // set the Secure flag (serve behind TLS)
	PublicURL       string        // the server's address as users reach it (serve --public-url), for links sent by message
	Codes           CodeConfig    // one-time sign-in codes sent by text message (residents)
}

// DefaultConfig returns the documented defaults (docs/operations.md).
func DefaultConfig() Config {
	return Config{
		IdleTimeout:     30 * time.Minute,
		AbsoluteTimeout: 12 * time.Hour,
		MaxFailures:     5,
		LockFor:         15 * time.Minute,
		MinPasswordLen:  12,
		Codes:           DefaultCodeConfig(),
	}
}

// RoleFits reports whether an account of role may belong to an
// institution of kind k: a village doctor works in a village clinic, a
// reader in a diagnosis center (or the hospital that runs it), and so on.
func RoleFits(role care.Role, k org.Kind) bool {
	switch role {
	case care.RoleVillageDoctor:
		return k == org.KindVillageClinic
	case care.RoleTownshipDoctor:
		return k == org.KindTownshipHC || k == org.KindCentralHC || k == org.KindSubCenter
	case care.RoleCountySpecialist:
		return k == org.KindCountyHospital || k == org.KindPartner || k == org.KindSubCenter
	case care.RoleReader:
		return k == org.KindDiagnosis || k == org.KindCountyHospital
	case care.RolePharmacist:
		return k == org.KindCountyHospital || k == org.KindSubCenter || k == org.KindCentralHC || k == org.KindTownshipHC
	case care.RoleInsuranceOfficer:
		return k == org.KindInsurance
	case care.RoleAnalyst, care.RoleAuditor:
		return k == org.KindCommission
	case care.RoleAdmin:
		return k == org.KindCommission || k == org.KindCountyHospital
	}
	return false
}

// Locked reports whether the account refuses sign-in at t.
func (a *Account) Locked(t time.Time) bool { return t.Before(a.LockedUntil) }

// PasswordExpired reports whether the password must be changed at t.
func (a *Account) PasswordExpired(t time.Time, c Config) bool {
	return c.PasswordMaxAge > 0 && t.Sub(a.PasswordChangedAt) > c.PasswordMaxAge
}

// Summary is an account as the administrator's list shows it.
type Summary struct {
	Account
	PersonName      string
	InstitutionName string
}
