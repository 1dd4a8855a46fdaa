package store

import (
	"context"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/proxy"
)

const grantCols = `g.id, g.county_code, g.ward_id, g.proxy_id, g.kind, g.granted_by, g.granted_at, g.expires_at, g.revoked_at, g.revoked_by`

func scanGrant(sc interface{ Scan(...any) error }, g *proxy.Grant, extra ...any) error {
	return sc.Scan(append([]any{&g.ID, &g.CountyCode, &g.WardID, &g.ProxyID, &g.Kind, &g.GrantedBy, tsOf(&g.GrantedAt), tsOf(&g.ExpiresAt),
		tsOf(&g.RevokedAt), &g.RevokedBy}, extra...)...)
}

// CreateGrant stores g with ev in one transaction; a live grant of the
// same pair is ECONFLICT (proxy_grants_live).
func (s *Store) CreateGrant(ctx context.Context, g *proxy.Grant, ev audit.Event) error {
	const op = "store.CreateGrant"
	return s.Transact(ctx, func(tx db) error {
		// An expired grant (a guardian's, past the ward's 18th birthday)
		// no longer holds the pair's place.
		if _, err := tx.exec(ctx, `UPDATE proxy_grants SET revoked_at = expires_at WHERE ward_id = ? AND proxy_id = ? AND revoked_at IS NULL AND expires_at <= ?`,
			g.WardID, g.ProxyID, s.ts(g.GrantedAt)); err != nil {
			return wrap(op, err)
		}
		id, err := tx.insert(ctx, `INSERT INTO proxy_grants (county_code, ward_id, proxy_id, kind, granted_by, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.CountyCode, g.WardID, g.ProxyID, string(g.Kind), g.GrantedBy, s.ts(g.GrantedAt), s.ts(g.ExpiresAt))
		if err != nil {
			return wrap(op, err)
		}
		g.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// ProxyGrant returns one grant; ENOTFOUND if none.
func (s *Store) ProxyGrant(ctx context.Context, id int64) (*proxy.Grant, error) {
	var g proxy.Grant
	if err := scanGrant(s.read().row(ctx, `SELECT `+grantCols+` FROM proxy_grants g WHERE g.id = ?`, id), &g); err != nil {
		return nil, wrap("store.ProxyGrant", err)
	}
	return &g, nil
}

func (s *Store) grants(ctx context.Context, op, where string, id int64, now time.Time) ([]proxy.Grant, error) {
	rows, err := s.read().query(ctx, `SELECT `+grantCols+`, COALESCE(w.name, ''), COALESCE(p.name, '') FROM proxy_grants g
		LEFT JOIN residents w ON w.id = g.ward_id LEFT JOIN residents p ON p.id = g.proxy_id
		WHERE `+where+` = ? AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?) ORDER BY g.granted_at, g.id`, id, s.ts(now))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []proxy.Grant
	for rows.Next() {
		var g proxy.Grant
		if err := scanGrant(rows, &g, &g.WardName, &g.ProxyName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, g)
	}
	return out, wrap(op, rows.Err())
}

// GrantsOfWard lists the ward's grants live at now, with names.
func (s *Store) GrantsOfWard(ctx context.Context, wardID int64, now time.Time) ([]proxy.Grant, error) {
	return s.grants(ctx, "store.GrantsOfWard", "g.ward_id", wardID, now)
}

// GrantsOfProxy lists the proxy's grants live at now, with names.
func (s *Store) GrantsOfProxy(ctx context.Context, proxyID int64, now time.Time) ([]proxy.Grant, error) {
	return s.grants(ctx, "store.GrantsOfProxy", "g.proxy_id", proxyID, now)
}

// RevokeGrant marks grant id revoked (ECONFLICT if it was already) and
// returns the proxy's sessions viewing the ward to their own record, with
// ev, in one transaction. It returns the proxy's account (0 if none).
func (s *Store) RevokeGrant(ctx context.Context, id, by int64, now time.Time, ev audit.Event) (int64, error) {
	const op = "store.RevokeGrant"
	var acc int64
	err := s.Transact(ctx, func(tx db) error {
		var ward, prox int64
		if err := tx.row(ctx, `UPDATE proxy_grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL RETURNING ward_id, proxy_id`,
			s.ts(now), by, id).Scan(&ward, &prox); err != nil {
			if care.IsCode(wrap(op, err), care.ENOTFOUND) {
				return care.Errorf(care.ECONFLICT, "proxy.not_found")
			}
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `UPDATE sessions SET acting_resident_id = NULL WHERE acting_resident_id = ?
			AND account_id IN (SELECT id FROM accounts WHERE resident_id = ?)`, ward, prox); err != nil {
			return wrap(op, err)
		}
		if err := tx.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM accounts WHERE resident_id = ?`, prox).Scan(&acc); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return acc, err
}

// SetActing records which resident's record session id views (0: its
// account's own).
func (s *Store) SetActing(ctx context.Context, sessionID, residentID int64) error {
	return s.Transact(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `UPDATE sessions SET acting_resident_id = ? WHERE id = ?`, nullID(residentID), sessionID)
		return wrap("store.SetActing", err)
	})
}
