package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
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
		err := s.readAgain(ctx, func() error {
			c, err := s.r.Conn(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Raw(func(dc any) (err error) {
				out, direct, err = appendFileDirect(ctx, dc, county, id, buf)
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

// appendFileDirect reads an instance's file on driver connection dc into
// buf[:0]; direct is false when dc is neither modernc.org/sqlite's nor
// pgx's connection as this knows them (the caller then reads through
// database/sql).
func appendFileDirect(ctx context.Context, dc any, county string, id int64, buf []byte) (_ []byte, direct bool, _ error) {
	if h, ok := sqliteHandleOf(dc); ok {
		b, err := sqliteFileAppend(ctx, dc.(driver.QueryerContext), h, county, id, buf)
		return b, true, err
	}
	if pc, ok := dc.(interface{ Conn() *pgx.Conn }); ok {
		b, err := pgFileAppend(ctx, pc.Conn(), county, id, buf)
		return b, true, err
	}
	return buf, false, nil
}

// sqliteHandle is the sqlite3* of a modernc.org/sqlite connection and the
// libc thread state its calls run with.
type sqliteHandle struct {
	db  uintptr
	tls *libc.TLS
}

var tlsType = reflect.TypeOf((*libc.TLS)(nil))

// sqliteHandleOf finds the handle in modernc.org/sqlite's driver
// connection, which exposes neither it nor sqlite3_blob_*: its unexported
// fields db (uintptr) and tls (*libc.TLS), checked by name and type so
// that a driver release that changes them makes this report false (and
// TestImagingFileAppendNoCopy fail) rather than misread memory.
func sqliteHandleOf(dc any) (sqliteHandle, bool) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return sqliteHandle{}, false
	}
	e := v.Elem()
	if e.Kind() != reflect.Struct || e.Type().PkgPath() != "modernc.org/sqlite" || e.Type().Name() != "conn" {
		return sqliteHandle{}, false
	}
	db, tls := e.FieldByName("db"), e.FieldByName("tls")
	if !db.IsValid() || db.Kind() != reflect.Uintptr || !tls.IsValid() || tls.Type() != tlsType || tls.IsNil() || db.Uint() == 0 {
		return sqliteHandle{}, false
	}
	return sqliteHandle{db: uintptr(db.Uint()), tls: (*libc.TLS)(tls.UnsafePointer())}, true
}

// sqliteFileAppend finds the row holding the file (the instance's own
// column, or its blobs row) and reads it with sqlite3_blob_read. The
// finding statement stays open until the blob is read, so both see one
// read snapshot: a row deleted and its rowid reused in between cannot be
// read in its place.
func sqliteFileAppend(ctx context.Context, q driver.QueryerContext, h sqliteHandle, county string, id int64, buf []byte) ([]byte, error) {
	rows, err := q.QueryContext(ctx, `SELECT i.file_hash = '', CASE WHEN i.file_hash = '' THEN i.id ELSE b.rowid END
		FROM imaging_instances i LEFT JOIN blobs b ON b.county_code = i.county_code AND b.sha256 = i.file_hash
		WHERE i.county_code = ? AND i.id = ?`, []driver.NamedValue{{Ordinal: 1, Value: county}, {Ordinal: 2, Value: id}})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 2)
	if err := rows.Next(dest); err != nil {
		if errors.Is(err, io.EOF) {
			err = sql.ErrNoRows
		}
		return nil, err
	}
	table, column := "blobs", "data"
	if inline, _ := dest[0].(int64); inline == 1 {
		table, column = "imaging_instances", "file"
	}
	rowid, ok := dest[1].(int64)
	if !ok {
		return buf[:0], nil // a file_hash without its blob: no bytes, as database/sql would read NULL
	}
	return h.readBlob(table, column, rowid, buf)
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
