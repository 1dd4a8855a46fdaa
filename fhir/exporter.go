package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"time"

	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/lab"
	"countycare/online"
	"countycare/org"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/settle"
	"countycare/smart"
)

// ExportLang is the language of the names in exported resources (code
// displays, Condition text): the county's own. Codes are language-free.
const ExportLang = "zh"

// RunExports runs the kicked-off exports, one after another, until none
// waits, and returns how many it ran. It is a duty of the scheduler's
// lease holder (serve's scheduledJobs): one replica writes the files, every
// replica serves them. An export left running by a replica that lost the
// lease is started again after stale.
func (s *Server) RunExports(ctx context.Context, stale time.Duration) (int, error) {
	n := 0
	for {
		now := s.Now()
		e, err := s.Exports.ClaimExport(ctx, now, now.Add(-stale))
		if err != nil || e == nil {
			return n, err
		}
		n++
		if err := s.runExport(ctx, e); err != nil {
			if care.IsCode(err, care.ECONFLICT) {
				continue // cancelled while running: its files are gone
			}
			if ctx.Err() != nil {
				return n, err // stopped: the next lease holder starts it again
			}
			if ferr := s.Exports.FinishExport(ctx, e.ID, bulkdata.StateFailed, err.Error(), s.Now(), time.Time{}); ferr != nil {
				return n, ferr
			}
			return n, fmt.Errorf("fhir: export %s: %w", e.ID, err)
		}
		done := s.Now()
		if err := s.Exports.FinishExport(ctx, e.ID, bulkdata.StateCompleted, "", done, done.Add(s.ExportCfg.Expiry)); err != nil {
			return n, err
		}
	}
}

// SweepExports deletes the exports whose files expired, and cancelled or
// failed ones older than the expiry.
func (s *Server) SweepExports(ctx context.Context) (int64, error) {
	return s.Exports.DeleteExpiredExports(ctx, s.Now(), s.ExportCfg.Expiry)
}

// selection is what an export reads: the client's binding, narrowed by
// the Group.
func (s *Server) selection(ctx context.Context, e *bulkdata.Export) (bulkdata.Selection, error) {
	sel := bulkdata.Selection{CountyCode: e.CountyCode, Since: e.Since, Now: s.Now()}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return sel, err
	}
	rc := &reach{tree: t, client: &smart.Client{CountyCode: e.CountyCode}}
	if e.InstitutionID != 0 {
		rc.villages = villagesUnder(t, e.InstitutionID)
	}
	sel.Villages = rc.villages
	if e.Level == bulkdata.LevelGroup {
		g, ok := s.groupSelection(rc, e.GroupID)
		if !ok { // the tree changed since the kick-off: nothing is exported
			g.Villages = []int64{}
		}
		g.Since, g.Now = e.Since, sel.Now
		sel = g
	}
	return sel, nil
}

// runExport writes an export's files, type after type, with the heap and
// the writer's page cache bounded (ExportCfg.HeapBudget, WriterCacheKiB).
// A source that several of the asked types are made from (the
// prescriptions: MedicationRequest, MedicationDispense, Provenance; the
// households; the contracts; the signed reports; the settlements) is
// scanned once for all of them, each type into its own files, the same
// bytes as a type exported alone (exportRun).
func (s *Server) runExport(ctx context.Context, e *bulkdata.Export) error {
	sel, err := s.selection(ctx, e)
	if err != nil {
		return err
	}
	defer boundHeap(s.ExportCfg.HeapBudget)()
	if s.ExportCfg.WriterCacheKiB > 0 {
		defer s.Exports.LeanExportWrites(ctx, s.ExportCfg.WriterCacheKiB)()
	}
	x := &exportRun{ctx: ctx, s: s, e: e, sel: sel, t: s.tr(ExportLang), open: map[string]*ndjsonWriter{}, written: map[string]bool{}, did: map[string]bool{}}
	for _, typ := range e.Types {
		if x.written[typ] { // written whole in an earlier type's pass
			continue
		}
		if err := x.write(ctx, typ); err != nil {
			return err
		}
		if err := x.finish(typ); err != nil {
			return err
		}
	}
	return nil
}

// exportRun is one export being written: the writers of the types under
// way (a type's writer is opened by the first pass that feeds it and ended
// once its last part is written), the types written whole, and the parts
// of a type already written by an earlier type's pass (did, "Type:part").
type exportRun struct {
	ctx     context.Context
	s       *Server
	e       *bulkdata.Export
	sel     bulkdata.Selection
	t       func(string, ...any) string
	seq     int // the last file number given
	open    map[string]*ndjsonWriter
	written map[string]bool
	did     map[string]bool
}

// writer is typ's writer, opened (its first file begun) if need be.
func (x *exportRun) writer(typ string) *ndjsonWriter {
	w := x.open[typ]
	if w == nil {
		w = &ndjsonWriter{ctx: x.ctx, st: x.s.Exports, id: x.e.ID, cfg: x.s.ExportCfg, seqs: &x.seq}
		w.begin(typ)
		x.open[typ] = w
	}
	return w
}

// also is typ's writer when the export asked for typ and has not written
// it whole: a pass over a source typ is also made from writes its part
// there; nil otherwise.
func (x *exportRun) also(typ string) *ndjsonWriter {
	if x.written[typ] || !slices.Contains(x.e.Types, typ) {
		return nil
	}
	return x.writer(typ)
}

// finish ends typ's files: every part of it is written.
func (x *exportRun) finish(typ string) error {
	x.written[typ] = true
	w := x.open[typ]
	if w == nil {
		return nil
	}
	delete(x.open, typ)
	return w.end()
}

// write writes typ: its parts in order, each mapped as the type's read or
// search maps it; a pass over a source another asked type is made from
// feeds that type's writer too.
func (x *exportRun) write(ctx context.Context, typ string) error {
	s, e, sel, t := x.s, x.e, x.sel, x.t
	w := x.writer(typ)
	name := func(k string) string { return t(k) }
	var err error
	switch typ {
	case "Patient":
		poverty := func(p resident.Poverty) string { return t("poverty." + string(p)) }
		err = s.Exports.EachExportResident(ctx, sel, func(r *resident.Resident) error { return w.write(PatientOf(r, poverty)) })
	case "Condition":
		err = s.Exports.EachExportRegistration(ctx, sel, func(g *chronic.Registration) error { return w.write(ConditionOf(g, name)) })
	case "Observation":
		err = s.Exports.EachExportVisit(ctx, sel, func(v *chronic.StoredVisit) error {
			for _, o := range ObservationsOf(v) {
				if err := w.write(o); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && s.Labs != nil { // lab results, as the Observation search maps them
			err = s.Exports.EachExportLabResult(ctx, sel, func(r *lab.Result) error { return w.write(ObservationOfLab(r, ExportLang)) })
		}
	case "Encounter":
		// Consultations, the stays up-referrals led to, online visits,
		// chronic follow-up visits: as the Encounter search maps them.
		err = s.Exports.EachExportConsultation(ctx, sel, func(c *consult.Consultation) error { return w.write(EncounterOfConsult(c, t)) })
		if err == nil {
			err = s.Exports.EachExportReferral(ctx, sel, func(r *referral.Referral) error {
				if enc, ok := EncounterOfReferral(r); ok {
					return w.write(enc)
				}
				return nil
			})
		}
		if err == nil {
			err = s.Exports.EachExportOnlineVisit(ctx, sel, func(v *online.Visit) error { return w.write(EncounterOfOnline(v)) })
		}
		if err == nil && s.Chronic != nil { // chronic follow-up visits
			err = s.Exports.EachExportVisit(ctx, sel, func(v *chronic.StoredVisit) error { return w.write(EncounterOfFollowUp(v, t)) })
		}
	case "DiagnosticReport":
		// The signed ECG and imaging reports, as the DiagnosticReport
		// search maps them (their signatures, Provenance's first part, from
		// the same pass); a server without the reading workflow has none.
		err = x.reportSignatures(ctx, w)
		if err == nil && s.Labs != nil {
			err = s.exportLabReports(ctx, sel, w)
		}
	case "Provenance":
		// The signatures of the signed reports and prescriptions, as the
		// Provenance search derives them (lab results are filed, not signed).
		err = x.reportSignatures(ctx, nil)
		if err == nil {
			err = x.prescriptions(ctx)
		}
	case "Location", "Organization":
		err = s.exportInstitutions(ctx, sel, typ, w)
	case "Practitioner", "PractitionerRole":
		err = s.exportStaff(ctx, sel, typ == "PractitionerRole", w)
	case bulkdata.TypeAuditEvent:
		// The county's audit trail, oldest first, as the AuditEvent read
		// maps it; checked again here (the kick-off refused any other).
		if e.Level == bulkdata.LevelSystem && sel.Whole() {
			err = s.Exports.EachExportAudit(ctx, sel, func(ev *audit.Event) error { return w.write(AuditEventOf(ev, t)) })
		}
	case "ExplanationOfBenefit":
		err = x.settlements(ctx)
	default:
		_, err = x.writeCare(ctx, typ)
	}
	return err
}

// reportSignatures writes the signed ECG and imaging reports' part of
// DiagnosticReport (into dr; nil: not this pass) and of Provenance (their
// signatures, when asked and not yet written), from one pass.
func (x *exportRun) reportSignatures(ctx context.Context, dr *ndjsonWriter) error {
	var pv *ndjsonWriter
	if !x.did["Provenance:reports"] {
		pv = x.also("Provenance")
	}
	if dr == nil && pv == nil {
		return nil
	}
	x.did["Provenance:reports"] = true
	return x.s.eachExportReport(ctx, x.sel, func(d DiagnosticReport) error {
		if dr != nil {
			if err := dr.write(d); err != nil {
				return err
			}
		}
		if pv != nil {
			if p, ok := ProvenanceOfReport(d); ok {
				return pv.write(p)
			}
		}
		return nil
	})
}

// settlements writes ExplanationOfBenefit and, when asked, Claim (made of
// the same settlement) from one pass.
func (x *exportRun) settlements(ctx context.Context) error {
	tree, err := x.s.Orgs.Tree(ctx)
	if err != nil {
		return err
	}
	eob := x.writer("ExplanationOfBenefit")
	var claim *ndjsonWriter
	if x.s.Settle != nil { // a server without settlement has no Claim
		claim = x.also("Claim")
	}
	insurer := insurerOf(tree, x.e.CountyCode)
	err = x.s.Exports.EachExportSettlement(ctx, x.sel, func(st *settle.Settlement) error {
		b := ExplanationOfBenefitOf(st, insurer, x.t)
		if err := eob.write(b); err != nil {
			return err
		}
		if claim != nil {
			return claim.write(ClaimOf(st, b))
		}
		return nil
	})
	if err != nil || claim == nil {
		return err
	}
	return x.finish("Claim")
}

// heapBound is the soft memory limit the running export and the file
// downloads share: the first to start sets it, the last to end restores
// the previous one.
var heapBound struct {
	sync.Mutex
	n    int
	set  bool
	prev int64
}

// boundHeap sets a soft memory limit budget bytes above the Go runtime's
// memory now, unless a lower limit is set or one is already held, and
// returns what releases it. A soft limit: the collector runs sooner as the
// heap nears it (its CPU capped by the runtime), nothing fails.
func boundHeap(budget int64) (release func()) {
	if budget <= 0 {
		return func() {}
	}
	heapBound.Lock()
	defer heapBound.Unlock()
	heapBound.n++
	if heapBound.n == 1 {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		limit := int64(s[0].Value.Uint64()-s[1].Value.Uint64()) + budget
		if prev := debug.SetMemoryLimit(-1); limit < prev {
			debug.SetMemoryLimit(limit)
			heapBound.set, heapBound.prev = true, prev
		}
	}
	return func() {
		heapBound.Lock()
		defer heapBound.Unlock()
		heapBound.n--
		if heapBound.n == 0 && heapBound.set {
			debug.SetMemoryLimit(heapBound.prev)
			heapBound.set = false
		}
	}
}

// eachExportReport maps the signed ECG and imaging reports of sel's
// residents as the DiagnosticReport search does, for fn; a server without
// the reading workflow has none.
func (s *Server) eachExportReport(ctx context.Context, sel bulkdata.Selection, fn func(DiagnosticReport) error) error {
	if s.Readings == nil {
		return nil
	}
	t := s.tr(ExportLang)
	return s.Exports.EachExportReport(ctx, sel, func(st *reading.Study, reps []reading.Report) error {
		if d, ok := DiagnosticReportOf(st, reps, s.Readings.Templates.For(st.Modality), ExportLang, t); ok {
			return fn(d)
		}
		return nil
	})
}

// exportInstitutions writes the selection's institutions (selectedInstitutions)
// as the Organization or Location (typ) read maps them; with _since,
// those created at or after it (the only time an institution has).
func (s *Server) exportInstitutions(ctx context.Context, sel bulkdata.Selection, typ string, w *ndjsonWriter) error {
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return err
	}
	t := s.tr(ExportLang)
	kn := func(k org.Kind) string { return t("kind." + string(k)) }
	for _, id := range selectedInstitutions(tree, sel) {
		in := tree.Get(id)
		if in == nil || (!sel.Since.IsZero() && in.CreatedAt.Before(sel.Since)) {
			continue
		}
		_, res := treeResource(typ, in, kn)
		if err := w.write(res); err != nil {
			return err
		}
	}
	return nil
}

// exportStaff writes the practitioners of the selection's institutions
// as the Practitioner (or, role, PractitionerRole) read maps them; with
// _since, those created at or after it.
func (s *Server) exportStaff(ctx context.Context, sel bulkdata.Selection, role bool, w *ndjsonWriter) error {
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return err
	}
	var ids []int64 // nil: every practitioner (the whole tree)
	if sel.Villages != nil {
		ids = selectedInstitutions(tree, sel)
	}
	t := s.tr(ExportLang)
	name := func(k string) string { return t(k) }
	return s.Exports.EachExportPractitioner(ctx, ids, sel.Since, func(p *org.Practitioner) error {
		if role {
			return w.write(PractitionerRoleOf(p, name))
		}
		return w.write(PractitionerOf(p, name))
	})
}

// selectedInstitutions are the institutions of a selection, in id order:
// the whole tree's (the county's and the partner hospitals above it) for
// a county-wide selection, else the selected village clinics and the
// institutions above them.
func selectedInstitutions(tree *org.Tree, sel bulkdata.Selection) []int64 {
	ids := map[int64]bool{}
	if sel.Villages == nil {
		for _, root := range tree.Roots() {
			for _, id := range tree.Subtree(root.ID) {
				ids[id] = true
			}
		}
	} else {
		for _, v := range sel.Villages {
			ids[v] = true
			for _, in := range tree.Ancestors(v) {
				ids[in.ID] = true
			}
		}
	}
	order := make([]int64, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	slices.Sort(order)
	return order
}

// exportLabReports writes the lab reports of sel's residents, as the
// DiagnosticReport search groups them (labReports): one resident's
// results are held at a time.
func (s *Server) exportLabReports(ctx context.Context, sel bulkdata.Selection, w *ndjsonWriter) error {
	t := s.tr(ExportLang)
	var held []lab.Result
	flush := func() error {
		for _, m := range labReports(held, ExportLang, t) {
			if err := w.write(m.res); err != nil {
				return err
			}
		}
		held = held[:0]
		return nil
	}
	err := s.Exports.EachExportLabResult(ctx, sel, func(r *lab.Result) error {
		if len(held) > 0 && held[0].ResidentID != r.ResidentID {
			if err := flush(); err != nil {
				return err
			}
		}
		held = append(held, *r)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// ndjsonWriter writes one resource a line into the export's files: the
// bytes are stored a piece (Config.PieceSize) at a time, a file is closed
// past Config.FileBytes and the type goes on in the next.
type ndjsonWriter struct {
	ctx   context.Context
	st    ExportStore
	id    string
	cfg   bulkdata.Config
	typ   string
	seqs  *int  // the export's last file number (its writers share it)
	seq   int   // current file
	pos   int64 // bytes of the current file already stored
	count int64 // resources in the current file
	total int64 // resources of this type
	buf   bytes.Buffer
	enc   *json.Encoder
}

func (w *ndjsonWriter) begin(typ string) {
	w.typ, w.total = typ, 0
	w.next()
}

func (w *ndjsonWriter) next() {
	*w.seqs++
	w.seq = *w.seqs
	w.pos, w.count = 0, 0
	w.buf.Reset()
	w.enc = json.NewEncoder(&w.buf) // Encode ends each value with a newline: NDJSON
}

func (w *ndjsonWriter) write(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	w.count++
	w.total++
	if w.buf.Len() >= w.cfg.PieceSize {
		if err := w.flush(); err != nil {
			return err
		}
		if w.pos >= w.cfg.FileBytes {
			if err := w.close(); err != nil {
				return err
			}
			w.next()
		}
	}
	return nil
}

func (w *ndjsonWriter) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	if err := w.st.AppendExportPiece(w.ctx, w.id, w.seq, w.pos, w.buf.Bytes(), w.typ+" "+strconv.FormatInt(w.total, 10)); err != nil {
		return err
	}
	w.pos += int64(w.buf.Len())
	w.buf.Reset()
	return nil
}

// close records the current file (a file with no resource is not listed:
// the manifest names only files with content, as the IG asks).
func (w *ndjsonWriter) close() error {
	if err := w.flush(); err != nil {
		return err
	}
	if w.count == 0 {
		return nil
	}
	return w.st.AddExportFile(w.ctx, bulkdata.File{ExportID: w.id, Seq: w.seq, Type: w.typ, Count: w.count, Size: w.pos})
}

func (w *ndjsonWriter) end() error { return w.close() }
