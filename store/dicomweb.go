package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/reading"
)

// fileStudy creates or updates the study row of instance in (already
// inserted) inside tx: counts, modalities in study. An instance of a study
// filed under another resident is ECONFLICT reading.study_other_patient.
func (s *Store) fileStudy(ctx context.Context, tx db, in *reading.ImagingInstance) error {
	const op = "store.fileStudy"
	now := s.ts(s.now())
	alpha, ideo := reading.NameGroups(in.FilePatientName)
	if _, err := tx.exec(ctx, `INSERT INTO imaging_studies (county_code, study_uid, resident_id, clinic_id, center_id, patient_name, name_key,
		name_alpha, name_ideo, patient_id, birth_date, sex, study_date, study_time, accession, study_id, description, referring, modalities,
		series_count, instance_count, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, 0, ?) ON CONFLICT (county_code, study_uid) DO NOTHING`,
		in.CountyCode, in.StudyUID, in.ResidentID, in.ClinicID, in.CenterID, strings.TrimRight(in.FilePatientName, "="), reading.NameKey(in.FilePatientName),
		alpha, ideo, in.FilePatientID, in.BirthDate, in.Sex, in.StudyDate, in.StudyTime, in.Accession, in.StudyID, in.StudyDescription, in.Referring, now); err != nil {
		return wrap(op, err)
	}
	q := `SELECT id, resident_id, modalities FROM imaging_studies WHERE county_code = ? AND study_uid = ?`
	if s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var id, rid int64
	var mods string
	if err := tx.row(ctx, q, in.CountyCode, in.StudyUID).Scan(&id, &rid, &mods); err != nil {
		return wrap(op, err)
	}
	if rid != in.ResidentID {
		return &care.Error{Code: care.ECONFLICT, Key: "reading.study_other_patient", Op: op}
	}
	if m := strings.TrimSpace(in.Modality); m != "" && !strings.Contains(mods, ","+m+",") {
		if mods == "" {
			mods = ","
		}
		mods += m + ","
	}
	_, err := tx.exec(ctx, `UPDATE imaging_studies SET instance_count = instance_count + 1, modalities = ?, updated_at = ?,
		series_count = (SELECT COUNT(DISTINCT series_uid) FROM imaging_instances WHERE county_code = ? AND study_uid = ?)
		WHERE county_code = ? AND id = ?`, mods, now, in.CountyCode, in.StudyUID, in.CountyCode, id)
	return wrap(op, err)
}

const studyCols = `id, county_code, study_uid, resident_id, clinic_id, center_id, patient_name, patient_id, birth_date, sex, study_date,
	study_time, accession, study_id, description, referring, modalities, series_count, instance_count, updated_at`

func scanStudy(rows interface{ Scan(...any) error }) (reading.ImagingStudy, error) {
	var st reading.ImagingStudy
	var mods string
	err := rows.Scan(&st.ID, &st.CountyCode, &st.StudyUID, &st.ResidentID, &st.ClinicID, &st.CenterID, &st.PatientName, &st.PatientID,
		&st.BirthDate, &st.Sex, &st.StudyDate, &st.StudyTime, &st.Accession, &st.StudyID, &st.Description, &st.Referring, &mods,
		&st.SeriesCount, &st.InstanceCount, tsOf(&st.UpdatedAt))
	if m := strings.Trim(mods, ","); m != "" {
		st.Modalities = strings.Split(m, ",")
	}
	return st, err
}

// likePattern turns a DICOM wildcard pattern (* any, ? one character)
// into a LIKE pattern with ! as the escape character.
func likePattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '!', '%', '_':
			b.WriteByte('!')
			b.WriteRune(r)
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// globPattern turns a DICOM wildcard pattern into an SQLite GLOB pattern
// (* and ? mean the same; a literal [ is written [[]).
func globPattern(p string) string {
	return strings.ReplaceAll(p, "[", "[[]")
}

// matchClause matches col against a QIDO value: equality, or a DICOM
// wildcard pattern matched case-sensitively as PS3.4 C.2.2.2.4 asks of
// every VR but PN (Patient ID, Accession Number). PostgreSQL's LIKE is
// case-sensitive; SQLite's ignores ASCII case, so SQLite uses GLOB, which
// does not: both databases answer the same.
func (s *Store) matchClause(col, v string, where *[]string, args *[]any) {
	if v == "" {
		return
	}
	if strings.ContainsAny(v, "*?") {
		if s.dialect == SQLite {
			*where = append(*where, col+" GLOB ?")
			*args = append(*args, globPattern(v))
			return
		}
		*where = append(*where, col+" LIKE ? ESCAPE '!'")
		*args = append(*args, likePattern(v))
		return
	}
	*where = append(*where, col+" = ?")
	*args = append(*args, v)
}

// SearchImagingStudies answers a QIDO-RS study search within
// q.Institutions (studies sent by or to one of them), newest study date
// first. A selective key (Patient ID, Accession Number, Study Instance
// UID, or a PatientName with text before its first wildcard, matched as a
// range on the alphabetic or ideographic group) leads through its own
// index, the scope being checked on the few rows found ("+col" keeps the
// planner off the scope indexes). Otherwise each side of the scope (sent
// by, sent to) is read through its index in date order, limited, and the
// two are merged. A PatientName with a leading wildcard scans the scope.
func (s *Store) SearchImagingStudies(ctx context.Context, q reading.StudyQuery) ([]reading.ImagingStudy, error) {
	const op = "store.SearchImagingStudies"
	if len(q.Institutions) == 0 || q.Limit <= 0 {
		return nil, nil
	}
	where := []string{"county_code = ?"}
	args := []any{q.CountyCode}
	selective := false
	if p := reading.NamePattern(q.PatientName); p != "" && strings.Trim(p, "*") != "" {
		if i := strings.IndexAny(p, "*?"); i != 0 {
			prefix := p
			if i > 0 {
				prefix = p[:i]
			}
			hi, lt := prefix+"\U0010FFFF", "<"
			if i < 0 { // no wildcard: the whole group, as a closed range (which the planners take)
				hi, lt = prefix, "<="
			}
			// A family name alone (one Chinese character, a short Latin
			// prefix) can match several per cent of a county: then walking
			// the scope index in date order finds a page of matches sooner
			// than sorting all of them. Count the name range first (an
			// index-only count, stopped at nameRangeMax) and lead with it
			// only when it is small.
			rng := "((name_alpha >= ? AND name_alpha " + lt + " ?) OR (name_ideo >= ? AND name_ideo " + lt + " ?))"
			use := i < 0 || utf8.RuneCountInString(prefix) >= 2 && !isASCII(prefix) || len(prefix) >= 6
			if !use {
				var n int
				if err := s.read().row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM imaging_studies WHERE county_code = ? AND `+rng+` LIMIT ?) m`,
					q.CountyCode, prefix, hi, prefix, hi, nameRangeMax+1).Scan(&n); err != nil {
					return nil, wrap(op, err)
				}
				use = n <= nameRangeMax
			}
			if use {
				where = append(where, rng)
				args = append(args, prefix, hi, prefix, hi)
				selective = true
			}
		}
		where = append(where, "name_key LIKE ? ESCAPE '!'")
		args = append(args, "%="+likePattern(p)+"=%")
	}
	if q.PatientID != "" && !strings.ContainsAny(q.PatientID, "*?") || q.Accession != "" && !strings.ContainsAny(q.Accession, "*?") || len(q.StudyUIDs) > 0 {
		selective = true
	}
	s.matchClause("patient_id", q.PatientID, &where, &args)
	s.matchClause("accession", q.Accession, &where, &args)
	if len(q.StudyUIDs) > 0 {
		where = append(where, "study_uid IN ("+placeholders(len(q.StudyUIDs))+")")
		for _, u := range q.StudyUIDs {
			args = append(args, u)
		}
	}
	if q.Modality != "" {
		// Modality codes are upper case (DICOM CS); SQLite's LIKE ignores
		// ASCII case and PostgreSQL's does not, so the value is normalised.
		where = append(where, "modalities LIKE ? ESCAPE '!'")
		args = append(args, "%,"+likePattern(strings.ToUpper(strings.TrimSpace(q.Modality)))+",%")
	}
	if q.DateFrom != "" {
		where = append(where, "study_date >= ?")
		args = append(args, q.DateFrom)
	}
	if q.DateTo != "" {
		where = append(where, "study_date <= ? AND study_date <> ''")
		args = append(args, q.DateTo)
	}
	n := q.Offset + q.Limit
	ph := placeholders(len(q.Institutions))
	var scopes []string
	if selective {
		scopes = []string{"(+clinic_id IN (" + ph + ") OR +center_id IN (" + ph + "))"}
	} else {
		scopes = []string{"clinic_id IN (" + ph + ")", "center_id IN (" + ph + ")"}
	}
	var all []reading.ImagingStudy
	seen := map[int64]bool{}
	for _, scope := range scopes {
		qa := append(slices.Clone(args), int64Args(q.Institutions)...)
		if selective {
			qa = append(qa, int64Args(q.Institutions)...)
		}
		qa = append(qa, n)
		rows, err := s.read().query(ctx, `SELECT `+studyCols+` FROM imaging_studies WHERE `+strings.Join(where, " AND ")+
			` AND `+scope+` ORDER BY study_date DESC, id DESC LIMIT ?`, qa...)
		if err != nil {
			return nil, wrap(op, err)
		}
		for rows.Next() {
			st, err := scanStudy(rows)
			if err != nil {
				rows.Close()
				return nil, wrap(op, err)
			}
			if !seen[st.ID] {
				seen[st.ID] = true
				all = append(all, st)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrap(op, err)
		}
	}
	slices.SortFunc(all, func(a, b reading.ImagingStudy) int {
		if a.StudyDate != b.StudyDate {
			return strings.Compare(b.StudyDate, a.StudyDate)
		}
		return int(b.ID - a.ID)
	})
	if q.Offset >= len(all) {
		return nil, nil
	}
	all = all[q.Offset:]
	return all[:min(len(all), q.Limit)], nil
}

// nameRangeMax is the most studies a short name prefix may match in a
// county for a search to lead with the name index rather than the scope.
const nameRangeMax = 2000

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ImagingStudyByUID returns the study uid of a county (ENOTFOUND if none).
func (s *Store) ImagingStudyByUID(ctx context.Context, county, uid string) (*reading.ImagingStudy, error) {
	st, err := scanStudy(s.read().row(ctx, `SELECT `+studyCols+` FROM imaging_studies WHERE county_code = ? AND study_uid = ?`, county, uid))
	if err != nil {
		return nil, wrap("store.ImagingStudyByUID", err)
	}
	return &st, nil
}

// ImagingStudiesOf lists a resident's studies, newest first.
func (s *Store) ImagingStudiesOf(ctx context.Context, county string, residentID int64) ([]reading.ImagingStudy, error) {
	const op = "store.ImagingStudiesOf"
	rows, err := s.read().query(ctx, `SELECT `+studyCols+` FROM imaging_studies WHERE county_code = ? AND resident_id = ?
		ORDER BY study_date DESC, id DESC`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingStudy
	for rows.Next() {
		st, err := scanStudy(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, st)
	}
	return out, wrap(op, rows.Err())
}

func instanceFilter(q reading.InstanceQuery) (string, []any) {
	where := []string{"county_code = ?", "study_uid = ?"}
	args := []any{q.CountyCode, q.StudyUID}
	for _, f := range []struct{ col, v string }{{"series_uid", q.SeriesUID}, {"sop_uid", q.SOPUID}, {"modality", q.Modality}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	return strings.Join(where, " AND "), args
}

func pageOf(limit, offset int) string {
	if limit <= 0 {
		limit = 1 << 30
	}
	return " LIMIT " + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(max(offset, 0))
}

// ImagingSeriesOf lists the series of a study with their instance counts.
func (s *Store) ImagingSeriesOf(ctx context.Context, q reading.InstanceQuery) ([]reading.ImagingSeries, error) {
	const op = "store.ImagingSeriesOf"
	where, args := instanceFilter(q)
	rows, err := s.read().query(ctx, `SELECT series_uid, MIN(modality), MIN(series_number), MIN(series_description), COUNT(*)
		FROM imaging_instances WHERE `+where+` GROUP BY series_uid ORDER BY MIN(series_number), series_uid`+pageOf(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingSeries
	for rows.Next() {
		se := reading.ImagingSeries{StudyUID: q.StudyUID}
		if err := rows.Scan(&se.SeriesUID, &se.Modality, &se.SeriesNumber, &se.Description, &se.Instances); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, se)
	}
	return out, wrap(op, rows.Err())
}

// ImagingInstancesOf lists instances of a study without their bytes, by
// series and instance number.
func (s *Store) ImagingInstancesOf(ctx context.Context, q reading.InstanceQuery) ([]reading.ImagingInstance, error) {
	const op = "store.ImagingInstancesOf"
	where, args := instanceFilter(q)
	rows, err := s.read().query(ctx, `SELECT id, county_code, resident_id, clinic_id, ordered_by, center_id, file_name, study_uid, series_uid, sop_uid,
		modality, study_date, accession, file_patient_name, file_patient_id, mismatch, transfer_syntax, rows_n, columns_n, frames, no_preview,
		status, uploaded_at, sop_class_uid, series_number, series_description, instance_number, device_id
		FROM imaging_instances WHERE `+where+` ORDER BY series_uid, id`+pageOf(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingInstance
	for rows.Next() {
		var in reading.ImagingInstance
		if err := rows.Scan(&in.ID, &in.CountyCode, &in.ResidentID, &in.ClinicID, &in.OrderedBy, &in.CenterID, &in.FileName, &in.StudyUID,
			&in.SeriesUID, &in.SOPUID, &in.Modality, &in.StudyDate, &in.Accession, &in.FilePatientName, &in.FilePatientID, &in.Mismatch,
			&in.TransferSyntax, &in.Rows, &in.Columns, &in.Frames, &in.NoPreview, &in.Status, tsOf(&in.UploadedAt),
			&in.SOPClassUID, &in.SeriesNumber, &in.SeriesDescription, &in.InstanceNumber, &in.DeviceID); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	num := func(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }
	slices.SortStableFunc(out, func(a, b reading.ImagingInstance) int {
		if a.SeriesUID != b.SeriesUID {
			return strings.Compare(a.SeriesUID, b.SeriesUID)
		}
		return num(a.InstanceNumber) - num(b.InstanceNumber)
	})
	return out, nil
}

// CreateDICOMwebClient stores a machine client's credential and its audit
// row in one transaction; a taken name is ECONFLICT.
func (s *Store) CreateDICOMwebClient(ctx context.Context, c *reading.DICOMwebClient, ev audit.Event) error {
	const op = "store.CreateDICOMwebClient"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO dicomweb_clients (name, county_code, institution_id, center_id, secret_hash, created_by, created_at, disabled)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.Name, c.CountyCode, c.InstitutionID, c.CenterID, c.SecretHash, c.CreatedBy, s.ts(c.CreatedAt), false)
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SetDICOMwebClientDisabled disables or re-enables a credential with its
// audit row in one transaction (ENOTFOUND if there is no such credential).
func (s *Store) SetDICOMwebClientDisabled(ctx context.Context, id int64, disabled bool, ev audit.Event) error {
	const op = "store.SetDICOMwebClientDisabled"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE dicomweb_clients SET disabled = ? WHERE id = ?`, disabled, id)
		if err != nil {
			return wrap(op, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const clientCols = `id, name, county_code, institution_id, center_id, secret_hash, created_by, created_at, disabled`

func scanClient(r interface{ Scan(...any) error }) (reading.DICOMwebClient, error) {
	var c reading.DICOMwebClient
	err := r.Scan(&c.ID, &c.Name, &c.CountyCode, &c.InstitutionID, &c.CenterID, &c.SecretHash, &c.CreatedBy, tsOf(&c.CreatedAt), &c.Disabled)
	return c, err
}

// DICOMwebClientByName returns the credential named name (ENOTFOUND if none).
func (s *Store) DICOMwebClientByName(ctx context.Context, name string) (*reading.DICOMwebClient, error) {
	c, err := scanClient(s.read().row(ctx, `SELECT `+clientCols+` FROM dicomweb_clients WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return nil, wrap("store.DICOMwebClientByName", err)
	}
	return &c, nil
}

// DICOMwebClients lists every credential, by name.
func (s *Store) DICOMwebClients(ctx context.Context) ([]reading.DICOMwebClient, error) {
	const op = "store.DICOMwebClients"
	rows, err := s.read().query(ctx, `SELECT `+clientCols+` FROM dicomweb_clients ORDER BY name`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.DICOMwebClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// LoadImagingStudies inserts study rows in batches of multi-row INSERTs
// (benchmarks and demo data: no instances, no audit rows). It returns how
// many rows were written.
func (s *Store) LoadImagingStudies(ctx context.Context, sts []reading.ImagingStudy) (int, error) {
	const op = "store.LoadImagingStudies"
	const cols = 22
	const batch = 500
	n := 0
	for lo := 0; lo < len(sts); lo += batch * 10 {
		hi := min(lo+batch*10, len(sts))
		err := s.Transact(ctx, func(tx db) error {
			for b := lo; b < hi; b += batch {
				part := sts[b:min(b+batch, hi)]
				var q strings.Builder
				q.WriteString(`INSERT INTO imaging_studies (county_code, study_uid, resident_id, clinic_id, center_id, patient_name, name_key,
					name_alpha, name_ideo, patient_id, birth_date, sex, study_date, study_time, accession, study_id, description, referring, modalities, series_count,
					instance_count, updated_at) VALUES `)
				args := make([]any, 0, len(part)*cols)
				for i, st := range part {
					if i > 0 {
						q.WriteString(", ")
					}
					q.WriteString("(" + placeholders(cols) + ")")
					mods := ""
					if len(st.Modalities) > 0 {
						mods = "," + strings.Join(st.Modalities, ",") + ","
					}
					alpha, ideo := reading.NameGroups(st.PatientName)
					args = append(args, st.CountyCode, st.StudyUID, st.ResidentID, st.ClinicID, st.CenterID, st.PatientName, reading.NameKey(st.PatientName),
						alpha, ideo, st.PatientID, st.BirthDate, st.Sex, st.StudyDate, st.StudyTime, st.Accession, st.StudyID, st.Description, st.Referring, mods,
						st.SeriesCount, st.InstanceCount, s.ts(st.UpdatedAt))
				}
				if _, err := tx.exec(ctx, q.String(), args...); err != nil {
					return wrap(op, err)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n = hi
	}
	if s.dialect == Postgres {
		if _, err := s.w.ExecContext(ctx, `ANALYZE imaging_studies`); err != nil {
			return n, wrap(op, err)
		}
	} else if _, err := s.w.ExecContext(ctx, `ANALYZE imaging_studies`); err != nil {
		return n, wrap(op, err)
	}
	return n, nil
}
