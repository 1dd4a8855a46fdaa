package store

import (
	"context"
	"fmt"

	"countycare/audit"
	"countycare/care"
	"countycare/family"
	"countycare/points"
	"countycare/resident"
)

// Teams lists a county's teams with their members, by name.
func (s *Store) Teams(ctx context.Context, county string) ([]family.Team, error) {
	const op = "store.Teams"
	rows, err := s.read().query(ctx, `SELECT id, county_code, name, institution_id, leader_id, active, created_at, version FROM family_teams
		WHERE county_code = ? ORDER BY name, id`, county)
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []family.Team
	idx := map[int64]int{}
	for rows.Next() {
		var t family.Team
		if err := rows.Scan(&t.ID, &t.CountyCode, &t.Name, &t.InstitutionID, &t.LeaderID, &t.Active, tsOf(&t.CreatedAt), &t.Version); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		idx[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	ms, err := s.read().query(ctx, `SELECT m.team_id, m.practitioner_id, m.role, p.name, p.institution_id FROM family_team_members m
		JOIN family_teams t ON t.id = m.team_id JOIN practitioners p ON p.id = m.practitioner_id WHERE t.county_code = ? ORDER BY m.team_id, p.name`, county)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer ms.Close()
	for ms.Next() {
		var id int64
		var m family.Member
		if err := ms.Scan(&id, &m.PractitionerID, &m.Role, &m.Name, &m.InstitutionID); err != nil {
			return nil, wrap(op, err)
		}
		if i, ok := idx[id]; ok {
			out[i].Members = append(out[i].Members, m)
		}
	}
	return out, wrap(op, ms.Err())
}

// Team returns one team with its members; ENOTFOUND if none.
func (s *Store) Team(ctx context.Context, id int64) (*family.Team, error) {
	const op = "store.Team"
	var t family.Team
	if err := s.read().row(ctx, `SELECT id, county_code, name, institution_id, leader_id, active, created_at, version FROM family_teams WHERE id = ?`, id).
		Scan(&t.ID, &t.CountyCode, &t.Name, &t.InstitutionID, &t.LeaderID, &t.Active, tsOf(&t.CreatedAt), &t.Version); err != nil {
		return nil, wrap(op, err)
	}
	rows, err := s.read().query(ctx, `SELECT m.practitioner_id, m.role, p.name, p.institution_id FROM family_team_members m
		JOIN practitioners p ON p.id = m.practitioner_id WHERE m.team_id = ? ORDER BY p.name`, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m family.Member
		if err := rows.Scan(&m.PractitionerID, &m.Role, &m.Name, &m.InstitutionID); err != nil {
			return nil, wrap(op, err)
		}
		t.Members = append(t.Members, m)
	}
	return &t, wrap(op, rows.Err())
}

// SaveTeam inserts or updates a team and replaces its member list.
func (s *Store) SaveTeam(ctx context.Context, t *family.Team, ev audit.Event) error {
	const op = "store.SaveTeam"
	now := s.now()
	return s.Transact(ctx, func(tx db) error {
		if t.ID == 0 {
			id, err := tx.insert(ctx, `INSERT INTO family_teams (county_code, name, institution_id, leader_id, active, created_at, updated_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, 1)`, t.CountyCode, t.Name, t.InstitutionID, t.LeaderID, t.Active, s.ts(now), s.ts(now))
			if err != nil {
				return wrap(op, err)
			}
			t.ID, t.Version, t.CreatedAt = id, 1, now
		} else {
			res, err := tx.exec(ctx, `UPDATE family_teams SET name = ?, institution_id = ?, leader_id = ?, active = ?, updated_at = ?, version = version + 1
				WHERE id = ? AND version = ?`, t.Name, t.InstitutionID, t.LeaderID, t.Active, s.ts(now), t.ID, t.Version)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return &care.Error{Code: care.ECONFLICT, Key: "family.team.stale", Op: op}
			}
			t.Version++
			if _, err := tx.exec(ctx, `DELETE FROM family_team_members WHERE team_id = ?`, t.ID); err != nil {
				return wrap(op, err)
			}
		}
		for _, m := range t.Members {
			if _, err := tx.exec(ctx, `INSERT INTO family_team_members (team_id, practitioner_id, role) VALUES (?, ?, ?)`, t.ID, m.PractitionerID, m.Role); err != nil {
				return wrap(op, err)
			}
		}
		ev.Detail = fmt.Sprintf("team %d: %s", t.ID, ev.Detail)
		return s.appendAudit(ctx, tx, ev)
	})
}

const packageCols = `id, county_code, code, name, kind, fee_fen, services, active, created_at`

func scanPackage(sc interface{ Scan(...any) error }, p *family.Package) error {
	var services string
	if err := sc.Scan(&p.ID, &p.CountyCode, &p.Code, &p.Name, &p.Kind, &p.FeeFen, &services, &p.Active, tsOf(&p.CreatedAt)); err != nil {
		return err
	}
	var err error
	p.Services, err = family.ParseDues(services)
	return err
}

// Packages lists a county's service packages, basic first.
func (s *Store) Packages(ctx context.Context, county string) ([]family.Package, error) {
	rows, err := s.read().query(ctx, `SELECT `+packageCols+` FROM family_packages WHERE county_code = ? ORDER BY kind, fee_fen, id`, county)
	if err != nil {
		return nil, wrap("store.Packages", err)
	}
	defer rows.Close()
	var out []family.Package
	for rows.Next() {
		var p family.Package
		if err := scanPackage(rows, &p); err != nil {
			return nil, wrap("store.Packages", err)
		}
		out = append(out, p)
	}
	return out, wrap("store.Packages", rows.Err())
}

// Package returns one package; ENOTFOUND if none.
func (s *Store) Package(ctx context.Context, id int64) (*family.Package, error) {
	var p family.Package
	if err := scanPackage(s.read().row(ctx, `SELECT `+packageCols+` FROM family_packages WHERE id = ?`, id), &p); err != nil {
		return nil, wrap("store.Package", err)
	}
	return &p, nil
}

// SavePackage inserts or updates a package (contracts keep their own copy of its terms).
func (s *Store) SavePackage(ctx context.Context, p *family.Package, ev audit.Event) error {
	const op = "store.SavePackage"
	return s.Transact(ctx, func(tx db) error {
		if p.ID == 0 {
			p.CreatedAt = s.now()
			id, err := tx.insert(ctx, `INSERT INTO family_packages (county_code, code, name, kind, fee_fen, services, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				p.CountyCode, p.Code, p.Name, p.Kind, p.FeeFen, p.Services.String(), p.Active, s.ts(p.CreatedAt))
			if err != nil {
				return wrap(op, err)
			}
			p.ID = id
		} else if _, err := tx.exec(ctx, `UPDATE family_packages SET code = ?, name = ?, kind = ?, fee_fen = ?, services = ?, active = ? WHERE id = ? AND county_code = ?`,
			p.Code, p.Name, p.Kind, p.FeeFen, p.Services.String(), p.Active, p.ID, p.CountyCode); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const contractCols = `id, county_code, resident_id, team_id, package_id, services, fee_fen, start_date, end_date, consent_by, consent_name, consent_method,
	consent_witness, consent_at, status, previous_id, ended_on, end_reason, signed_by, institution_id, created_at, closed_by, closed_at`

func scanContract(sc interface{ Scan(...any) error }, c *family.Contract, extra ...any) error {
	var services string
	if err := sc.Scan(append([]any{&c.ID, &c.CountyCode, &c.ResidentID, &c.TeamID, &c.PackageID, &services, &c.FeeFen, &c.Start, &c.End, &c.Consent.By,
		&c.Consent.Name, &c.Consent.Method, &c.Consent.Witness, tsOf(&c.Consent.At), &c.Status, idOf(&c.PreviousID), &c.EndedOn, &c.EndReason,
		&c.SignedBy, &c.InstitutionID, tsOf(&c.CreatedAt), idOf(&c.ClosedBy), tsOf(&c.ClosedAt)}, extra...)...); err != nil {
		return err
	}
	var err error
	c.Services, err = family.ParseDues(services)
	return err
}

// Contracts lists a resident's contracts, newest first.
func (s *Store) Contracts(ctx context.Context, county string, residentID int64) ([]family.Contract, error) {
	rows, err := s.read().query(ctx, `SELECT `+contractCols+` FROM family_contracts WHERE county_code = ? AND resident_id = ? ORDER BY start_date DESC, id DESC`,
		county, residentID)
	if err != nil {
		return nil, wrap("store.Contracts", err)
	}
	defer rows.Close()
	var out []family.Contract
	for rows.Next() {
		var c family.Contract
		if err := scanContract(rows, &c); err != nil {
			return nil, wrap("store.Contracts", err)
		}
		out = append(out, c)
	}
	return out, wrap("store.Contracts", rows.Err())
}

// Contract returns one contract; ENOTFOUND if none.
func (s *Store) Contract(ctx context.Context, id int64) (*family.Contract, error) {
	var c family.Contract
	if err := scanContract(s.read().row(ctx, `SELECT `+contractCols+` FROM family_contracts WHERE id = ?`, id), &c); err != nil {
		return nil, wrap("store.Contract", err)
	}
	return &c, nil
}

func (s *Store) closeContract(ctx context.Context, tx db, cl family.Closure) error {
	res, err := tx.exec(ctx, `UPDATE family_contracts SET status = ?, ended_on = ?, end_reason = ?, closed_by = ?, closed_at = ? WHERE id = ? AND status = 'active'`,
		cl.Status, cl.EndedOn, cl.Reason, nullID(cl.By), s.ts(cl.At), cl.ContractID)
	if err != nil {
		return wrap("store.CloseContract", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &care.Error{Code: care.ECONFLICT, Key: "family.contract.not_active", Op: "store.CloseContract"}
	}
	return nil
}

// SignContracts closes the given contracts and stores new ones in one transaction.
func (s *Store) SignContracts(ctx context.Context, cs []*family.Contract, closes []family.Closure, evs []audit.Event) error {
	const op = "store.SignContracts"
	now := s.now()
	return s.Transact(ctx, func(tx db) error {
		for _, cl := range closes {
			if err := s.closeContract(ctx, tx, cl); err != nil {
				return err
			}
		}
		for _, c := range cs {
			c.CreatedAt = now
			id, err := tx.insert(ctx, `INSERT INTO family_contracts (county_code, resident_id, team_id, package_id, services, fee_fen, start_date, end_date,
				consent_by, consent_name, consent_method, consent_witness, consent_at, status, previous_id, signed_by, institution_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.CountyCode, c.ResidentID, c.TeamID, c.PackageID, c.Services.String(), c.FeeFen, c.Start, c.End, c.Consent.By, c.Consent.Name,
				c.Consent.Method, c.Consent.Witness, s.ts(c.Consent.At), c.Status, nullID(c.PreviousID), c.SignedBy, c.InstitutionID, s.ts(now))
			if err != nil {
				return wrap(op, err)
			}
			c.ID = id
		}
		for i, ev := range evs {
			if i < len(cs) {
				ev.Detail = fmt.Sprintf("contract %d: %s", cs[i].ID, ev.Detail)
			}
			if err := s.appendAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// CloseContract ends an active contract.
func (s *Store) CloseContract(ctx context.Context, cl family.Closure, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.closeContract(ctx, tx, cl); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SaveDelivery stores a delivered service and its points award; a duplicate (or, for a
// follow-up, a chronic visit that day) is ECONFLICT.
func (s *Store) SaveDelivery(ctx context.Context, d *family.Delivery, award *points.Entry, ev audit.Event) error {
	const op = "store.SaveDelivery"
	d.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		if d.Kind == family.FollowUp {
			var n int
			if err := tx.row(ctx, `SELECT COUNT(*) FROM chronic_visits WHERE county_code = ? AND resident_id = ? AND visit_date = ?`,
				d.CountyCode, d.ResidentID, d.Date).Scan(&n); err != nil {
				return wrap(op, err)
			}
			if n > 0 {
				return &care.Error{Code: care.ECONFLICT, Key: "family.service.duplicate", Args: []any{d.Date.String()}, Op: op}
			}
		}
		if err := s.insertDelivery(ctx, tx, d); err != nil {
			return err
		}
		if award != nil {
			if _, err := s.insertPoints(ctx, tx, award); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) insertDelivery(ctx context.Context, tx db, d *family.Delivery) error {
	d.CreatedAt = s.now()
	id, err := tx.insert(ctx, `INSERT INTO family_services (county_code, resident_id, contract_id, kind, service_date, practitioner_id, institution_id, note,
		recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.CountyCode, d.ResidentID, d.ContractID, string(d.Kind), d.Date,
		nullID(d.PractitionerID), d.InstitutionID, d.Note, d.RecordedBy, s.ts(d.CreatedAt))
	if err != nil {
		return wrap("store.SaveDelivery", err)
	}
	d.ID = id
	return nil
}

// LoadDeliveries stores many services in one transaction with one audit
// row (the demo generator's history); a duplicate fails the whole load.
func (s *Store) LoadDeliveries(ctx context.Context, ds []*family.Delivery, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		for _, d := range ds {
			if err := s.insertDelivery(ctx, tx, d); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// doneQuery unions recorded services and chronic follow-up visits (as
// follow_up), one row per kind and day.
const doneQuery = `SELECT kind, service_date FROM family_services WHERE county_code = ? AND resident_id = ? AND service_date BETWEEN ? AND ?
	UNION SELECT 'follow_up', visit_date FROM chronic_visits WHERE county_code = ? AND resident_id = ? AND visit_date BETWEEN ? AND ?`

// Done lists a resident's services within [from, to].
func (s *Store) Done(ctx context.Context, county string, residentID int64, from, to care.Date) ([]family.Done, error) {
	rows, err := s.read().query(ctx, doneQuery, county, residentID, from, to, county, residentID, from, to)
	if err != nil {
		return nil, wrap("store.Done", err)
	}
	defer rows.Close()
	var out []family.Done
	for rows.Next() {
		var d family.Done
		if err := rows.Scan(&d.Kind, &d.Date); err != nil {
			return nil, wrap("store.Done", err)
		}
		out = append(out, d)
	}
	return out, wrap("store.Done", rows.Err())
}

// Deliveries lists a resident's recorded services, newest first.
func (s *Store) Deliveries(ctx context.Context, county string, residentID int64, limit int) ([]family.Delivery, error) {
	rows, err := s.read().query(ctx, `SELECT id, county_code, resident_id, contract_id, kind, service_date, practitioner_id, institution_id, note, recorded_by, created_at
		FROM family_services WHERE county_code = ? AND resident_id = ? ORDER BY service_date DESC, id DESC LIMIT ?`, county, residentID, limit)
	if err != nil {
		return nil, wrap("store.Deliveries", err)
	}
	defer rows.Close()
	var out []family.Delivery
	for rows.Next() {
		var d family.Delivery
		if err := rows.Scan(&d.ID, &d.CountyCode, &d.ResidentID, &d.ContractID, &d.Kind, &d.Date, idOf(&d.PractitionerID), &d.InstitutionID, &d.Note,
			&d.RecordedBy, tsOf(&d.CreatedAt)); err != nil {
			return nil, wrap("store.Deliveries", err)
		}
		out = append(out, d)
	}
	return out, wrap("store.Deliveries", rows.Err())
}

// keyPredicate selects residents (alias r) in a key population on a day:
// 65+, 0–6, pregnant or postpartum, disabled, poor (resident.KeyGroups),
// or in an active chronic disease registry. Its arguments come from keyArgs.
const keyPredicate = `(r.birth_date <= ? OR r.birth_date >= ? OR (r.pregnancy_edd IS NOT NULL AND r.pregnancy_edd BETWEEN ? AND ?)
	OR r.disability_grade > 0 OR r.poverty <> ''
	OR EXISTS (SELECT 1 FROM chronic_registrations g WHERE g.county_code = r.county_code AND g.resident_id = r.id AND g.status = 'active'))`

func keyArgs(day care.Date) []any {
	return []any{resident.FilterForGroup(resident.KeyElderly, day).BornOnOrBefore, resident.FilterForGroup(resident.KeyChild, day).BornOnOrAfter,
		day.AddDays(-resident.PostpartumDays), day.AddDays(resident.PregnancyDays)}
}

// ChronicRegistered reports whether a resident has an active chronic registration.
func (s *Store) ChronicRegistered(ctx context.Context, county string, residentID int64) (bool, error) {
	var n int
	err := s.read().row(ctx, `SELECT COUNT(*) FROM chronic_registrations WHERE county_code = ? AND resident_id = ? AND status = 'active'`, county, residentID).Scan(&n)
	return n > 0, wrap("store.ChronicRegistered", err)
}

// Population counts active residents and the key population per village on day.
func (s *Store) Population(ctx context.Context, county string, clinics []int64, day care.Date) ([]family.Population, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append(keyArgs(day), county)
	args = append(args, int64Args(clinics)...)
	rows, err := s.read().query(ctx, `SELECT r.village_id, COUNT(*), SUM(CASE WHEN `+keyPredicate+` THEN 1 ELSE 0 END) FROM residents r
		WHERE r.county_code = ? AND r.status = 'active' AND r.village_id IN (`+placeholders(len(clinics))+`) GROUP BY r.village_id ORDER BY r.village_id`, args...)
	if err != nil {
		return nil, wrap("store.Population", err)
	}
	defer rows.Close()
	var out []family.Population
	for rows.Next() {
		var p family.Population
		if err := rows.Scan(&p.VillageID, &p.Residents, &p.Key); err != nil {
			return nil, wrap("store.Population", err)
		}
		out = append(out, p)
	}
	return out, wrap("store.Population", rows.Err())
}

// ContractFacts returns the contracts of the clinics' active residents
// overlapping [from, to], with each resident's services of the year up to to.
func (s *Store) ContractFacts(ctx context.Context, county string, clinics []int64, from, to care.Date) ([]family.ContractFact, error) {
	const op = "store.ContractFacts"
	if len(clinics) == 0 {
		return nil, nil
	}
	in := placeholders(len(clinics))
	args := append(keyArgs(to), county)
	args = append(args, int64Args(clinics)...)
	args = append(args, to, from)
	rows, err := s.read().query(ctx, `SELECT `+prefixCols("c.", contractCols)+`, r.village_id, CASE WHEN `+keyPredicate+` THEN 1 ELSE 0 END
		FROM family_contracts c JOIN residents r ON r.id = c.resident_id
		WHERE c.county_code = ? AND r.status = 'active' AND r.village_id IN (`+in+`) AND c.start_date <= ? AND c.end_date >= ? ORDER BY c.id`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []family.ContractFact
	byResident := map[int64][]int{}
	for rows.Next() {
		var f family.ContractFact
		var key int
		if err := scanContract(rows, &f.Contract, &f.VillageID, &key); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		f.Key = key == 1
		byResident[f.ResidentID] = append(byResident[f.ResidentID], len(out))
		out = append(out, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, wrap(op, err)
	}
	since := family.AddYears(to, -1)
	args = append([]any{county}, int64Args(clinics)...)
	args = append(args, since, to, county)
	args = append(args, int64Args(clinics)...)
	args = append(args, since, to)
	ds, err := s.read().query(ctx, `SELECT s.resident_id, s.kind, s.service_date FROM family_services s JOIN residents r ON r.id = s.resident_id
		WHERE s.county_code = ? AND r.village_id IN (`+in+`) AND s.service_date BETWEEN ? AND ?
		UNION SELECT v.resident_id, 'follow_up', v.visit_date FROM chronic_visits v JOIN residents r ON r.id = v.resident_id
		WHERE v.county_code = ? AND r.village_id IN (`+in+`) AND v.visit_date BETWEEN ? AND ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer ds.Close()
	for ds.Next() {
		var id int64
		var d family.Done
		if err := ds.Scan(&id, &d.Kind, &d.Date); err != nil {
			return nil, wrap(op, err)
		}
		for _, i := range byResident[id] {
			out[i].Done = append(out[i].Done, d)
		}
	}
	return out, wrap(op, ds.Err())
}

// ResidentNames returns the names of residents by id.
func (s *Store) ResidentNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		rows, err := s.read().query(ctx, `SELECT id, name FROM residents WHERE id IN (`+placeholders(n)+`)`, int64Args(ids[:n])...)
		if err != nil {
			return nil, wrap("store.ResidentNames", err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, wrap("store.ResidentNames", err)
			}
			out[id] = name
		}
		rows.Close()
		ids = ids[n:]
	}
	return out, nil
}

var _ family.Repository = (*Store)(nil)
