package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// The audit journal is a local append-only file in front of audit_events
// (issue 18): a read's event is appended to it with one write(2) per group
// of concurrent requests, the request is released once write(2) returns
// (the bytes are in the kernel: a kill -9 of the process cannot lose them),
// and the Writer's background loop inserts the journaled events into the
// chain in batches, recording in the same transaction how far the journal
// is committed (its Watermark). On start the journal is replayed from the
// watermark, so each event is inserted exactly once.
//
// Layout: a 44-byte header — the magic "CCAUDJ1\n", the journal's random
// 16-byte id, the id of the journal it replaced (zero for the first), a
// CRC-32C of those 40 bytes — then records: a little-endian uint32 length,
// a uint32 CRC-32C of the payload, and the payload (the Event as JSON).

const (
	journalMagic = "CCAUDJ1\n"
	headerLen    = 8 + 16 + 16 + 4
	recHeaderLen = 8
	maxRecord    = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SyncMode is when the journal is flushed to the disk (serve --audit-sync).
type SyncMode int

const (
	// SyncBatch: a group is released when write(2) returns; the journal is
	// fdatasync'ed at least every 100 ms (and its events reach the
	// database, committed with synchronous=FULL, within milliseconds). A
	// process crash loses nothing; a power cut at most the last ~100 ms of
	// read events not yet in the database.
	SyncBatch SyncMode = iota
	// SyncAlways: every group waits for fdatasync of the journal before
	// its requests are released. Power-safe, slower.
	SyncAlways
)

// ParseSyncMode reads "batch" or "always".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "batch", "":
		return SyncBatch, nil
	case "always":
		return SyncAlways, nil
	}
	return 0, fmt.Errorf("audit sync mode %q: want batch or always", s)
}

func (m SyncMode) String() string {
	if m == SyncAlways {
		return "always"
	}
	return "batch"
}

// Watermark is how far a journal's events are in the database: the id of
// the journal and the byte offset just after the last committed record.
type Watermark struct {
	JournalID string // hex
	Offset    int64
}

// JournaledAppender is an Appender that also records the watermark in the
// transaction that inserts the events, and reads it back.
type JournaledAppender interface {
	Appender
	AppendAuditJournaled(ctx context.Context, events []Event, mark Watermark) error
	// AuditWatermark returns the recorded watermark; ok is false if none.
	AuditWatermark(ctx context.Context) (mark Watermark, ok bool, err error)
}

// journal is the open journal file. mu guards its fields; fmu keeps f
// open during an fdatasync that runs without mu (sync), so that appends
// are not held up by it. Replacing or closing f takes fmu, then mu.
type journal struct {
	path   string
	fmu    sync.RWMutex
	mu     sync.Mutex
	f      *os.File
	id     string   // hex
	prev   string   // hex; "" for the first journal of a database
	size   int64    // end of the last appended record
	synced int64    // end of the last fdatasync'ed record
	broken error    // set when a failed append could not be undone
	writes int      // appends (write(2) calls), for tests
	syncs  int      // fdatasync calls, for tests
	lock   *os.File // <path>.lock, flock'ed while the journal is open

	// committed is how far the database has committed this journal (the
	// watermark of its last transaction); tickID and tickSize are the
	// journal and its end at the previous syncBehind.
	committed int64
	tickID    string
	tickSize  int64
}

func newID() ([16]byte, error) {
	var b [16]byte
	_, err := rand.Read(b[:])
	return b, err
}

func encodeHeader(id, prev [16]byte) []byte {
	b := make([]byte, 0, headerLen)
	b = append(b, journalMagic...)
	b = append(b, id[:]...)
	b = append(b, prev[:]...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// createJournal writes a new, empty journal at path (replacing any file
// there, atomically: written beside it, synced, renamed, directory synced).
func createJournal(path, prev string) (*journal, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	var pv [16]byte
	if prev != "" {
		if n, err := hex.Decode(pv[:], []byte(prev)); err != nil || n != len(pv) {
			return nil, fmt.Errorf("audit journal: bad previous id %q", prev)
		}
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	if _, err := f.Write(encodeHeader(id, pv)); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	return &journal{path: path, f: f, id: hex.EncodeToString(id[:]), prev: prev, size: headerLen, synced: headerLen}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// journalRecord is one event read back from a journal and the offset just
// after it.
type journalRecord struct {
	ev  Event
	end int64
}

// openJournal opens the journal at path and reads its records. A torn
// last record (a write cut short) is logged and cut off the file, so that
// appends continue after the last whole record. It returns nil and no
// error if there is no file.
func openJournal(path string, log *slog.Logger) (*journal, []journalRecord, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit journal: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("audit journal %s: %w", path, err)
	}
	if len(data) < headerLen || string(data[:8]) != journalMagic ||
		crc32.Checksum(data[:headerLen-4], castagnoli) != binary.LittleEndian.Uint32(data[headerLen-4:headerLen]) {
		f.Close()
		return nil, nil, fmt.Errorf("audit journal %s: not an audit journal (bad header); move it aside only after checking its events are in the database", path)
	}
	j := &journal{path: path, f: f, id: hex.EncodeToString(data[8:24])}
	if prev := data[24:40]; !bytes.Equal(prev, make([]byte, 16)) {
		j.prev = hex.EncodeToString(prev)
	}
	recs, end, torn := parseRecords(data)
	if torn != "" {
		log.Warn("audit journal: torn last record ignored (a write cut short by a crash; the request it held was not acknowledged)",
			"journal", path, "offset", end, "bytes", int64(len(data))-end, "reason", torn)
		if err := f.Truncate(end); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("audit journal %s: cut torn record: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("audit journal %s: %w", path, err)
		}
	}
	j.size, j.synced = end, end
	return j, recs, nil
}

// parseRecords decodes the records after the header; it stops at the
// first incomplete or damaged one and says why ("" if none).
func parseRecords(data []byte) (recs []journalRecord, end int64, torn string) {
	off := int64(headerLen)
	for off < int64(len(data)) {
		rest := data[off:]
		if len(rest) < recHeaderLen {
			return recs, off, "incomplete record header"
		}
		n := int64(binary.LittleEndian.Uint32(rest))
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n == 0 || n > maxRecord {
			return recs, off, "bad record length"
		}
		if int64(len(rest)) < recHeaderLen+n {
			return recs, off, "incomplete record"
		}
		p := rest[recHeaderLen : recHeaderLen+n]
		if crc32.Checksum(p, castagnoli) != sum {
			return recs, off, "checksum mismatch"
		}
		var ev Event
		if err := json.Unmarshal(p, &ev); err != nil {
			return recs, off, "undecodable record"
		}
		off += recHeaderLen + n
		recs = append(recs, journalRecord{ev: ev, end: off})
	}
	return recs, off, ""
}

// appendRecord encodes e as a journal record onto b (the Event as JSON,
// json.Unmarshal's input at replay; see appendEventJSON), without
// allocating when b has room.
func appendRecord(b []byte, e *Event) []byte {
	at := len(b)
	b = append(b, make([]byte, recHeaderLen)...)
	b = appendEventJSON(b, e)
	p := b[at+recHeaderLen:]
	binary.LittleEndian.PutUint32(b[at:], uint32(len(p)))
	binary.LittleEndian.PutUint32(b[at+4:], crc32.Checksum(p, castagnoli))
	return b
}

// write appends buf with one pwrite(2) and returns the journal's id and
// new end. A failed or short write is undone (the file cut back), so that
// no torn record sits before later ones; if that fails too the journal is
// broken and every later append fails.
func (j *journal) write(buf []byte, sync bool) (string, int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return "", 0, j.broken
	}
	n, err := j.f.WriteAt(buf, j.size)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = fmt.Errorf("audit journal %s unusable: %w (and %v)", j.path, err, terr)
		}
		return "", 0, fmt.Errorf("audit journal %s: %w", j.path, err)
	}
	j.size += int64(n)
	j.writes++
	if sync {
		if err := fdatasync(j.f); err != nil {
			// The bytes may or may not be on the disk: the requests fail,
			// the events are still inserted (a read that answered 503).
			return j.id, j.size, fmt.Errorf("audit journal %s: fdatasync: %w", j.path, err)
		}
		j.synced = j.size
	}
	return j.id, j.size, nil
}

// sync fdatasyncs the journal if it has unsynced bytes. The fdatasync
// runs without mu: requests keep appending meanwhile (their bytes may or
// may not be in this sync; synced only counts what was written before).
func (j *journal) sync() error {
	j.fmu.RLock()
	defer j.fmu.RUnlock()
	j.mu.Lock()
	if j.synced >= j.size || j.broken != nil || j.f == nil {
		j.mu.Unlock()
		return nil
	}
	f, id, size := j.f, j.id, j.size
	j.syncs++
	j.mu.Unlock()
	if err := fdatasync(f); err != nil {
		return err
	}
	j.mu.Lock()
	if j.id == id && j.synced < size {
		j.synced = size
	}
	j.mu.Unlock()
	return nil
}

// syncBehind is SyncBatch's periodic flush (every SyncEvery/2): it makes
// every record appended before the previous call durable, by an
// fdatasync unless the database has already committed them all
// (synchronous=FULL: they are on the disk there; the journal's copy is
// needed only after a process crash, which cannot lose the page cache).
// While the database keeps up (it commits every CommitEvery, well within
// SyncEvery/2) the journal is therefore rarely fdatasync'ed, and the
// guarantee is unchanged: a power cut loses at most the records of the
// last SyncEvery.
func (j *journal) syncBehind() error {
	j.mu.Lock()
	need := j.tickSize
	if j.tickID != j.id {
		// Replaced since (rotateIfDone: everything in the old one was
		// committed); nothing of the new one predates the last call.
		need = headerLen
	}
	j.tickID, j.tickSize = j.id, j.size
	covered := j.synced >= need || j.committed >= need
	j.mu.Unlock()
	if covered {
		return nil
	}
	return j.sync()
}

// markCommitted records that the database committed journal id up to
// offset (the watermark of the transaction that just committed).
func (j *journal) markCommitted(id string, offset int64) {
	j.mu.Lock()
	if id == j.id && offset > j.committed {
		j.committed = offset
	}
	j.mu.Unlock()
}

// rotateIfDone replaces the journal with a new, empty one whose previous
// id is this one's, if everything in it is committed (committed is the
// watermark just recorded for id) and it holds more than limit bytes.
func (j *journal) rotateIfDone(id string, committed, limit int64) (bool, error) {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if id != j.id || committed != j.size || j.size <= limit || j.broken != nil {
		return false, nil
	}
	nj, err := createJournal(j.path, j.id)
	if err != nil {
		return false, err
	}
	j.f.Close()
	j.f, j.id, j.prev, j.size, j.synced, j.committed = nj.f, nj.id, nj.prev, nj.size, nj.synced, 0
	return true, nil
}

func (j *journal) close() error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	if j.lock != nil {
		j.lock.Close()
		j.lock = nil
	}
	if j.broken == nil {
		j.broken = errClosed
	}
	return err
}
