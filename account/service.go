package account

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// Repository is the storage sign-in needs; store.Store implements it.
type Repository interface {
	// AddAuthFailure records a failure of kind (FailAddress, FailDevice,
	// FailStepUp) for subject at at and returns subject's count since since.
	AddAuthFailure(ctx context.Context, kind, subject string, at, since time.Time) (int, error)
	// AuthFailures counts subject's failures of kind since since, with the latest's time.
	AuthFailures(ctx context.Context, kind, subject string, since time.Time) (int, time.Time, error)
	// ClearAuthFailures forgets subject's failures of kind.
	ClearAuthFailures(ctx context.Context, kind, subject string) error
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	Account(ctx context.Context, id int64) (*Account, error)
	Accounts(ctx context.Context, limit int) ([]Summary, error)
	CreateAccount(ctx context.Context, a *Account, ev audit.Event) error
	// RecordLoginFailure audits a failed sign-in and, for id ≠ 0, counts it
	// atomically; the maxFailures-th failure in a row locks the account
	// until lockUntil (with its own audit row) and reports locked.
	RecordLoginFailure(ctx context.Context, id int64, maxFailures int, lockUntil time.Time, ev audit.Event) (locked bool, err error)
	// EndAllSessions deletes every session of an account.
	EndAllSessions(ctx context.Context, accountID int64) error
	StartSession(ctx context.Context, s *Session, oldTokenHash string, ev audit.Event) error
	SessionActor(ctx context.Context, tokenHash string) (*Session, care.Actor, error)
	TouchSession(ctx context.Context, id int64, t time.Time) error
	EndSession(ctx context.Context, id int64, evs ...audit.Event) error
	SetPassword(ctx context.Context, id int64, hash string, ev audit.Event) error
	SetAccountDisabled(ctx context.Context, id int64, disabled bool, ev audit.Event) error
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
}

// Service signs people in and out and manages accounts.
type Service struct {
	Repo   Repository
	Config Config
	Now    func() time.Time
	Orgs   interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	// DeviceKey signs device cookies (DeviceKeyFrom); nil: no device is
	// known, every sign-in is limited by address and account lock.
	DeviceKey []byte
	// Revoked, if set, is told of every account whose sessions stopped
	// counting here (sign-out, a password change, disabling, a step-up's
	// lock), so that the other replicas drop their cached sessions at once
	// (serve: PostgreSQL NOTIFY; they call Forget).
	Revoked func(accountID int64)

	dummyOnce sync.Once
	dummy     string
	cache     sync.Map // token hash → cachedSession
	cached    atomic.Int64
	revoked   sync.Map // account id → time its cached sessions stopped counting
}

// Kinds of counted failures (Repository.AddAuthFailure). They are kept in
// the database, not in this process, so that every replica of a
// multi-server deployment counts the same failures (issue 15).
const (
	FailAddress = "address" // a wrong password or refused sign-in from a client address
	FailDevice  = "device"  // a wrong password on a known device (subject: the cookie's MAC)
	FailStepUp  = "step_up" // a wrong step-up password (subject: the session's ID)
)

// SessionCacheTTL is how long a looked-up session is trusted without
// asking the database again. Sign-out, password changes and disabling
// clear this server's cache at once, and other replicas' as soon as they
// hear of it (Service.Revoked); one that does not hear of it trusts a
// session for at most this long.
const SessionCacheTTL = 2 * time.Second

// maxCachedSessions bounds the cache; when full it is emptied.
const maxCachedSessions = 10000

type cachedSession struct {
	sess  Session
	actor care.Actor
	at    time.Time
}

// forget drops the account's cached sessions here and tells the other
// replicas (Revoked).
func (s *Service) forget(accountID int64) {
	s.Forget(accountID)
	if s.Revoked != nil {
		s.Revoked(accountID)
	}
}

// SessionsChanged drops the account's cached sessions here and on the
// other replicas (Revoked) after a change to what they show — a proxy
// switched records — without ending them: the next request reads them
// again.
func (s *Service) SessionsChanged(accountID int64) { s.forget(accountID) }

// Forget drops this process's cached sessions of an account: its sessions
// were ended here or on another replica.
func (s *Service) Forget(accountID int64) {
	// Entries read from the database before now are stale even if an
	// in-flight request stores one after this point.
	s.revoked.Store(accountID, s.Now())
	s.cache.Range(func(k, v any) bool {
		if v.(*cachedSession).sess.AccountID == accountID {
			s.uncache(k)
		}
		return true
	})
}

// ForgetAll drops every cached session: revocations from other replicas
// may have been missed (their link was lost).
func (s *Service) ForgetAll() {
	s.cache.Clear()
	s.cached.Store(0)
}

// uncache removes a cached session, counting it only if this call removed
// it: parallel removals of one entry (sign-out, revocation, a session gone
// from the database) must not count it twice, or the counter would fall
// below the entries and the cache outgrow maxCachedSessions.
func (s *Service) uncache(tokenHash any) {
	if _, loaded := s.cache.LoadAndDelete(tokenHash); loaded {
		s.cached.Add(-1)
	}
}

// Credentials is what a person types at sign-in, plus where they came from.
type Credentials struct {
	Username  string
	Password  string
	OldToken  string // the session cookie the browser sent, ended on success
	IP        string
	UserAgent string
	Devices   []string // the device cookie's entries (SplitDeviceCookie)
}

// Login checks the credentials and starts a new session, returning its
// token (for the cookie). Unknown users, wrong passwords, disabled and
// locked accounts all get the same answer (EUNAUTHORIZED), after the same
// password hashing work, so neither the answer nor its timing tells which
// usernames exist; the audit trail records which it was. Failures count
// atomically in the database, so parallel guesses cannot slip past the
// lock. A sign-in carrying a valid device cookie of the account (c.Devices)
// is exempt from the address limit and the account's lock (see device.go);
// a successful sign-in returns a fresh device cookie in Session.DeviceCookie.
// Errors: EUNAUTHORIZED, ETOOMANY (too many failures from this address),
// EINVALID (empty fields).
func (s *Service) Login(ctx context.Context, c Credentials) (string, *Session, error) {
	now := s.Now()
	username := NormalizeUsername(c.Username)
	if username == "" || c.Password == "" {
		return "", nil, care.Errorf(care.EINVALID, "auth.missing")
	}
	ev := audit.Event{Username: clip(username, 64), Action: audit.ActLoginFailed, Outcome: audit.OutcomeFailed, RequestID: care.RequestID(ctx), Time: now,
		Detail: "from " + clip(c.IP, 64)}
	bad := care.Errorf(care.EUNAUTHORIZED, "auth.bad_credentials")
	acc, err := s.Repo.AccountByUsername(ctx, username)
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return "", nil, err
	}
	device := ""
	if acc != nil {
		if device, err = s.knownDevice(ctx, c.Devices, acc, now); err != nil {
			return "", nil, err
		}
	}
	// A known device is not limited by its address: behind a proxy or a
	// shared NAT, strangers' failures from "the same address" must not
	// lock the account's owner out.
	limited, err := s.ipLimited(ctx, c.IP, now)
	if err != nil {
		return "", nil, err
	}
	if device == "" && limited {
		if acc != nil {
			ev.AccountID, ev.Role, ev.InstitutionID = acc.ID, acc.Role, acc.InstitutionID
		}
		ev.Outcome, ev.Detail = audit.OutcomeDenied, "too many failures from "+clip(c.IP, 64)
		if _, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev); err != nil {
			return "", nil, err
		}
		return "", nil, care.Errorf(care.ETOOMANY, "auth.too_many")
	}
	if acc == nil {
		CheckPassword(s.dummyHash(), c.Password)
		ev.Detail = "unknown user; " + ev.Detail
		if err := s.ipFailure(ctx, c.IP, now); err != nil {
			return "", nil, err
		}
		if _, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev); err != nil {
			return "", nil, err
		}
		return "", nil, bad
	}
	ev.AccountID, ev.Role, ev.InstitutionID = acc.ID, acc.Role, acc.InstitutionID
	passwordOK := CheckPassword(acc.PasswordHash, c.Password)
	// The account's lock comes from failures on other devices; it does not
	// hold back a device the owner has signed in from.
	locked := acc.Locked(now) && device == ""
	switch {
	case acc.Disabled:
		ev.Outcome, ev.Detail = audit.OutcomeDenied, "account disabled; "+ev.Detail
	case locked:
		ev.Outcome, ev.Detail = audit.OutcomeDenied, "account locked; "+ev.Detail
	case !passwordOK && device != "":
		ev.Detail = "wrong password; known device; " + ev.Detail
	case !passwordOK:
		ev.Detail = "wrong password; " + ev.Detail
	}
	if acc.Disabled || locked || !passwordOK {
		counted := acc.ID // a wrong password counts toward the lock; a disabled or locked account's failures do not
		var err error
		switch {
		case acc.Disabled || locked:
			counted = 0
			err = s.ipFailure(ctx, c.IP, now)
		case device != "":
			// A known device's wrong passwords count against that device
			// only: the MaxFailures-th makes it a stranger again.
			counted = 0
			var distrusted bool
			if distrusted, err = s.deviceFailure(ctx, device, now); distrusted {
				ev.Detail += "; device no longer trusted"
			}
		default:
			err = s.ipFailure(ctx, c.IP, now)
		}
		if err != nil {
			return "", nil, err
		}
		if _, err := s.Repo.RecordLoginFailure(ctx, counted, s.Config.MaxFailures, now.Add(s.Config.LockFor), ev); err != nil {
			return "", nil, err
		}
		return "", nil, bad
	}
	ok := ev
	ok.Action, ok.Outcome, ok.Detail = audit.ActLogin, audit.OutcomeOK, "from "+clip(c.IP, 64)
	if device != "" {
		ok.Detail += "; known device"
	}
	tok, sess, err := s.start(ctx, acc, c.OldToken, c.IP, c.UserAgent, device != "", ok)
	if err != nil {
		return "", nil, err
	}
	if device != "" {
		if err := s.deviceSuccess(ctx, device); err != nil {
			return "", nil, err
		}
	}
	if e := s.issueDevice(acc, now); e != "" {
		sess.DeviceCookie = JoinDeviceCookie(e, c.Devices)
	}
	return tok, sess, nil
}

// start begins a session of acc, ending the browser's old one
// (oldToken, if any), with ok as its audit row. known: signed in from a
// known device (Session.KnownDevice).
func (s *Service) start(ctx context.Context, acc *Account, oldToken, ip, ua string, known bool, ok audit.Event) (string, *Session, error) {
	now := s.Now()
	tok := NewToken()
	sess := &Session{
		TokenHash: HashToken(tok), AccountID: acc.ID, CSRFToken: NewToken(),
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.Config.AbsoluteTimeout),
		IP: clip(ip, 64), UserAgent: clip(ua, 200), KnownDevice: known,
	}
	old := ""
	if oldToken != "" {
		old = HashToken(oldToken)
		s.uncache(old)
	}
	if err := s.Repo.StartSession(ctx, sess, old, ok); err != nil {
		if care.IsCode(err, care.ELOCKED) {
			return "", nil, care.Errorf(care.EUNAUTHORIZED, "auth.bad_credentials") // locked or disabled meanwhile
		}
		return "", nil, err
	}
	return tok, sess, nil
}

// ipWindow and ipMaxFailures bound failed sign-ins from one address
// (OWASP ASVS 2.2.1: anti-automation), whatever the usernames tried.
const (
	ipWindow      = 15 * time.Minute
	ipMaxFailures = 50
)

// ipLimited reports whether the address had ipMaxFailures failures in
// the last ipWindow.
func (s *Service) ipLimited(ctx context.Context, ip string, now time.Time) (bool, error) {
	if ip == "" {
		return false, nil
	}
	n, _, err := s.Repo.AuthFailures(ctx, FailAddress, ip, now.Add(-ipWindow))
	return n >= ipMaxFailures, err
}

// ipFailure counts a failure from the address.
func (s *Service) ipFailure(ctx context.Context, ip string, now time.Time) error {
	if ip == "" {
		return nil
	}
	_, err := s.Repo.AddAuthFailure(ctx, FailAddress, clip(ip, 64), now, now.Add(-ipWindow))
	return err
}

func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy, _ = HashPassword("countycare-dummy-password") })
	return s.dummy
}

// Authenticate returns the session and actor for a cookie token. An
// unknown, idle or expired session is EUNAUTHORIZED (and an expired one
// is deleted). Activity is recorded at most once a minute.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, care.Actor, error) {
	if token == "" || len(token) > 100 {
		return nil, care.Actor{}, care.Errorf(care.EUNAUTHORIZED, "auth.required")
	}
	h := HashToken(token)
	now := s.Now()
	var sess *Session
	var a care.Actor
	if v, ok := s.cache.Load(h); ok && now.Sub(v.(*cachedSession).at) < SessionCacheTTL && !now.Before(v.(*cachedSession).at) && !s.isRevoked(v.(*cachedSession)) {
		c := v.(*cachedSession)
		cp := c.sess
		sess, a = &cp, c.actor
	} else {
		var err error
		sess, a, err = s.Repo.SessionActor(ctx, h)
		if care.IsCode(err, care.ENOTFOUND) {
			if ok {
				s.uncache(h)
			}
			return nil, care.Actor{}, care.Errorf(care.EUNAUTHORIZED, "auth.required")
		}
		if err != nil {
			return nil, care.Actor{}, err
		}
		if s.cached.Load() >= maxCachedSessions {
			s.cache.Clear()
			s.cached.Store(0)
		}
		entry := &cachedSession{sess: *sess, actor: a, at: now}
		if !s.isRevoked(entry) {
			if _, loaded := s.cache.Swap(h, entry); !loaded {
				s.cached.Add(1)
			}
		}
	}
	if sess.Expired(now, s.Config) {
		s.forget(sess.AccountID)
		ev := audit.New(ctx, a, audit.ActLogout, 0)
		ev.Detail = "session expired"
		if err := s.Repo.EndSession(ctx, sess.ID, ev); err != nil {
			return nil, care.Actor{}, err
		}
		return nil, care.Actor{}, care.Errorf(care.EUNAUTHORIZED, "auth.expired")
	}
	if sess.NeedsTouch(now) {
		if err := s.Repo.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, care.Actor{}, err
		}
		sess.LastSeen = now
		if v, ok := s.cache.Load(h); ok {
			c := *v.(*cachedSession)
			c.sess.LastSeen = now
			// Only over the entry read: one removed meanwhile stays removed
			// (a Store would bring it back uncounted).
			s.cache.CompareAndSwap(h, v, &c)
		}
	}
	return sess, a, nil
}

// isRevoked reports whether a cached entry was read before its account's
// sessions were last revoked (sign-out, password change, disabling).
func (s *Service) isRevoked(c *cachedSession) bool {
	if t, ok := s.revoked.Load(c.sess.AccountID); ok {
		return !c.at.After(t.(time.Time))
	}
	return false
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, a care.Actor, sess *Session) error {
	s.uncache(sess.TokenHash)
	s.forget(sess.AccountID)
	return s.Repo.EndSession(ctx, sess.ID, audit.New(ctx, a, audit.ActLogout, 0))
}

// NormalizeUsername trims and lower-cases a username.
func NormalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// sharedNames are refused as usernames: an account belongs to one person,
// and generic names invite sharing (GB/T 22239-2019 8.1.4.2: 不应存在默认账户、共享账户).
var sharedNames = map[string]bool{"admin": true, "administrator": true, "root": true, "test": true, "guest": true, "user": true,
	"doctor": true, "nurse": true, "shared": true, "public": true, "system": true, "demo": true, "sa": true}

// NewAccount is what an administrator enters to create a staff account.
type NewAccount struct {
	Username       string
	Role           care.Role
	PractitionerID int64
	Password       string
}

// CreateStaffAccount creates an account for a practitioner, in the
// practitioner's institution. Errors: EINVALID (bad username, role not
// fitting the institution, weak password, resident role), ECONFLICT
// (username taken, or the person already has an account).
func (s *Service) CreateStaffAccount(ctx context.Context, admin care.Actor, in NewAccount) (*Account, error) {
	var fs []care.FieldError
	username := NormalizeUsername(in.Username)
	fs = append(fs, CheckUsername(username)...)
	if !in.Role.Staff() {
		fs = append(fs, care.FieldError{Field: "role", Key: "account.role.invalid"})
	}
	var inst int64
	p, err := s.Repo.Practitioner(ctx, in.PractitionerID)
	switch {
	case care.IsCode(err, care.ENOTFOUND) || in.PractitionerID == 0:
		fs = append(fs, care.FieldError{Field: "practitioner_id", Key: "account.person_required"})
	case err != nil:
		return nil, err
	default:
		inst = p.InstitutionID
		t, err := s.Orgs.Tree(ctx)
		if err != nil {
			return nil, err
		}
		if i := t.Get(inst); i == nil || !RoleFits(in.Role, i.Kind) {
			fs = append(fs, care.FieldError{Field: "role", Key: "account.role.institution"})
		}
	}
	fs = append(fs, CheckPolicy(in.Password, username, s.Config)...)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, care.Internal("account.CreateStaffAccount", err)
	}
	acc := &Account{Username: username, Role: in.Role, InstitutionID: inst, PractitionerID: in.PractitionerID, PasswordHash: hash}
	if err := s.Repo.CreateAccount(ctx, acc, audit.New(ctx, admin, audit.ActAccountCreate, 0)); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, &care.Error{Code: care.ECONFLICT, Key: "account.taken", Fields: []care.FieldError{{Field: "username", Key: "account.taken"}}}
		}
		return nil, err
	}
	return acc, nil
}

// CheckUsername returns the faults of a username: 3–32 characters of
// a–z, 0–9, '.', '_' or '-', starting with a letter, not a generic name.
func CheckUsername(u string) []care.FieldError {
	if len(u) < 3 || len(u) > 32 {
		return []care.FieldError{{Field: "username", Key: "account.username.length"}}
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')) {
			return []care.FieldError{{Field: "username", Key: "account.username.chars"}}
		}
	}
	if sharedNames[u] {
		return []care.FieldError{{Field: "username", Key: "account.username.shared"}}
	}
	return nil
}

// ChangePassword lets a signed-in person replace their password after
// proving the current one. All their sessions end (including this one).
// Errors: EUNAUTHORIZED (wrong current password), EINVALID (policy).
func (s *Service) ChangePassword(ctx context.Context, a care.Actor, current, next string) error {
	acc, err := s.Repo.Account(ctx, a.AccountID)
	if err != nil {
		return err
	}
	if !CheckPassword(acc.PasswordHash, current) {
		// Guessing the current password counts like a failed sign-in: the
		// account locks, and its sessions end, after MaxFailures.
		ev := audit.New(ctx, a, audit.ActPasswordChange, 0)
		ev.Outcome, ev.Detail = audit.OutcomeFailed, "wrong current password"
		locked, err := s.Repo.RecordLoginFailure(ctx, acc.ID, s.Config.MaxFailures, s.Now().Add(s.Config.LockFor), ev)
		if err != nil {
			return err
		}
		if locked {
			s.forget(acc.ID)
			if err := s.Repo.EndAllSessions(ctx, acc.ID); err != nil {
				return err
			}
			return care.Errorf(care.EUNAUTHORIZED, "auth.required")
		}
		return &care.Error{Code: care.EUNAUTHORIZED, Key: "auth.bad_current", Fields: []care.FieldError{{Field: "current", Key: "auth.bad_current"}}}
	}
	if err := care.Invalid(CheckPolicy(next, acc.Username, s.Config)); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return care.Internal("account.ChangePassword", err)
	}
	defer s.forget(acc.ID)
	return s.Repo.SetPassword(ctx, acc.ID, hash, audit.New(ctx, a, audit.ActPasswordChange, 0))
}

// ResetPassword lets an administrator set a new password for an account
// (for example after a lock); it unlocks the account and ends its
// sessions. A privileged account (Privileged: the auditor, an
// administrator) is refused: the administrator would know its password;
// SendResetLink resets it through its owner. Errors: ENOTFOUND, EINVALID.
func (s *Service) ResetPassword(ctx context.Context, admin care.Actor, id int64, next string) error {
	acc, err := s.Repo.Account(ctx, id)
	if err != nil {
		return err
	}
	if Privileged(acc.Role) {
		return care.Invalid([]care.FieldError{{Field: "password", Key: "account.reset.privileged"}})
	}
	if err := care.Invalid(CheckPolicy(next, acc.Username, s.Config)); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return care.Internal("account.ResetPassword", err)
	}
	ev := audit.New(ctx, admin, audit.ActAccountUpdate, 0)
	ev.Detail = "password reset for " + acc.Username
	defer s.forget(id)
	return s.Repo.SetPassword(ctx, id, hash, ev)
}

// SetDisabled disables (ending its sessions) or re-enables an account.
// An administrator cannot disable their own account.
func (s *Service) SetDisabled(ctx context.Context, admin care.Actor, id int64, disabled bool) error {
	if id == admin.AccountID {
		return care.Errorf(care.EINVALID, "account.self_disable")
	}
	acc, err := s.Repo.Account(ctx, id)
	if err != nil {
		return err
	}
	ev := audit.New(ctx, admin, audit.ActAccountUpdate, 0)
	ev.Detail = "disabled=" + map[bool]string{true: "yes", false: "no"}[disabled] + " for " + acc.Username
	defer s.forget(id)
	return s.Repo.SetAccountDisabled(ctx, id, disabled, ev)
}

// clip makes text from the client (an address, a User-Agent) fit to be
// stored: valid UTF-8 (PostgreSQL refuses anything else), control
// characters as spaces, and at most n characters, never cutting one in two.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
