package store

import (
	"context"
	"strings"

	"countycare/access"
	"countycare/audit"
	"countycare/ecg"
	"countycare/reading"
)

// SaveECGStudy stores an ECG study with its pre-read, a care link from the
// resident to the reading center (unless a live one exists), its reading
// workflow entry and the audit row, in one transaction.
func (s *Store) SaveECGStudy(ctx context.Context, st *reading.ECGStudy, link *access.CareLink, ev audit.Event) error {
	const op = "store.SaveECGStudy"
	return s.Transact(ctx, func(tx db) error {
		p := st.PreRead
		findings := make([]string, len(p.Findings))
		for i, f := range p.Findings {
			findings[i] = string(f)
		}
		header := st.Header
		if header == nil {
			header = []byte{}
		}
		id, err := tx.insert(ctx, `INSERT INTO ecg_studies (county_code, resident_id, clinic_id, ordered_by, center_id, format, file_name, header, signal,
			fs, leads, seconds, heart_rate, findings, priority, premature, pauses, irregular, status, uploaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.CountyCode, st.ResidentID, st.ClinicID, st.OrderedBy, st.CenterID, st.Format, st.FileName, header, st.Signal,
			st.Fs, st.Leads, st.Seconds, p.HeartRate, strings.Join(findings, ","), p.Priority, p.Premature, p.Pauses, p.Irregular,
			st.Status, s.ts(st.UploadedAt))
		if err != nil {
			return wrap(op, err)
		}
		st.ID = id
		if err := s.enterReading(ctx, tx, reading.ECGEntry(st, s.readingTargets())); err != nil {
			return err
		}
		if link != nil {
			link.CreatedAt = s.now()
			if _, err := tx.exec(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at)
				SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM care_links WHERE county_code = ? AND resident_id = ? AND institution_id = ?
				AND kind = ? AND expires_at IS NULL)`,
				link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind, link.Reason, link.CreatedBy, s.ts(link.CreatedAt),
				link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ECGWorklist lists a center's waiting ECG studies of a county: highest
// pre-read priority first, then the longest waiting.
func (s *Store) ECGWorklist(ctx context.Context, county string, centerID int64, limit int) ([]reading.WorklistItem, error) {
	const op = "store.ECGWorklist"
	rows, err := s.read().query(ctx, `SELECT e.id, e.resident_id, r.name, i.name, e.heart_rate, e.findings, e.priority, e.premature, e.pauses, e.irregular, e.uploaded_at
		FROM ecg_studies e JOIN residents r ON r.id = e.resident_id JOIN institutions i ON i.id = e.clinic_id
		WHERE e.county_code = ? AND e.center_id = ? AND e.status = ?
		ORDER BY e.priority DESC, e.uploaded_at, e.id LIMIT ?`, county, centerID, reading.StatusWaiting, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.WorklistItem
	for rows.Next() {
		var it reading.WorklistItem
		var findings string
		if err := rows.Scan(&it.StudyID, &it.ResidentID, &it.ResidentName, &it.ClinicName, &it.PreRead.HeartRate, &findings, &it.PreRead.Priority,
			&it.PreRead.Premature, &it.PreRead.Pauses, &it.PreRead.Irregular, tsOf(&it.UploadedAt)); err != nil {
			return nil, wrap(op, err)
		}
		if findings != "" {
			for _, f := range strings.Split(findings, ",") {
				it.PreRead.Findings = append(it.PreRead.Findings, ecg.Finding(f))
			}
		}
		out = append(out, it)
	}
	return out, wrap(op, rows.Err())
}
