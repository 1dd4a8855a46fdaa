package consult

// In-memory fakes for the service tests of service_rules_test.go (issue 18
// §6: gremlins runs only this package's tests, and the service was tested in
// store and web). memRepo is store/consult.go and store/org.go in memory:
// each method keeps the SQL adapter's semantics that the service relies on —
// ENOTFOUND for a missing practitioner, case, blob or another department's
// shift; the idempotency key per account (ECONFLICT consult.key_reused when
// the request differs); the optimistic version (ECONFLICT consult.stale);
// EscalateMany skipping a case that moved on; the care link's expiry only
// ever shortened; newest-first lists with a limit of 200 by default.

import (
	"context"
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

type caseRow struct {
	c     Consultation
	hash  string
	chain []int64
	head  int64
}

type memRepo struct {
	mu       sync.Mutex
	clock    func() time.Time
	depts    []org.Department
	practs   map[int64]*org.Practitioner
	slots    []Slot
	rows     map[int64]*caseRow
	nextID   int64
	events   []Event
	messages []Message
	outbox   []notify.Message
	audits   []audit.Event // rows written in the transaction of a change
	links    []access.CareLink
	blobs    map[string][2]string // county|sha → type, data

	fail           map[string]error // method name → the error it returns
	practCalls     int
	dueCalls       int
	filters        []Filter
	slotWindows    [][2]time.Time
	beforeEscalate func() // runs inside EscalateMany before it saves (a doctor acting meanwhile)
	onDue          func() // runs at each DueConsultations (a scheduler's tick)
	moveNone       bool   // EscalateMany finds every case changed
}

func cloneCase(c Consultation) Consultation {
	c.Departments, c.ExtraLinks, c.Chain = slices.Clone(c.Departments), slices.Clone(c.ExtraLinks), slices.Clone(c.Chain)
	if c.Opinion != nil {
		o := *c.Opinion
		c.Opinion = &o
	}
	return c
}

func (r *memRepo) Departments(_ context.Context, inst int64) ([]org.Department, error) {
	if err := r.fail["Departments"]; err != nil {
		return nil, err
	}
	var out []org.Department
	for _, d := range r.depts {
		if d.InstitutionID == inst {
			out = append(out, d)
		}
	}
	return out, nil
}

func (r *memRepo) Practitioners(_ context.Context, f org.PractitionerFilter) ([]org.Practitioner, error) {
	if err := r.fail["Practitioners"]; err != nil {
		return nil, err
	}
	var out []org.Practitioner
	for _, id := range slices.Sorted(mapKeys(r.practs)) {
		p := r.practs[id]
		if len(f.Institutions) == 0 || slices.Contains(f.Institutions, p.InstitutionID) {
			out = append(out, *p)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func mapKeys[V any](m map[int64]V) iter.Seq[int64] { return maps.Keys(m) }

func (r *memRepo) Practitioner(_ context.Context, id int64) (*org.Practitioner, error) {
	r.practCalls++
	if err := r.fail["Practitioner"]; err != nil {
		return nil, err
	}
	p, ok := r.practs[id]
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := *p
	return &c, nil
}

func (r *memRepo) DutySlots(_ context.Context, dept int64, from, to time.Time) ([]Slot, error) {
	r.slotWindows = append(r.slotWindows, [2]time.Time{from, to})
	if err := r.fail["DutySlots"]; err != nil {
		return nil, err
	}
	var out []Slot
	for _, s := range r.slots {
		if s.DepartmentID == dept && s.End.After(from) && s.Start.Before(to) {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		if out[i].Position != out[j].Position {
			return out[i].Position < out[j].Position
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (r *memRepo) SaveSlot(_ context.Context, s *Slot, ev audit.Event) error {
	s.ID = int64(len(r.slots) + 1000)
	r.slots = append(r.slots, *s)
	r.audits = append(r.audits, ev)
	return nil
}

func (r *memRepo) DeleteSlot(_ context.Context, id, dept int64, ev audit.Event) error {
	i := slices.IndexFunc(r.slots, func(s Slot) bool { return s.ID == id && s.DepartmentID == dept })
	if i < 0 {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	r.slots = slices.Delete(r.slots, i, i+1)
	r.audits = append(r.audits, ev)
	return nil
}

func (r *memRepo) headOfDept(id int64) int64 {
	for _, d := range r.depts {
		if d.ID == id {
			return d.HeadID
		}
	}
	return 0
}

func (r *memRepo) addEvents(id int64, evs []Event) {
	for _, e := range evs {
		e.ID, e.ConsultationID = int64(len(r.events)+1), id
		r.events = append(r.events, e)
	}
}

func (r *memRepo) CreateConsultation(_ context.Context, c *Consultation, hash string, evs []Event, links []*access.CareLink, msgs []notify.Message, ev audit.Event) (bool, error) {
	if err := r.fail["CreateConsultation"]; err != nil {
		return false, err
	}
	if c.IdempotencyKey != "" {
		for _, id := range slices.Sorted(mapKeys(r.rows)) {
			x := r.rows[id]
			if x.c.FromAccount == c.FromAccount && x.c.IdempotencyKey == c.IdempotencyKey {
				if x.hash != hash {
					return false, care.Errorf(care.ECONFLICT, "consult.key_reused")
				}
				*c = cloneCase(x.c)
				return true, nil
			}
		}
	}
	now := r.clock()
	c.CreatedAt, c.Version, c.ExtraLinks = now, 1, nil
	for i, l := range links {
		l.ID, l.CreatedAt = int64(len(r.links)+1), now
		r.links = append(r.links, *l)
		if i == 0 {
			c.CareLinkID = l.ID
		} else {
			c.ExtraLinks = append(c.ExtraLinks, l.ID)
		}
	}
	r.nextID++
	c.ID = r.nextID
	if r.rows == nil {
		r.rows = map[int64]*caseRow{}
	}
	stored := cloneCase(*c)
	stored.Chain = nil // the chain is a column of its own, returned beside the case
	r.rows[c.ID] = &caseRow{c: stored, hash: hash, chain: slices.Clone(c.Chain), head: r.headOfDept(c.ToDepartment)}
	r.addEvents(c.ID, evs)
	r.outbox = append(r.outbox, msgs...)
	ev.Detail += " #" + itoa(c.ID)
	r.audits = append(r.audits, ev)
	return false, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (r *memRepo) Consultation(_ context.Context, id int64) (*Consultation, []int64, int64, error) {
	if err := r.fail["Consultation"]; err != nil {
		return nil, nil, 0, err
	}
	x, ok := r.rows[id]
	if !ok {
		return nil, nil, 0, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := cloneCase(x.c)
	return &c, slices.Clone(x.chain), x.head, nil
}

func (r *memRepo) UpdateConsultation(_ context.Context, c *Consultation, evs []Event, msgs []notify.Message, linkExpires time.Time, ev audit.Event) error {
	if err := r.fail["UpdateConsultation"]; err != nil {
		return err
	}
	x, ok := r.rows[c.ID]
	if !ok || x.c.Version != c.Version {
		return care.Errorf(care.ECONFLICT, "consult.stale")
	}
	s := &x.c
	s.Status, s.AssignedTo, s.Step, s.Deadline, s.DeclineReason = c.Status, c.AssignedTo, c.Step, c.Deadline, c.DeclineReason
	s.Opinion = nil
	if c.Opinion != nil {
		o := *c.Opinion
		s.Opinion = &o
	}
	s.Decision, s.DecisionNote, s.AcceptedAt, s.AnsweredAt, s.ClosedAt = c.Decision, c.DecisionNote, c.AcceptedAt, c.AnsweredAt, c.ClosedAt
	s.Version++
	c.Version++
	r.addEvents(c.ID, evs)
	r.outbox = append(r.outbox, msgs...)
	if !linkExpires.IsZero() && c.CareLinkID != 0 {
		for _, id := range append([]int64{c.CareLinkID}, c.ExtraLinks...) {
			for i := range r.links {
				if l := &r.links[i]; l.ID == id && l.CountyCode == c.County && (l.ExpiresAt.IsZero() || l.ExpiresAt.After(linkExpires)) {
					l.ExpiresAt = linkExpires
				}
			}
		}
	}
	r.audits = append(r.audits, ev)
	return nil
}

func (r *memRepo) DueConsultations(_ context.Context, now time.Time, limit int) ([]Due, error) {
	r.dueCalls++
	if r.onDue != nil {
		r.onDue()
	}
	if err := r.fail["DueConsultations"]; err != nil {
		return nil, err
	}
	var out []Due
	for _, id := range slices.Sorted(mapKeys(r.rows)) {
		x := r.rows[id]
		if x.c.Status == StatusRequested && !x.c.Deadline.After(now) {
			out = append(out, Due{C: cloneCase(x.c), Chain: slices.Clone(x.chain), Head: x.head})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].C.Deadline.Before(out[j].C.Deadline) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (r *memRepo) EscalateMany(_ context.Context, es []Escalation) (int, error) {
	if r.beforeEscalate != nil {
		r.beforeEscalate()
	}
	if err := r.fail["EscalateMany"]; err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		x := r.rows[e.C.ID]
		if r.moveNone || x == nil || x.c.Version != e.C.Version || x.c.Status != StatusRequested {
			continue
		}
		x.c.AssignedTo, x.c.Step, x.c.Deadline = e.C.AssignedTo, e.C.Step, e.C.Deadline
		x.c.Escalations++
		x.c.Version++
		e.C.Version++
		e.C.Escalations++
		r.addEvents(e.C.ID, e.Events)
		r.outbox = append(r.outbox, e.Msgs...)
		r.audits = append(r.audits, e.Audit)
		n++
	}
	return n, nil
}

func (r *memRepo) ConsultationEvents(_ context.Context, id int64) ([]Event, error) {
	if err := r.fail["ConsultationEvents"]; err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range r.events {
		if e.ConsultationID == id {
			out = append(out, e)
		}
	}
	return out, nil
}

func (r *memRepo) ConsultationMessages(_ context.Context, id int64) ([]Message, error) {
	if err := r.fail["ConsultationMessages"]; err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range r.messages {
		if m.ConsultationID == id {
			out = append(out, m)
		}
	}
	return out, nil
}

func (r *memRepo) AddConsultationMessage(_ context.Context, m *Message, e Event, ev audit.Event) error {
	if err := r.fail["AddConsultationMessage"]; err != nil {
		return err
	}
	m.At, m.ID = r.clock(), int64(len(r.messages)+1)
	r.messages = append(r.messages, *m)
	r.addEvents(m.ConsultationID, []Event{e})
	r.audits = append(r.audits, ev)
	return nil
}

func (r *memRepo) AddConsultationEvent(_ context.Context, e Event, ev audit.Event) error {
	if err := r.fail["AddConsultationEvent"]; err != nil {
		return err
	}
	r.addEvents(e.ConsultationID, []Event{e})
	r.audits = append(r.audits, ev)
	return nil
}

func (r *memRepo) ListConsultations(_ context.Context, f Filter) ([]Consultation, error) {
	r.filters = append(r.filters, f)
	if err := r.fail["ListConsultations"]; err != nil {
		return nil, err
	}
	ids := slices.Sorted(mapKeys(r.rows))
	slices.Reverse(ids) // newest first
	var out []Consultation
	for _, id := range ids {
		c := r.rows[id].c
		if c.County != f.County || f.FromInstitution != 0 && c.FromInstitution != f.FromInstitution || f.AssignedTo != 0 && c.AssignedTo != f.AssignedTo ||
			f.Open && !c.Status.Open() || f.Breached && c.Escalations == 0 || f.ResidentID != 0 && c.ResidentID != f.ResidentID {
			continue
		}
		if len(f.Departments) > 0 && !slices.ContainsFunc(f.Departments, func(d int64) bool { return d == c.ToDepartment || slices.Contains(c.Departments, d) }) {
			continue
		}
		out = append(out, cloneCase(c))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (r *memRepo) ConsultationStats(_ context.Context, county string, from, to time.Time) ([]Consultation, error) {
	if err := r.fail["ConsultationStats"]; err != nil {
		return nil, err
	}
	var out []Consultation
	for _, id := range slices.Sorted(mapKeys(r.rows)) {
		c := r.rows[id].c
		if c.County == county && !c.CreatedAt.Before(from) && c.CreatedAt.Before(to) {
			out = append(out, cloneCase(c))
		}
	}
	return out, nil
}

func (r *memRepo) PutBlob(_ context.Context, county, sha, typ string, data []byte) error {
	if err := r.fail["PutBlob"]; err != nil {
		return err
	}
	if r.blobs == nil {
		r.blobs = map[string][2]string{}
	}
	if _, ok := r.blobs[county+"|"+sha]; !ok { // ON CONFLICT DO NOTHING
		r.blobs[county+"|"+sha] = [2]string{typ, string(data)}
	}
	return nil
}

func (r *memRepo) Blob(_ context.Context, county, sha string) (string, []byte, error) {
	if err := r.fail["Blob"]; err != nil {
		return "", nil, err
	}
	b, ok := r.blobs[county+"|"+sha]
	if !ok {
		return "", nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return b[0], []byte(b[1]), nil
}

// memOrgs is the county 411723: community 2 led by county hospital 3 (the
// hub); township center 10 with village clinics 11 and 12; central health
// center 15 with village clinic 16; sub-center 17 with clinic 18; clinic 19
// straight under the community (no township above it); diagnosis center 5
// (not a hub); partner hospital 4 (a root of its own, outside the county).
type memOrgs struct{ err error }

func (o memOrgs) Tree(context.Context) (*org.Tree, error) {
	if o.err != nil {
		return nil, o.err
	}
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: cty},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: cty, LeadID: 3},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: cty},
		{ID: 5, ParentID: 1, Kind: org.KindDiagnosis, CountyCode: cty},
		{ID: 10, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: cty},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: cty},
		{ID: 12, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: cty},
		{ID: 15, ParentID: 2, Kind: org.KindCentralHC, CountyCode: cty},
		{ID: 16, ParentID: 15, Kind: org.KindVillageClinic, CountyCode: cty},
		{ID: 17, ParentID: 2, Kind: org.KindSubCenter, CountyCode: cty},
		{ID: 18, ParentID: 17, Kind: org.KindVillageClinic, CountyCode: cty},
		{ID: 19, ParentID: 2, Kind: org.KindVillageClinic, CountyCode: cty},
		{ID: 4, Kind: org.KindPartner, CountyCode: "110105"},
	}), nil
}

const cty = "411723"

// memResidents: resident 1000 is managed by clinic 11, 1001 by clinic 12.
type memResidents struct{ resident.Repository }

func (memResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	village := map[int64]int64{1000: 11, 1001: 12}[id]
	if village == 0 {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	r := &resident.Resident{ID: id, CountyCode: cty, VillageID: village}
	return r, sc.Allows(access.Subject{ResidentID: id, CountyCode: cty, ManagedBy: village}), nil
}

type readLog struct{ events []audit.Event }

func (l *readLog) Record(_ context.Context, e audit.Event) { l.events = append(l.events, e) }

// actions lists the recorded actions with their outcome (action/outcome).
func (l *readLog) actions() []string {
	var out []string
	for _, e := range l.events {
		out = append(out, e.Action+"/"+e.Outcome)
	}
	return out
}

type push struct {
	to   []int64
	kind string
	id   int64
	text string
}

type liveLog struct {
	online map[int64]bool
	got    []push
}

func (l *liveLog) Publish(to []int64, kind string, id int64, text string) {
	l.got = append(l.got, push{slices.Clone(to), kind, id, text})
}
func (l *liveLog) Online(id int64) bool { return l.online[id] }

// kinds lists the pushes as kind→recipients.
func (l *liveLog) kinds() []string {
	var out []string
	for _, p := range l.got {
		out = append(out, p.kind+fmtIDs(p.to))
	}
	return out
}

func fmtIDs(ids []int64) string {
	var s []string
	for _, id := range ids {
		s = append(s, itoa(id))
	}
	return "[" + strings.Join(s, " ") + "]"
}
