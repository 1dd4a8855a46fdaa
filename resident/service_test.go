package resident

import (
	"context"
	"sync"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// memRepo keeps residents in memory for service tests; the methods these
// tests do not reach are left to the embedded (nil) Repository.
type memRepo struct {
	Repository
	mu sync.Mutex
	rs map[int64]Resident
}

func (m *memRepo) Resident(ctx context.Context, id int64) (*Resident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rs[id]
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return &r, nil
}

func (m *memRepo) ResidentScoped(ctx context.Context, id int64, sc access.Scope, now time.Time) (*Resident, bool, error) {
	r, err := m.Resident(ctx, id)
	if err != nil {
		return nil, false, err
	}
	return r, sc.Allows(access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID}), nil
}

func (m *memRepo) ResidentsByIDNumber(ctx context.Context, county, n string) ([]Resident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Resident
	for _, r := range m.rs {
		if r.CountyCode == county && string(r.IDNumber) == n && r.Status != StatusMerged {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memRepo) UpdateResident(ctx context.Context, r *Resident, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.rs[r.ID]; !ok || old.Version != r.Version {
		return care.Errorf(care.ECONFLICT, "resident.stale")
	}
	r.Version++
	m.rs[r.ID] = *r
	return nil
}

type memOrgs struct{ t *org.Tree }

func (o memOrgs) Tree(context.Context) (*org.Tree, error) { return o.t, nil }

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, audit.Event) {}

const (
	testCounty  = "411723"
	testVillage = 30
)

func newTestService(rs ...Resident) (*Service, care.Actor) {
	tree := org.NewTree([]org.Institution{
		{ID: 1, CountyCode: testCounty, Kind: org.KindCounty, Name: "县"},
		{ID: testVillage, ParentID: 1, CountyCode: testCounty, Kind: org.KindVillageClinic, Name: "村卫生室"},
	})
	repo := &memRepo{rs: map[int64]Resident{}}
	for _, r := range rs {
		r.CountyCode, r.VillageID, r.Status, r.Version = testCounty, testVillage, StatusActive, 1
		if r.Relation == "" {
			r.Relation = RelHead
		}
		repo.rs[r.ID] = r
	}
	s := &Service{Repo: repo, Orgs: memOrgs{tree}, Audit: nopRecorder{}, Now: func() time.Time { return now }}
	return s, care.Actor{AccountID: 1, Role: care.RoleVillageDoctor, InstitutionID: testVillage, CountyCode: testCounty}
}

func date(s string) care.Date { d, _ := care.ParseDate(s); return d }

// TestUpdateSkipsRegistrationOnlyRules: rules that judge a new record
// against today (a resident without an ID number must be a newborn; the
// expected delivery date must lie around today) must not make a record
// registered when they held uneditable later, as long as the edit keeps
// the fields they judge. Changed fields are still judged.
func TestUpdateSkipsRegistrationOnlyRules(t *testing.T) {
	// Registered without an ID number as a newborn; now two and a half.
	child := Resident{ID: 1, Name: "李小宝", Sex: "M", BirthDate: date("2024-05-01"), HouseholdID: 5}
	// Registered with ID number; delivery date four months ago.
	mother := Resident{ID: 2, Name: "王芳", IDNumber: "411723199501010022", Sex: "F", BirthDate: date("1995-01-01"), PregnancyEDD: date("2026-07-20"), HouseholdID: 6}
	// Registered pregnant at 60; 61 now, delivery date still ahead.
	older := Resident{ID: 3, Name: "赵兰", IDNumber: "411723196506010028", Sex: "F", BirthDate: date("1965-06-01"), PregnancyEDD: date("2026-12-20"), HouseholdID: 7}
	ctx := context.Background()

	s, a := newTestService(child, mother, older)
	inChild := Input{Name: child.Name, Sex: "M", BirthDate: "2024-05-01", Phone: "13800138000"}
	if _, err := s.Update(ctx, a, child.ID, 1, "", inChild); err != nil {
		t.Errorf("editing the phone of a resident registered as a newborn without ID: %v", err)
	}
	inMother := Input{Name: mother.Name, IDNumber: string(mother.IDNumber), PregnancyEDD: "2026-07-20", Address: "幸福村 3 组"}
	if _, err := s.Update(ctx, a, mother.ID, 1, "", inMother); err != nil {
		t.Errorf("editing the address of a resident with an old delivery date: %v", err)
	}
	inOlder := Input{Name: older.Name, IDNumber: string(older.IDNumber), PregnancyEDD: "2026-12-20", Phone: "13800138001"}
	if _, err := s.Update(ctx, a, older.ID, 1, "", inOlder); err != nil {
		t.Errorf("editing the phone of a resident who aged past the pregnancy age limit: %v", err)
	}

	// Changed fields are judged as at registration.
	tests := []struct {
		name  string
		id    int64
		in    Input
		field string
		key   string
	}{
		{"ID number removed from an adult", mother.ID, Input{Name: mother.Name, Sex: "F", BirthDate: "1995-01-01"}, "id_number", "idcard.required_for_age"},
		{"new out-of-range delivery date", mother.ID, func() Input { in := inMother; in.PregnancyEDD = "2026-07-21"; return in }(), "pregnancy_edd", "pregnancy.edd_range"},
		{"new delivery date past the age limit", older.ID, func() Input { in := inOlder; in.PregnancyEDD = "2027-01-20"; return in }(), "pregnancy_edd", "pregnancy.not_applicable"},
		{"delivery date kept for a man", mother.ID, func() Input { in := inMother; in.IDNumber = "411723199501010014"; return in }(), "pregnancy_edd", "pregnancy.not_applicable"},
	}
	for _, tt := range tests {
		s, a := newTestService(child, mother, older)
		_, err := s.Update(ctx, a, tt.id, 1, "", tt.in)
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EINVALID || fieldKeys(ce.Fields)[tt.field] != tt.key {
			t.Errorf("%s: %v, want %s on %s", tt.name, err, tt.key, tt.field)
		}
	}

	// Registration keeps every rule.
	for _, in := range []Input{
		{Name: "李小宝", Sex: "M", BirthDate: "2024-05-01", VillageID: testVillage},
		{Name: "王芳", IDNumber: "411723199501010022", PregnancyEDD: "2026-07-20", VillageID: testVillage},
		{Name: "赵兰", IDNumber: "411723196506010028", PregnancyEDD: "2026-12-20", VillageID: testVillage},
	} {
		if _, fs := Validate(in, now); len(fs) == 0 {
			t.Errorf("Validate(%+v) accepted a record registration must refuse", in)
		}
	}
}

// TestUpdateVersionRange: a version no record can have is refused as
// invalid before it reaches the database (code review: a huge version
// overflowed the 32-bit column on PostgreSQL).
func TestUpdateVersionRange(t *testing.T) {
	ctx := context.Background()
	r := Resident{ID: 1, Name: "王芳", IDNumber: "411723199501010022", Sex: "F", BirthDate: date("1995-01-01"), HouseholdID: 6}
	in := Input{Name: r.Name, IDNumber: string(r.IDNumber)}
	for _, v := range []int{0, -1, MaxVersion + 1, 1 << 40} {
		s, a := newTestService(r)
		_, err := s.Update(ctx, a, r.ID, v, "", in)
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EINVALID || fieldKeys(ce.Fields)["version"] != "resident.version_invalid" {
			t.Errorf("version %d: %v, want invalid", v, err)
		}
	}
	s, a := newTestService(r)
	if _, err := s.Update(ctx, a, r.ID, MaxVersion, "", in); !care.IsCode(err, care.ECONFLICT) {
		t.Errorf("version %d: %v, want a stale-version conflict", MaxVersion, err)
	}
}
