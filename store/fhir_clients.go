package store

import (
	"context"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/smart"
)

const fhirClientCols = `id, client_id, name, county_code, institution_id, scopes, jwks, active, created_by, created_at`

func scanFHIRClient(sc interface{ Scan(...any) error }, c *smart.Client) error {
	var scopes string
	if err := sc.Scan(&c.ID, &c.ClientID, &c.Name, &c.CountyCode, &c.InstitutionID, &scopes, &c.JWKS, &c.Active, &c.CreatedBy, tsOf(&c.CreatedAt)); err != nil {
		return err
	}
	c.Scopes = strings.Fields(scopes)
	return nil
}

// CreateSystemClient stores a SMART Backend Services client (smart.Store).
// Errors: ECONFLICT when its client_id is taken.
func (s *Store) CreateSystemClient(ctx context.Context, c *smart.Client, ev audit.Event) error {
	const op = "store.CreateSystemClient"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO fhir_clients (client_id, name, county_code, institution_id, scopes, jwks, active, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ClientID, c.Name, c.CountyCode, c.InstitutionID, strings.Join(c.Scopes, " "), c.JWKS, c.Active,
			c.CreatedBy, s.ts(c.CreatedAt))
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SystemClients lists a county's system clients, newest first.
func (s *Store) SystemClients(ctx context.Context, county string) ([]smart.Client, error) {
	const op = "store.SystemClients"
	rows, err := s.read().query(ctx, `SELECT `+fhirClientCols+` FROM fhir_clients WHERE county_code = ? ORDER BY id DESC`, county)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []smart.Client
	for rows.Next() {
		var c smart.Client
		if err := scanFHIRClient(rows, &c); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// SystemClient returns a system client by client_id. Errors: ENOTFOUND.
func (s *Store) SystemClient(ctx context.Context, clientID string) (*smart.Client, error) {
	var c smart.Client
	if err := scanFHIRClient(s.read().row(ctx, `SELECT `+fhirClientCols+` FROM fhir_clients WHERE client_id = ?`, clientID), &c); err != nil {
		return nil, wrap("store.SystemClient", err)
	}
	return &c, nil
}

// DeactivateSystemClient marks a county's client inactive and deletes its
// access tokens. Errors: ENOTFOUND.
func (s *Store) DeactivateSystemClient(ctx context.Context, county string, id int64, ev audit.Event) error {
	const op = "store.DeactivateSystemClient"
	return s.Transact(ctx, func(tx db) error {
		var clientID string
		if err := tx.row(ctx, `SELECT client_id FROM fhir_clients WHERE id = ? AND county_code = ?`, id, county).Scan(&clientID); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `UPDATE fhir_clients SET active = ? WHERE id = ?`, false, id); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM fhir_tokens WHERE client_id = ?`, clientID); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// UseAssertionID records a client assertion's jti until it expires, and
// forgets the expired ones. Errors: ECONFLICT when it was used before.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, expires, now time.Time) error {
	const op = "store.UseAssertionID"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM fhir_assertion_ids WHERE expires_at < ?`, s.ts(now)); err != nil {
			return wrap(op, err)
		}
		var one int
		err := tx.row(ctx, `SELECT 1 FROM fhir_assertion_ids WHERE client_id = ? AND jti = ?`, clientID, jti).Scan(&one)
		if err == nil {
			return care.Errorf(care.ECONFLICT, "error.conflict")
		} else if !care.IsCode(wrap(op, err), care.ENOTFOUND) {
			return wrap(op, err)
		}
		_, err = tx.exec(ctx, `INSERT INTO fhir_assertion_ids (client_id, jti, expires_at) VALUES (?, ?, ?)`, clientID, jti, s.ts(expires))
		return wrap(op, err)
	})
}

// SaveAccessToken stores an issued access token (its hash) and forgets
// the expired ones.
func (s *Store) SaveAccessToken(ctx context.Context, t *smart.Token) error {
	const op = "store.SaveAccessToken"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM fhir_tokens WHERE expires_at < ?`, s.ts(t.ExpiresAt.Add(-24*time.Hour))); err != nil {
			return wrap(op, err)
		}
		_, err := tx.exec(ctx, `INSERT INTO fhir_tokens (token_hash, client_id, scopes, expires_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.ClientID, strings.Join(t.Scopes, " "), s.ts(t.ExpiresAt))
		return wrap(op, err)
	})
}

// AccessToken returns the unexpired token whose hash is hash. Errors:
// ENOTFOUND.
func (s *Store) AccessToken(ctx context.Context, hash string, now time.Time) (*smart.Token, error) {
	var t smart.Token
	var scopes string
	if err := s.read().row(ctx, `SELECT token_hash, client_id, scopes, expires_at FROM fhir_tokens WHERE token_hash = ? AND expires_at > ?`,
		hash, s.ts(now)).Scan(&t.Hash, &t.ClientID, &scopes, tsOf(&t.ExpiresAt)); err != nil {
		return nil, wrap("store.AccessToken", err)
	}
	t.Scopes = strings.Fields(scopes)
	return &t, nil
}
