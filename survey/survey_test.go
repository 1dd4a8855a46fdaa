package survey

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.MinCount != 5 || c.LinkDays != 14 || c.GapDays != 30 || len(c.Questions) != 3 || c.Questions[0].ID != QSatisfaction {
		t.Errorf("%+v", c)
	}
}

func fields(err error) string {
	var ce *care.Error
	if !errors.As(err, &ce) || ce.Code != care.EINVALID {
		return "not invalid: " + err.Error()
	}
	var fs []string
	for _, f := range ce.Fields {
		fs = append(fs, f.Field+":"+f.Key)
	}
	return strings.Join(fs, " ")
}

func TestLoadConfigRefuses(t *testing.T) {
	q := `{"id":"satisfaction","kind":"scale5","text":{"zh":"满意吗","en":"Satisfied?"}}`
	for _, c := range []struct{ file, want string }{
		{`{`, "file:survey.config.syntax"},
		{`{"version":2,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `]}`, "version:survey.config.version"},
		{`{"version":1,"min_count":4,"link_days":14,"gap_days":30,"questions":[` + q + `]}`, "min_count:survey.config.min_count"},
		{`{"version":1,"min_count":5,"link_days":0,"gap_days":30,"questions":[` + q + `]}`, "link_days:survey.config.link_days"},
		{`{"version":1,"min_count":5,"link_days":61,"gap_days":30,"questions":[` + q + `]}`, "link_days:survey.config.link_days"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":-1,"questions":[` + q + `]}`, "gap_days:survey.config.gap_days"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":366,"questions":[` + q + `]}`, "gap_days:survey.config.gap_days"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[]}`, "questions:survey.config.questions questions:survey.config.no_satisfaction"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,` + q + `]}`, "questions[1].id:survey.config.id_repeated"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,{"id":"Bad id","kind":"yes_no","text":{"zh":"a","en":"b"}}]}`, "questions[1].id:survey.config.id"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,{"id":"x","kind":"stars","text":{"zh":"a","en":"b"}}]}`, "questions[1].kind:survey.config.kind"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,{"id":"x","kind":"yes_no","text":{"zh":"a"}}]}`, "questions[1].text.en:survey.config.text"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,{"id":"x","kind":"yes_no","text":{"zh":"` + strings.Repeat("长", 201) + `","en":"b"}}]}`, "questions[1].text.zh:survey.config.text"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[{"id":"satisfaction","kind":"yes_no","text":{"zh":"a","en":"b"}}]}`, "questions[0].kind:survey.config.fixed_kind"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[` + q + `,{"id":"policy_aware","kind":"scale5","text":{"zh":"a","en":"b"}}]}`, "questions[1].kind:survey.config.fixed_kind"},
		{`{"version":1,"min_count":5,"link_days":14,"gap_days":30,"questions":[{"id":"x","kind":"yes_no","text":{"zh":"a","en":"b"}}]}`, "questions:survey.config.no_satisfaction"},
	} {
		_, err := LoadConfig(strings.NewReader(c.file))
		if err == nil {
			t.Errorf("%s accepted", c.file)
			continue
		}
		if got := fields(err); got != c.want {
			t.Errorf("%s: got %s, want %s", c.file, got, c.want)
		}
	}
	// The edges that are allowed.
	if _, err := LoadConfig(strings.NewReader(`{"version":1,"min_count":5,"link_days":60,"gap_days":365,"questions":[` + q + `]}`)); err != nil {
		t.Error(err)
	}
	if _, err := LoadConfig(strings.NewReader(`{"version":1,"min_count":5,"link_days":1,"gap_days":0,"questions":[` + q + `]}`)); err != nil {
		t.Error(err)
	}
}

// TestToken: a token is signed — a changed character, another key or
// another length is refused before any read — and only its hash is kept.
func TestToken(t *testing.T) {
	key := []byte("k")
	tok, hash := NewToken(key)
	if !CheckToken(key, tok) || hash != HashToken(tok) || len(hash) != 64 || strings.Contains(hash, tok) {
		t.Fatalf("token %s hash %s", tok, hash)
	}
	flip := []byte(tok)
	flip[3] ^= 1
	for _, bad := range []string{string(flip), tok + "A", tok[:len(tok)-1], "", "!!!!"} {
		if CheckToken(key, bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	if CheckToken([]byte("other"), tok) {
		t.Error("another key's token accepted")
	}
	if tok2, _ := NewToken(key); tok2 == tok {
		t.Error("the same token twice")
	}
}

func TestParseAnswers(t *testing.T) {
	c := DefaultConfig()
	got, err := ParseAnswers(c, map[string]string{"satisfaction": "5", "policy_aware": "0", "explained": "1"})
	if err != nil || got["satisfaction"] != 5 || got["policy_aware"] != 0 || got["explained"] != 1 {
		t.Errorf("%v %v", got, err)
	}
	_, err = ParseAnswers(c, map[string]string{"satisfaction": "0", "policy_aware": "2", "explained": ""})
	if f := fields(err); f != "satisfaction:survey.answer_range policy_aware:survey.answer_range explained:survey.answer_missing" {
		t.Errorf("got %s", f)
	}
	_, err = ParseAnswers(c, map[string]string{"satisfaction": "6", "policy_aware": "-1", "explained": "x"})
	if f := fields(err); f != "satisfaction:survey.answer_range policy_aware:survey.answer_range explained:survey.answer_range" {
		t.Errorf("got %s", f)
	}
}

// TestNewAnswer: the stored answer has the institution, doctor, kind and
// month (Asia/Shanghai) — no resident, no invitation, no day; satisfied is
// 4 or 5 of 5 (满意、非常满意).
func TestNewAnswer(t *testing.T) {
	inv := &Invitation{ID: 9, ResidentID: 77, County: "411723", InstitutionID: 5, PractitionerID: 8, Kind: AfterFamilyVisit}
	at := time.Date(2026, 6, 30, 17, 0, 0, 0, time.UTC) // 1 July in Shanghai
	a := NewAnswer(inv, map[string]int{"satisfaction": 4, "policy_aware": 1}, at)
	if a.Month != "2026-07" || !a.Satisfied || a.Aware != 1 || a.InstitutionID != 5 || a.PractitionerID != 8 || a.Kind != AfterFamilyVisit {
		t.Errorf("%+v", a)
	}
	if b := NewAnswer(inv, map[string]int{"satisfaction": 3}, at); b.Satisfied || b.Aware != -1 {
		t.Errorf("%+v", b)
	}
	if Satisfied(3) || !Satisfied(4) || !Satisfied(5) {
		t.Error("Satisfied")
	}
}

type fakeRepo struct {
	Repository
	tallies []Tally
}

func (f *fakeRepo) SurveyTallies(context.Context, string, string, string) ([]Tally, error) {
	return f.tallies, nil
}

type fakeTree struct{ t *org.Tree }

func (f fakeTree) Tree(context.Context) (*org.Tree, error) { return f.t, nil }

type recAudit struct{ evs []audit.Event }

func (r *recAudit) Record(_ context.Context, e audit.Event) { r.evs = append(r.evs, e) }

// TestResultsAnonymous: answers are anonymous to the staff concerned. A
// village doctor sees their clinic's and their own tally only from five
// answers on — four answers are "too few", with no count — and never
// another clinic or doctor; a township doctor sees their subtree; the
// appraisal's satisfaction counts only groups of five or more, rolled up
// the tree.
func TestResultsAnonymous(t *testing.T) {
	tree := org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723", Name: "县"},
		{ID: 3, ParentID: 1, Kind: org.KindTownshipHC, CountyCode: "411723", Name: "甲乡"},
		{ID: 5, ParentID: 3, Kind: org.KindVillageClinic, CountyCode: "411723", Name: "甲村"},
		{ID: 6, ParentID: 3, Kind: org.KindVillageClinic, CountyCode: "411723", Name: "乙村"},
	})
	repo := &fakeRepo{tallies: []Tally{
		{InstitutionID: 5, PractitionerID: 50, Answers: 4, Satisfied: 3, AwareAsked: 4, Aware: 2}, // doctor 50: 4 answers
		{InstitutionID: 5, PractitionerID: 0, Answers: 2, Satisfied: 2},                           // clinic 5, no doctor: with 50's, 6
		{InstitutionID: 6, PractitionerID: 60, Answers: 5, Satisfied: 5, AwareAsked: 5, Aware: 5}, // doctor 60: 5 answers
	}}
	ra := &recAudit{}
	s := &Service{Repo: repo, Orgs: fakeTree{tree}, Audit: ra, Config: DefaultConfig(), Now: time.Now}
	ctx := context.Background()
	doc50 := care.Actor{Role: care.RoleVillageDoctor, InstitutionID: 5, PractitionerID: 50, CountyCode: "411723"}
	r, err := s.Results(ctx, doc50, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Units) != 1 || r.Units[0].Unit.ID != 5 || !r.Units[0].Shown || r.Units[0].Tally.Answers != 6 || r.Units[0].Tally.Satisfied != 5 {
		t.Errorf("clinic 5 to its doctor: %+v", r.Units)
	}
	if len(r.Doctors) != 1 || r.Doctors[0].Doctor != 50 || r.Doctors[0].Shown || r.Doctors[0].Tally != (Tally{}) {
		t.Errorf("doctor 50's four answers shown: %+v", r.Doctors)
	}
	doc60 := care.Actor{Role: care.RoleVillageDoctor, InstitutionID: 6, PractitionerID: 60, CountyCode: "411723"}
	r, _ = s.Results(ctx, doc60, 2026)
	if len(r.Units) != 1 || r.Units[0].Unit.ID != 6 || len(r.Doctors) != 1 || !r.Doctors[0].Shown || r.Doctors[0].Tally.Answers != 5 || r.Doctors[0].Tally.Aware != 5 {
		t.Errorf("doctor 60: %+v %+v", r.Units, r.Doctors)
	}
	town := care.Actor{Role: care.RoleTownshipDoctor, InstitutionID: 3, CountyCode: "411723"}
	r, _ = s.Results(ctx, town, 2026)
	if len(r.Units) != 3 || r.Units[0].Unit.ID != 3 || r.Units[0].Tally.Answers != 11 || len(r.Doctors) != 2 || r.Doctors[0].Shown || !r.Doctors[1].Shown {
		t.Errorf("township: %+v %+v", r.Units, r.Doctors)
	}
	an := care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}
	if r, _ = s.Results(ctx, an, 2026); len(r.Units) != 4 || r.Units[0].Unit.ID != 1 || r.Units[0].Tally.Satisfied != 10 {
		t.Errorf("county: %+v", r.Units)
	}
	if _, err := s.Results(ctx, care.Actor{Role: care.RolePharmacist}, 2026); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("pharmacist: %v", err)
	}
	if _, err := s.Results(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: "999999"}, 2026); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("analyst of another county: %v", err)
	}
	if len(ra.evs) != 4 || ra.evs[0].Action != ActResults {
		t.Errorf("audit %+v", ra.evs)
	}
	sat, err := s.Satisfaction(ctx, "411723", 2026)
	if err != nil || len(sat) != 4 || sat[5] != [2]int{5, 6} || sat[6] != [2]int{5, 5} || sat[3] != [2]int{10, 11} || sat[1] != [2]int{10, 11} {
		t.Errorf("satisfaction %v %v", sat, err)
	}
	repo.tallies = repo.tallies[:1] // only doctor 50's four
	if sat, _ := s.Satisfaction(ctx, "411723", 2026); len(sat) != 0 {
		t.Errorf("four answers counted: %v", sat)
	}
}
