package store

import (
	"context"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

const accountCols = `a.id, a.username, a.role, a.institution_id, a.practitioner_id, a.resident_id, a.password_hash, a.failed_logins, a.locked_until, a.disabled, a.password_changed_at, a.last_login_at, a.created_at`

func scanAccount(sc interface{ Scan(...any) error }, a *account.Account, extra ...any) error {
	dst := []any{&a.ID, &a.Username, &a.Role, idOf(&a.InstitutionID), idOf(&a.PractitionerID), idOf(&a.ResidentID), &a.PasswordHash, &a.FailedLogins,
		tsOf(&a.LockedUntil), &a.Disabled, tsOf(&a.PasswordChangedAt), tsOf(&a.LastLoginAt), tsOf(&a.CreatedAt)}
	return sc.Scan(append(dst, extra...)...)
}

// CreateAccount inserts a with its audit row. A taken username, or a
// person who already has an account, is ECONFLICT.
func (s *Store) CreateAccount(ctx context.Context, a *account.Account, ev audit.Event) error {
	a.CreatedAt = s.now()
	if a.PasswordChangedAt.IsZero() {
		a.PasswordChangedAt = a.CreatedAt
	}
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO accounts (username, role, institution_id, practitioner_id, resident_id, password_hash, failed_logins, disabled, password_changed_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			a.Username, string(a.Role), nullID(a.InstitutionID), nullID(a.PractitionerID), nullID(a.ResidentID), a.PasswordHash, a.Disabled, s.ts(a.PasswordChangedAt), s.ts(a.CreatedAt))
		if err != nil {
			return wrap("store.CreateAccount", err)
		}
		a.ID = id
		ev.Detail = "account " + a.Username + " role " + string(a.Role)
		return s.appendAudit(ctx, tx, ev)
	})
}

// AccountByUsername returns the account signing in as username; ENOTFOUND if none.
func (s *Store) AccountByUsername(ctx context.Context, username string) (*account.Account, error) {
	var a account.Account
	err := scanAccount(s.read().row(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.username = ?`, username), &a)
	if err != nil {
		return nil, wrap("store.AccountByUsername", err)
	}
	return &a, nil
}

// Account returns one account; ENOTFOUND if none.
func (s *Store) Account(ctx context.Context, id int64) (*account.Account, error) {
	var a account.Account
	err := scanAccount(s.read().row(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.id = ?`, id), &a)
	if err != nil {
		return nil, wrap("store.Account", err)
	}
	return &a, nil
}

// Accounts lists accounts with the person's and institution's names, by username.
func (s *Store) Accounts(ctx context.Context, limit int) ([]account.Summary, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.read().query(ctx, `SELECT `+accountCols+`, COALESCE(p.name, r.name, ''), COALESCE(i.name, '')
		FROM accounts a
		LEFT JOIN practitioners p ON p.id = a.practitioner_id
		LEFT JOIN residents r ON r.id = a.resident_id
		LEFT JOIN institutions i ON i.id = a.institution_id
		ORDER BY a.username LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("store.Accounts", err)
	}
	defer rows.Close()
	var out []account.Summary
	for rows.Next() {
		var x account.Summary
		if err := scanAccount(rows, &x.Account, &x.PersonName, &x.InstitutionName); err != nil {
			return nil, wrap("store.Accounts", err)
		}
		out = append(out, x)
	}
	return out, wrap("store.Accounts", rows.Err())
}

// RecordLoginFailure audits a failed sign-in and counts it atomically
// (the increment happens in the database, so parallel failures all count);
// the maxFailures-th failure in a row locks the account until lockUntil.
func (s *Store) RecordLoginFailure(ctx context.Context, id int64, maxFailures int, lockUntil time.Time, ev audit.Event) (bool, error) {
	locked := false
	err := s.Transact(ctx, func(tx db) error {
		if id != 0 {
			var n int
			if err := tx.row(ctx, `UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins`, id).Scan(&n); err != nil {
				return wrap("store.RecordLoginFailure", err)
			}
			if maxFailures > 0 && n >= maxFailures {
				if _, err := tx.exec(ctx, `UPDATE accounts SET failed_logins = 0, locked_until = ? WHERE id = ?`, s.ts(lockUntil), id); err != nil {
					return wrap("store.RecordLoginFailure", err)
				}
				locked = true
				lock := ev
				lock.Action, lock.Outcome, lock.Detail = audit.ActLocked, audit.OutcomeDenied, "locked after repeated failures"
				return s.appendAudit(ctx, tx, ev, lock)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return locked, err
}

// EndAllSessions deletes every session of an account.
func (s *Store) EndAllSessions(ctx context.Context, accountID int64) error {
	return s.Transact(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
		return wrap("store.EndAllSessions", err)
	})
}

// StartSession signs an account in: it ends the session the browser
// brought (oldTokenHash, if any — session rotation), clears the failure
// count, stores the new session and appends the audit row, in one transaction.
func (s *Store) StartSession(ctx context.Context, sess *account.Session, oldTokenHash string, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if oldTokenHash != "" {
			if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, oldTokenHash); err != nil {
				return wrap("store.StartSession", err)
			}
		}
		// The account must still be usable at this instant: a parallel
		// guess may have locked it, or an administrator disabled it. A
		// known device is not held back by the lock, and leaves the lock
		// and the failure count (strangers' guesses) as they are.
		q, args := `UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ? AND disabled = ? AND (locked_until IS NULL OR locked_until <= ?)`,
			[]any{s.ts(sess.CreatedAt), sess.AccountID, false, s.ts(sess.CreatedAt)}
		if sess.KnownDevice {
			q, args = `UPDATE accounts SET last_login_at = ? WHERE id = ? AND disabled = ?`, []any{s.ts(sess.CreatedAt), sess.AccountID, false}
		}
		res, err := tx.exec(ctx, q, args...)
		if err != nil {
			return wrap("store.StartSession", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ELOCKED, "auth.bad_credentials")
		}
		id, err := tx.insert(ctx, `INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, last_seen, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.TokenHash, sess.AccountID, sess.CSRFToken, s.ts(sess.CreatedAt), s.ts(sess.LastSeen), s.ts(sess.ExpiresAt), sess.IP, sess.UserAgent)
		if err != nil {
			return wrap("store.StartSession", err)
		}
		sess.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SessionActor returns the session with token hash h and the actor behind
// it, in one query. A missing session, or one whose account is disabled,
// is ENOTFOUND.
func (s *Store) SessionActor(ctx context.Context, h string) (*account.Session, care.Actor, error) {
	var sess account.Session
	var a care.Actor
	var disabled bool
	var ward, acting int64
	var wardCounty string
	// A proxy's session views the ward's record only while a live grant
	// says so: the grant is checked on every lookup.
	err := s.read().row(ctx, `SELECT s.id, s.token_hash, s.account_id, s.csrf_token, s.created_at, s.last_seen, s.expires_at, s.ip, s.user_agent,
			a.username, a.role, a.institution_id, a.practitioner_id, a.resident_id, a.disabled,
			COALESCE(p.name, r.name, ''), COALESCE(i.county_code, r.county_code, ''), g.ward_id, COALESCE(g.county_code, ''), s.acting_institution_id
		FROM sessions s
		JOIN accounts a ON a.id = s.account_id
		LEFT JOIN practitioners p ON p.id = a.practitioner_id
		LEFT JOIN residents r ON r.id = a.resident_id
		LEFT JOIN institutions i ON i.id = a.institution_id
		LEFT JOIN proxy_grants g ON s.acting_resident_id IS NOT NULL AND g.ward_id = s.acting_resident_id AND g.proxy_id = a.resident_id
			AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)
		WHERE s.token_hash = ?`, s.ts(s.now()), h).Scan(
		&sess.ID, &sess.TokenHash, &sess.AccountID, &sess.CSRFToken, tsOf(&sess.CreatedAt), tsOf(&sess.LastSeen), tsOf(&sess.ExpiresAt), &sess.IP, &sess.UserAgent,
		&a.Username, &a.Role, idOf(&a.InstitutionID), idOf(&a.PractitionerID), idOf(&a.ResidentID), &disabled, &a.Name, &a.CountyCode, idOf(&ward), &wardCounty, idOf(&acting))
	if err != nil {
		return nil, care.Actor{}, wrap("store.SessionActor", err)
	}
	if disabled {
		return nil, care.Actor{}, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	a.AccountID = sess.AccountID
	a.SessionID = sess.ID
	if ward != 0 && a.Role == care.RoleResident && ward != a.ResidentID {
		a.Proxy, a.ResidentID, a.CountyCode = a.ResidentID, ward, wardCounty
	}
	// A multi-site practitioner's switch of institution holds only on a
	// day a practice site schedules them there: checked on every lookup.
	if err := s.actingFor(ctx, &a, acting); err != nil {
		return nil, care.Actor{}, err
	}
	return &sess, a, nil
}

// TouchSession records activity on a session at t.
func (s *Store) TouchSession(ctx context.Context, id int64, t time.Time) error {
	return s.Transact(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, s.ts(t), id)
		return wrap("store.TouchSession", err)
	})
}

// EndSession deletes a session (sign-out or expiry) with its audit row.
func (s *Store) EndSession(ctx context.Context, id int64, evs ...audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return wrap("store.EndSession", err)
		}
		return s.appendAudit(ctx, tx, evs...)
	})
}

// DeleteStaleSessions removes sessions idle since before idleBefore or
// past their absolute end at now, returning how many went.
func (s *Store) DeleteStaleSessions(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	var n int64
	err := s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM sessions WHERE last_seen < ? OR expires_at <= ?`, s.ts(idleBefore), s.ts(now))
		if err != nil {
			return wrap("store.DeleteStaleSessions", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// SetPassword stores a new password hash, unlocks the account and ends
// all its sessions, with the audit row.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE accounts SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`, hash, s.ts(s.now()), id)
		if err != nil {
			return wrap("store.SetPassword", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, id); err != nil {
			return wrap("store.SetPassword", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SetAccountDisabled disables or re-enables an account; disabling ends its sessions.
func (s *Store) SetAccountDisabled(ctx context.Context, id int64, disabled bool, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE accounts SET disabled = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`, disabled, id)
		if err != nil {
			return wrap("store.SetAccountDisabled", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		if disabled {
			if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, id); err != nil {
				return wrap("store.SetAccountDisabled", err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// RequestReset supersedes the account's unused requests and links (they
// expire now), stores r, queues the notice to the owner and appends ev, in
// one transaction.
func (s *Store) RequestReset(ctx context.Context, r *account.ResetRequest, notice notify.Message, ev audit.Event) error {
	const op = "store.RequestReset"
	if err := notice.Valid(); err != nil {
		return wrap(op, err)
	}
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE account_resets SET expires_at = ? WHERE account_id = ? AND used_at IS NULL AND expires_at > ?`,
			s.ts(r.CreatedAt), r.AccountID, s.ts(r.CreatedAt)); err != nil {
			return wrap(op, err)
		}
		id, err := tx.insert(ctx, `INSERT INTO account_resets (account_id, requested_by, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			r.AccountID, r.RequestedBy, s.ts(r.CreatedAt), s.ts(r.ExpiresAt))
		if err != nil {
			return wrap(op, err)
		}
		r.ID = id
		if err := s.queueOne(ctx, tx, notice); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) queueOne(ctx context.Context, tx db, m notify.Message) error {
	m.ResidentID = 0
	return s.insertMessage(ctx, tx, &m, s.now())
}

const resetCols = `r.id, r.account_id, r.requested_by, r.created_at, COALESCE(r.approved_by, 0), r.approved_at, COALESCE(r.token_hash, ''), r.expires_at, r.used_at`

func scanReset(sc interface{ Scan(...any) error }, r *account.ResetRequest, extra ...any) error {
	return sc.Scan(append([]any{&r.ID, &r.AccountID, &r.RequestedBy, tsOf(&r.CreatedAt), &r.ApprovedBy, tsOf(&r.ApprovedAt), &r.TokenHash,
		tsOf(&r.ExpiresAt), tsOf(&r.UsedAt)}, extra...)...)
}

// PendingResets returns the requests awaiting approval at now, oldest first.
func (s *Store) PendingResets(ctx context.Context, now time.Time) ([]account.ResetRequest, error) {
	const op = "store.PendingResets"
	rows, err := s.read().query(ctx, `SELECT `+resetCols+`, a.username, q.username FROM account_resets r
		JOIN accounts a ON a.id = r.account_id JOIN accounts q ON q.id = r.requested_by
		WHERE r.approved_by IS NULL AND r.used_at IS NULL AND r.expires_at > ? ORDER BY r.id`, s.ts(now))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []account.ResetRequest
	for rows.Next() {
		var r account.ResetRequest
		if err := scanReset(rows, &r, &r.Username, &r.RequestedByName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// ResetRequest returns one reset request.
func (s *Store) ResetRequest(ctx context.Context, id int64) (*account.ResetRequest, error) {
	var r account.ResetRequest
	if err := scanReset(s.read().row(ctx, `SELECT `+resetCols+` FROM account_resets r WHERE r.id = ?`, id), &r); err != nil {
		return nil, wrap("store.ResetRequest", err)
	}
	return &r, nil
}

// ApproveReset records the approval of a pending, unexpired request
// (ECONFLICT otherwise: two approvals cannot both send a link), queues the
// link to the owner and appends ev, in one transaction.
func (s *Store) ApproveReset(ctx context.Context, r *account.ResetRequest, msg notify.Message, ev audit.Event) error {
	const op = "store.ApproveReset"
	if err := msg.Valid(); err != nil {
		return wrap(op, err)
	}
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE account_resets SET approved_by = ?, approved_at = ?, token_hash = ?, expires_at = ?
			WHERE id = ? AND approved_by IS NULL AND used_at IS NULL AND expires_at > ?`,
			r.ApprovedBy, s.ts(r.ApprovedAt), r.TokenHash, s.ts(r.ExpiresAt), r.ID, s.ts(r.ApprovedAt))
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "reset.not_pending")
		}
		if err := s.queueOne(ctx, tx, msg); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ResetByToken returns the one-time link with this token hash.
func (s *Store) ResetByToken(ctx context.Context, tokenHash string) (*account.ResetRequest, error) {
	var r account.ResetRequest
	if err := scanReset(s.read().row(ctx, `SELECT `+resetCols+` FROM account_resets r WHERE r.token_hash = ?`, tokenHash), &r); err != nil {
		return nil, wrap("store.ResetByToken", err)
	}
	return &r, nil
}

// UseReset uses the link up — only if it is approved, unused and
// unexpired at now (ECONFLICT otherwise, so two requests cannot both use
// it) — and sets the account's password as SetPassword does, in one
// transaction.
func (s *Store) UseReset(ctx context.Context, id, accountID int64, hash string, now time.Time, ev audit.Event) error {
	const op = "store.UseReset"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE account_resets SET used_at = ? WHERE id = ? AND account_id = ? AND approved_by IS NOT NULL AND used_at IS NULL AND expires_at > ?`,
			s.ts(now), id, accountID, s.ts(now))
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "reset.invalid")
		}
		if _, err := tx.exec(ctx, `UPDATE accounts SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`,
			hash, s.ts(now), accountID); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
