package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// ImagingFileAppend appends the stored bytes of one instance of a county
// (from blobs when it refers to one) to buf[:0] and returns the result
// (ENOTFOUND if none). The bytes go from the database straight into buf:
// on SQLite through incremental blob I/O (sqlite3_blob_read), on
// PostgreSQL from pgconn's pooled read buffer, so that a caller that
// keeps buf (a WADO-RS retrieve, from a pool) allocates nothing the size
// of the file; database/sql would copy each value into a new slice, and
// a 1 MB slice per retrieve kept the collector running (issue 16,
// docs/benchmarks.md). The read connection is released before the bytes
// go to a slow client. Inside an atomic transaction, for a standby read,
// or with a driver whose connection this cannot reach, it reads through
// database/sql instead (the same bytes, one copy more).
func (s *Store) ImagingFileAppend(ctx context.Context, county string, id int64, buf []byte) ([]byte, error) {
	const op = "store.ImagingFileAppend"
	if s.atomicTx(ctx) == nil && s.standbyFor(ctx) == nil {
		var out []byte
		direct := false
		err := s.readAgain(ctx, func() (err error) {
			if s.dialect == SQLite {
				out, direct, err = s.sqliteFileAppend(ctx, county, id, buf)
				return err
			}
			c, err := s.r.Conn(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Raw(func(dc any) (err error) {
				if pc, ok := dc.(interface{ Conn() *pgx.Conn }); ok {
					out, err = pgFileAppend(ctx, pc.Conn(), county, id, buf)
					direct = true
				}
				return err
			})
		})
		if direct || err != nil {
			return out, wrap(op, err)
		}
	}
	rows, err := s.read().query(ctx, `SELECT CASE WHEN i.file_hash = '' THEN i.file ELSE b.data END
		FROM imaging_instances i LEFT JOIN blobs b ON b.county_code = i.county_code AND b.sha256 = i.file_hash
		WHERE i.county_code = ? AND i.id = ?`, county, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, wrap(op, err)
		}
		return nil, wrap(op, sql.ErrNoRows)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return nil, wrap(op, err)
	}
	buf = append(buf[:0], raw...)
	return buf, wrap(op, rows.Close())
}

// sqliteFileAppend finds the row holding the file (the instance's own
// column, or its blobs row) with the read pool's prepared statement and
// reads it with sqlite3_blob_read, both in one read transaction on one
// connection, so both see one snapshot: a row deleted and its rowid
// reused in between cannot be read in its place. direct is false when
// the connection's handle cannot be found.
func (s *Store) sqliteFileAppend(ctx context.Context, county string, id int64, buf []byte) (_ []byte, direct bool, _ error) {
	const q = `SELECT i.file_hash = '', CASE WHEN i.file_hash = '' THEN i.id ELSE b.rowid END
		FROM imaging_instances i LEFT JOIN blobs b ON b.county_code = i.county_code AND b.sha256 = i.file_hash
		WHERE i.county_code = ? AND i.id = ?`
	c, err := s.r.Conn(ctx)
	if err != nil {
		return nil, true, err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, true, err
	}
	defer tx.Rollback()
	var row *sql.Row
	if st := s.prepared(ctx, q); st != nil {
		row = tx.StmtContext(ctx, st).QueryRowContext(ctx, county, id) // the statement prepared on this connection before, if it was
	} else {
		row = tx.QueryRowContext(ctx, q, county, id)
	}
	var inline bool
	var rowid sql.NullInt64
	if err := row.Scan(&inline, &rowid); err != nil {
		return nil, true, err
	}
	if !rowid.Valid {
		return buf[:0], true, nil // a file_hash without its blob: no bytes, as database/sql would read NULL
	}
	table, column := "blobs", "data"
	if inline {
		table, column = "imaging_instances", "file"
	}
	err = c.Raw(func(dc any) (err error) {
		h, ok := sqliteHandleOf(dc)
		if ok {
			buf, err = h.readBlob(table, column, rowid.Int64, buf)
		}
		direct = ok
		return err
	})
	return buf, direct, err
}

// readBlob appends the value of table.column in row rowid to buf[:0].
func (h sqliteHandle) readBlob(table, column string, rowid int64, buf []byte) ([]byte, error) {
	cs := make([]uintptr, 0, 3)
	defer func() {
		for _, p := range cs {
			libc.Xfree(h.tls, p)
		}
	}()
	for _, s := range []string{"main", table, column} {
		p, err := libc.CString(s)
		if err != nil {
			return nil, err
		}
		cs = append(cs, p)
	}
	pp := h.tls.Alloc(int(unsafe.Sizeof(uintptr(0)))) // *sqlite3_blob, in libc memory (outside Go's heap)
	defer h.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	if rc := sqlite3.Xsqlite3_blob_open(h.tls, h.db, cs[0], cs[1], cs[2], rowid, 0, pp); rc != sqlite3.SQLITE_OK {
		err := h.errorf("blob_open", rc)
		if blob := *(*uintptr)(unsafe.Add(nil, pp)); blob != 0 {
			sqlite3.Xsqlite3_blob_close(h.tls, blob)
		}
		return nil, err
	}
	blob := *(*uintptr)(unsafe.Add(nil, pp))
	defer sqlite3.Xsqlite3_blob_close(h.tls, blob)
	n := int(sqlite3.Xsqlite3_blob_bytes(h.tls, blob))
	buf = buf[:0]
	if n == 0 {
		return buf, nil
	}
	buf = slices.Grow(buf, n)[:n]
	// buf is on the heap (it escapes to the caller), which the collector
	// does not move; KeepAlive holds it until SQLite has written it.
	rc := sqlite3.Xsqlite3_blob_read(h.tls, blob, uintptr(unsafe.Pointer(&buf[0])), int32(n), 0)
	runtime.KeepAlive(buf)
	if rc != sqlite3.SQLITE_OK {
		return nil, h.errorf("blob_read", rc)
	}
	return buf, nil
}

func (h sqliteHandle) errorf(call string, rc int32) error {
	return fmt.Errorf("sqlite3_%s: %s (%d)", call, libc.GoString(sqlite3.Xsqlite3_errmsg(h.tls, h.db)), rc)
}

// pgFileAppend reads the file over the connection's own protocol: the
// value, in binary, is appended from pgconn's read buffer (pooled) to buf.
func pgFileAppend(ctx context.Context, c *pgx.Conn, county string, id int64, buf []byte) ([]byte, error) {
	rr := c.PgConn().ExecParams(ctx, `SELECT CASE WHEN i.file_hash = '' THEN i.file ELSE b.data END
		FROM imaging_instances i LEFT JOIN blobs b ON b.county_code = i.county_code AND b.sha256 = i.file_hash
		WHERE i.county_code = $1 AND i.id = $2`, [][]byte{[]byte(county), strconv.AppendInt(nil, id, 10)}, nil, nil, []int16{1})
	found := false
	buf = buf[:0]
	for rr.NextRow() {
		if !found {
			buf, found = append(buf, rr.Values()[0]...), true
		}
	}
	if _, err := rr.Close(); err != nil {
		return nil, err
	}
	if !found {
		return nil, sql.ErrNoRows
	}
	return buf, nil
}
