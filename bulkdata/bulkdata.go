// Package bulkdata holds the state of FHIR Bulk Data Access exports
// (https://hl7.org/fhir/uv/bulkdata/, IG 2.0): a system client's kick-off
// request is an Export, waiting until the scheduler's lease holder runs it;
// running, it writes one NDJSON file per resource type (split past
// Config.FileBytes) into the database in pieces, so that every replica
// can serve them, with HTTP Range for a download cut midway; files expire
// Config.Expiry after the export completes and are deleted with it.
//
// What is exported is a Selection: the county, the villages whose
// residents it covers (the client's binding, narrowed by a Group), an
// optional chronic registry, the types and _since. The rows are streamed
// from the database one at a time, never collected, so memory stays flat
// whatever the county's size.
package bulkdata

import (
	"time"
)

// States of an export.
const (
	StateAccepted  = "accepted"  // kicked off, waiting for the lease holder
	StateRunning   = "running"   // files being written
	StateCompleted = "completed" // the manifest is ready
	StateFailed    = "failed"    // Error says why (for the client: a fixed text)
	StateCancelled = "cancelled" // DELETE by the client: its files are deleted
)

// Levels of a kick-off.
const (
	LevelSystem  = "system"  // /fhir/$export
	LevelPatient = "patient" // /fhir/Patient/$export
	LevelGroup   = "group"   // /fhir/Group/{id}/$export
)

// Types are the resource types an export can hold, in the order written.
// AuditEvent (the audit trail) is exported only when _type names it, at
// system level, for a county-wide client granted it by name.
var Types = []string{"Patient", "Group", "RelatedPerson", "Condition", "Observation", "Encounter", "DiagnosticReport", "ExplanationOfBenefit", "Provenance", "Location",
	"Organization", "Practitioner", "PractitionerRole", "ServiceRequest", "ImagingStudy", "CarePlan", "CareTeam", "Consent", "MedicationRequest", "MedicationDispense", "Claim", "Coverage", TypeAuditEvent}

// TypeAuditEvent is the audit trail's type.
const TypeAuditEvent = "AuditEvent"

// Export is one kick-off and what became of it.
type Export struct {
	ID            string // random, the status URL's last segment
	ClientID      string // the system client that asked
	CountyCode    string
	InstitutionID int64 // the client's binding (0: county-wide)
	Level         string
	GroupID       string // LevelGroup: the Group's id
	Types         []string
	Since         time.Time // zero: everything
	RequestURL    string    // the kick-off URL, as the manifest's "request"
	State         string
	Progress      string // "Patient 120000" while running
	Error         string
	CreatedAt     time.Time
	StartedAt     time.Time
	FinishedAt    time.Time
	ExpiresAt     time.Time // files deleted after (set on completion)
	TransactionAt time.Time // the manifest's transactionTime: the snapshot's start
}

// File is one NDJSON file of an export.
type File struct {
	ExportID string
	Seq      int
	Type     string
	Count    int64 // resources (lines)
	Size     int64 // bytes
}

// Selection is what one export reads.
type Selection struct {
	CountyCode string
	// Villages limits the residents to those managed by these village
	// clinics; nil: the whole county. An empty non-nil slice selects none.
	Villages []int64
	Registry string    // a chronic registry's disease: only its registered residents
	Since    time.Time // only resources changed at or after (zero: all)
	// Now is the time the export reads as of: a status derived from dates
	// (a family doctor contract past its end is completed) is the one of
	// this time, and with Since a resource whose derived status changed in
	// [Since, Now] is exported though no row of it changed.
	Now time.Time
}

// Whole reports whether sel is the whole county (a system-level export of
// a county-wide client): only then is the audit trail exported.
func (sel Selection) Whole() bool { return sel.Villages == nil && sel.Registry == "" }

// Config is the export configuration (serve flags).
type Config struct {
	Expiry    time.Duration // how long files are kept after completion
	FileBytes int64         // a type's output is split into files of at most this
	PieceSize int           // bytes per stored piece
	// HeapBudget bounds the Go heap's growth while an export runs: a soft
	// memory limit this far above the process's memory at its start (0:
	// none). The export's garbage is then collected before it piles up.
	HeapBudget int64
	// WriterCacheKiB is the page cache of SQLite's writer connection while
	// an export writes its pieces (0: left as it is): each piece's pages
	// are written once and never read back through it.
	WriterCacheKiB int
}

// DefaultConfig: files kept a day, split at 256 MiB, stored in 1 MiB
// pieces; the runtime may grow 32 MiB and the writer keeps 4 MiB of pages
// while an export runs (the target: RSS growth ≤ 100 MB). 32 MiB, not
// 16: at 16 the collector ran almost without pause through a first export of
// the 1 M county (46 k resources/s against 53 k, for the same RSS growth:
// docs/benchmarks.md, #12); at 64 the growth passed 100 MB.
func DefaultConfig() Config {
	return Config{Expiry: 24 * time.Hour, FileBytes: 256 << 20, PieceSize: 1 << 20, HeapBudget: 32 << 20, WriterCacheKiB: 4096}
}
