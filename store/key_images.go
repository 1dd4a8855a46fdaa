package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"countycare/audit"
	"countycare/dicom"
	"countycare/reading"
)

// SaveKeyImage inserts a key image with its audit row in one transaction.
func (s *Store) SaveKeyImage(ctx context.Context, k *reading.KeyImage, ev audit.Event) error {
	const op = "store.SaveKeyImage"
	ms, err := json.Marshal(k.Measurements)
	if err != nil {
		return wrap(op, err)
	}
	var c, w sql.NullFloat64
	if k.Window != nil {
		c, w = sql.NullFloat64{Float64: k.Window.Center, Valid: true}, sql.NullFloat64{Float64: k.Window.Width, Valid: true}
	}
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO reading_key_images (county_code, study_id, instance_id, resident_id, center_id, frame, window_center,
			window_width, measurements, note, created_by, creator_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.County, k.StudyID, k.InstanceID, k.ResidentID, k.CenterID, k.Frame, c, w, string(ms), k.Note, k.CreatedBy, k.CreatorName, s.ts(k.CreatedAt))
		if err != nil {
			return wrap(op, err)
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		k.ID = id
		return nil
	})
}

// KeyImages lists a study's key images, oldest first.
func (s *Store) KeyImages(ctx context.Context, county string, studyID int64) ([]reading.KeyImage, error) {
	const op = "store.KeyImages"
	rows, err := s.read().query(ctx, `SELECT id, county_code, study_id, instance_id, resident_id, center_id, frame, window_center, window_width,
		measurements, note, created_by, creator_name, created_at FROM reading_key_images WHERE county_code = ? AND study_id = ? ORDER BY id`, county, studyID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.KeyImage
	for rows.Next() {
		var k reading.KeyImage
		var c, w sql.NullFloat64
		var ms string
		if err := rows.Scan(&k.ID, &k.County, &k.StudyID, &k.InstanceID, &k.ResidentID, &k.CenterID, &k.Frame, &c, &w, &ms, &k.Note,
			&k.CreatedBy, &k.CreatorName, tsOf(&k.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		if c.Valid && w.Valid {
			k.Window = &dicom.Window{Center: c.Float64, Width: w.Float64}
		}
		if err := json.Unmarshal([]byte(ms), &k.Measurements); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, k)
	}
	return out, wrap(op, rows.Err())
}
