package store

import (
	"os"
	"path/filepath"
	"testing"
)

// pruneBackups keeps the newest backups and the one latest points at;
// temporary and foreign entries are left alone.
func TestPruneBackupsKeepsNewestAndLatest(t *testing.T) {
	dir := t.TempDir()
	names := []string{"countycare-20261201T000000Z-aaaa", "countycare-20261202T000000Z-bbbb", "countycare-20261203T000000Z-cccc", "countycare-20261204T000000Z-dddd"}
	for _, n := range append(names, ".tmp-countycare-20261205T000000Z-eeee", "notes") {
		if err := os.Mkdir(filepath.Join(dir, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// latest points at an older backup (a newer one was made by hand, say).
	if err := os.Symlink(names[1], filepath.Join(dir, LatestBackup)); err != nil {
		t.Fatal(err)
	}
	if err := pruneBackups(dir, 2); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{names[0]: false, names[1]: true, names[2]: true, names[3]: true, ".tmp-countycare-20261205T000000Z-eeee": true, "notes": true} {
		_, err := os.Stat(filepath.Join(dir, n))
		if got := err == nil; got != want {
			t.Errorf("%s present %v, want %v", n, got, want)
		}
	}
}

// A manifest signed with another key, or edited, is refused.
func TestReadBackupChecksTheSignature(t *testing.T) {
	dir := t.TempDir()
	m := &BackupManifest{Format: 1, Dialect: SQLite, File: sqliteCopyFile, SchemaVersion: 25, Tables: map[string]int64{"residents": 3}, AuditAnchor: "1:ab"}
	if err := finishBackup(dir, m, []string{"x  1  blobs.data 1\n"}, []byte("key-one-key-one-key-one-key-one!")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := ReadBackup(dir, []byte("key-one-key-one-key-one-key-one!")); err != nil || got.Tables["residents"] != 3 || got.Dir != dir {
		t.Fatalf("ReadBackup with the right key: %v %+v", err, got)
	}
	if _, _, err := ReadBackup(dir, []byte("key-two-key-two-key-two-key-two!")); err == nil {
		t.Error("a manifest was accepted under another key")
	}
}
