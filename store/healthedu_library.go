package store

import (
	"context"

	"countycare/audit"
	"countycare/care"
	"countycare/healthedu"
)

// EduEdition is a county's current edition of the advice library (0:
// none yet).
func (s *Store) EduEdition(ctx context.Context, county string) (int, error) {
	var n int
	err := s.read().row(ctx, `SELECT COALESCE(MAX(edition), 0) FROM edu_editions WHERE county_code = ?`, county).Scan(&n)
	return n, wrap("store.EduEdition", err)
}

// EduAdvice lists a county's current advice items by prefix and code,
// with the current edition.
func (s *Store) EduAdvice(ctx context.Context, county string) (int, []healthedu.AdviceRow, error) {
	const op = "store.EduAdvice"
	n, err := s.EduEdition(ctx, county)
	if err != nil || n == 0 {
		return n, nil, err
	}
	rows, err := s.read().query(ctx, `SELECT id, prefix, code, zh, en, since_edition, by_account, created_at FROM edu_advice
		WHERE county_code = ? AND until_edition IS NULL ORDER BY prefix, code`, county)
	if err != nil {
		return 0, nil, wrap(op, err)
	}
	defer rows.Close()
	var out []healthedu.AdviceRow
	for rows.Next() {
		var r healthedu.AdviceRow
		if err := rows.Scan(&r.ID, &r.Prefix, &r.Code, &r.ZH, &r.EN, &r.Since, &r.By, tsOf(&r.CreatedAt)); err != nil {
			return 0, nil, wrap(op, err)
		}
		r.EducationItem.Prefix = r.Prefix
		out = append(out, r)
	}
	return n, out, wrap(op, rows.Err())
}

// EduEditions lists a county's editions, newest first.
func (s *Store) EduEditions(ctx context.Context, county string, limit int) ([]healthedu.EditionInfo, error) {
	const op = "store.EduEditions"
	rows, err := s.read().query(ctx, `SELECT edition, kind, note, by_account, created_at FROM edu_editions WHERE county_code = ?
		ORDER BY edition DESC LIMIT ?`, county, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []healthedu.EditionInfo
	for rows.Next() {
		var e healthedu.EditionInfo
		if err := rows.Scan(&e.Edition, &e.Change, &e.Note, &e.By, tsOf(&e.At)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// ChangeEduAdvice stores a change as the county's next edition with its
// audit row in one transaction (healthedu.LibraryRepo): the seed as
// edition 1 first when c.Seen is 0, then the retirement and the addition
// as the next. A negative Retire names the seed's item at position
// -Retire-1. Errors: ECONFLICT healthedu.library_stale (another change
// took the edition), ENOTFOUND (Retire not current).
func (s *Store) ChangeEduAdvice(ctx context.Context, county string, c healthedu.LibraryChange, ev audit.Event) (int, error) {
	const op = "store.ChangeEduAdvice"
	next := c.Seen + 1
	err := s.Transact(ctx, func(tx db) error {
		edition := func(n int, kind, note string) error {
			_, err := tx.exec(ctx, `INSERT INTO edu_editions (county_code, edition, kind, note, by_account, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				county, n, kind, note, c.Info.By, s.ts(c.Info.At))
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "healthedu.library_stale", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		var cur int
		if err := tx.row(ctx, `SELECT COALESCE(MAX(edition), 0) FROM edu_editions WHERE county_code = ?`, county).Scan(&cur); err != nil {
			return wrap(op, err)
		}
		if cur != c.Seen {
			return &care.Error{Code: care.ECONFLICT, Key: "healthedu.library_stale", Op: op}
		}
		if c.Seen == 0 {
			if err := edition(1, "seed", ""); err != nil {
				return err
			}
			for i, a := range c.Seed {
				until := any(nil)
				if c.Retire == -int64(i+1) {
					until = 2
				}
				if _, err := tx.exec(ctx, `INSERT INTO edu_advice (county_code, prefix, code, zh, en, since_edition, until_edition, by_account, created_at)
					VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`, county, a.Prefix, a.Code, a.ZH, a.EN, until, c.Info.By, s.ts(c.Info.At)); err != nil {
					return wrap(op, err)
				}
			}
			next = 2
		}
		if err := edition(next, c.Info.Change, c.Info.Note); err != nil {
			return err
		}
		if c.Retire > 0 {
			res, err := tx.exec(ctx, `UPDATE edu_advice SET until_edition = ? WHERE county_code = ? AND id = ? AND until_edition IS NULL`, next, county, c.Retire)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return &care.Error{Code: care.ENOTFOUND, Key: "error.not_found", Op: op}
			}
		}
		if a := c.Add; a != nil {
			if _, err := tx.exec(ctx, `INSERT INTO edu_advice (county_code, prefix, code, zh, en, since_edition, by_account, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, county, a.Prefix, a.Code, a.ZH, a.EN, next, c.Info.By, s.ts(c.Info.At)); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}
