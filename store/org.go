package store

import (
	"context"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

const institutionCols = `id, parent_id, county_code, kind, level, code, name, area_code, lead_id, active, created_at`

func scanInstitution(sc interface{ Scan(...any) error }, in *org.Institution) error {
	return sc.Scan(&in.ID, idOf(&in.ParentID), &in.CountyCode, &in.Kind, &in.Level, &in.Code, &in.Name, &in.AreaCode, idOf(&in.LeadID), &in.Active, tsOf(&in.CreatedAt))
}

// Institutions returns every institution (a county has a few hundred).
func (s *Store) Institutions(ctx context.Context) ([]org.Institution, error) {
	rows, err := s.read().query(ctx, `SELECT `+institutionCols+` FROM institutions ORDER BY id`)
	if err != nil {
		return nil, wrap("store.Institutions", err)
	}
	defer rows.Close()
	var out []org.Institution
	for rows.Next() {
		var in org.Institution
		if err := scanInstitution(rows, &in); err != nil {
			return nil, wrap("store.Institutions", err)
		}
		out = append(out, in)
	}
	return out, wrap("store.Institutions", rows.Err())
}

// OrgVersion returns a number that changes whenever the organisation does.
func (s *Store) OrgVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read().row(ctx, `SELECT version FROM org_version WHERE id = 1`).Scan(&v)
	return v, wrap("store.OrgVersion", err)
}

func bumpOrg(ctx context.Context, tx db) error {
	_, err := tx.exec(ctx, `UPDATE org_version SET version = version + 1 WHERE id = 1`)
	return err
}

// CreateInstitution inserts in and its audit row. A duplicate code is ECONFLICT.
func (s *Store) CreateInstitution(ctx context.Context, in *org.Institution, ev audit.Event) error {
	in.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO institutions (parent_id, county_code, kind, level, code, name, area_code, lead_id, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nullID(in.ParentID), in.CountyCode, in.Kind, in.Level, in.Code, in.Name, in.AreaCode, nullID(in.LeadID), in.Active, s.ts(in.CreatedAt))
		if err != nil {
			return wrap("store.CreateInstitution", err)
		}
		in.ID = id
		if err := bumpOrg(ctx, tx); err != nil {
			return wrap("store.CreateInstitution", err)
		}
		ev.Detail = "institution " + in.Code
		return s.appendAudit(ctx, tx, ev)
	})
}

// UpdateInstitution saves name, level, area code, lead and active flag.
// The parent is not changed here (moving a subtree is a separate act).
func (s *Store) UpdateInstitution(ctx context.Context, in *org.Institution, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE institutions SET name = ?, level = ?, area_code = ?, lead_id = ?, active = ? WHERE id = ?`,
			in.Name, in.Level, in.AreaCode, nullID(in.LeadID), in.Active, in.ID)
		if err != nil {
			return wrap("store.UpdateInstitution", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		if err := bumpOrg(ctx, tx); err != nil {
			return wrap("store.UpdateInstitution", err)
		}
		ev.Detail = "institution " + in.Code
		return s.appendAudit(ctx, tx, ev)
	})
}

// Departments returns the departments of an institution (all when instID is 0).
func (s *Store) Departments(ctx context.Context, instID int64) ([]org.Department, error) {
	q := `SELECT id, institution_id, name, specialty, head_id FROM departments`
	var args []any
	if instID != 0 {
		q += ` WHERE institution_id = ?`
		args = append(args, instID)
	}
	rows, err := s.read().query(ctx, q+` ORDER BY institution_id, name`, args...)
	if err != nil {
		return nil, wrap("store.Departments", err)
	}
	defer rows.Close()
	var out []org.Department
	for rows.Next() {
		var d org.Department
		if err := rows.Scan(&d.ID, &d.InstitutionID, &d.Name, &d.Specialty, idOf(&d.HeadID)); err != nil {
			return nil, wrap("store.Departments", err)
		}
		out = append(out, d)
	}
	return out, wrap("store.Departments", rows.Err())
}

// CreateDepartment inserts d. A name already used in the institution is ECONFLICT.
func (s *Store) CreateDepartment(ctx context.Context, d *org.Department, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO departments (institution_id, name, specialty, head_id) VALUES (?, ?, ?, ?)`,
			d.InstitutionID, d.Name, d.Specialty, nullID(d.HeadID))
		if err != nil {
			return wrap("store.CreateDepartment", err)
		}
		d.ID = id
		ev.Detail = "department " + d.Name
		return s.appendAudit(ctx, tx, ev)
	})
}

const practitionerCols = `id, institution_id, department_id, name, sex, title, specialty, license_number, practice_since, phone, active, created_at`

func scanPractitioner(sc interface{ Scan(...any) error }, p *org.Practitioner) error {
	return sc.Scan(&p.ID, &p.InstitutionID, idOf(&p.DepartmentID), &p.Name, &p.Sex, &p.Title, &p.Specialty, &p.LicenseNumber, &p.PracticeSince, &p.Phone, &p.Active, tsOf(&p.CreatedAt))
}

// Practitioner returns one practitioner; ENOTFOUND if there is none.
func (s *Store) Practitioner(ctx context.Context, id int64) (*org.Practitioner, error) {
	var p org.Practitioner
	err := scanPractitioner(s.read().row(ctx, `SELECT `+practitionerCols+` FROM practitioners WHERE id = ?`, id), &p)
	if err != nil {
		return nil, wrap("store.Practitioner", err)
	}
	return &p, nil
}

// Practitioners returns practitioners of the given institutions (all when
// empty), optionally matching a name prefix, at most limit.
func (s *Store) Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error) {
	q := `SELECT ` + practitionerCols + ` FROM practitioners WHERE 1 = 1`
	var args []any
	if len(f.Institutions) > 0 {
		q += ` AND institution_id IN (` + placeholders(len(f.Institutions)) + `)`
		args = append(args, int64Args(f.Institutions)...)
	}
	if f.NamePrefix != "" {
		q += ` AND name LIKE ? ESCAPE '\'`
		args = append(args, likePrefix(f.NamePrefix))
	}
	if f.Specialty != "" {
		q += ` AND specialty = ?`
		args = append(args, f.Specialty)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	q += ` ORDER BY institution_id, name, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap("store.Practitioners", err)
	}
	defer rows.Close()
	var out []org.Practitioner
	for rows.Next() {
		var p org.Practitioner
		if err := scanPractitioner(rows, &p); err != nil {
			return nil, wrap("store.Practitioners", err)
		}
		out = append(out, p)
	}
	return out, wrap("store.Practitioners", rows.Err())
}

// CreatePractitioner inserts p.
func (s *Store) CreatePractitioner(ctx context.Context, p *org.Practitioner, ev audit.Event) error {
	p.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO practitioners (institution_id, department_id, name, sex, title, specialty, license_number, practice_since, phone, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.InstitutionID, nullID(p.DepartmentID), p.Name, p.Sex, p.Title, p.Specialty, p.LicenseNumber, p.PracticeSince, p.Phone, p.Active, s.ts(p.CreatedAt))
		if err != nil {
			return wrap("store.CreatePractitioner", err)
		}
		p.ID = id
		ev.Detail = "practitioner " + p.Name
		return s.appendAudit(ctx, tx, ev)
	})
}

// UpdatePractitioner saves p's editable fields.
func (s *Store) UpdatePractitioner(ctx context.Context, p *org.Practitioner, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE practitioners SET institution_id = ?, department_id = ?, name = ?, sex = ?, title = ?, specialty = ?, license_number = ?, practice_since = ?, phone = ?, active = ? WHERE id = ?`,
			p.InstitutionID, nullID(p.DepartmentID), p.Name, p.Sex, p.Title, p.Specialty, p.LicenseNumber, p.PracticeSince, p.Phone, p.Active, p.ID)
		if err != nil {
			return wrap("store.UpdatePractitioner", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		ev.Detail = "practitioner " + p.Name
		return s.appendAudit(ctx, tx, ev)
	})
}

// maxRune is appended to a prefix to make the upper bound of a range
// query: every string starting with the prefix sorts below prefix+maxRune
// (byte order in SQLite's BINARY and PostgreSQL's "C" collation).
const maxRune = "\U0010FFFF"

// likePrefix escapes s for LIKE and appends the wildcard.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
