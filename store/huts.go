package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"countycare/audit"
	"countycare/critical"
	"countycare/huts"
	"countycare/notify"
)

const hutDeviceCols = `d.id, d.county_code, d.institution_id, i.name, d.kind, d.name, d.token_hash, d.created_by, d.created_at, d.revoked_by, d.revoked_at`

const hutDeviceFrom = ` FROM hut_devices d JOIN institutions i ON i.id = d.institution_id`

func scanHutDevice(sc interface{ Scan(...any) error }, d *huts.Device) error {
	return sc.Scan(&d.ID, &d.CountyCode, &d.InstitutionID, &d.InstitutionName, &d.Kind, &d.Name, &d.TokenHash, &d.CreatedBy,
		tsOf(&d.CreatedAt), &d.RevokedBy, tsOf(&d.RevokedAt))
}

// CreateHutDevice stores a device credential with its audit row.
func (s *Store) CreateHutDevice(ctx context.Context, d *huts.Device, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO hut_devices (county_code, institution_id, kind, name, token_hash, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, d.CountyCode, d.InstitutionID, string(d.Kind), d.Name, d.TokenHash, d.CreatedBy, s.ts(d.CreatedAt))
		if err != nil {
			return wrap("store.CreateHutDevice", err)
		}
		d.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// HutDevices lists a county's devices, newest first.
func (s *Store) HutDevices(ctx context.Context, county string) ([]huts.Device, error) {
	const op = "store.HutDevices"
	rows, err := s.read().query(ctx, `SELECT `+hutDeviceCols+hutDeviceFrom+` WHERE d.county_code = ? ORDER BY d.id DESC LIMIT 1000`, county)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []huts.Device
	for rows.Next() {
		var d huts.Device
		if err := scanHutDevice(rows, &d); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, d)
	}
	return out, wrap(op, rows.Err())
}

// HutDevice reads one device (ENOTFOUND).
func (s *Store) HutDevice(ctx context.Context, id int64) (*huts.Device, error) {
	var d huts.Device
	if err := scanHutDevice(s.read().row(ctx, `SELECT `+hutDeviceCols+hutDeviceFrom+` WHERE d.id = ?`, id), &d); err != nil {
		return nil, wrap("store.HutDevice", err)
	}
	return &d, nil
}

// HutDeviceByToken reads the device of a token's hash (ENOTFOUND). It
// reads the primary, so a revocation is seen at once.
func (s *Store) HutDeviceByToken(ctx context.Context, hash string) (*huts.Device, error) {
	var d huts.Device
	if err := scanHutDevice(db{q: s.w, s: s}.row(ctx, `SELECT `+hutDeviceCols+hutDeviceFrom+` WHERE d.token_hash = ?`, hash), &d); err != nil {
		return nil, wrap("store.HutDeviceByToken", err)
	}
	return &d, nil
}

// RevokeHutDevice ends a credential (only one still in use) with its audit row.
func (s *Store) RevokeHutDevice(ctx context.Context, d *huts.Device, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE hut_devices SET revoked_by = ?, revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
			d.RevokedBy, s.ts(d.RevokedAt), d.ID); err != nil {
			return wrap("store.RevokeHutDevice", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const devReadingCols = `r.id, r.county_code, r.device_id, r.device_ref, r.resident_id, r.institution_id, r.kind, r.measured_at, r.received_at,
	r.sbp, r.dbp, r.pulse, r.glucose, r.fasting, r.weight_dg, r.height_cm, r.urgent, r.alert_id, d.name`

const devReadingFrom = ` FROM device_readings r JOIN hut_devices d ON d.id = r.device_id`

func scanDevReading(sc interface{ Scan(...any) error }, r *huts.Reading) error {
	var urgent string
	err := sc.Scan(&r.ID, &r.CountyCode, &r.DeviceID, &r.DeviceRef, &r.ResidentID, &r.InstitutionID, &r.Kind, tsOf(&r.MeasuredAt),
		tsOf(&r.ReceivedAt), &r.SBP, &r.DBP, &r.Pulse, &r.Glucose, &r.Fasting, &r.WeightDg, &r.HeightCm, &urgent, &r.AlertID, &r.DeviceName)
	r.Urgent = splitList(urgent)
	return err
}

// DeviceReading reads the reading a device sent under ref (ENOTFOUND).
func (s *Store) DeviceReading(ctx context.Context, deviceID int64, ref string) (*huts.Reading, error) {
	var r huts.Reading
	if err := scanDevReading(db{q: s.w, s: s}.row(ctx, `SELECT `+devReadingCols+devReadingFrom+` WHERE r.device_id = ? AND r.device_ref = ?`, deviceID, ref), &r); err != nil {
		return nil, wrap("store.DeviceReading", err)
	}
	return &r, nil
}

// SaveDeviceReading stores a reading, its critical alert and messages and
// the audit row in one transaction. A reading the device already sent
// under the same ref is not written again: created is false and r is the
// stored one.
func (s *Store) SaveDeviceReading(ctx context.Context, r *huts.Reading, al *critical.Alert, msgs []notify.Message, ev audit.Event) (bool, error) {
	const op = "store.SaveDeviceReading"
	created := false
	err := s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO device_readings (county_code, device_id, device_ref, resident_id, institution_id, kind, measured_at,
			received_at, sbp, dbp, pulse, glucose, fasting, weight_dg, height_cm, urgent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (device_id, device_ref) DO NOTHING`,
			r.CountyCode, r.DeviceID, r.DeviceRef, r.ResidentID, r.InstitutionID, string(r.Kind), s.ts(r.MeasuredAt), s.ts(r.ReceivedAt),
			r.SBP, r.DBP, r.Pulse, r.Glucose, r.Fasting, r.WeightDg, r.HeightCm, strings.Join(r.Urgent, ","))
		if errors.Is(err, sql.ErrNoRows) {
			return scanDevReading(tx.row(ctx, `SELECT `+devReadingCols+devReadingFrom+` WHERE r.device_id = ? AND r.device_ref = ?`, r.DeviceID, r.DeviceRef), r)
		}
		if err != nil {
			return wrap(op, err)
		}
		r.ID, created = id, true
		if al != nil {
			al.SourceID = id
			if _, err := s.raiseInTx(ctx, tx, al, msgs); err != nil {
				return err
			}
			r.AlertID = al.ID
			if _, err := tx.exec(ctx, `UPDATE device_readings SET alert_id = ? WHERE id = ?`, al.ID, id); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return created, wrap(op, err)
}

// ResidentDeviceReadings lists a resident's readings, newest first.
func (s *Store) ResidentDeviceReadings(ctx context.Context, county string, residentID int64, limit int) ([]huts.Reading, error) {
	const op = "store.ResidentDeviceReadings"
	rows, err := s.read().query(ctx, `SELECT `+devReadingCols+devReadingFrom+` WHERE r.county_code = ? AND r.resident_id = ?
		ORDER BY r.measured_at DESC, r.id DESC LIMIT ?`, county, residentID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []huts.Reading
	for rows.Next() {
		var r huts.Reading
		if err := scanDevReading(rows, &r); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// HutDevice loads one device (with its ID set).
func (b *Bulk) HutDevice(d *huts.Device) error {
	return b.add("hut_devices", d.ID, d.CountyCode, d.InstitutionID, string(d.Kind), d.Name, d.TokenHash, d.CreatedBy, b.tsv(d.CreatedAt))
}

// DeviceReading loads one reading (with its ID set).
func (b *Bulk) DeviceReading(r *huts.Reading) error {
	return b.add("device_readings", r.ID, r.CountyCode, r.DeviceID, r.DeviceRef, r.ResidentID, r.InstitutionID, string(r.Kind), b.tsv(r.MeasuredAt),
		b.tsv(r.ReceivedAt), r.SBP, r.DBP, r.Pulse, r.Glucose, r.Fasting, r.WeightDg, r.HeightCm, strings.Join(r.Urgent, ","))
}
