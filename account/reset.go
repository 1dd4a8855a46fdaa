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
// one administrator must not be able to take over a privileged account —
// the auditor's, or another administrator's — by setting its password and
// signing in as its owner. ResetPassword refuses them. Instead one
// administrator requests a reset (the owner is told at once, by text
// message through the outbox), a second administrator approves it, and
// only then is a one-time link sent to the owner's phone. Neither
// administrator sees the link; the database keeps only its hash; it
// expires after ResetLinkLifetime and works once. Two people are needed
// because one administrator could also edit the practitioner's phone
// number. The request, the approval, the link's use and each refused use
// are audit rows.

// Audit actions of privileged resets.
const (
	ActResetRequest  = "account.reset_request"  // an administrator asked to reset a privileged account
	ActResetApprove  = "account.reset_approve"  // a second administrator approved: the link was sent to the owner
	ActResetComplete = "account.reset_complete" // the owner set a new password through the link
	ActResetRefused  = "account.reset_refused"  // an unknown, used or expired link
)

// ResetLinkLifetime is how long a one-time reset link works after approval.
const ResetLinkLifetime = time.Hour

// ResetApprovalWindow is how long a request waits for a second
// administrator's approval.
const ResetApprovalWindow = 24 * time.Hour

// Outbox purposes of the owner's messages.
const (
	ResetNoticePurpose = "account.reset_notice" // a reset of your account was requested
	ResetPurpose       = "account.reset_link"   // the one-time link
)

// Privileged reports whether accounts of role r are reset only through a
// second administrator's approval and a one-time link to their owner.
func Privileged(r care.Role) bool { return r == care.RoleAdmin || r == care.RoleAuditor }

// ResetRequest is one reset of a privileged account. The token itself is
// never stored.
type ResetRequest struct {
	ID          int64
	AccountID   int64
	RequestedBy int64
	CreatedAt   time.Time
	ApprovedBy  int64 // 0 until approved
	ApprovedAt  time.Time
	TokenHash   string // set at approval
	ExpiresAt   time.Time
	UsedAt      time.Time

	// For the administrators' list (PendingResets).
	Username, RequestedByName string
}

// ResetRepository is the storage of privileged resets; store.Store implements it.
type ResetRepository interface {
	// RequestReset supersedes the account's unused requests and links
	// (they expire now), stores r, queues notice to the owner and appends
	// ev, in one transaction.
	RequestReset(ctx context.Context, r *ResetRequest, notice notify.Message, ev audit.Event) error
	// PendingResets returns the requests awaiting approval at now.
	PendingResets(ctx context.Context, now time.Time) ([]ResetRequest, error)
	// ResetRequest returns one request (ENOTFOUND).
	ResetRequest(ctx context.Context, id int64) (*ResetRequest, error)
	// ApproveReset records r's approval (ApprovedBy, ApprovedAt,
	// TokenHash, ExpiresAt) — only if it is still pending and unexpired at
	// r.ApprovedAt, else ECONFLICT — queues msg (the link) and appends ev,
	// in one transaction.
	ApproveReset(ctx context.Context, r *ResetRequest, msg notify.Message, ev audit.Event) error
	// ResetByToken returns the link with this token hash (ENOTFOUND).
	ResetByToken(ctx context.Context, tokenHash string) (*ResetRequest, error)
	// UseReset marks the link used — only if approved, unused and not
	// expired at now, else ECONFLICT — sets the account's password
	// (unlocking it and ending its sessions) and appends ev, in one
	// transaction.
	UseReset(ctx context.Context, id, accountID int64, hash string, now time.Time, ev audit.Event) error
}

func (s *Service) resets() (ResetRepository, error) {
	r, ok := s.Repo.(ResetRepository)
	if !ok {
		return nil, care.Internal("account.resets", fmt.Errorf("repository %T keeps no reset requests", s.Repo))
	}
	return r, nil
}

// ownerPhone returns the phone number of acc's owner ("" if none).
func (s *Service) ownerPhone(ctx context.Context, acc *Account) (string, error) {
	if acc.PractitionerID == 0 {
		return "", nil
	}
	p, err := s.Repo.Practitioner(ctx, acc.PractitionerID)
	if care.IsCode(err, care.ENOTFOUND) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return p.Phone, nil
}

// RequestReset lets an administrator ask to reset a privileged account;
// the owner is told by text message, and a second administrator must
// approve (ApproveReset) before the owner gets a link. Errors: ENOTFOUND,
// EINVALID (own account, not a privileged account, no phone to send to).
func (s *Service) RequestReset(ctx context.Context, admin care.Actor, id int64) error {
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
	if !Privileged(acc.Role) {
		return care.Errorf(care.EINVALID, "account.reset.not_privileged")
	}
	phone, err := s.ownerPhone(ctx, acc)
	if err != nil {
		return err
	}
	if phone == "" {
		return care.Errorf(care.EINVALID, "account.reset.no_phone")
	}
	now := s.Now()
	r := &ResetRequest{AccountID: acc.ID, RequestedBy: admin.AccountID, CreatedAt: now, ExpiresAt: now.Add(ResetApprovalWindow)}
	notice := notify.Message{County: admin.CountyCode, Channel: notify.ChannelSMS, Recipient: phone, Purpose: ResetNoticePurpose,
		Params: map[string]string{"admin": admin.Username, "account": acc.Username},
		Body: fmt.Sprintf("countycare：管理员 %s 申请重置您的账户 %s 的密码；另一名管理员批准后，您将收到一次性链接。如非您本人需要，请立即联系审计员或其他管理员。",
			admin.Username, acc.Username)}
	ev := audit.New(ctx, admin, ActResetRequest, 0)
	ev.Detail = "reset of " + acc.Username + " (" + string(acc.Role) + ") requested; awaits a second administrator; owner told at " + notify.MaskRecipient(phone)
	return repo.RequestReset(ctx, r, notice, ev)
}

// PendingResets lists the requests awaiting a second administrator.
func (s *Service) PendingResets(ctx context.Context) ([]ResetRequest, error) {
	repo, err := s.resets()
	if err != nil {
		return nil, err
	}
	return repo.PendingResets(ctx, s.Now())
}

// ApproveReset lets a second administrator approve a request: a one-time
// link goes to the owner's phone. The requester and the account's owner
// cannot approve. Errors: ENOTFOUND (no such pending request), EINVALID
// (own request, own account, no phone).
func (s *Service) ApproveReset(ctx context.Context, approver care.Actor, requestID int64) error {
	repo, err := s.resets()
	if err != nil {
		return err
	}
	r, err := repo.ResetRequest(ctx, requestID)
	if err != nil {
		return err
	}
	now := s.Now()
	if r.ApprovedBy != 0 || !r.UsedAt.IsZero() || !now.Before(r.ExpiresAt) {
		return care.Errorf(care.ENOTFOUND, "reset.not_pending")
	}
	switch approver.AccountID {
	case r.RequestedBy:
		return care.Errorf(care.EINVALID, "account.reset.own_request")
	case r.AccountID:
		return care.Errorf(care.EINVALID, "account.reset.self")
	}
	acc, err := s.Repo.Account(ctx, r.AccountID)
	if err != nil {
		return err
	}
	phone, err := s.ownerPhone(ctx, acc)
	if err != nil {
		return err
	}
	if phone == "" {
		return care.Errorf(care.EINVALID, "account.reset.no_phone")
	}
	tok := NewToken()
	r.ApprovedBy, r.ApprovedAt, r.TokenHash, r.ExpiresAt = approver.AccountID, now, HashToken(tok), now.Add(ResetLinkLifetime)
	link := strings.TrimRight(s.Config.PublicURL, "/") + "/reset?t=" + tok
	msg := notify.Message{County: approver.CountyCode, Channel: notify.ChannelSMS, Recipient: phone, Purpose: ResetPurpose,
		Params: map[string]string{"account": acc.Username, "minutes": fmt.Sprint(int(ResetLinkLifetime / time.Minute)), "link": link},
		Body: fmt.Sprintf("countycare：您的账户 %s 的密码重置已获批准。请在%d分钟内打开 %s/reset?t=%s 设置新密码（仅可使用一次）。",
			acc.Username, int(ResetLinkLifetime/time.Minute), strings.TrimRight(s.Config.PublicURL, "/"), tok)}
	ev := audit.New(ctx, approver, ActResetApprove, 0)
	ev.Detail = fmt.Sprintf("reset %d of %s approved; one-time link sent to the owner at %s", r.ID, acc.Username, notify.MaskRecipient(phone))
	if err := repo.ApproveReset(ctx, r, msg, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return care.Errorf(care.ENOTFOUND, "reset.not_pending")
		}
		return err
	}
	return nil
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
		case r.ApprovedBy == 0:
			why = "link not approved"
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
