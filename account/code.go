package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

// Sign-in by phone number and a one-time code sent by text message
// (issue 13 §4: residents have no password to remember; 短信验证码登录).
// The code is six digits from crypto/rand, kept only as a salted SHA-256,
// works once, for CodeConfig.Lifetime (5 minutes), and for at most
// MaxAttempts wrong tries; asking for one is limited per number and per
// client address, counted in the database (auth_failures) so that every
// replica sees the same counts. The compare is constant-time. Asking for
// a code for a number that belongs to no one gets the same answer as for
// a known number, and sends nothing, so the form does not tell who is
// registered.

// CodeConfig is the one-time code policy (Config.Codes), read once in cmd.
type CodeConfig struct {
	Lifetime    time.Duration // a code works this long after it is sent (issue 13 §4: 5 minutes)
	MaxAttempts int           // wrong tries after which a code is spent (default 5)
	Window      time.Duration // the window of PerPhone and PerAddress (default 1 h)
	PerPhone    int           // codes one number may be sent per Window (default 5)
	PerAddress  int           // codes one client address may ask for per Window (default 20)
	Resend      time.Duration // least time between two codes to one number (default 60 s)
}

// DefaultCodeConfig returns the documented defaults (docs/resident.md).
func DefaultCodeConfig() CodeConfig {
	return CodeConfig{Lifetime: 5 * time.Minute, MaxAttempts: 5, Window: time.Hour, PerPhone: 5, PerAddress: 20, Resend: time.Minute}
}

// CodeDigits is the length of a one-time code (issue 13 §4).
const CodeDigits = 6

// CodePurpose is the outbox purpose of the code's text message; its
// template parameters are "code" and "minutes" (docs/sms.md).
const CodePurpose = "resident.signin_code"

// Kinds of counted code requests (Repository.AddAuthFailure).
const (
	CountCodePhone   = "otp_phone"   // codes sent to a number (subject: the number)
	CountCodeAddress = "otp_address" // codes asked for from a client address
)

// Audit actions of sign-in by code.
const (
	ActCodeRequest = "auth.code_request" // a code was asked for (sent, or not: unknown number)
	ActClaim       = "account.claim"     // a resident claimed an account by the phone on their record
)

// SigninCode is one code sent to a phone. The code itself is never stored.
type SigninCode struct {
	ID        int64
	Phone     string
	Salt      string
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int
	UsedAt    time.Time
	IP        string
}

// PhoneOwner is a resident whose record carries a phone number, with
// their account if they have one.
type PhoneOwner struct {
	ResidentID int64
	CountyCode string
	Name       string
	BirthDate  care.Date
	AccountID  int64 // 0: no account yet
}

// Consent methods of a resident's account (Consent.Method).
const (
	ConsentRegistration = "registration" // recorded by the village doctor at registration
	ConsentClaimed      = "claimed"      // given by the resident signing in with the phone on their record
)

// Consent is a resident's consent to an account of their own.
type Consent struct {
	ResidentID int64
	AccountID  int64
	Method     string
	RecordedBy int64 // the staff account that recorded it; 0 when claimed
	At         time.Time
}

// CodeRepository is the storage of one-time codes; store.Store implements it.
type CodeRepository interface {
	// StoreSigninCode expires the number's earlier unused codes, stores c,
	// queues msg (if not nil) and appends ev, in one transaction.
	StoreSigninCode(ctx context.Context, c *SigninCode, msg *notify.Message, ev audit.Event) error
	// LatestSigninCode returns the newest code sent to phone (ENOTFOUND).
	LatestSigninCode(ctx context.Context, phone string) (*SigninCode, error)
	// TrySigninCode counts one try of code id — only while it is unused
	// and has had fewer than max tries — and reports whether it counted.
	TrySigninCode(ctx context.Context, id int64, max int) (bool, error)
	// UseSigninCode marks code id used at now, only if it was unused
	// (ECONFLICT otherwise).
	UseSigninCode(ctx context.Context, id int64, now time.Time) error
	// PhoneOwners lists the active residents whose record has phone, with
	// their accounts.
	PhoneOwners(ctx context.Context, phone string) ([]PhoneOwner, error)
	// CreateResidentAccount creates a (its password unusable: it signs in
	// by code) with the resident's consent c and ev, in one transaction;
	// ECONFLICT if the resident already has an account.
	CreateResidentAccount(ctx context.Context, a *Account, c Consent, ev audit.Event) error
}

func (s *Service) codes() (CodeRepository, error) {
	r, ok := s.Repo.(CodeRepository)
	if !ok {
		return nil, care.Internal("account.codes", fmt.Errorf("repository %T keeps no sign-in codes", s.Repo))
	}
	return r, nil
}

// newCode returns CodeDigits random digits, uniform.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("account: no randomness: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// hashCode is the stored form of a code: SHA-256 of salt, phone and code.
func hashCode(salt, phone, code string) string {
	h := sha256.Sum256([]byte(salt + "\x00" + phone + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// signinAccount picks the account a code sent to phone signs in to: the
// one account among the number's owners, or — when none has one — the
// one adult owner, who will claim an account (claim true). ok is false
// when the number is no one's, or several people's accounts share it.
func signinAccount(owners []PhoneOwner, today care.Date) (o PhoneOwner, claim, ok bool) {
	var with, adults []PhoneOwner
	for _, x := range owners {
		if x.AccountID != 0 {
			with = append(with, x)
		} else if x.BirthDate.AgeOn(today) >= care.AdultAge {
			adults = append(adults, x)
		}
	}
	switch {
	case len(with) == 1:
		return with[0], false, true
	case len(with) == 0 && len(adults) == 1:
		return adults[0], true, true
	}
	return PhoneOwner{}, false, false
}

// RequestCode sends a one-time sign-in code to phone, if the number
// belongs to someone who may sign in with it; the answer is the same
// either way. Errors: EINVALID (not a mobile number, field "phone"),
// ETOOMANY (too many codes for the number or the address, or asked again
// within Resend).
func (s *Service) RequestCode(ctx context.Context, phone, ip string) error {
	repo, err := s.codes()
	if err != nil {
		return err
	}
	cfg, now := s.Config.Codes, s.Now()
	p := notify.NormalizePhone(phone)
	if p == "" {
		return care.Invalid([]care.FieldError{{Field: "phone", Key: "signin.phone_format"}})
	}
	ev := audit.Event{Action: ActCodeRequest, Outcome: audit.OutcomeOK, RequestID: care.RequestID(ctx), Time: now,
		Detail: "to " + notify.MaskRecipient(p) + " from " + clip(ip, 64)}
	refuse := func(why string, e *care.Error) error {
		ev.Outcome, ev.Detail = audit.OutcomeDenied, why+"; "+ev.Detail
		if _, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev); err != nil {
			return err
		}
		return e
	}
	n, last, err := s.Repo.AuthFailures(ctx, CountCodePhone, p, now.Add(-cfg.Window))
	if err != nil {
		return err
	}
	if n > 0 && now.Sub(last) < cfg.Resend {
		wait := int((cfg.Resend - now.Sub(last) + time.Second - 1) / time.Second)
		return refuse("asked again too soon", care.Errorf(care.ETOOMANY, "signin.code_wait", wait))
	}
	if ip != "" {
		if n, err := s.Repo.AddAuthFailure(ctx, CountCodeAddress, clip(ip, 64), now, now.Add(-cfg.Window)); err != nil {
			return err
		} else if n > cfg.PerAddress {
			return refuse("too many codes from this address", care.Errorf(care.ETOOMANY, "signin.code_too_many"))
		}
	}
	if n, err := s.Repo.AddAuthFailure(ctx, CountCodePhone, p, now, now.Add(-cfg.Window)); err != nil {
		return err
	} else if n > cfg.PerPhone {
		return refuse("too many codes to this number", care.Errorf(care.ETOOMANY, "signin.code_too_many"))
	}
	owners, err := repo.PhoneOwners(ctx, p)
	if err != nil {
		return err
	}
	o, _, ok := signinAccount(owners, care.Today(now))
	if !ok {
		// Nothing is sent; the answer is the same as for a known number.
		ev.Detail = fmt.Sprintf("not sent: %d records, none or several may sign in; %s", len(owners), ev.Detail)
		_, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev)
		return err
	}
	code := newCode()
	c := &SigninCode{Phone: p, Salt: NewToken()[:16], CreatedAt: now, ExpiresAt: now.Add(cfg.Lifetime), IP: clip(ip, 64)}
	c.CodeHash = hashCode(c.Salt, p, code)
	minutes := int(cfg.Lifetime / time.Minute)
	msg := &notify.Message{County: o.CountyCode, ResidentID: o.ResidentID, Channel: notify.ChannelSMS, Recipient: p, Purpose: CodePurpose,
		Params: map[string]string{"code": code, "minutes": fmt.Sprint(minutes)},
		Body:   fmt.Sprintf("【县域医共体】您的登录验证码为%s，%d分钟内有效，仅可使用一次。请勿告诉他人。", code, minutes)}
	ev.ResidentID, ev.CountyCode = o.ResidentID, o.CountyCode
	ev.AccountID = o.AccountID
	return repo.StoreSigninCode(ctx, c, msg, ev)
}

// CodeLogin is a sign-in by code: the number, the code typed, and where
// the request came from.
type CodeLogin struct {
	Phone     string
	Code      string
	OldToken  string
	IP        string
	UserAgent string
}

// LoginWithCode checks a one-time code and starts a session of the
// number's account, first creating it if the resident claims it with the
// phone on their record (audited, consent recorded). Each refusal is
// specific and audited: no code was sent, the code expired, was already
// used, or had too many wrong tries (ask for a new one), or it is wrong
// (with the tries left). Errors: EINVALID (fields "phone", "code"),
// EUNAUTHORIZED (the refusals above), ETOOMANY (too many failures from
// this address).
func (s *Service) LoginWithCode(ctx context.Context, in CodeLogin) (string, *Session, error) {
	repo, err := s.codes()
	if err != nil {
		return "", nil, err
	}
	cfg, now := s.Config.Codes, s.Now()
	p := notify.NormalizePhone(in.Phone)
	code := strings.TrimSpace(in.Code)
	var fs []care.FieldError
	if p == "" {
		fs = append(fs, care.FieldError{Field: "phone", Key: "signin.phone_format"})
	}
	if len(code) != CodeDigits || strings.Trim(code, "0123456789") != "" {
		fs = append(fs, care.FieldError{Field: "code", Key: "signin.code_format", Args: []any{CodeDigits}})
	}
	if err := care.Invalid(fs); err != nil {
		return "", nil, err
	}
	ev := audit.Event{Action: audit.ActLoginFailed, Outcome: audit.OutcomeFailed, RequestID: care.RequestID(ctx), Time: now,
		Detail: "by code to " + notify.MaskRecipient(p) + " from " + clip(in.IP, 64)}
	refuse := func(why string, e *care.Error) (string, *Session, error) {
		ev.Detail = why + "; " + ev.Detail
		if _, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev); err != nil {
			return "", nil, err
		}
		return "", nil, e
	}
	if limited, err := s.ipLimited(ctx, in.IP, now); err != nil {
		return "", nil, err
	} else if limited {
		ev.Outcome = audit.OutcomeDenied
		return refuse("too many failures from the address", care.Errorf(care.ETOOMANY, "auth.too_many"))
	}
	c, err := repo.LatestSigninCode(ctx, p)
	if care.IsCode(err, care.ENOTFOUND) {
		return refuse("no code sent", care.Errorf(care.EUNAUTHORIZED, "signin.code_none"))
	}
	if err != nil {
		return "", nil, err
	}
	switch {
	case !c.UsedAt.IsZero():
		return refuse("code already used", care.Errorf(care.EUNAUTHORIZED, "signin.code_used"))
	case !now.Before(c.ExpiresAt):
		return refuse("code expired", care.Errorf(care.EUNAUTHORIZED, "signin.code_expired"))
	case c.Attempts >= cfg.MaxAttempts:
		return refuse("code spent by wrong tries", care.Errorf(care.EUNAUTHORIZED, "signin.code_spent"))
	}
	counted, err := repo.TrySigninCode(ctx, c.ID, cfg.MaxAttempts)
	if err != nil {
		return "", nil, err
	}
	if !counted { // used or spent by a parallel request meanwhile
		return refuse("code used or spent meanwhile", care.Errorf(care.EUNAUTHORIZED, "signin.code_spent"))
	}
	if subtle.ConstantTimeCompare([]byte(hashCode(c.Salt, p, code)), []byte(c.CodeHash)) != 1 {
		if err := s.ipFailure(ctx, in.IP, now); err != nil {
			return "", nil, err
		}
		left := cfg.MaxAttempts - c.Attempts - 1
		if left <= 0 {
			return refuse("wrong code; code now spent", care.Errorf(care.EUNAUTHORIZED, "signin.code_spent"))
		}
		return refuse("wrong code", &care.Error{Code: care.EUNAUTHORIZED, Key: "signin.code_wrong", Args: []any{left},
			Fields: []care.FieldError{{Field: "code", Key: "signin.code_wrong", Args: []any{left}}}})
	}
	if err := repo.UseSigninCode(ctx, c.ID, now); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return refuse("code used by a parallel request", care.Errorf(care.EUNAUTHORIZED, "signin.code_used"))
		}
		return "", nil, err
	}
	owners, err := repo.PhoneOwners(ctx, p)
	if err != nil {
		return "", nil, err
	}
	o, claim, ok := signinAccount(owners, care.Today(now))
	if !ok {
		return refuse("number no longer on one record", care.Errorf(care.EUNAUTHORIZED, "signin.code_none"))
	}
	var acc *Account
	if claim {
		acc = &Account{Username: ResidentUsername(o.ResidentID), Role: care.RoleResident, ResidentID: o.ResidentID, PasswordHash: NoPassword}
		cev := audit.Event{Username: acc.Username, Role: care.RoleResident, Action: ActClaim, ResidentID: o.ResidentID, CountyCode: o.CountyCode,
			Purpose: care.PurposeSelf, Outcome: audit.OutcomeOK, RequestID: care.RequestID(ctx), Time: now,
			Detail: "claimed with the phone on the record " + notify.MaskRecipient(p)}
		err := repo.CreateResidentAccount(ctx, acc, Consent{ResidentID: o.ResidentID, Method: ConsentClaimed, At: now}, cev)
		if care.IsCode(err, care.ECONFLICT) { // claimed by a parallel sign-in: use that account
			owners, err = repo.PhoneOwners(ctx, p)
			if err != nil {
				return "", nil, err
			}
			if o, _, ok = signinAccount(owners, care.Today(now)); !ok || o.AccountID == 0 {
				return "", nil, care.Errorf(care.ECONFLICT, "error.conflict")
			}
			acc = nil
		} else if err != nil {
			return "", nil, err
		}
	}
	if acc == nil {
		if acc, err = s.Repo.Account(ctx, o.AccountID); err != nil {
			return "", nil, err
		}
	}
	ev.AccountID, ev.Username, ev.Role, ev.ResidentID, ev.CountyCode = acc.ID, acc.Username, acc.Role, o.ResidentID, o.CountyCode
	if acc.Disabled {
		ev.Outcome = audit.OutcomeDenied
		return refuse("account disabled", care.Errorf(care.EUNAUTHORIZED, "auth.bad_credentials"))
	}
	ok2 := ev
	ok2.Action, ok2.Outcome, ok2.Detail = audit.ActLogin, audit.OutcomeOK, "by one-time code; from "+clip(in.IP, 64)
	return s.start(ctx, acc, in.OldToken, in.IP, in.UserAgent, false, ok2)
}

// NoPassword is the password hash of an account that signs in by code
// only: CheckPassword refuses every password against it.
const NoPassword = "!code-only"

// ResidentUsername is the username of resident id's account.
func ResidentUsername(id int64) string { return fmt.Sprintf("resident.%d", id) }

// CreateResidentAccount records, at a staff member's hand, a resident's
// consent to an account of their own (at registration, by the village
// doctor), and creates it; the resident signs in with a code sent to the
// phone on their record. Errors: EINVALID (consent not given, field
// "consent"; the record has no mobile number, field "phone"), ECONFLICT
// (the resident has an account already).
func (s *Service) CreateResidentAccount(ctx context.Context, staff care.Actor, residentID int64, countyCode, phone string, consent bool) (*Account, error) {
	repo, err := s.codes()
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	if !consent {
		fs = append(fs, care.FieldError{Field: "consent", Key: "signin.consent_required"})
	}
	if notify.NormalizePhone(phone) == "" {
		fs = append(fs, care.FieldError{Field: "phone", Key: "signin.no_phone"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	now := s.Now()
	acc := &Account{Username: ResidentUsername(residentID), Role: care.RoleResident, ResidentID: residentID, PasswordHash: NoPassword}
	ev := audit.New(ctx, staff, audit.ActAccountCreate, residentID)
	ev.CountyCode = countyCode
	err = repo.CreateResidentAccount(ctx, acc, Consent{ResidentID: residentID, Method: ConsentRegistration, RecordedBy: staff.AccountID, At: now}, ev)
	if care.IsCode(err, care.ECONFLICT) {
		return nil, care.Errorf(care.ECONFLICT, "signin.account_exists")
	}
	return acc, err
}
