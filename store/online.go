package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/online"
	"countycare/rx"
)

// PriorDiagnoses lists a resident's offline records that carry a
// diagnosis (online.Repository): chronic registrations (any status),
// discharge down-referrals, signed consultation opinions and prescriptions
// signed at offline visits.
func (s *Store) PriorDiagnoses(ctx context.Context, county string, residentID int64) ([]online.PriorDocument, error) {
	const op = "store.PriorDiagnoses"
	var out []online.PriorDocument
	r := s.read()
	rows, err := r.query(ctx, `SELECT id, disease, enrolled_on, clinic_id FROM chronic_registrations WHERE county_code = ? AND resident_id = ?`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	for rows.Next() {
		var d online.PriorDocument
		var disease string
		if err := rows.Scan(&d.ID, &disease, &d.On, &d.InstitutionID); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		d.Kind, d.Codes = online.DocChronic, online.DiseaseICD10(chronic.Disease(disease))
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	timed := func(kind, q string) error {
		rows, err := r.query(ctx, q, county, residentID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d online.PriorDocument
			var code string
			var at time.Time
			if err := rows.Scan(&d.ID, &code, tsOf(&at), &d.InstitutionID); err != nil {
				return err
			}
			d.Kind, d.Codes, d.On = kind, []string{code}, care.Today(at)
			out = append(out, d)
		}
		return rows.Err()
	}
	if err := timed(online.DocDischarge, `SELECT id, diagnosis, sent_at, from_institution FROM referrals
		WHERE county_code = ? AND resident_id = ? AND direction = 'down' AND diagnosis <> ''`); err != nil {
		return nil, wrap(op, err)
	}
	if err := timed(online.DocConsultation, `SELECT id, opinion_code, opinion_signed_at, from_institution FROM consultations
		WHERE county_code = ? AND resident_id = ? AND opinion_code <> '' AND opinion_signed_at IS NOT NULL`); err != nil {
		return nil, wrap(op, err)
	}
	rows, err = r.query(ctx, `SELECT id, body, institution_id FROM prescriptions WHERE county_code = ? AND resident_id = ?`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d online.PriorDocument
		var body string
		if err := rows.Scan(&d.ID, &body, &d.InstitutionID); err != nil {
			return nil, wrap(op, err)
		}
		var p rx.Prescription
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return nil, wrap(op, err)
		}
		if p.Online {
			continue // an online prescription diagnoses nothing offline
		}
		d.Kind, d.On = online.DocPrescription, p.Issued
		d.Codes = append(d.Codes, p.Diagnoses...)
		for _, l := range p.Lines {
			if l.Diagnosis != "" {
				d.Codes = append(d.Codes, l.Diagnosis)
			}
		}
		out = append(out, d)
	}
	return out, wrap(op, rows.Err())
}

const onlineVisitCols = `id, county_code, resident_id, clinic_id, booked_by, booked_by_role, diagnosis, complaint, prior_kind, prior_id, prior_code, prior_on,
	guardian_name, guardian_id_number, status, doctor_account, doctor_id, doctor_name, doctor_session, stepped_up_at, end_reason, ended_at, created_at, version`

func scanOnlineVisit(sc interface{ Scan(...any) error }, v *online.Visit) error {
	return sc.Scan(&v.ID, &v.CountyCode, &v.ResidentID, &v.ClinicID, &v.BookedBy, &v.BookedByRole, &v.Diagnosis, &v.Complaint, &v.PriorKind, &v.PriorID,
		&v.PriorCode, &v.PriorOn, &v.Guardian.Name, &v.Guardian.IDNumber, &v.Status, idOf(&v.DoctorAccount), idOf(&v.DoctorID), &v.DoctorName,
		idOf(&v.DoctorSession), tsOf(&v.SteppedUpAt), &v.EndReason, tsOf(&v.EndedAt), tsOf(&v.CreatedAt), &v.Version)
}

// CreateOnlineVisit stores a booked online visit with its audit row.
func (s *Store) CreateOnlineVisit(ctx context.Context, v *online.Visit, ev audit.Event) error {
	v.Version = 1
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO online_visits (county_code, resident_id, clinic_id, booked_by, booked_by_role, diagnosis, complaint,
			prior_kind, prior_id, prior_code, prior_on, guardian_name, guardian_id_number, status, created_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			v.CountyCode, v.ResidentID, v.ClinicID, v.BookedBy, string(v.BookedByRole), v.Diagnosis, v.Complaint, v.PriorKind, v.PriorID, v.PriorCode,
			v.PriorOn, v.Guardian.Name, v.Guardian.IDNumber, string(v.Status), s.ts(v.CreatedAt))
		if err != nil {
			return wrap("store.CreateOnlineVisit", err)
		}
		v.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// OnlineVisit returns one online visit; ENOTFOUND if none.
func (s *Store) OnlineVisit(ctx context.Context, id int64) (*online.Visit, error) {
	var v online.Visit
	if err := scanOnlineVisit(s.read().row(ctx, `SELECT `+onlineVisitCols+` FROM online_visits WHERE id = ?`, id), &v); err != nil {
		return nil, wrap("store.Visit", err)
	}
	return &v, nil
}

// UpdateOnlineVisit saves a visit's status, doctor, session and end at
// v.Version (ECONFLICT otherwise) with its audit rows.
func (s *Store) UpdateOnlineVisit(ctx context.Context, v *online.Visit, evs ...audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE online_visits SET status = ?, doctor_account = ?, doctor_id = ?, doctor_name = ?, doctor_session = ?,
			stepped_up_at = ?, end_reason = ?, ended_at = ?, version = version + 1 WHERE county_code = ? AND id = ? AND version = ?`,
			string(v.Status), nullID(v.DoctorAccount), nullID(v.DoctorID), v.DoctorName, nullID(v.DoctorSession), s.ts(v.SteppedUpAt),
			v.EndReason, s.ts(v.EndedAt), v.CountyCode, v.ID, v.Version)
		if err != nil {
			return wrap("store.UpdateOnlineVisit", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "error.conflict")
		}
		v.Version++
		for _, ev := range evs {
			if err := s.appendAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) visits(ctx context.Context, op, q string, args ...any) ([]online.Visit, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []online.Visit
	for rows.Next() {
		var v online.Visit
		if err := scanOnlineVisit(rows, &v); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

// ResidentOnlineVisits lists a resident's online visits, newest first.
func (s *Store) ResidentOnlineVisits(ctx context.Context, county string, residentID int64, limit int) ([]online.Visit, error) {
	return s.visits(ctx, "store.ResidentOnlineVisits", `SELECT `+onlineVisitCols+` FROM online_visits WHERE county_code = ? AND resident_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, county, residentID, limit)
}

// ClinicOnlineVisits lists the open (booked or in session) online visits
// of residents managed by clinics, oldest first.
func (s *Store) ClinicOnlineVisits(ctx context.Context, county string, clinics []int64, limit int) ([]online.Visit, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append([]any{county, string(online.StatusBooked), string(online.StatusInSession)}, int64Args(clinics)...)
	args = append(args, limit)
	return s.visits(ctx, "store.ClinicOnlineVisits", `SELECT `+onlineVisitCols+` FROM online_visits WHERE county_code = ? AND status IN (?, ?)
		AND clinic_id IN (`+placeholders(len(clinics))+`) ORDER BY created_at, id LIMIT ?`, args...)
}

// AddOnlineMessage stores a chat message and its image, with its audit row.
func (s *Store) AddOnlineMessage(ctx context.Context, m *online.Message, img *online.Image, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if img != nil {
			sum := sha256.Sum256(img.Data)
			m.ImageSHA, m.ImageType = hex.EncodeToString(sum[:]), img.Type
			if _, err := tx.exec(ctx, `INSERT INTO online_images (county_code, sha256, type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (county_code, sha256) DO NOTHING`, m.CountyCode, m.ImageSHA, img.Type, len(img.Data), img.Data, s.ts(m.At)); err != nil {
				return wrap("store.AddOnlineMessage", err)
			}
		}
		id, err := tx.insert(ctx, `INSERT INTO online_messages (county_code, visit_id, account_id, sender, author, body, image_sha, image_type, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.CountyCode, m.VisitID, m.AccountID, m.From, m.Author, m.Text, m.ImageSHA, m.ImageType, s.ts(m.At))
		if err != nil {
			return wrap("store.AddOnlineMessage", err)
		}
		m.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// OnlineMessages lists a visit's chat, oldest first.
func (s *Store) OnlineMessages(ctx context.Context, county string, visitID int64) ([]online.Message, error) {
	rows, err := s.read().query(ctx, `SELECT id, county_code, visit_id, account_id, sender, author, body, image_sha, image_type, at
		FROM online_messages WHERE county_code = ? AND visit_id = ? ORDER BY id`, county, visitID)
	if err != nil {
		return nil, wrap("store.Messages", err)
	}
	defer rows.Close()
	var out []online.Message
	for rows.Next() {
		var m online.Message
		if err := rows.Scan(&m.ID, &m.CountyCode, &m.VisitID, &m.AccountID, &m.From, &m.Author, &m.Text, &m.ImageSHA, &m.ImageType, tsOf(&m.At)); err != nil {
			return nil, wrap("store.Messages", err)
		}
		out = append(out, m)
	}
	return out, wrap("store.Messages", rows.Err())
}

// OnlineImage returns an image shown in the visit's chat; ENOTFOUND if no
// message of the visit carries it.
func (s *Store) OnlineImage(ctx context.Context, county string, visitID int64, sha string) (*online.Image, error) {
	var img online.Image
	err := s.read().row(ctx, `SELECT i.type, i.data FROM online_images i WHERE i.county_code = ? AND i.sha256 = ?
		AND EXISTS (SELECT 1 FROM online_messages m WHERE m.county_code = i.county_code AND m.visit_id = ? AND m.image_sha = i.sha256)`,
		county, sha, visitID).Scan(&img.Type, &img.Data)
	if err != nil {
		return nil, wrap("store.OnlineImage", err)
	}
	return &img, nil
}

// PurgeOnlineMessages deletes chat written before `before` and the images no
// remaining message shows, with the audit row; it returns the messages
// deleted. The retention check is the caller's (online.PurgeAllowed).
func (s *Store) PurgeOnlineMessages(ctx context.Context, before time.Time, ev audit.Event) (int, error) {
	var n int64
	err := s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM online_messages WHERE at < ?`, s.ts(before))
		if err != nil {
			return wrap("store.PurgeOnlineMessages", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.exec(ctx, `DELETE FROM online_images WHERE NOT EXISTS (SELECT 1 FROM online_messages m
			WHERE m.county_code = online_images.county_code AND m.image_sha = online_images.sha256)`); err != nil {
			return wrap("store.PurgeOnlineMessages", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return int(n), err
}

// SaveVisitPrescription stores a prescription signed at an online visit
// and its link to the visit, with the audit row, in one transaction.
func (s *Store) SaveVisitPrescription(ctx context.Context, visitID int64, p *rx.Signed, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.insertPrescription(ctx, tx, p); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO online_visit_prescriptions (county_code, visit_id, prescription_id) VALUES (?, ?, ?)`,
			p.CountyCode, visitID, p.ID); err != nil {
			return wrap("store.SaveVisitPrescription", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// VisitPrescriptions lists the IDs of the prescriptions signed at a visit.
func (s *Store) VisitPrescriptions(ctx context.Context, county string, visitID int64) ([]int64, error) {
	rows, err := s.read().query(ctx, `SELECT prescription_id FROM online_visit_prescriptions WHERE county_code = ? AND visit_id = ? ORDER BY prescription_id`,
		county, visitID)
	if err != nil {
		return nil, wrap("store.VisitPrescriptions", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("store.VisitPrescriptions", err)
		}
		out = append(out, id)
	}
	return out, wrap("store.VisitPrescriptions", rows.Err())
}

var _ online.Repository = (*Store)(nil)
