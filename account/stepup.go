package account

import (
	"context"
	"strconv"
	"time"

	"countycare/audit"
	"countycare/care"
)

// Audit actions of step-up authentication.
const (
	ActStepUp       = "auth.step_up"        // the password proved again within a session
	ActStepUpFailed = "auth.step_up_failed" // a wrong password at step-up
)

// Reauthenticate asks a signed-in person for their password again before
// an act that needs it (step-up: a doctor at the start of each online
// session proves who they are, 互联网诊疗监管细则（试行）2022, real-name
// authentication before each consultation, no proxy). purpose is recorded
// in the audit row. A wrong password counts like a failed sign-in: the one
// that locks the account ends all its sessions, and so does the
// Config.MaxFailures-th wrong password of the same session.
//
// A session is a device its owner signed in from: a lock that failures
// elsewhere (strangers guessing at the sign-in page) put on the account
// neither refuses this session's correct password nor ends the session on
// a typo — otherwise anyone could keep a doctor out of online visits by
// locking the username.
//
// Errors: EUNAUTHORIZED (wrong password; auth.required once the sessions
// ended), EINVALID (empty password). Success writes nothing: the caller
// records ActStepUp with the act it allows, in that act's transaction.
func (s *Service) Reauthenticate(ctx context.Context, a care.Actor, password, purpose string) error {
	if password == "" {
		return care.Invalid([]care.FieldError{{Field: "password", Key: "field.required"}})
	}
	acc, err := s.Repo.Account(ctx, a.AccountID)
	if err != nil {
		return err
	}
	now := s.Now()
	own, err := s.stepUpFailures(ctx, a.SessionID)
	if err != nil {
		return err
	}
	spent := own >= max(s.Config.MaxFailures, 1)
	if acc.Disabled || spent || !CheckPassword(acc.PasswordHash, password) {
		ev := audit.New(ctx, a, ActStepUpFailed, 0)
		ev.Outcome, ev.Detail = audit.OutcomeFailed, clip(purpose, 100)
		locked, err := s.Repo.RecordLoginFailure(ctx, acc.ID, s.Config.MaxFailures, now.Add(s.Config.LockFor), ev)
		if err != nil {
			return err
		}
		if own, err = s.stepUpFailure(ctx, a.SessionID, now); err != nil {
			return err
		}
		if locked || acc.Disabled || own >= max(s.Config.MaxFailures, 1) {
			s.forget(acc.ID)
			if err := s.Repo.EndAllSessions(ctx, acc.ID); err != nil {
				return err
			}
			return care.Errorf(care.EUNAUTHORIZED, "auth.required")
		}
		return &care.Error{Code: care.EUNAUTHORIZED, Key: "auth.step_up_failed", Fields: []care.FieldError{{Field: "password", Key: "auth.step_up_failed"}}}
	}
	return nil
}

// stepUpFailures returns the wrong step-up passwords of a session.
func (s *Service) stepUpFailures(ctx context.Context, sessionID int64) (int, error) {
	n, _, err := s.Repo.AuthFailures(ctx, FailStepUp, strconv.FormatInt(sessionID, 10), sessionEpoch)
	return n, err
}

// stepUpFailure counts a wrong step-up password of a session and returns
// the session's count.
func (s *Service) stepUpFailure(ctx context.Context, sessionID int64, now time.Time) (int, error) {
	return s.Repo.AddAuthFailure(ctx, FailStepUp, strconv.FormatInt(sessionID, 10), now, sessionEpoch)
}

// sessionEpoch counts a session's step-up failures from any time: a
// session's whole life.
var sessionEpoch = time.Unix(0, 0).UTC()
