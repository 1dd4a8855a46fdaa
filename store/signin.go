package store

import (
	"context"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

// StoreSigninCode expires the number's earlier unused codes (only the
// newest works), stores c, queues msg (if not nil) and appends ev, in one
// transaction.
func (s *Store) StoreSigninCode(ctx context.Context, c *account.SigninCode, msg *notify.Message, ev audit.Event) error {
	const op = "store.StoreSigninCode"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE signin_codes SET expires_at = ? WHERE phone = ? AND used_at IS NULL AND expires_at > ?`,
			s.ts(c.CreatedAt), c.Phone, s.ts(c.CreatedAt)); err != nil {
			return wrap(op, err)
		}
		id, err := tx.insert(ctx, `INSERT INTO signin_codes (phone, salt, code_hash, created_at, expires_at, attempts, ip) VALUES (?, ?, ?, ?, ?, 0, ?)`,
			c.Phone, c.Salt, c.CodeHash, s.ts(c.CreatedAt), s.ts(c.ExpiresAt), c.IP)
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		if msg != nil {
			if err := s.insertMessage(ctx, tx, msg, s.now()); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// LatestSigninCode returns the newest code sent to phone; ENOTFOUND if none.
// It reads the primary: a code sent a moment ago must be found.
func (s *Store) LatestSigninCode(ctx context.Context, phone string) (*account.SigninCode, error) {
	var c account.SigninCode
	err := s.Transact(ctx, func(tx db) error {
		return tx.row(ctx, `SELECT id, phone, salt, code_hash, created_at, expires_at, attempts, used_at, ip FROM signin_codes
			WHERE phone = ? ORDER BY created_at DESC, id DESC LIMIT 1`, phone).Scan(
			&c.ID, &c.Phone, &c.Salt, &c.CodeHash, tsOf(&c.CreatedAt), tsOf(&c.ExpiresAt), &c.Attempts, tsOf(&c.UsedAt), &c.IP)
	})
	if err != nil {
		return nil, wrap("store.LatestSigninCode", err)
	}
	return &c, nil
}

// TrySigninCode counts one try of code id, atomically, only while it is
// unused and has had fewer than max tries, and reports whether it counted:
// parallel guesses cannot exceed max between them.
func (s *Store) TrySigninCode(ctx context.Context, id int64, max int) (bool, error) {
	n := int64(0)
	err := s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE signin_codes SET attempts = attempts + 1 WHERE id = ? AND used_at IS NULL AND attempts < ?`, id, max)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, wrap("store.TrySigninCode", err)
}

// UseSigninCode marks code id used at now, only if it was unused; a code
// used already (by a parallel request) is ECONFLICT.
func (s *Store) UseSigninCode(ctx context.Context, id int64, now time.Time) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE signin_codes SET used_at = ? WHERE id = ? AND used_at IS NULL`, s.ts(now), id)
		if err != nil {
			return wrap("store.UseSigninCode", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "signin.code_used")
		}
		return nil
	})
}

// PurgeSigninCodes deletes codes that expired before before and returns
// how many.
func (s *Store) PurgeSigninCodes(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM signin_codes WHERE expires_at < ?`), s.ts(before))
	if err != nil {
		return 0, wrap("store.PurgeSigninCodes", err)
	}
	return res.RowsAffected()
}

// PhoneOwners lists the active residents whose record has phone, in any
// county, with their accounts (residents_phone_only).
func (s *Store) PhoneOwners(ctx context.Context, phone string) ([]account.PhoneOwner, error) {
	rows, err := s.read().query(ctx, `SELECT r.id, r.county_code, r.name, r.birth_date, COALESCE(a.id, 0)
		FROM residents r LEFT JOIN accounts a ON a.resident_id = r.id
		WHERE r.phone = ? AND r.phone <> '' AND r.status = 'active' ORDER BY r.id LIMIT 20`, phone)
	if err != nil {
		return nil, wrap("store.PhoneOwners", err)
	}
	defer rows.Close()
	var out []account.PhoneOwner
	for rows.Next() {
		var o account.PhoneOwner
		if err := rows.Scan(&o.ResidentID, &o.CountyCode, &o.Name, &o.BirthDate, &o.AccountID); err != nil {
			return nil, wrap("store.PhoneOwners", err)
		}
		out = append(out, o)
	}
	return out, wrap("store.PhoneOwners", rows.Err())
}

// CreateResidentAccount creates a resident's account with their consent
// c and ev, in one transaction; ECONFLICT if the resident has one.
func (s *Store) CreateResidentAccount(ctx context.Context, a *account.Account, c account.Consent, ev audit.Event) error {
	const op = "store.CreateResidentAccount"
	a.CreatedAt = s.now()
	a.PasswordChangedAt = a.CreatedAt
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO accounts (username, role, institution_id, practitioner_id, resident_id, password_hash, failed_logins, disabled, password_changed_at, created_at)
			VALUES (?, ?, NULL, NULL, ?, ?, 0, ?, ?, ?)`,
			a.Username, string(a.Role), a.ResidentID, a.PasswordHash, false, s.ts(a.PasswordChangedAt), s.ts(a.CreatedAt))
		if err != nil {
			return wrap(op, err)
		}
		a.ID, c.AccountID = id, id
		if _, err := tx.exec(ctx, `INSERT INTO signin_consents (resident_id, account_id, method, recorded_by, consent_at) VALUES (?, ?, ?, ?, ?)`,
			c.ResidentID, c.AccountID, c.Method, c.RecordedBy, s.ts(c.At)); err != nil {
			return wrap(op, err)
		}
		if ev.Role == care.RoleResident { // claimed by the resident: the row is the new account's (staff keep theirs)
			ev.AccountID = id
		}
		if ev.Detail == "" {
			ev.Detail = "account " + a.Username + " with the resident's consent (" + c.Method + ")"
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SigninConsent returns the consent behind resident id's account;
// ENOTFOUND if none was recorded.
func (s *Store) SigninConsent(ctx context.Context, residentID int64) (*account.Consent, error) {
	var c account.Consent
	err := s.read().row(ctx, `SELECT resident_id, account_id, method, recorded_by, consent_at FROM signin_consents WHERE resident_id = ?`, residentID).Scan(
		&c.ResidentID, &c.AccountID, &c.Method, &c.RecordedBy, tsOf(&c.At))
	if err != nil {
		return nil, wrap("store.SigninConsent", err)
	}
	return &c, nil
}

// ResidentAccount returns resident id's account; ENOTFOUND if none.
func (s *Store) ResidentAccount(ctx context.Context, id int64) (*account.Account, error) {
	var a account.Account
	if err := scanAccount(s.read().row(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.resident_id = ?`, id), &a); err != nil {
		return nil, wrap("store.ResidentAccount", err)
	}
	return &a, nil
}
