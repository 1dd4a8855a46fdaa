package store

import (
	"context"

	"countycare/access"
	"countycare/audit"
	"countycare/reading"
)

// SaveImagingInstance stores a DICOM instance as uploaded, its study row
// (imaging_studies, created or updated), a care link from the resident to
// the reading center (unless a live one exists), the study's reading
// workflow entry (made by its first instance) and the audit row, in one
// transaction. The same SOP instance twice in a county is ECONFLICT and
// stores nothing; so is an instance of a study already filed under another
// resident (key reading.study_other_patient).
func (s *Store) SaveImagingInstance(ctx context.Context, in *reading.ImagingInstance, link *access.CareLink, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.saveImagingInstance(ctx, tx, in, link); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// saveImagingInstance writes an instance, its study row, reading entry
// and care link in tx (SaveImagingInstance without the audit row).
func (s *Store) saveImagingInstance(ctx context.Context, tx db, in *reading.ImagingInstance, link *access.CareLink) error {
	const op = "store.SaveImagingInstance"
	file := in.File
	if file == nil {
		file = []byte{}
	}
	id, err := tx.insert(ctx, `INSERT INTO imaging_instances (county_code, resident_id, clinic_id, ordered_by, center_id, file_name,
		study_uid, series_uid, sop_uid, modality, study_date, accession, file_patient_name, file_patient_id, mismatch,
		transfer_syntax, rows_n, columns_n, frames, no_preview, size, file, status, uploaded_at,
		sop_class_uid, series_number, series_description, instance_number, device_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.CountyCode, in.ResidentID, in.ClinicID, in.OrderedBy, in.CenterID, in.FileName,
		in.StudyUID, in.SeriesUID, in.SOPUID, in.Modality, in.StudyDate, in.Accession, in.FilePatientName, in.FilePatientID, in.Mismatch,
		in.TransferSyntax, in.Rows, in.Columns, in.Frames, in.NoPreview, len(file), file, in.Status, s.ts(in.UploadedAt),
		in.SOPClassUID, in.SeriesNumber, in.SeriesDescription, in.InstanceNumber, in.DeviceID)
	if err != nil {
		return wrap(op, err)
	}
	in.ID = id
	if err := s.fileStudy(ctx, tx, in); err != nil {
		return err
	}
	if err := s.enterReading(ctx, tx, reading.ImagingEntry(in, s.readingTargets())); err != nil {
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
	return nil
}

// SaveImagingInstances stores a batch of instances as SaveImagingInstance
// would each (reading.ImagingBatchRepository): every instance under its
// own savepoint, so one that cannot be stored (a duplicate, a study of
// another resident) is rolled back alone and its Err set, while the
// others are stored; then the audit rows of those stored, and one COMMIT
// for all. Batches of concurrent callers are committed together (group
// commit: one transaction, one fsync, for several requests); each call
// returns only after the COMMIT that holds its batch, so an instance
// without Err is durable when it returns. An error returned means that
// nothing of the batch was stored (the transaction failed or the commit's
// outcome is unknown), whatever the items' Err.
func (s *Store) SaveImagingInstances(ctx context.Context, batch []reading.ImagingSave) error {
	return s.imagingGroup.do(ctx, batch, func(ctx context.Context, batches [][]reading.ImagingSave) error {
		return s.Transact(ctx, func(tx db) error {
			var evs []audit.Event
			for _, b := range batches {
				for i := range b {
					it := &b[i]
					it.Err = nil
					if _, err := tx.exec(ctx, `SAVEPOINT stow_instance`); err != nil {
						return wrap("store.SaveImagingInstances", err)
					}
					if err := s.saveImagingInstance(ctx, tx, it.Instance, it.Link); err != nil {
						it.Err = err
						if _, err := tx.exec(ctx, `ROLLBACK TO SAVEPOINT stow_instance`); err != nil {
							return wrap("store.SaveImagingInstances", err)
						}
					} else {
						evs = append(evs, it.Event)
					}
					if _, err := tx.exec(ctx, `RELEASE SAVEPOINT stow_instance`); err != nil {
						return wrap("store.SaveImagingInstances", err)
					}
				}
			}
			if err := s.failpoint("stow.commit"); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, evs...)
		})
	})
}

// ImagingInstances lists a resident's DICOM instances without their file
// bytes, newest first.
func (s *Store) ImagingInstances(ctx context.Context, county string, residentID int64) ([]reading.ImagingInstance, error) {
	const op = "store.ImagingInstances"
	rows, err := s.read().query(ctx, `SELECT id, county_code, resident_id, clinic_id, ordered_by, center_id, file_name, study_uid, series_uid, sop_uid,
		modality, study_date, accession, file_patient_name, file_patient_id, mismatch, transfer_syntax, rows_n, columns_n, frames, no_preview,
		status, uploaded_at
		FROM imaging_instances WHERE county_code = ? AND resident_id = ? ORDER BY uploaded_at DESC, id DESC`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingInstance
	for rows.Next() {
		var in reading.ImagingInstance
		if err := rows.Scan(&in.ID, &in.CountyCode, &in.ResidentID, &in.ClinicID, &in.OrderedBy, &in.CenterID, &in.FileName, &in.StudyUID,
			&in.SeriesUID, &in.SOPUID, &in.Modality, &in.StudyDate, &in.Accession, &in.FilePatientName, &in.FilePatientID, &in.Mismatch,
			&in.TransferSyntax, &in.Rows, &in.Columns, &in.Frames, &in.NoPreview, &in.Status, tsOf(&in.UploadedAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, in)
	}
	return out, wrap(op, rows.Err())
}

// ImagingFile returns the stored bytes of one instance of a county, from
// blobs when it refers to one (ENOTFOUND if none).
func (s *Store) ImagingFile(ctx context.Context, county string, id int64) ([]byte, error) {
	b, _, err := s.ImagingFileHash(ctx, county, id)
	return b, err
}
