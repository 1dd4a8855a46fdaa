package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/resident"
)

const residentCols = `r.id, r.county_code, r.record_number, r.id_number, r.name, r.sex, r.birth_date, r.phone, r.address, r.village_id, r.household_id, r.relation, r.poverty, r.disability_grade, r.pregnancy_edd, r.status, r.merged_into, r.created_at, r.updated_at, r.version`

func scanResident(sc interface{ Scan(...any) error }, r *resident.Resident, extra ...any) error {
	dst := []any{&r.ID, &r.CountyCode, &r.RecordNumber, &r.IDNumber, &r.Name, &r.Sex, &r.BirthDate, &r.Phone, &r.Address, &r.VillageID, idOf(&r.HouseholdID),
		&r.Relation, &r.Poverty, &r.DisabilityGrade, &r.PregnancyEDD, &r.Status, idOf(&r.MergedInto), tsOf(&r.CreatedAt), tsOf(&r.UpdatedAt), &r.Version}
	return sc.Scan(append(dst, extra...)...)
}

func collectResidents(op string, rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]resident.Resident, error) {
	defer rows.Close()
	var out []resident.Resident
	for rows.Next() {
		var r resident.Resident
		if err := scanResident(rows, &r); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// Resident returns one resident record in any status; ENOTFOUND if none.
func (s *Store) Resident(ctx context.Context, id int64) (*resident.Resident, error) {
	var r resident.Resident
	if err := scanResident(s.read().row(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.id = ?`, id), &r); err != nil {
		return nil, wrap("store.Resident", err)
	}
	return &r, nil
}

// ResidentScoped returns a resident record and whether scope sc covers
// it, in one query whatever the answer, so a resident out of scope costs
// the same as one in scope or one that does not exist. ENOTFOUND if none.
func (s *Store) ResidentScoped(ctx context.Context, id int64, sc access.Scope, now time.Time) (*resident.Resident, bool, error) {
	where, args := s.scopeWhere(sc, now)
	var r resident.Resident
	var allowed int
	err := scanResident(s.read().row(ctx, `SELECT `+residentCols+`, CASE WHEN `+where+` THEN 1 ELSE 0 END FROM residents r WHERE r.id = ?`,
		append(args, id)...), &r, &allowed)
	if err != nil {
		return nil, false, wrap("store.ResidentScoped", err)
	}
	return &r, allowed == 1, nil
}

// LinkedInstitutions returns the institutions with a live care link to
// the resident at now (for access.Subject.LinkedTo).
func (s *Store) LinkedInstitutions(ctx context.Context, countyCode string, residentID int64, now time.Time) ([]int64, error) {
	rows, err := s.read().query(ctx, `SELECT DISTINCT institution_id FROM care_links WHERE county_code = ? AND resident_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
		countyCode, residentID, s.ts(now))
	if err != nil {
		return nil, wrap("store.LinkedInstitutions", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("store.LinkedInstitutions", err)
		}
		ids = append(ids, id)
	}
	return ids, wrap("store.LinkedInstitutions", rows.Err())
}

// scopeWhere returns a condition on residents alias r for scope sc at now.
func (s *Store) scopeWhere(sc access.Scope, now time.Time) (string, []any) {
	switch sc.Kind {
	case access.ScopeManaged:
		if len(sc.Institutions) == 0 {
			return "1 = 0", nil
		}
		return `r.county_code = ? AND r.village_id IN (` + placeholders(len(sc.Institutions)) + `)`,
			append([]any{sc.CountyCode}, int64Args(sc.Institutions)...)
	case access.ScopeCareLinks:
		if len(sc.Institutions) == 0 {
			return "1 = 0", nil
		}
		return `r.county_code = ? AND EXISTS (SELECT 1 FROM care_links l WHERE l.county_code = r.county_code AND l.resident_id = r.id
			AND l.institution_id IN (` + placeholders(len(sc.Institutions)) + `) AND (l.expires_at IS NULL OR l.expires_at > ?))`,
			append(append([]any{sc.CountyCode}, int64Args(sc.Institutions)...), s.ts(now))
	case access.ScopeCounty:
		return `r.county_code = ?`, []any{sc.CountyCode}
	case access.ScopeSelf:
		return `r.id = ?`, []any{sc.ResidentID}
	}
	return "1 = 0", nil
}

// SearchResidents finds active residents in scope sc matching q, with
// the filter f, at most f.Limit (default 20). more reports whether there
// were further matches. Name queries are prefix searches on the token
// index; ID, record and phone queries are exact.
func (s *Store) SearchResidents(ctx context.Context, sc access.Scope, q resident.Query, f resident.Filter, now time.Time) (res []resident.Resident, more bool, err error) {
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	where, args := s.scopeWhere(sc, now)
	cond := ` AND r.status = 'active'`
	var fargs []any
	if f.Poverty != "" {
		if f.Poverty == resident.PovertyAny {
			cond += ` AND r.poverty <> ''`
		} else {
			cond += ` AND r.poverty = ?`
			fargs = append(fargs, string(f.Poverty))
		}
	}
	if !f.BornOnOrBefore.IsZero() {
		cond += ` AND r.birth_date <= ?`
		fargs = append(fargs, f.BornOnOrBefore)
	}
	if !f.BornOnOrAfter.IsZero() {
		cond += ` AND r.birth_date >= ?`
		fargs = append(fargs, f.BornOnOrAfter)
	}
	if f.DisabledOnly {
		cond += ` AND r.disability_grade > 0`
	}
	if f.PregnantOn.Year != 0 {
		cond += ` AND r.pregnancy_edd IS NOT NULL AND r.pregnancy_edd >= ? AND r.pregnancy_edd <= ?`
		fargs = append(fargs, f.PregnantOn.AddDays(-resident.PostpartumDays), f.PregnantOn.AddDays(resident.PregnancyDays))
	}
	county := sc.CountyCode
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}
	switch {
	case q.Text == "" && sc.Kind == access.ScopeCareLinks:
		return s.browseLinked(ctx, sc, cond, fargs, limit, now)
	case q.Text == "":
		// Browse: the scope's residents in record-number order, a page at a
		// time (keyset: after the last record number of the previous page).
		if f.AfterRecord != "" {
			cond += ` AND r.record_number > ?`
			fargs = append(fargs, f.AfterRecord)
		}
		rows, err = s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE `+where+cond+` ORDER BY r.county_code, r.record_number LIMIT ?`,
			append(append(args, fargs...), limit+1)...)
	case q.Kind == resident.QueryIDNumber:
		rows, err = s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.id_number = ? AND `+where+cond+` LIMIT ?`,
			append(append(append([]any{county, q.Text}, args...), fargs...), limit+1)...)
	case q.Kind == resident.QueryRecord:
		rows, err = s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.record_number = ? AND `+where+cond+` LIMIT ?`,
			append(append(append([]any{county, q.Text}, args...), fargs...), limit+1)...)
	case q.Kind == resident.QueryPhone:
		rows, err = s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.phone = ? AND `+where+cond+` LIMIT ?`,
			append(append(append([]any{county, q.Text}, args...), fargs...), limit+1)...)
	default:
		return s.searchByToken(ctx, sc, q.Text, where, args, cond, fargs, limit, now)
	}
	if err != nil {
		return nil, false, wrap("store.SearchResidents", err)
	}
	res, err = collectResidents("store.SearchResidents", rows)
	if len(res) > limit {
		return res[:limit], true, err
	}
	return res, false, err
}

// searchByToken is the name/pinyin prefix search. It reads token rows in
// index order (one range per managing institution, or one per county),
// joins the resident, drops residents matched twice, and ranks exact
// matches first.
func (s *Store) searchByToken(ctx context.Context, sc access.Scope, prefix, where string, args []any, cond string, fargs []any, limit int, now time.Time) ([]resident.Resident, bool, error) {
	// Fetch more rows than needed: one resident can match several tokens
	// (zs, zhangsan, …) with the same prefix.
	fetch := limit*4 + 1
	var q string
	var all []any
	switch sc.Kind {
	case access.ScopeManaged:
		q = `SELECT ` + residentCols + `, t.token FROM resident_tokens t JOIN residents r ON r.id = t.resident_id
			WHERE t.county_code = ? AND t.village_id IN (` + placeholders(len(sc.Institutions)) + `) AND t.token >= ? AND t.token < ? AND ` + where + cond + ` LIMIT ?`
		all = append(append([]any{sc.CountyCode}, int64Args(sc.Institutions)...), prefix, prefix+maxRune)
		all = append(append(append(all, args...), fargs...), fetch)
	case access.ScopeCareLinks:
		// Linked patients are few: start from the links, then their tokens.
		// CROSS JOIN fixes that order on SQLite; PostgreSQL plans it by cost.
		q = `SELECT ` + residentCols + `, t.token FROM care_links l CROSS JOIN resident_tokens t CROSS JOIN residents r
			WHERE l.county_code = ? AND l.institution_id IN (` + placeholders(len(sc.Institutions)) + `) AND (l.expires_at IS NULL OR l.expires_at > ?)
			AND t.county_code = l.county_code AND t.resident_id = l.resident_id AND t.token >= ? AND t.token < ?
			AND r.id = l.resident_id AND r.county_code = l.county_code` + cond + ` LIMIT ?`
		all = append(append([]any{sc.CountyCode}, int64Args(sc.Institutions)...), s.ts(now), prefix, prefix+maxRune)
		all = append(append(all, fargs...), fetch)
	default:
		// County scope: one primary-key range per institution of the county
		// (there is no county-wide token index; migration 0014).
		q = `SELECT ` + residentCols + `, t.token FROM resident_tokens t JOIN residents r ON r.id = t.resident_id
			WHERE t.county_code = ? AND t.village_id IN (SELECT id FROM institutions WHERE county_code = ?) AND t.token >= ? AND t.token < ? AND ` + where + cond + ` LIMIT ?`
		all = append(append(append([]any{sc.CountyCode, sc.CountyCode, prefix, prefix + maxRune}, args...), fargs...), fetch)
	}
	rows, err := s.read().query(ctx, q, all...)
	if err != nil {
		return nil, false, wrap("store.SearchResidents", err)
	}
	defer rows.Close()
	type hit struct {
		r     resident.Resident
		exact bool
	}
	seen := map[int64]int{}
	var hits []hit
	n := 0
	for rows.Next() {
		n++
		var r resident.Resident
		var tok string
		if err := scanResident(rows, &r, &tok); err != nil {
			return nil, false, wrap("store.SearchResidents", err)
		}
		if i, ok := seen[r.ID]; ok {
			hits[i].exact = hits[i].exact || tok == prefix
			continue
		}
		seen[r.ID] = len(hits)
		hits = append(hits, hit{r, tok == prefix})
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap("store.SearchResidents", err)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].exact != hits[j].exact {
			return hits[i].exact
		}
		return hits[i].r.Name < hits[j].r.Name
	})
	more := len(hits) > limit || n == fetch
	if len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]resident.Resident, len(hits))
	for i := range hits {
		out[i] = hits[i].r
	}
	return out, more, nil
}

// browseLinked lists the residents linked to the scope's institutions,
// most recently linked first (a county specialist's "my patients").
func (s *Store) browseLinked(ctx context.Context, sc access.Scope, cond string, fargs []any, limit int, now time.Time) ([]resident.Resident, bool, error) {
	if len(sc.Institutions) == 0 {
		return nil, false, nil
	}
	q := `SELECT ` + residentCols + ` FROM care_links l CROSS JOIN residents r
		WHERE l.county_code = ? AND l.institution_id IN (` + placeholders(len(sc.Institutions)) + `) AND (l.expires_at IS NULL OR l.expires_at > ?)
		AND r.id = l.resident_id AND r.county_code = l.county_code` + cond + ` ORDER BY l.created_at DESC, l.id DESC LIMIT ?`
	all := append(append(append([]any{sc.CountyCode}, int64Args(sc.Institutions)...), s.ts(now)), fargs...)
	rows, err := s.read().query(ctx, q, append(all, limit*4+1)...)
	if err != nil {
		return nil, false, wrap("store.SearchResidents", err)
	}
	list, err := collectResidents("store.SearchResidents", rows)
	if err != nil {
		return nil, false, err
	}
	seen := map[int64]bool{}
	var out []resident.Resident
	for _, r := range list {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	more := len(out) > limit || len(list) == limit*4+1
	if len(out) > limit {
		out = out[:limit]
	}
	return out, more, nil
}

// ResidentsByIDNumber returns the unmerged records with ID number n in a county.
func (s *Store) ResidentsByIDNumber(ctx context.Context, county, n string) ([]resident.Resident, error) {
	rows, err := s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.id_number = ? AND r.status <> 'merged' ORDER BY r.id`, county, n)
	if err != nil {
		return nil, wrap("store.ResidentsByIDNumber", err)
	}
	return collectResidents("store.ResidentsByIDNumber", rows)
}

// villageInfo reads what numbering needs to know of a managing institution.
func villageInfo(ctx context.Context, tx db, id int64) (county, area string, err error) {
	err = tx.row(ctx, `SELECT county_code, area_code FROM institutions WHERE id = ?`, id).Scan(&county, &area)
	return
}

// nextSequence takes the next record or household number of a village.
func (s *Store) nextSequence(ctx context.Context, tx db, villageID int64, col string) (int, error) {
	if _, err := tx.exec(ctx, `INSERT INTO village_sequences (village_id) VALUES (?) ON CONFLICT (village_id) DO NOTHING`, villageID); err != nil {
		return 0, err
	}
	var n int
	if err := tx.row(ctx, `UPDATE village_sequences SET `+col+` = `+col+` + 1 WHERE village_id = ? RETURNING `+col+` - 1`, villageID).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// CreateResident registers r: it numbers the record (health record
// number from the village's area code), creates a household with r as
// head when r.HouseholdID is 0, indexes the name for search and appends
// the audit row, all in one transaction. The village must have a 12-digit
// area code (EINVALID otherwise); a household of another village is EINVALID.
//
// An ID number already held by an unmerged record of the county is
// ECONFLICT (resident.duplicate_elsewhere). The check is made inside the
// transaction, serialised with every other registration of that number
// (see lockRegistration), so two simultaneous registrations of one person
// cannot both succeed.
func (s *Store) CreateResident(ctx context.Context, r *resident.Resident, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error { return s.createResident(ctx, tx, r, ev, nil) })
}

// ImportResidents registers households of residents in one transaction:
// the first member of each household creates it, the others join it.
// Each resident gets its own audit row (ev with the resident filled in).
// Any failure writes nothing; an ID number already registered in the
// county is ECONFLICT, as for CreateResident.
func (s *Store) ImportResidents(ctx context.Context, households [][]*resident.Resident, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		locked := map[string]bool{}
		for _, h := range households {
			for i, r := range h {
				if i > 0 {
					r.HouseholdID = h[0].HouseholdID
				}
				if err := s.createResident(ctx, tx, r, ev, locked); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// lockRegistration makes checking that an ID number is free and then
// registering it atomic. SQLite needs nothing: write transactions begin
// IMMEDIATE on the one writer connection, so they run one at a time. On
// PostgreSQL a registration takes a transaction advisory lock on county
// and ID number (exclusive) after one on the county (shared); an import,
// which would otherwise need thousands of number locks, takes the county
// lock exclusively once (imported is the set of counties it holds).
func (s *Store) lockRegistration(ctx context.Context, tx db, county, idNumber string, imported map[string]bool) error {
	if s.dialect != Postgres {
		return nil
	}
	if imported != nil {
		if imported[county] {
			return nil
		}
		imported[county] = true
		_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "residents:"+county)
		return err
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtext(?))`, "residents:"+county); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, county+idNumber)
	return err
}

// createResident registers r inside tx. imported is nil for a single
// registration and the set of county locks held for an import.
func (s *Store) createResident(ctx context.Context, tx db, r *resident.Resident, ev audit.Event, imported map[string]bool) error {
	const op = "store.CreateResident"
	now := s.now()
	r.CreatedAt, r.UpdatedAt, r.Version, r.Status = now, now, 1, resident.StatusActive
	county, area, err := villageInfo(ctx, tx, r.VillageID)
	if err != nil {
		return wrap(op, err)
	}
	if len(area) != 12 {
		return &care.Error{Code: care.EINVALID, Key: "resident.village_not_numbered", Fields: []care.FieldError{{Field: "village_id", Key: "resident.village_not_numbered"}}}
	}
	r.CountyCode = county
	if r.IDNumber != "" {
		if err := s.lockRegistration(ctx, tx, county, string(r.IDNumber), imported); err != nil {
			return wrap(op, err)
		}
		var n int
		if err := tx.row(ctx, `SELECT COUNT(*) FROM residents WHERE county_code = ? AND id_number = ? AND status <> 'merged'`, county, string(r.IDNumber)).Scan(&n); err != nil {
			return wrap(op, err)
		}
		if n > 0 {
			return &care.Error{Code: care.ECONFLICT, Key: "resident.duplicate_elsewhere", Op: op,
				Fields: []care.FieldError{{Field: "id_number", Key: "resident.duplicate_elsewhere"}}}
		}
	}
	seq, err := s.nextSequence(ctx, tx, r.VillageID, "next_record")
	if err != nil {
		return wrap(op, err)
	}
	if r.RecordNumber, err = resident.RecordNumber(area, seq); err != nil {
		return &care.Error{Code: care.ECONFLICT, Key: "resident.village_full", Op: op, Err: err}
	}
	newHousehold := r.HouseholdID == 0
	if newHousehold {
		hseq, err := s.nextSequence(ctx, tx, r.VillageID, "next_household")
		if err != nil {
			return wrap(op, err)
		}
		r.HouseholdID, err = tx.insert(ctx, `INSERT INTO households (county_code, village_id, number, address, created_at) VALUES (?, ?, ?, ?, ?)`,
			county, r.VillageID, fmt.Sprintf("%s%04d", area, hseq), r.Address, s.ts(now))
		if err != nil {
			return wrap(op, err)
		}
	} else {
		var hv int64
		var hc string
		if err := tx.row(ctx, `SELECT village_id, county_code FROM households WHERE id = ?`, r.HouseholdID).Scan(&hv, &hc); err != nil {
			return &care.Error{Code: care.EINVALID, Key: "resident.household_unknown", Fields: []care.FieldError{{Field: "household_id", Key: "resident.household_unknown"}}, Err: err}
		}
		if hv != r.VillageID || hc != county {
			return &care.Error{Code: care.EINVALID, Key: "resident.household_other_village", Fields: []care.FieldError{{Field: "household_id", Key: "resident.household_other_village"}}}
		}
	}
	r.ID, err = tx.insert(ctx, `INSERT INTO residents (county_code, record_number, id_number, name, sex, birth_date, phone, address, village_id, household_id, relation, poverty, disability_grade, pregnancy_edd, status, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		county, r.RecordNumber, string(r.IDNumber), r.Name, string(r.Sex), r.BirthDate, r.Phone, r.Address, r.VillageID, r.HouseholdID,
		string(r.Relation), string(r.Poverty), r.DisabilityGrade, r.PregnancyEDD, string(r.Status), s.ts(now), s.ts(now))
	if err != nil {
		return wrap(op, err)
	}
	if newHousehold {
		if _, err := tx.exec(ctx, `UPDATE households SET head_id = ? WHERE id = ?`, r.ID, r.HouseholdID); err != nil {
			return wrap(op, err)
		}
	}
	if err := s.writeTokens(ctx, tx, r); err != nil {
		return wrap(op, err)
	}
	if err := s.insertForeignIDs(ctx, tx, r); err != nil {
		return err
	}
	ev.ResidentID, ev.CountyCode = r.ID, county
	if ev.Detail == "" {
		ev.Detail = "record " + r.RecordNumber
	} else {
		ev.Detail += "; record " + r.RecordNumber
	}
	return s.appendAudit(ctx, tx, ev)
}

func (s *Store) writeTokens(ctx context.Context, tx db, r *resident.Resident) error {
	if _, err := tx.exec(ctx, `DELETE FROM resident_tokens WHERE county_code = ? AND resident_id = ?`, r.CountyCode, r.ID); err != nil {
		return err
	}
	toks := resident.SearchTokens(r.Name)
	if len(toks) == 0 {
		return nil
	}
	q := `INSERT INTO resident_tokens (county_code, village_id, token, resident_id) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(toks)), ", ")
	args := make([]any, 0, 4*len(toks))
	for _, t := range toks {
		args = append(args, r.CountyCode, r.VillageID, t, r.ID)
	}
	_, err := tx.exec(ctx, q, args...)
	return err
}

// UpdateResident saves r if r.Version is still current (ECONFLICT if
// someone else changed it first), re-indexes the name and appends the
// audit row. The caller has validated r. A changed ID number must be free
// in the county (checked under the registration lock, like a new
// registration: ECONFLICT resident.duplicate_elsewhere otherwise).
func (s *Store) UpdateResident(ctx context.Context, r *resident.Resident, ev audit.Event) error {
	const op = "store.UpdateResident"
	now := s.now()
	return s.Transact(ctx, func(tx db) error {
		if r.IDNumber != "" {
			var current string
			if err := tx.row(ctx, `SELECT id_number FROM residents WHERE id = ?`, r.ID).Scan(&current); err != nil {
				return wrap(op, err)
			}
			if current != string(r.IDNumber) {
				if err := s.lockRegistration(ctx, tx, r.CountyCode, string(r.IDNumber), nil); err != nil {
					return wrap(op, err)
				}
				var n int
				if err := tx.row(ctx, `SELECT COUNT(*) FROM residents WHERE county_code = ? AND id_number = ? AND status <> 'merged' AND id <> ?`,
					r.CountyCode, string(r.IDNumber), r.ID).Scan(&n); err != nil {
					return wrap(op, err)
				}
				if n > 0 {
					return &care.Error{Code: care.ECONFLICT, Key: "resident.duplicate_elsewhere", Op: op,
						Fields: []care.FieldError{{Field: "id_number", Key: "resident.duplicate_elsewhere"}}}
				}
			}
		}
		res, err := tx.exec(ctx, `UPDATE residents SET id_number = ?, name = ?, sex = ?, birth_date = ?, phone = ?, address = ?, relation = ?, poverty = ?,
			disability_grade = ?, pregnancy_edd = ?, status = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? AND status <> 'merged'`,
			string(r.IDNumber), r.Name, string(r.Sex), r.BirthDate, r.Phone, r.Address, string(r.Relation), string(r.Poverty),
			r.DisabilityGrade, r.PregnancyEDD, string(r.Status), s.ts(now), r.ID, r.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &care.Error{Code: care.ECONFLICT, Key: "resident.stale", Op: op}
		}
		r.Version++
		r.UpdatedAt = now
		if err := s.writeTokens(ctx, tx, r); err != nil {
			return wrap(op, err)
		}
		ev.ResidentID, ev.CountyCode = r.ID, r.CountyCode
		return s.appendAudit(ctx, tx, ev)
	})
}

// MergeResidents merges record `merged` into `survivor`: the merged record
// stays, marked merged and pointing at the survivor; the survivor takes
// the merged record's phone and address where its own are empty; care
// links are copied to the survivor; audit rows keep the resident IDs they
// were written with. Both must be active records of one county
// (EINVALID otherwise) and unchanged since the caller read them
// (versions; ECONFLICT otherwise).
func (s *Store) MergeResidents(ctx context.Context, survivor, merged *resident.Resident, ev audit.Event) error {
	const op = "store.MergeResidents"
	now := s.now()
	return s.Transact(ctx, func(tx db) error {
		// Lock both rows first, in ascending id order, so two merges of one
		// pair in opposite directions wait for each other instead of each
		// updating one row and deadlocking on the other (the later then
		// finds a changed version: ECONFLICT). SQLite has one writer.
		if s.dialect == Postgres {
			if _, err := tx.exec(ctx, `SELECT id FROM residents WHERE id IN (?, ?) ORDER BY id FOR UPDATE`, min(survivor.ID, merged.ID), max(survivor.ID, merged.ID)); err != nil {
				return wrap(op, err)
			}
		}
		res, err := tx.exec(ctx, `UPDATE residents SET status = 'merged', merged_into = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? AND status = 'active' AND county_code = ?`, survivor.ID, s.ts(now), merged.ID, merged.Version, survivor.CountyCode)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &care.Error{Code: care.ECONFLICT, Key: "resident.stale", Op: op}
		}
		res, err = tx.exec(ctx, `UPDATE residents SET
				phone = CASE WHEN phone = '' THEN ? ELSE phone END,
				address = CASE WHEN address = '' THEN ? ELSE address END,
				updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? AND status = 'active'`, merged.Phone, merged.Address, s.ts(now), survivor.ID, survivor.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &care.Error{Code: care.ECONFLICT, Key: "resident.stale", Op: op}
		}
		if _, err := tx.exec(ctx, `DELETE FROM resident_tokens WHERE county_code = ? AND resident_id = ?`, merged.CountyCode, merged.ID); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at, expires_at)
			SELECT county_code, ?, institution_id, kind, reason, created_by, created_at, expires_at FROM care_links WHERE county_code = ? AND resident_id = ?`,
			survivor.ID, merged.CountyCode, merged.ID); err != nil {
			return wrap(op, err)
		}
		ev.ResidentID, ev.CountyCode = survivor.ID, survivor.CountyCode
		ev2 := ev
		ev2.ResidentID = merged.ID
		ev.Detail = fmt.Sprintf("merged %s (id %d) into this record", merged.RecordNumber, merged.ID)
		ev2.Detail = fmt.Sprintf("merged into %s (id %d)", survivor.RecordNumber, survivor.ID)
		return s.appendAudit(ctx, tx, ev, ev2)
	})
}

// DuplicateGroups returns groups of active records in scope sharing an ID
// number, at most limit groups.
func (s *Store) DuplicateGroups(ctx context.Context, sc access.Scope, limit int, now time.Time) ([][]resident.Resident, error) {
	const op = "store.DuplicateGroups"
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	where, args := s.scopeWhere(sc, now)
	rows, err := s.read().query(ctx, `SELECT r.id_number FROM residents r WHERE `+where+` AND r.status = 'active' AND r.id_number <> ''
		GROUP BY r.id_number HAVING COUNT(*) > 1 ORDER BY r.id_number LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var numbers []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		numbers = append(numbers, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(numbers) == 0 {
		return nil, wrap(op, err)
	}
	q := `SELECT ` + residentCols + ` FROM residents r WHERE r.county_code = ? AND r.id_number IN (` + placeholders(len(numbers)) + `) AND r.status = 'active' AND ` + where + ` ORDER BY r.id_number, r.id`
	all := []any{sc.CountyCode}
	for _, n := range numbers {
		all = append(all, n)
	}
	rs, err := s.read().query(ctx, q, append(all, args...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	list, err := collectResidents(op, rs)
	if err != nil {
		return nil, err
	}
	var groups [][]resident.Resident
	for i := 0; i < len(list); {
		j := i
		for j < len(list) && list[j].IDNumber == list[i].IDNumber {
			j++
		}
		if j-i > 1 {
			groups = append(groups, list[i:j])
		}
		i = j
	}
	return groups, nil
}

// Household returns a household and its members (any status but merged).
func (s *Store) Household(ctx context.Context, id int64) (*resident.Household, []resident.Resident, error) {
	const op = "store.Household"
	var h resident.Household
	err := s.read().row(ctx, `SELECT id, county_code, village_id, number, address, head_id, created_at FROM households WHERE id = ?`, id).
		Scan(&h.ID, &h.CountyCode, &h.VillageID, &h.Number, &h.Address, idOf(&h.HeadID), tsOf(&h.CreatedAt))
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	rows, err := s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.household_id = ? AND r.status <> 'merged' ORDER BY r.id`, h.CountyCode, id)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	members, err := collectResidents(op, rows)
	return &h, members, err
}

// HouseholdIDByNumber returns the id of the county's household with
// number (households' unique county_code, number); ENOTFOUND if none.
func (s *Store) HouseholdIDByNumber(ctx context.Context, county, number string) (int64, error) {
	var id int64
	err := s.read().row(ctx, `SELECT id FROM households WHERE county_code = ? AND number = ?`, county, number).Scan(&id)
	return id, wrap("store.HouseholdIDByNumber", err)
}

// AddCareLink stores a care link with its audit row.
func (s *Store) AddCareLink(ctx context.Context, l *access.CareLink, ev audit.Event) error {
	l.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			l.CountyCode, l.ResidentID, l.InstitutionID, l.Kind, l.Reason, l.CreatedBy, s.ts(l.CreatedAt), s.ts(l.ExpiresAt))
		if err != nil {
			return wrap("store.AddCareLink", err)
		}
		l.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// CareLinks returns the care links of a resident, newest first.
func (s *Store) CareLinks(ctx context.Context, countyCode string, residentID int64) ([]access.CareLink, error) {
	rows, err := s.read().query(ctx, `SELECT id, county_code, resident_id, institution_id, kind, reason, created_by, created_at, expires_at FROM care_links
		WHERE county_code = ? AND resident_id = ? ORDER BY created_at DESC, id DESC`, countyCode, residentID)
	if err != nil {
		return nil, wrap("store.CareLinks", err)
	}
	defer rows.Close()
	var out []access.CareLink
	for rows.Next() {
		var l access.CareLink
		if err := rows.Scan(&l.ID, &l.CountyCode, &l.ResidentID, &l.InstitutionID, &l.Kind, &l.Reason, &l.CreatedBy, tsOf(&l.CreatedAt), tsOf(&l.ExpiresAt)); err != nil {
			return nil, wrap("store.CareLinks", err)
		}
		out = append(out, l)
	}
	return out, wrap("store.CareLinks", rows.Err())
}

// ResidentCounts returns, per managing institution of a county, the
// number of active residents and of each key group on day.
func (s *Store) ResidentCounts(ctx context.Context, county string, day care.Date) ([]resident.VillageCounts, error) {
	old := resident.FilterForGroup(resident.KeyElderly, day).BornOnOrBefore
	young := resident.FilterForGroup(resident.KeyChild, day).BornOnOrAfter
	rows, err := s.read().query(ctx, `SELECT village_id, COUNT(*),
			SUM(CASE WHEN birth_date <= ? THEN 1 ELSE 0 END),
			SUM(CASE WHEN birth_date >= ? THEN 1 ELSE 0 END),
			SUM(CASE WHEN pregnancy_edd >= ? AND pregnancy_edd <= ? THEN 1 ELSE 0 END),
			SUM(CASE WHEN disability_grade > 0 THEN 1 ELSE 0 END),
			SUM(CASE WHEN poverty <> '' THEN 1 ELSE 0 END)
		FROM residents WHERE county_code = ? AND status = 'active' GROUP BY village_id ORDER BY village_id`,
		old, young, day.AddDays(-resident.PostpartumDays), day.AddDays(resident.PregnancyDays), county)
	if err != nil {
		return nil, wrap("store.ResidentCounts", err)
	}
	defer rows.Close()
	var out []resident.VillageCounts
	for rows.Next() {
		var c resident.VillageCounts
		if err := rows.Scan(&c.VillageID, &c.Total, &c.Elderly, &c.Children, &c.Pregnant, &c.Disabled, &c.Poor); err != nil {
			return nil, wrap("store.ResidentCounts", err)
		}
		out = append(out, c)
	}
	return out, wrap("store.ResidentCounts", rows.Err())
}

// SampleResidents returns up to n active residents of a county spread
// evenly over its ID range (for benchmarks: realistic lookup keys).
func (s *Store) SampleResidents(ctx context.Context, county string, n int) ([]resident.Resident, error) {
	var lo, hi int64
	if err := s.read().row(ctx, `SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM residents WHERE county_code = ?`, county).Scan(&lo, &hi); err != nil {
		return nil, wrap("store.SampleResidents", err)
	}
	if n <= 0 || hi == 0 {
		return nil, nil
	}
	step := (hi - lo + 1) / int64(n)
	if step < 1 {
		step = 1
	}
	rows, err := s.read().query(ctx, `SELECT `+residentCols+` FROM residents r WHERE r.county_code = ? AND r.status = 'active' AND (r.id - ?) % ? = 0 ORDER BY r.id LIMIT ?`,
		county, lo, step, n)
	if err != nil {
		return nil, wrap("store.SampleResidents", err)
	}
	return collectResidents("store.SampleResidents", rows)
}
