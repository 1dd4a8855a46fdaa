package fhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
)

// Import and export on the command line (countycare fhir import|export):
// the same write path as POST /fhir, for an operator acting for one
// village clinic, and an NDJSON export of the county's records changed
// since a time (one file per type, the Bulk Data format).

// Summary counts what an import did, by resource type.
type Summary struct {
	Created  map[string]int // new records
	Existing map[string]int // found already held (a conditional create, a registration that stands)
	NotHeld  map[string]int // entries the platform has no place for (each said why)
}

func (s *Summary) add(res *written) {
	switch {
	case !res.held:
		s.NotHeld[res.typ]++
	case res.created:
		s.Created[res.typ]++
	default:
		s.Existing[res.typ]++
	}
}

// Import applies one transaction bundle for actor a as POST /fhir does —
// all or nothing, in one database transaction — with every new patient
// managed by village (a village clinic in a's scope; 0: as the bundle or
// a's institution says). Errors: those of the transaction (EINVALID with
// a field per bad entry, ECONFLICT …), EUNSUPPORTED without Atomic.
func (s *Server) Import(ctx context.Context, a care.Actor, body []byte, village int64) (*Summary, error) {
	if s.Atomic == nil {
		return nil, care.Errorf(care.EUNSUPPORTED, "fhir.transaction_unsupported")
	}
	kind, entries, err := ParseBundle(body, false)
	if err != nil {
		return nil, err
	}
	if kind != "transaction" {
		return nil, care.Invalid([]care.FieldError{bad("Bundle.type", "fhir.bundle_type", kind)})
	}
	wr := s.writer(a)
	wr.village = village
	// Audit rows of reads are queued and wait for the commit: the writer
	// connection is the transaction's until then (store.Atomic).
	ctx, barrier := audit.WithBarrier(ctx)
	var results []entryResult
	err = s.Atomic(ctx, func(ctx context.Context) error {
		var aerr error
		results, aerr = wr.apply(ctx, entries, true)
		return aerr
	})
	if werr := barrier.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		var fs []care.FieldError
		for i, x := range results {
			if x.err != nil {
				fs = append(fs, s.entryFaults(entries[i].Index, x.err)...)
			}
		}
		if len(fs) > 0 && care.ErrorCode(err) != care.EINTERNAL {
			return nil, &care.Error{Code: care.ErrorCode(err), Key: "fhir.transaction_failed", Fields: fs}
		}
		return nil, err
	}
	sum := &Summary{Created: map[string]int{}, Existing: map[string]int{}, NotHeld: map[string]int{}}
	for _, x := range results {
		sum.add(x.w)
	}
	return sum, nil
}

// exportTypes are the NDJSON files an export writes, in the order an
// import reads them (a Patient before what refers to it).
var exportTypes = []string{"Patient", "Condition", "Observation"}

// BundleOfNDJSON builds one transaction bundle from NDJSON files of
// exportTypes (an export's directory): each resource a create, its
// fullUrl Type/{old id}, so that references between them resolve to the
// records the import creates. read returns a type's file, nil if absent.
// Errors: EINVALID for a line that is not JSON (naming file and line).
func BundleOfNDJSON(read func(typ string) ([]byte, error)) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	n := 0
	for _, typ := range exportTypes {
		data, err := read(typ)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), MaxResourceBytes)
		for line := 1; sc.Scan(); line++ {
			raw := bytes.TrimSpace(sc.Bytes())
			if len(raw) == 0 {
				continue
			}
			var head struct {
				ResourceType, ID string
			}
			if err := json.Unmarshal(raw, &head); err != nil || head.ResourceType != typ || head.ID == "" {
				return nil, care.Invalid([]care.FieldError{bad(fmt.Sprintf("%s.ndjson:%d", typ, line), "fhir.json", jsonDetail(err))})
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			fmt.Fprintf(&b, `{"fullUrl":%q,"resource":%s,"request":{"method":"POST","url":%q}}`, typ+"/"+head.ID, raw, typ)
		}
		if err := sc.Err(); err != nil {
			return nil, care.Invalid([]care.FieldError{bad(typ+".ndjson", "fhir.json", err.Error())})
		}
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// ExportSource streams the records of a county changed since a time
// (store.Store.ChangedSince). The Bulk Data $export, when built, serves
// the same files; this is the command line's simple exporter behind it.
type ExportSource interface {
	ChangedSince(ctx context.Context, county string, since time.Time,
		fn func(r *resident.Resident, regs []chronic.Registration, visits []chronic.StoredVisit) error) error
}

// ActExportRecords is the audit action of a resident's records exported
// by the command line (countycare fhir export); the Bulk Data $export's
// are ActExport and ActExportDownload (bulk.go).
const ActExportRecords = "fhir.export.records"

// Export writes the county's Patients, Conditions (chronic registrations)
// and Observations (follow-up measurements) changed at or after since as
// NDJSON files in dir (Patient.ndjson, …), one audit row per resident
// exported (actor a), and returns how many of each it wrote. name gives
// a code's display text (the catalogue, in one language). A resource is
// exported when it changed since: a Patient by its last update, a
// Condition by its last change, an Observation when recorded.
func Export(ctx context.Context, src ExportSource, rec audit.Recorder, a care.Actor, since time.Time, dir string, name func(key string) string) (map[string]int, error) {
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	for _, typ := range exportTypes {
		f, err := os.Create(filepath.Join(dir, typ+".ndjson"))
		if err != nil {
			return nil, fmt.Errorf("fhir: export: %w", err)
		}
		closers = append(closers, f)
		files[typ] = bufio.NewWriter(f)
	}
	counts := map[string]int{}
	write := func(typ string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		counts[typ]++
		files[typ].Write(b)
		return files[typ].WriteByte('\n')
	}
	poverty := func(p resident.Poverty) string { return name("poverty." + string(p)) }
	err := src.ChangedSince(ctx, a.CountyCode, since, func(r *resident.Resident, regs []chronic.Registration, visits []chronic.StoredVisit) error {
		ev := audit.New(ctx, a, ActExportRecords, r.ID)
		ev.CountyCode = r.CountyCode
		n := 0
		if !r.UpdatedAt.Before(since) {
			if err := write("Patient", PatientOf(r, poverty)); err != nil {
				return err
			}
			n++
		}
		for i := range regs {
			if !lastUpdated(&regs[i]).Before(since) {
				if err := write("Condition", ConditionOf(&regs[i], name)); err != nil {
					return err
				}
				n++
			}
		}
		sort.Slice(visits, func(i, j int) bool { return visits[i].ID < visits[j].ID })
		for i := range visits {
			if visits[i].CreatedAt.Before(since) {
				continue
			}
			for _, o := range ObservationsOf(&visits[i]) {
				if err := write("Observation", o); err != nil {
					return err
				}
				n++
			}
		}
		ev.Detail = "FHIR export since " + since.UTC().Format(time.RFC3339) + ": " + strconv.Itoa(n) + " resources"
		rec.Record(ctx, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, typ := range exportTypes {
		if err := files[typ].Flush(); err != nil {
			return nil, fmt.Errorf("fhir: export: %w", err)
		}
	}
	for _, f := range closers {
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("fhir: export: %w", err)
		}
	}
	closers = nil
	return counts, nil
}

// ReadDir lists the files an import takes from dir: *.json bundles in
// name order, and whether the directory holds an export's NDJSON files.
func ReadDir(dir string) (bundles []string, ndjson bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	for _, e := range ents {
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), ".json"):
			bundles = append(bundles, filepath.Join(dir, e.Name()))
		case strings.HasSuffix(e.Name(), ".ndjson"):
			ndjson = true
		}
	}
	sort.Strings(bundles)
	return bundles, ndjson, nil
}
