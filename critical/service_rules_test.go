package critical

// Tests of the alert service's rules with in-memory fakes of its
// repository, organisation tree, staff list and live publisher (issue 18 §6:
// gremlins runs only this package's tests, and the service's tests lived in
// store and web). Each pins a rule of docs/labs.md ("Critical values") or of
// this package's comments, after 危急值报告制度 (《医疗质量安全核心制度要点》,
// 国卫医发〔2018〕8号): an alert goes to the ordering clinic at once; it is
// acknowledged by reading the value back, once; nobody acknowledging, it
// escalates to the township center after EscalateAfter[0], then to the county
// hospital after EscalateAfter[1], a level without a target skipped; alerts
// are unique per source and finding key.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// fakeAlerts is the critical_alerts table of store/critical.go in memory.
type fakeAlerts struct {
	alerts   []*Alert
	msgs     []notify.Message
	events   []audit.Event
	links    []access.CareLink
	filters  []Filter
	dueCalls int
	dueErr   error
	moveNone bool // EscalateAlerts moves nothing (all acknowledged meanwhile)
	listErr  error
}

func (r *fakeAlerts) RaiseAlert(_ context.Context, al *Alert, msgs []notify.Message, ev audit.Event) (bool, error) {
	for _, x := range r.alerts {
		if x.CountyCode == al.CountyCode && x.SourceKind == al.SourceKind && x.SourceID == al.SourceID && x.FindingKey == al.FindingKey {
			*al = *x
			return false, nil
		}
	}
	al.ID = int64(len(r.alerts) + 1)
	c := *al
	r.alerts = append(r.alerts, &c)
	r.msgs = append(r.msgs, msgs...)
	r.events = append(r.events, ev)
	return true, nil
}

func (r *fakeAlerts) CriticalAlert(_ context.Context, county string, id int64) (*Alert, error) {
	for _, x := range r.alerts {
		if x.CountyCode == county && x.ID == id {
			c := *x
			return &c, nil
		}
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

func (r *fakeAlerts) CriticalAlerts(_ context.Context, f Filter) ([]Alert, error) {
	r.filters = append(r.filters, f)
	if r.listErr != nil {
		return nil, r.listErr
	}
	var out []Alert
	for i := len(r.alerts) - 1; i >= 0; i-- {
		x := r.alerts[i]
		if x.CountyCode != f.County || f.Open && !x.Open() {
			continue
		}
		if f.Institution != 0 && x.ClinicID != f.Institution && !(x.Level >= 1 && x.TownshipID == f.Institution) && !(x.Level >= 2 && x.CountyID == f.Institution) {
			continue
		}
		out = append(out, *x)
	}
	return out, nil
}

func (r *fakeAlerts) AckAlert(_ context.Context, al *Alert, ev audit.Event) error {
	for _, x := range r.alerts {
		if x.CountyCode == al.CountyCode && x.ID == al.ID {
			if !x.Open() {
				return care.Errorf(care.ECONFLICT, "critical.already_acked")
			}
			x.AckAt, x.AckBy, x.AckNote, x.NextDueAt = al.AckAt, al.AckBy, al.AckNote, time.Time{}
			r.events = append(r.events, ev)
			return nil
		}
	}
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

func (r *fakeAlerts) DueAlerts(_ context.Context, now time.Time, limit int) ([]Alert, error) {
	r.dueCalls++
	if r.dueErr != nil {
		return nil, r.dueErr
	}
	var out []Alert
	for _, x := range r.alerts {
		if x.Open() && !x.NextDueAt.IsZero() && !x.NextDueAt.After(now) {
			out = append(out, *x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NextDueAt.Before(out[j].NextDueAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (r *fakeAlerts) EscalateAlerts(_ context.Context, es []Escalation) (int, error) {
	n := 0
	for _, e := range es {
		if r.moveNone {
			e.Alert.Level = e.FromLevel
			continue
		}
		for _, x := range r.alerts {
			if x.CountyCode == e.Alert.CountyCode && x.ID == e.Alert.ID && x.Level == e.FromLevel && x.Open() {
				x.Level, x.EscalatedAt, x.NextDueAt = e.Alert.Level, e.Alert.EscalatedAt, e.Alert.NextDueAt
				r.msgs = append(r.msgs, e.Msgs...)
				r.events = append(r.events, e.Audit)
				if e.Link != nil {
					r.links = append(r.links, *e.Link)
				}
				n++
			}
		}
	}
	return n, nil
}

// The county 411723: community 2 led by county hospital 3; township center
// 10 above village clinic 11; clinic 12 straight under the community (no
// township above it); community 5 without a lead, with county hospital 6 and
// clinic 51 under it. County 411724 has clinic 91.
type fakeOrgs struct{}

func (fakeOrgs) Tree(context.Context) (*org.Tree, error) {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723", LeadID: 3},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: "411723"},
		{ID: 10, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 12, ParentID: 2, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 5, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723"},
		{ID: 6, ParentID: 5, Kind: org.KindCountyHospital, CountyCode: "411723"},
		{ID: 51, ParentID: 5, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 90, Kind: org.KindCounty, CountyCode: "411724"},
		{ID: 91, ParentID: 90, Kind: org.KindVillageClinic, CountyCode: "411724"},
	}), nil
}

type fakeStaff struct{ calls int }

func (s *fakeStaff) Practitioners(_ context.Context, f org.PractitionerFilter) ([]org.Practitioner, error) {
	s.calls++
	all := []org.Practitioner{
		{ID: 101, InstitutionID: 11, Phone: "13800000101", Active: true},
		{ID: 102, InstitutionID: 11, Phone: "13800000102", Active: false}, // left: neither texted nor alerted
		{ID: 103, InstitutionID: 11, Active: true},                        // no phone: alerted live only
		{ID: 201, InstitutionID: 10, Phone: "13800000201", Active: true},
		{ID: 301, InstitutionID: 3, Phone: "13800000301", Active: true},
		{ID: 601, InstitutionID: 6, Phone: "13800000601", Active: true},
	}
	var out []org.Practitioner
	for _, p := range all {
		for _, id := range f.Institutions {
			if p.InstitutionID == id {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// fakeResidents serves resident 100 of clinic 11, 120 of clinic 12 and 150 of clinic 51.
type fakeResidents struct{ resident.Repository }

func (fakeResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	village := map[int64]int64{100: 11, 120: 12, 150: 51}[id]
	if village == 0 {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	sub := access.Subject{ResidentID: id, CountyCode: "411723", ManagedBy: village}
	return &resident.Resident{ID: id, CountyCode: "411723"}, sc.Allows(sub), nil
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

type published struct {
	ids  []int64
	kind string
	id   int64
	text string
}

type fakeLive struct{ got []published }

func (l *fakeLive) Publish(ids []int64, kind string, id int64, text string) {
	l.got = append(l.got, published{ids, kind, id, text})
}

var (
	raisedAt   = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	villageDr  = care.Actor{AccountID: 7, Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: "411723"}
	townshipDr = care.Actor{AccountID: 8, Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: "411723"}
	countyDr   = care.Actor{AccountID: 9, Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}
	analyst    = care.Actor{AccountID: 5, Role: care.RoleAnalyst, CountyCode: "411723"}
)

type harness struct {
	s     *Service
	repo  *fakeAlerts
	staff *fakeStaff
	log   *auditLog
	live  *fakeLive
	now   time.Time
}

func newHarness() *harness {
	h := &harness{repo: &fakeAlerts{}, staff: &fakeStaff{}, log: &auditLog{}, live: &fakeLive{}, now: raisedAt}
	now := func() time.Time { return h.now }
	rs := &resident.Service{Repo: fakeResidents{}, Orgs: fakeOrgs{}, Audit: h.log, Now: now}
	h.s = &Service{Repo: h.repo, Residents: rs, Orgs: fakeOrgs{}, Staff: h.staff, Audit: h.log, Live: h.live, Config: DefaultConfig(), Now: now}
	return h
}

func potassium(resident, clinic int64) Alert {
	return Alert{SourceKind: SourceLab, SourceID: 900 + resident, ResidentID: resident, ClinicID: clinic, Finding: "血钾", Value: "6.8 mmol/L"}
}

func errCode(err error) string {
	var ce *care.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func fieldKeys(err error) string {
	var ce *care.Error
	if !errors.As(err, &ce) {
		return ""
	}
	var ks []string
	for _, f := range ce.Fields {
		ks = append(ks, f.Field+":"+f.Key)
	}
	return strings.Join(ks, ",")
}

// TestRaiseAlertsTheClinicAtOnce (docs/labs.md "Alerted at once"): a text
// message to every active practitioner with a phone at the ordering clinic
// and a live event to its active practitioners; the alert is at the clinic's
// level, due to escalate EscalateAfter[0] after raising, with the township
// center above the clinic and the community's lead hospital as targets.
func TestRaiseAlertsTheClinicAtOnce(t *testing.T) {
	h := newHarness()
	al, err := h.s.Raise(context.Background(), villageDr, potassium(100, 11))
	if err != nil {
		t.Fatal(err)
	}
	if al.ID == 0 || al.CountyCode != "411723" || al.RaisedBy != 7 || !al.RaisedAt.Equal(raisedAt) || al.Level != LevelClinic {
		t.Errorf("alert %+v", al)
	}
	if al.TownshipID != 10 || al.CountyID != 3 {
		t.Errorf("targets %d, %d, want township 10, county hospital 3", al.TownshipID, al.CountyID)
	}
	if want := raisedAt.Add(15 * time.Minute); !al.NextDueAt.Equal(want) {
		t.Errorf("next due %v, want %v", al.NextDueAt, want)
	}
	if len(h.repo.msgs) != 1 || h.repo.msgs[0].Recipient != "13800000101" || h.repo.msgs[0].Channel != notify.ChannelSMS ||
		h.repo.msgs[0].Purpose != PurposeAlert || h.repo.msgs[0].County != "411723" ||
		!strings.Contains(h.repo.msgs[0].Body, "血钾 6.8 mmol/L") || strings.Contains(h.repo.msgs[0].Body, "升级") {
		t.Errorf("messages %+v, want one text to 101", h.repo.msgs)
	}
	// The template's parameters, and who answers for the message (the store
	// adds the new alert's reference).
	if m := h.repo.msgs[0]; m.Practitioner != 101 || m.Institution != 11 || m.Ref != "" ||
		fmt.Sprint(m.Params) != "map[finding:血钾 stage:请读回确认 value:6.8 mmol/L]" {
		t.Errorf("message parameters %+v", m)
	}
	if len(h.live.got) != 1 || fmt.Sprint(h.live.got[0].ids) != "[101 103]" || h.live.got[0].kind != EventRaised ||
		h.live.got[0].id != al.ID || h.live.got[0].text != "血钾 6.8 mmol/L" {
		t.Errorf("live events %+v, want 101 and 103", h.live.got)
	}
	if len(h.repo.events) != 1 || h.repo.events[0].Action != ActRaise || h.repo.events[0].ResidentID != 100 ||
		h.repo.events[0].CountyCode != "411723" || !strings.Contains(h.repo.events[0].Detail, "clinic 11") {
		t.Errorf("audit %+v", h.repo.events)
	}
}

// TestRaiseOncePerFinding (critical.go: "Alerts are unique per source and
// key"; docs/labs.md: a retry is safe): the same finding raised twice is one
// alert, alerting nobody the second time; a different finding of the same
// source (a report's addendum) is an alert of its own.
func TestRaiseOncePerFinding(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	ecg := Alert{SourceKind: SourceECGReport, SourceID: 77, FindingKey: "stemi", ResidentID: 100, ClinicID: 11, Finding: "急性下壁心肌梗死"}
	first, err := h.s.Raise(ctx, villageDr, ecg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.s.Raise(ctx, villageDr, ecg)
	if err != nil || again.ID != first.ID {
		t.Fatalf("raised again: %+v, %v; want the stored alert %d", again, err, first.ID)
	}
	if len(h.repo.alerts) != 1 || len(h.live.got) != 1 || len(h.repo.msgs) != 1 {
		t.Errorf("the same finding twice: %d alerts, %d live events, %d texts, want 1 each", len(h.repo.alerts), len(h.live.got), len(h.repo.msgs))
	}
	other := ecg
	other.FindingKey, other.Finding = "avb3", "三度房室传导阻滞"
	if al, err := h.s.Raise(ctx, villageDr, other); err != nil || al.ID == first.ID {
		t.Fatalf("another finding of the study: %+v, %v", al, err)
	}
	if len(h.repo.alerts) != 2 || len(h.live.got) != 2 {
		t.Errorf("two findings: %d alerts, %d live events, want 2", len(h.repo.alerts), len(h.live.got))
	}
	// RaiseLate (the reading scheduler's sweep) is idempotent the same way.
	late := ecg
	late.CountyCode, late.RaisedBy = "411723", 7
	if created, err := h.s.RaiseLate(ctx, late); err != nil || created {
		t.Errorf("late raise of an alerted finding: created=%v, %v", created, err)
	}
	late.FindingKey, late.Finding = "vf", "室颤"
	if created, err := h.s.RaiseLate(ctx, late); err != nil || !created {
		t.Errorf("late raise of a new finding: created=%v, %v", created, err)
	}
	if len(h.live.got) != 3 {
		t.Errorf("%d live events, want 3", len(h.live.got))
	}
	ev := h.repo.events[len(h.repo.events)-1]
	if ev.AccountID != 7 || ev.Action != ActRaise || ev.ResidentID != 100 || ev.CountyCode != "411723" || !strings.Contains(ev.Detail, "scheduler") {
		t.Errorf("late raise audit %+v: on behalf of the signer", ev)
	}
}

// TestRaiseRefusals (Raise's comment): EFORBIDDEN for a role that takes no
// part in care or another county; ENOTFOUND for a resident outside the
// actor's scope; EINVALID for a missing field or a clinic outside the county.
func TestRaiseRefusals(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	pharmacist := villageDr
	pharmacist.Role = care.RolePharmacist
	other := potassium(100, 11)
	other.CountyCode = "411724"
	noFinding := potassium(100, 11)
	noFinding.Finding = " "
	foreign := potassium(100, 91)
	unknown := potassium(100, 4242)
	cases := []struct {
		name  string
		a     care.Actor
		al    Alert
		code  string
		field string
	}{
		{"pharmacist", pharmacist, potassium(100, 11), care.EFORBIDDEN, ""},
		{"analyst", analyst, potassium(100, 11), care.EFORBIDDEN, ""},
		{"other county", villageDr, other, care.EFORBIDDEN, ""},
		{"out of scope", villageDr, potassium(120, 12), care.ENOTFOUND, ""},
		{"no resident", villageDr, potassium(999, 11), care.ENOTFOUND, ""},
		{"no finding", villageDr, noFinding, care.EINVALID, "finding:critical.finding"},
		{"no resident id", villageDr, potassium(0, 11), care.EINVALID, "resident_id:field.required"},
		{"clinic of another county", villageDr, foreign, care.EINVALID, "clinic_id:critical.clinic"},
		{"no such clinic", villageDr, unknown, care.EINVALID, "clinic_id:critical.clinic"},
	}
	for _, c := range cases {
		_, err := h.s.Raise(ctx, c.a, c.al)
		if errCode(err) != c.code || c.field != "" && fieldKeys(err) != c.field {
			t.Errorf("%s: %v (%s), want %s %s", c.name, err, fieldKeys(err), c.code, c.field)
		}
	}
	for _, al := range []Alert{
		{SourceKind: SourceFetal, SourceID: 1, ResidentID: 100, ClinicID: 11, Finding: "x"},                       // no county
		{CountyCode: "411723", SourceID: 1, ResidentID: 100, ClinicID: 11, Finding: "x"},                          // no source kind
		{CountyCode: "411723", SourceKind: SourceFetal, ResidentID: 100, ClinicID: 11, Finding: "x"},              // no source id
		{CountyCode: "411723", SourceKind: SourceFetal, SourceID: 1, ResidentID: 100, ClinicID: 11},               // no finding
		{CountyCode: "411723", SourceKind: SourceFetal, SourceID: 1, ResidentID: 100, ClinicID: 91, Finding: "x"}, // clinic of another county
	} {
		if created, err := h.s.RaiseLate(ctx, al); created || errCode(err) != care.EINVALID {
			t.Errorf("RaiseLate(%+v) = %v, %v, want EINVALID", al, created, err)
		}
	}
	if len(h.repo.alerts) != 0 || len(h.live.got) != 0 {
		t.Errorf("refused raises stored %d alerts, %d live events", len(h.repo.alerts), len(h.live.got))
	}
}

// TestPrepareKeepsTheRaisingTime: an alert raised with the time of its
// result (the lab service) keeps it; one without is raised now, in UTC, and
// Prepare resets a level or acknowledgement the caller filled in.
func TestPrepareKeepsTheRaisingTime(t *testing.T) {
	h := newHarness()
	h.now = time.Date(2026, 12, 1, 10, 0, 0, 0, care.Shanghai)
	at := raisedAt.Add(-time.Hour)
	al := potassium(100, 11)
	al.CountyCode, al.RaisedAt, al.Level, al.AckAt = "411723", at, LevelCounty, at
	if _, _, err := h.s.Prepare(context.Background(), &al); err != nil {
		t.Fatal(err)
	}
	if !al.RaisedAt.Equal(at) || al.Level != LevelClinic || !al.Open() || !al.NextDueAt.Equal(at.Add(15*time.Minute)) {
		t.Errorf("prepared %+v", al)
	}
	al2 := potassium(100, 11)
	al2.CountyCode = "411723"
	if _, _, err := h.s.Prepare(context.Background(), &al2); err != nil {
		t.Fatal(err)
	}
	if !al2.RaisedAt.Equal(h.now) || al2.RaisedAt.Location() != time.UTC {
		t.Errorf("raised at %v, want now in UTC", al2.RaisedAt)
	}
}

// TestTargets (docs/labs.md "Escalated"): the township center above the
// clinic, then the county hospital of its community: the lead hospital, or
// the community's county hospital when it names no lead; a level without a
// target is skipped; the county hospital is no target of its own alerts.
func TestTargets(t *testing.T) {
	tree, _ := fakeOrgs{}.Tree(context.Background())
	for _, c := range []struct{ clinic, township, county int64 }{
		{11, 10, 3}, {12, 0, 3}, {51, 0, 6}, {10, 0, 3}, {3, 0, 0}, {91, 0, 0},
	} {
		if tw, co := targets(tree, tree.Get(c.clinic)); tw != c.township || co != c.county {
			t.Errorf("targets of %d = %d, %d, want %d, %d", c.clinic, tw, co, c.township, c.county)
		}
	}
	// The nearest township-level center wins over one further up.
	tree2 := org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCommunity, CountyCode: "411723", LeadID: 3},
		{ID: 20, ParentID: 1, Kind: org.KindCentralHC, CountyCode: "411723"},
		{ID: 21, ParentID: 20, Kind: org.KindSubCenter, CountyCode: "411723"},
		{ID: 22, ParentID: 21, Kind: org.KindVillageClinic, CountyCode: "411723"},
	})
	if tw, co := targets(tree2, tree2.Get(22)); tw != 21 || co != 3 {
		t.Errorf("targets under a sub-center = %d, %d, want 21, 3", tw, co)
	}
	// A township center at the top of the tree (no county above it) is still
	// the clinic's township; a community with neither a lead nor a county
	// hospital gives no county target.
	tree3 := org.NewTree([]org.Institution{
		{ID: 30, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 31, ParentID: 30, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 40, Kind: org.KindCommunity, CountyCode: "411723"},
		{ID: 41, ParentID: 40, Kind: org.KindVillageClinic, CountyCode: "411723"},
	})
	if tw, co := targets(tree3, tree3.Get(31)); tw != 30 || co != 0 {
		t.Errorf("targets under a root township = %d, %d, want 30, 0", tw, co)
	}
	if tw, co := targets(tree3, tree3.Get(41)); tw != 0 || co != 0 {
		t.Errorf("targets in a community without hospital = %d, %d, want 0, 0", tw, co)
	}
}

// TestEscalationSchedule (docs/labs.md "Escalated"; Config.EscalateAfter):
// an open alert moves to the township center at 15 minutes, to the county
// hospital at 30, not a second earlier; the county hospital's move opens a
// care link for LinkTTL; each move texts and alerts the new level's staff.
func TestEscalationSchedule(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	al, err := h.s.Raise(ctx, villageDr, potassium(100, 11))
	if err != nil {
		t.Fatal(err)
	}
	step := func(at time.Duration, wantMoved, wantLevel int) *Alert {
		t.Helper()
		h.now = raisedAt.Add(at)
		n, err := h.s.EscalateDue(ctx)
		if err != nil || n != wantMoved {
			t.Fatalf("at %v: moved %d, %v, want %d", at, n, err, wantMoved)
		}
		got, _ := h.repo.CriticalAlert(ctx, "411723", al.ID)
		if got.Level != wantLevel {
			t.Fatalf("at %v: level %d, want %d", at, got.Level, wantLevel)
		}
		return got
	}
	step(15*time.Minute-time.Second, 0, LevelClinic)
	got := step(15*time.Minute, 1, LevelTownship)
	if !got.EscalatedAt.Equal(raisedAt.Add(15*time.Minute)) || !got.NextDueAt.Equal(raisedAt.Add(30*time.Minute)) {
		t.Errorf("at the township: escalated %v, next due %v", got.EscalatedAt, got.NextDueAt)
	}
	if m := h.repo.msgs[len(h.repo.msgs)-1]; m.Recipient != "13800000201" || !strings.Contains(m.Body, "升级") || !strings.Contains(m.Body, "血钾 6.8 mmol/L") ||
		m.Ref != MessageRef(al.ID) || m.Ref != fmt.Sprintf("critical:%d", al.ID) || m.Practitioner != 201 || m.Institution != 10 || m.Params["stage"] != "超时未确认已升级" {
		t.Errorf("township text %+v", m)
	}
	if p := h.live.got[len(h.live.got)-1]; p.kind != EventEscalated || fmt.Sprint(p.ids) != "[201]" || p.id != al.ID || p.text != "血钾 6.8 mmol/L" {
		t.Errorf("township live event %+v", p)
	}
	if ev := h.repo.events[len(h.repo.events)-1]; ev.Action != ActEscalate || ev.ResidentID != 100 || ev.CountyCode != "411723" ||
		!strings.Contains(ev.Detail, "from level 0 to 1 (institution 10)") {
		t.Errorf("audit %+v", ev)
	}
	if len(h.repo.links) != 0 {
		t.Errorf("the township opened a care link: %+v", h.repo.links)
	}
	step(30*time.Minute-time.Second, 0, LevelTownship)
	got = step(30*time.Minute, 1, LevelCounty)
	if !got.NextDueAt.IsZero() {
		t.Errorf("at the county: next due %v, want none", got.NextDueAt)
	}
	if p := h.live.got[len(h.live.got)-1]; fmt.Sprint(p.ids) != "[301]" {
		t.Errorf("county live event %+v", p)
	}
	now := raisedAt.Add(30 * time.Minute)
	if len(h.repo.links) != 1 || h.repo.links[0] != (access.CareLink{CountyCode: "411723", ResidentID: 100, InstitutionID: 3, Kind: LinkCritical,
		Reason: fmt.Sprintf("critical alert %d", al.ID), CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}) {
		t.Errorf("care link %+v", h.repo.links)
	}
	step(24*time.Hour, 0, LevelCounty) // the last level: no further move
}

// TestEscalationSkipsALevelWithoutTarget: a clinic with no township center
// above it goes straight to the county hospital at the first deadline; an
// alert of the county hospital itself has nowhere to go and stops.
func TestEscalationSkipsALevelWithoutTarget(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	a12 := care.Actor{AccountID: 12, Role: care.RoleVillageDoctor, InstitutionID: 12, CountyCode: "411723"}
	al, err := h.s.Raise(ctx, a12, potassium(120, 12))
	if err != nil {
		t.Fatal(err)
	}
	h.now = raisedAt.Add(15 * time.Minute)
	if n, err := h.s.EscalateDue(ctx); n != 1 || err != nil {
		t.Fatalf("moved %d, %v", n, err)
	}
	got, _ := h.repo.CriticalAlert(ctx, "411723", al.ID)
	if got.Level != LevelCounty || !got.NextDueAt.IsZero() || len(h.repo.links) != 1 || h.repo.links[0].InstitutionID != 3 {
		t.Errorf("no township: %+v, links %+v", got, h.repo.links)
	}
	if ev := h.repo.events[len(h.repo.events)-1]; !strings.Contains(ev.Detail, "from level 0 to 2 (institution 3)") {
		t.Errorf("audit %q", ev.Detail)
	}

	// An alert at the county hospital itself (no targets).
	h2 := newHarness()
	lone := &Alert{ID: 1, CountyCode: "411723", SourceKind: SourceLab, SourceID: 1, ResidentID: 100, ClinicID: 3, Finding: "血钾", Value: "6.8",
		RaisedAt: raisedAt, NextDueAt: raisedAt.Add(15 * time.Minute)}
	h2.repo.alerts = append(h2.repo.alerts, lone)
	h2.now = raisedAt.Add(15 * time.Minute)
	if n, err := h2.s.EscalateDue(ctx); n != 1 || err != nil {
		t.Fatalf("moved %d, %v", n, err)
	}
	if lone.Level != LevelCounty || !lone.NextDueAt.IsZero() || len(h2.repo.msgs) != 0 || len(h2.repo.links) != 0 || len(h2.live.got) != 0 || h2.staff.calls != 0 {
		t.Errorf("no target: %+v, %d texts, %d links, %d live, %d staff lookups", lone, len(h2.repo.msgs), len(h2.repo.links), len(h2.live.got), h2.staff.calls)
	}
	if ev := h2.repo.events[0]; !strings.Contains(ev.Detail, "from level 0 to 2 (institution 0)") {
		t.Errorf("audit %q", ev.Detail)
	}
}

// TestEscalationStopsOnAcknowledgement (EscalateDue's comment): an alert
// acknowledged before its deadline stays put.
func TestEscalationStopsOnAcknowledgement(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	al, _ := h.s.Raise(ctx, villageDr, potassium(100, 11))
	h.now = raisedAt.Add(10 * time.Minute)
	if _, err := h.s.Acknowledge(ctx, villageDr, al.ID, "血钾6.8已知晓"); err != nil {
		t.Fatal(err)
	}
	h.now = raisedAt.Add(time.Hour)
	if n, err := h.s.EscalateDue(ctx); n != 0 || err != nil {
		t.Errorf("moved %d, %v", n, err)
	}
}

// TestEscalationBatches (EscalateDue's comment): batches of escalateBatch
// per transaction until none is due; a batch in which nothing moved (all
// acknowledged meanwhile) ends the run; one staff lookup per institution.
func TestEscalationBatches(t *testing.T) {
	ctx := context.Background()
	fill := func(h *harness, n int) {
		for i := 0; i < n; i++ {
			h.repo.alerts = append(h.repo.alerts, &Alert{ID: int64(i + 1), CountyCode: "411723", SourceKind: SourceLab, SourceID: int64(i + 1),
				ResidentID: 100, ClinicID: 11, TownshipID: 10, CountyID: 3, Finding: "血钾", Value: "6.8", RaisedAt: raisedAt,
				NextDueAt: raisedAt.Add(15 * time.Minute)})
		}
		h.now = raisedAt.Add(20 * time.Minute)
	}
	h := newHarness()
	fill(h, escalateBatch+1)
	if n, err := h.s.EscalateDue(ctx); n != escalateBatch+1 || err != nil {
		t.Errorf("moved %d, %v, want %d", n, err, escalateBatch+1)
	}
	if h.repo.dueCalls != 2 || h.staff.calls != 1 {
		t.Errorf("%d batches read, %d staff lookups, want 2 and 1", h.repo.dueCalls, h.staff.calls)
	}
	h = newHarness()
	fill(h, escalateBatch)
	if n, _ := h.s.EscalateDue(ctx); n != escalateBatch || h.repo.dueCalls != 2 {
		t.Errorf("a full batch: moved %d in %d reads, want %d in 2 (the second finds none)", n, h.repo.dueCalls, escalateBatch)
	}
	h = newHarness()
	fill(h, escalateBatch)
	h.repo.moveNone = true
	if n, err := h.s.EscalateDue(ctx); n != 0 || err != nil || h.repo.dueCalls != 1 || len(h.live.got) != 0 {
		t.Errorf("nothing moved: %d, %v, %d reads, %d live events", n, err, h.repo.dueCalls, len(h.live.got))
	}
	h = newHarness()
	h.repo.dueErr = errors.New("disk")
	if _, err := h.s.EscalateDue(ctx); err == nil {
		t.Error("a read error is not returned")
	}
}

// TestAcknowledgeReadBack (docs/labs.md "Acknowledged"; 接收人员复述确认): a
// doctor of an institution alerted for it acknowledges with a note that
// repeats the value's number; else critical.read_back_missing; a second
// acknowledgement is ECONFLICT; the township center may acknowledge once the
// alert reached it, not before.
func TestAcknowledgeReadBack(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	al, _ := h.s.Raise(ctx, villageDr, potassium(100, 11))
	if _, err := h.s.Acknowledge(ctx, townshipDr, al.ID, "血钾 6.8"); errCode(err) != care.ENOTFOUND {
		t.Errorf("township before escalation: %v, want ENOTFOUND", err)
	}
	h.now = raisedAt.Add(3 * time.Minute)
	if _, err := h.s.Acknowledge(ctx, villageDr, al.ID, "收到"); errCode(err) != care.EINVALID || fieldKeys(err) != "note:critical.read_back_missing" {
		t.Errorf("no read-back: %v", err)
	}
	got, err := h.s.Acknowledge(ctx, villageDr, al.ID, "血钾6.8，已通知患者")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AckAt.Equal(h.now) || got.AckBy != 7 || got.AckNote != "血钾6.8，已通知患者" || got.AckDuration() != 3*time.Minute {
		t.Errorf("acknowledged %+v", got)
	}
	ev := h.repo.events[len(h.repo.events)-1]
	if ev.Action != ActAck || ev.ResidentID != 100 || ev.CountyCode != "411723" || !strings.Contains(ev.Detail, "at level 0 after 3m0s") {
		t.Errorf("audit %+v", ev)
	}
	if _, err := h.s.Acknowledge(ctx, villageDr, al.ID, "血钾6.8"); errCode(err) != care.ECONFLICT {
		t.Errorf("second acknowledgement: %v, want ECONFLICT", err)
	}

	al2, _ := h.s.Raise(ctx, villageDr, Alert{SourceKind: SourceLab, SourceID: 2, ResidentID: 100, ClinicID: 11, Finding: "血糖", Value: "1.9 mmol/L"})
	h.now = al2.RaisedAt.Add(16 * time.Minute)
	if _, err := h.s.EscalateDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Acknowledge(ctx, countyDr, al2.ID, "血糖1.9"); errCode(err) != care.ENOTFOUND {
		t.Errorf("county hospital at the township level: %v, want ENOTFOUND", err)
	}
	if got, err := h.s.Acknowledge(ctx, townshipDr, al2.ID, "血糖1.9"); err != nil || got.AckBy != 8 || got.Level != LevelTownship {
		t.Errorf("township after escalation: %+v, %v", got, err)
	}
}

// TestVisibility (Filter's and visible's comments): an institution sees its
// own alerts and those escalated to it; another county or a role outside
// care sees none; every read, and every refusal, is audited.
func TestVisibility(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	al, _ := h.s.Raise(ctx, villageDr, potassium(100, 11))
	stored := h.repo.alerts[0]
	other := villageDr
	other.CountyCode = "411724"
	pharmacist := villageDr
	pharmacist.Role = care.RolePharmacist
	check := func(level int, a care.Actor, want bool) {
		t.Helper()
		stored.Level = level
		h.log.events = nil
		got, err := h.s.Get(ctx, a, al.ID)
		if want != (err == nil) {
			t.Errorf("level %d, actor %+v: %v", level, a, err)
			return
		}
		wantResident := int64(100)
		if a.CountyCode != "411723" {
			wantResident = 0 // not found in the actor's county: nobody's record named
		}
		if len(h.log.events) != 1 || h.log.events[0].Action != ActRead || h.log.events[0].ResidentID != wantResident {
			t.Errorf("audit %+v", h.log.events)
		}
		if want {
			if got.ID != al.ID || h.log.events[0].Outcome != audit.OutcomeOK || h.log.events[0].CountyCode != "411723" {
				t.Errorf("read %+v, audit %+v", got, h.log.events)
			}
		} else if errCode(err) != care.ENOTFOUND || h.log.events[0].Outcome != audit.OutcomeDenied {
			t.Errorf("refusal %v, audit %+v", err, h.log.events)
		}
	}
	check(LevelClinic, villageDr, true)
	check(LevelClinic, townshipDr, false)
	check(LevelClinic, countyDr, false)
	check(LevelClinic, other, false)
	check(LevelClinic, pharmacist, false)
	check(LevelTownship, townshipDr, true)
	check(LevelTownship, countyDr, false)
	check(LevelTownship, villageDr, true)
	check(LevelCounty, countyDr, true)
	check(LevelCounty, townshipDr, true)
	stored.TownshipID, stored.CountyID = 0, 0 // no targets: an actor of institution 0 sees nothing
	nobody := townshipDr
	nobody.InstitutionID = 0
	check(LevelCounty, nobody, false)

	h.log.events = nil
	if _, err := h.s.Get(ctx, villageDr, 4242); errCode(err) != care.ENOTFOUND || len(h.log.events) != 1 || h.log.events[0].Outcome != audit.OutcomeDenied {
		t.Errorf("no such alert: %v, audit %+v", err, h.log.events)
	}
}

// TestList (List's comment): the alerts the actor's institution is alerted
// for, open ones only if asked; EFORBIDDEN, audited as denied, for a role
// outside care.
func TestList(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	a1, _ := h.s.Raise(ctx, villageDr, potassium(100, 11))
	h.s.Raise(ctx, villageDr, Alert{SourceKind: SourceLab, SourceID: 2, ResidentID: 100, ClinicID: 11, Finding: "血糖", Value: "1.9 mmol/L"})
	h.s.Acknowledge(ctx, villageDr, a1.ID, "6.8")
	h.log.events = nil
	all, err := h.s.List(ctx, villageDr, false)
	if err != nil || len(all) != 2 {
		t.Fatalf("list %d, %v", len(all), err)
	}
	open, _ := h.s.List(ctx, villageDr, true)
	if len(open) != 1 || open[0].Finding != "血糖" {
		t.Errorf("open %+v", open)
	}
	if f := h.repo.filters[len(h.repo.filters)-1]; f.County != "411723" || f.Institution != 11 || !f.Open {
		t.Errorf("filter %+v", f)
	}
	if tw, _ := h.s.List(ctx, townshipDr, false); len(tw) != 0 {
		t.Errorf("township sees %d alerts before escalation", len(tw))
	}
	if len(h.log.events) != 3 || h.log.events[0].Action != ActList || h.log.events[0].Detail != "critical alerts: 2 rows, open=false" || h.log.events[1].Detail != "critical alerts: 1 rows, open=true" {
		t.Errorf("audit %+v", h.log.events)
	}
	h.log.events = nil
	h.repo.listErr = errors.New("disk")
	if _, err := h.s.List(ctx, villageDr, false); err == nil || len(h.log.events) != 1 || h.log.events[0].Outcome != audit.OutcomeFailed {
		t.Errorf("a failed listing: %v, audit %+v", err, h.log.events)
	}
	h.repo.listErr = nil
	h.log.events = nil
	if _, err := h.s.List(ctx, analyst, false); errCode(err) != care.EFORBIDDEN || len(h.log.events) != 1 || h.log.events[0].Outcome != audit.OutcomeDenied {
		t.Errorf("analyst: %v, audit %+v", err, h.log.events)
	}
}

// TestIndicatorsScope (docs/labs.md "Indicator"): analysts see the county,
// doctors the alerts of their institution; other roles are refused.
func TestIndicatorsScope(t *testing.T) {
	h := newHarness()
	ctx := context.Background()
	a1, _ := h.s.Raise(ctx, villageDr, potassium(100, 11))
	h.s.Raise(ctx, villageDr, Alert{SourceKind: SourceLab, SourceID: 2, ResidentID: 100, ClinicID: 11, Finding: "血糖", Value: "1.9 mmol/L"})
	h.now = raisedAt.Add(4 * time.Minute)
	h.s.Acknowledge(ctx, villageDr, a1.ID, "6.8")
	from, to := raisedAt.Add(-24*time.Hour), raisedAt.Add(24*time.Hour)
	ind, err := h.s.Indicators(ctx, analyst, from, to)
	if err != nil || ind.Raised != 2 || ind.Acknowledged != 1 || ind.Open != 1 || ind.Median != 4*time.Minute {
		t.Errorf("analyst: %+v, %v", ind, err)
	}
	if f := h.repo.filters[len(h.repo.filters)-1]; f.Institution != 0 || f.County != "411723" || !f.From.Equal(from) || !f.To.Equal(to) {
		t.Errorf("analyst filter %+v", f)
	}
	if ind, err := h.s.Indicators(ctx, townshipDr, from, to); err != nil || ind.Raised != 0 {
		t.Errorf("township: %+v, %v", ind, err)
	}
	if f := h.repo.filters[len(h.repo.filters)-1]; f.Institution != 10 {
		t.Errorf("township filter %+v", f)
	}
	if ev := h.log.events[len(h.log.events)-1]; ev.Action != ActList || !strings.Contains(ev.Detail, "0 alerts") {
		t.Errorf("audit %+v", ev)
	}
	pharmacist := villageDr
	pharmacist.Role = care.RolePharmacist
	if _, err := h.s.Indicators(ctx, pharmacist, from, to); errCode(err) != care.EFORBIDDEN {
		t.Errorf("pharmacist: %v", err)
	}
}

// TestRunSchedulerReportsErrors (RunScheduler's comment): it escalates at
// once and every tick until its context ends, passing errors to onErr.
func TestRunSchedulerReportsErrors(t *testing.T) {
	h := newHarness()
	h.repo.dueErr = errors.New("disk")
	ctx, cancel := context.WithCancel(context.Background())
	var errs []error
	done := make(chan struct{})
	go func() {
		h.s.RunScheduler(ctx, time.Millisecond, func(err error) {
			if errs = append(errs, err); len(errs) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("RunScheduler did not stop")
	}
	if len(errs) != 3 || errs[0].Error() != "disk" {
		t.Errorf("errors %v, want 3", errs)
	}
}

// TestAnnounceWithoutLive: Live may be nil (Service's comment), and nobody
// to alert publishes nothing.
func TestAnnounceWithoutLive(t *testing.T) {
	h := newHarness()
	h.s.Announce(&Alert{ID: 1}, nil)
	if len(h.live.got) != 0 {
		t.Errorf("published to nobody: %+v", h.live.got)
	}
	h.s.Live = nil
	h.s.Announce(&Alert{ID: 1}, []int64{1})
	if _, err := h.s.Raise(context.Background(), villageDr, potassium(100, 11)); err != nil {
		t.Fatal(err)
	}
	h.now = raisedAt.Add(15 * time.Minute)
	if n, err := h.s.EscalateDue(context.Background()); n != 1 || err != nil {
		t.Errorf("without Live: moved %d, %v", n, err)
	}
}
