package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

// Separation of duties (GB/T 22239-2019 8.1.4.2: 系统管理员、审计管理员权限分离):
// an administrator must not be able to take over a privileged account —
// the auditor's, or another administrator's — by setting its password and
// signing in as its owner. Resetting such an account gives the owner a
// one-time link instead, sent to the owner's phone through the outbox; the
// administrator never sees it, the database keeps only its hash, it
// expires after ResetLinkLifetime and works once. The request, the link's
// use and each refused use are audit rows.

// Audit actions of privileged resets.
const (
	ActResetRequest  = "account.reset_request"  // an administrator sent the owner a one-time link
	ActResetComplete = "account.reset_complete" // the owner set a new password through the link
	ActResetRefused  = "account.reset_refused"  // an unknown, used or expired link
)

// ResetLinkLifetime is how long a one-time reset link works.
const ResetLinkLifetime = time.Hour

// ResetPurpose is the outbox purpose of the link's message.
const ResetPurpose = "account.reset_link"

// Privileged reports whether accounts of role r can be reset only by a
// one-time link to their owner.
func Privileged(r care.Role) bool { return r == care.RoleAdmin || r == care.RoleAuditor }

// ResetRequest is one one-time link. The token itself is never stored.
type ResetRequest struct {
	ID          int64
	AccountID   int64
	TokenHash   string
	RequestedBy int64
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time
}

// ResetRepository is the storage of one-time links; store.Store implements it.
type ResetRepository interface {
	// RequestReset supersedes the account's unused links, stores r, queues
	// msg in the outbox and appends ev, in one transaction.
	RequestReset(ctx context.Context, r *ResetRequest, msg notify.Message, ev audit.Event) error
	// ResetByToken returns the link with this token hash (ENOTFOUND).
	ResetByToken(ctx context.Context, tokenHash string) (*ResetRequest, error)
	// UseReset marks the link used — only if unused and not expired at
	// now, else ECONFLICT — sets the account's password (unlocking it and
	// ending its sessions) and appends ev, in one transaction.
	UseReset(ctx context.Context, id, accountID int64, hash string, now time.Time, ev audit.Event) error
}

func (s *Service) resets() (ResetRepository, error) {
	r, ok := s.Repo.(ResetRepository)
	if !ok {
		return nil, care.Internal("account.resets", fmt.Errorf("repository %T keeps no reset links", s.Repo))
	}
	return r, nil
}

// SendResetLink lets an administrator reset another account by sending
// its owner a one-time link (the only way for a privileged account; any
// account may be reset this way). The owner's practitioner record must
// have a phone number. Errors: ENOTFOUND, EINVALID (own account, no phone
// to send to).
func (s *Service) SendResetLink(ctx context.Context, admin care.Actor, id int64) error {
	if id == admin.AccountID {
		return care.Errorf(care.EINVALID, "account.reset.self")
	}
	repo, err := s.resets()
	if err != nil {
		return err
	}
	acc, err := s.Repo.Account(ctx, id)
	if err != nil {
		return err
	}
	phone := ""
	if acc.PractitionerID != 0 {
		p, err := s.Repo.Practitioner(ctx, acc.PractitionerID)
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return err
		}
		if p != nil {
			phone = p.Phone
		}
	}
	if phone == "" {
		return care.Errorf(care.EINVALID, "account.reset.no_phone")
	}
	now := s.Now()
	tok := NewToken()
	r := &ResetRequest{AccountID: acc.ID, TokenHash: HashToken(tok), RequestedBy: admin.AccountID, CreatedAt: now, ExpiresAt: now.Add(ResetLinkLifetime)}
	msg := notify.Message{County: admin.CountyCode, Channel: notify.ChannelSMS, Recipient: phone, Purpose: ResetPurpose,
		Body: fmt.Sprintf("countycare：管理员 %s 为您的账户 %s 申请了密码重置。请在%d分钟内打开 %s/reset?t=%s 设置新密码（仅可使用一次）；如非您本人需要，请联系审计员。",
			admin.Username, acc.Username, int(ResetLinkLifetime/time.Minute), strings.TrimRight(s.Config.PublicURL, "/"), tok)}
	ev := audit.New(ctx, admin, ActResetRequest, 0)
	ev.Detail = "one-time link sent to the owner of " + acc.Username + " (" + string(acc.Role) + "), phone " + notify.MaskRecipient(phone)
	return repo.RequestReset(ctx, r, msg, ev)
}

// checkReset returns the link and account for token if the link can be
// used at now; otherwise it records the refusal and returns ENOTFOUND.
func (s *Service) checkReset(ctx context.Context, repo ResetRepository, token, ip string, now time.Time) (*ResetRequest, *Account, error) {
	gone := care.Errorf(care.ENOTFOUND, "reset.invalid")
	var r *ResetRequest
	var acc *Account
	var err error
	if token != "" && len(token) <= 100 {
		r, err = repo.ResetByToken(ctx, HashToken(token))
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return nil, nil, err
		}
	}
	why := "unknown link"
	if r != nil {
		switch {
		case !r.UsedAt.IsZero():
			why = "link already used"
		case !now.Before(r.ExpiresAt):
			why = "link expired"
		default:
			acc, err = s.Repo.Account(ctx, r.AccountID)
			if err != nil {
				return nil, nil, err
			}
			if !acc.Disabled {
				return r, acc, nil
			}
			why = "account disabled"
		}
	}
	ev := audit.Event{Action: ActResetRefused, Outcome: audit.OutcomeDenied, RequestID: care.RequestID(ctx), Time: now, Detail: why + "; from " + clip(ip, 64)}
	if r != nil {
		if acc == nil {
			acc, _ = s.Repo.Account(ctx, r.AccountID)
		}
		if acc != nil {
			ev.AccountID, ev.Username, ev.Role, ev.InstitutionID = acc.ID, acc.Username, acc.Role, acc.InstitutionID
		}
	}
	if _, err := s.Repo.RecordLoginFailure(ctx, 0, 0, time.Time{}, ev); err != nil {
		return nil, nil, err
	}
	return nil, nil, gone
}

// ResetLink returns the username a usable link resets (for the page).
// Errors: ENOTFOUND (unknown, used or expired link: recorded).
func (s *Service) ResetLink(ctx context.Context, token, ip string) (string, error) {
	repo, err := s.resets()
	if err != nil {
		return "", err
	}
	_, acc, err := s.checkReset(ctx, repo, token, ip, s.Now())
	if err != nil {
		return "", err
	}
	return acc.Username, nil
}

// CompleteReset sets the password of the link's account to next and uses
// the link up. Errors: ENOTFOUND (unknown, used or expired link),
// EINVALID (password policy, field "next").
func (s *Service) CompleteReset(ctx context.Context, token, next, ip string) error {
	repo, err := s.resets()
	if err != nil {
		return err
	}
	now := s.Now()
	r, acc, err := s.checkReset(ctx, repo, token, ip, now)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	for _, f := range CheckPolicy(next, acc.Username, s.Config) {
		if f.Field == "password" {
			f.Field = "next"
		}
		fs = append(fs, f)
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return care.Internal("account.CompleteReset", err)
	}
	ev := audit.Event{AccountID: acc.ID, Username: acc.Username, Role: acc.Role, InstitutionID: acc.InstitutionID, Action: ActResetComplete,
		Outcome: audit.OutcomeOK, RequestID: care.RequestID(ctx), Time: now,
		Detail: fmt.Sprintf("one-time link %d used; from %s", r.ID, clip(ip, 64))}
	defer s.forget(acc.ID)
	if err := repo.UseReset(ctx, r.ID, acc.ID, hash, now, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return care.Errorf(care.ENOTFOUND, "reset.invalid") // used by a parallel request meanwhile
		}
		return err
	}
	return nil
}
