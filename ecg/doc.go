// Package ecg reads electrocardiograms and pre-reads them: WFDB records
// (header, signal formats 212, 16 and 80, MIT annotations), the beat
// reference CSV of the shared test data and plain CSV exports; a QRS
// detector (DetectQRS), its beat-by-beat scorer (Score) and the automatic
// pre-read a reading-center worklist is sorted by (PreRead).
//
// The package is pure: it reads from io.Reader values and knows nothing of
// files, the database or HTTP. Every parser returns an error naming the
// fault (line, field, byte offset) for truncated or corrupt input and
// never panics on it (each has a fuzz target). Formats and the detector's
// design, with references, are in docs/ecg.md.
package ecg
