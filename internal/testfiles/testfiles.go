// Package testfiles finds the real files made by others that tests read
// (the module's testdata/ folder, see testdata/README.md). Tests never read
// outside the module: a plain clone must pass `make test` on its own.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the module's testdata/ folder, found from the test's working
// directory by walking up to go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("testfiles: no go.mod above %s", dir)
		}
	}
}

// Path is a path below testdata/; the test fails (never skips) when it is missing.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Root(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testfiles: %v (see testdata/README.md)", err)
	}
	return p
}

// Read is the content of a file below testdata/.
func Read(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DICOM is a file of testdata/dicom.
func DICOM(t testing.TB, name string) []byte { t.Helper(); return Read(t, "dicom", name) }

// MITDB is testdata/ecg/mitdb.
func MITDB(t testing.TB) string { t.Helper(); return Path(t, "ecg", "mitdb") }

// MITDBHeldOut is testdata/ecg/mitdb-heldout: MIT-BIH records the
// detector's defaults were never chosen on (issue 16).
func MITDBHeldOut(t testing.TB) string { t.Helper(); return Path(t, "ecg", "mitdb-heldout") }
