package store

import (
	"context"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/upload"
)

// CreateUpload stores a new resumable upload with its audit row.
func (s *Store) CreateUpload(ctx context.Context, u *upload.Upload, ev audit.Event) error {
	const op = "store.CreateUpload"
	header := u.Header
	if header == nil {
		header = []byte{}
	}
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO uploads (id, account_id, institution_id, county_code, resident_id, kind, center_id, file_name,
			header_name, header, urgent, confirm_mismatch, length, received, state, result_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.AccountID, u.InstitutionID, u.CountyCode, u.ResidentID, string(u.Kind), u.CenterID, u.FileName,
			u.HeaderName, header, u.Urgent, u.ConfirmMismatch, u.Length, u.Offset, u.State, u.ResultID, s.ts(u.CreatedAt), s.ts(u.ExpiresAt)); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Upload returns a resumable upload (without its bytes). Errors: ENOTFOUND.
func (s *Store) Upload(ctx context.Context, id string) (*upload.Upload, error) {
	var u upload.Upload
	var kind string
	err := s.read().row(ctx, `SELECT id, account_id, institution_id, county_code, resident_id, kind, center_id, file_name, header_name, header,
		urgent, confirm_mismatch, length, received, state, result_id, created_at, expires_at FROM uploads WHERE id = ?`, id).Scan(
		&u.ID, &u.AccountID, &u.InstitutionID, &u.CountyCode, &u.ResidentID, &kind, &u.CenterID, &u.FileName, &u.HeaderName, &u.Header,
		&u.Urgent, &u.ConfirmMismatch, &u.Length, &u.Offset, &u.State, &u.ResultID, tsOf(&u.CreatedAt), tsOf(&u.ExpiresAt))
	if err != nil {
		return nil, wrap("store.Upload", err)
	}
	u.Kind = upload.Kind(kind)
	return &u, nil
}

// AppendUpload stores data at offset of a receiving upload that has
// exactly offset bytes, moves its offset past it and its expiry to
// expires, in one transaction. Errors: ECONFLICT when the upload is not
// receiving at offset (another request wrote first), ENOTFOUND.
func (s *Store) AppendUpload(ctx context.Context, id string, offset int64, data []byte, expires time.Time) error {
	const op = "store.AppendUpload"
	return s.Transact(ctx, func(tx db) error {
		r, err := tx.exec(ctx, `UPDATE uploads SET received = received + ?, expires_at = ? WHERE id = ? AND received = ? AND state = ?`,
			int64(len(data)), s.ts(expires), id, offset, upload.StateReceiving)
		if err != nil {
			return wrap(op, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return wrap(op, err)
		} else if n == 0 {
			var one int
			if err := tx.row(ctx, `SELECT 1 FROM uploads WHERE id = ?`, id).Scan(&one); err != nil {
				return wrap(op, err)
			}
			return care.Errorf(care.ECONFLICT, "upload.offset_mismatch", offset)
		}
		_, err = tx.exec(ctx, `INSERT INTO upload_pieces (upload_id, start_at, data) VALUES (?, ?, ?)`, id, offset, data)
		return wrap(op, err)
	})
}

// UploadBytes returns an upload's bytes in order.
func (s *Store) UploadBytes(ctx context.Context, id string) ([]byte, error) {
	return s.uploadData(ctx, "store.UploadBytes", id, -1)
}

// UploadPrefix returns at least the first n bytes of an upload (all if
// fewer): whole pieces, in order.
func (s *Store) UploadPrefix(ctx context.Context, id string, n int) ([]byte, error) {
	return s.uploadData(ctx, "store.UploadPrefix", id, n)
}

// uploadData reads pieces in order until it has n bytes (n < 0: all).
func (s *Store) uploadData(ctx context.Context, op, id string, n int) ([]byte, error) {
	var size int64
	if err := s.read().row(ctx, `SELECT received FROM uploads WHERE id = ?`, id).Scan(&size); err != nil {
		return nil, wrap(op, err)
	}
	if n >= 0 {
		size = min(size, int64(n))
	}
	rows, err := s.read().query(ctx, `SELECT data FROM upload_pieces WHERE upload_id = ? ORDER BY start_at`, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := make([]byte, 0, size)
	for rows.Next() && (n < 0 || len(out) < n) {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p...)
	}
	return out, wrap(op, rows.Err())
}

// SetUploadState moves an upload from state from to state to. Errors:
// ECONFLICT when it is not in from, ENOTFOUND.
func (s *Store) SetUploadState(ctx context.Context, id, from, to string) error {
	const op = "store.SetUploadState"
	r, err := s.w.ExecContext(ctx, s.rebind(`UPDATE uploads SET state = ? WHERE id = ? AND state = ?`), to, id, from)
	if err != nil {
		return wrap(op, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return care.Errorf(care.ECONFLICT, "upload.busy")
	}
	return nil
}

// FinishUpload marks an importing upload done with what it became and
// deletes its bytes, in one transaction.
func (s *Store) FinishUpload(ctx context.Context, id string, resultID int64) error {
	const op = "store.FinishUpload"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE uploads SET state = ?, result_id = ? WHERE id = ? AND state = ?`, upload.StateDone, resultID, id, upload.StateImporting); err != nil {
			return wrap(op, err)
		}
		_, err := tx.exec(ctx, `DELETE FROM upload_pieces WHERE upload_id = ?`, id)
		return wrap(op, err)
	})
}

// DeleteUpload deletes an upload and its bytes, with its audit row.
func (s *Store) DeleteUpload(ctx context.Context, id string, ev audit.Event) error {
	const op = "store.DeleteUpload"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM upload_pieces WHERE upload_id = ?`, id); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM uploads WHERE id = ?`, id); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// DeleteExpiredUploads deletes the uploads that expired before now, with
// their bytes, and returns how many. One being imported is left an hour
// longer (an import takes seconds; one still importing then was cut by a
// stopped server).
func (s *Store) DeleteExpiredUploads(ctx context.Context, now time.Time) (int64, error) {
	const op = "store.DeleteExpiredUploads"
	var n int64
	err := s.Transact(ctx, func(tx db) error {
		const expired = `expires_at <= ? AND (state <> ? OR expires_at <= ?)`
		args := []any{s.ts(now), upload.StateImporting, s.ts(now.Add(-time.Hour))}
		if _, err := tx.exec(ctx, `DELETE FROM upload_pieces WHERE upload_id IN (SELECT id FROM uploads WHERE `+expired+`)`, args...); err != nil {
			return wrap(op, err)
		}
		r, err := tx.exec(ctx, `DELETE FROM uploads WHERE `+expired, args...)
		if err != nil {
			return wrap(op, err)
		}
		n, err = r.RowsAffected()
		return wrap(op, err)
	})
	return n, err
}

var _ upload.Repository = (*Store)(nil)
