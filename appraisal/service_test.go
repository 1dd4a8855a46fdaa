package appraisal

import (
	"context"
	"errors"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/org"
)

type fakeBoards struct {
	b   *kpi.Board
	err error
	p   kpi.Period
}

func (f *fakeBoards) Board(_ context.Context, _ care.Actor, _ int64, p kpi.Period) (*kpi.Board, error) {
	f.p = p
	return f.b, f.err
}

type fakeSurveys struct {
	m      map[int64][2]int
	err    error
	county string
}

func (f *fakeSurveys) Satisfaction(_ context.Context, county string, _ int) (map[int64][2]int, error) {
	f.county = county
	return f.m, f.err
}

type recAudit struct{ evs []audit.Event }

func (r *recAudit) Record(_ context.Context, e audit.Event) { r.evs = append(r.evs, e) }

func row(id string, num, den int) kpi.Row {
	in, _ := kpi.Lookup(id)
	return kpi.Row{Indicator: in, Value: kpi.Of(in, kpi.Rate{Num: num, Den: den})}
}

// TestAppraise: a township is scored by the institution appraisal and its
// village by the doctor appraisal, from the dashboard's rates for the
// year; the read is audited; a year without rules and the board's own
// refusals (out of scope) come back as errors.
func TestAppraise(t *testing.T) {
	town := &org.Institution{ID: 3, Kind: org.KindTownshipHC, Name: "甲乡"}
	village := &org.Institution{ID: 5, ParentID: 3, Kind: org.KindVillageClinic, Name: "甲村"}
	fb := &fakeBoards{b: &kpi.Board{Unit: town, Rows: []kpi.Row{row("in_county", 81, 100), row("family_fulfilment", 85, 100)},
		Children: []kpi.Child{{Unit: village, Rows: []kpi.Row{row("family_fulfilment", 17, 20)}}}}}
	ra := &recAudit{}
	r, _ := LoadRules(strings.NewReader(`{"version":1,"years":{"2026":{
		"institution":{"total":100,"items":{"in_county":{"weight":50,"target":90},"family_fulfilment":{"weight":50,"target":85}}},
		"doctor":{"total":100,"items":{"family_fulfilment":{"weight":80,"target":100},"satisfaction":{"weight":20,"target":90}}}}}}`))
	s := &Service{Boards: fb, Rules: r, Audit: ra}
	rep, err := s.Appraise(context.Background(), care.Actor{Role: care.RoleAnalyst}, 3, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if fb.p != (kpi.Period{Kind: kpi.Year, Year: 2026}) || rep.Year != 2026 {
		t.Errorf("period %+v", fb.p)
	}
	// Township: in_county 81/90 × 50 = 45; fulfilment met, 50 → 95 of 100.
	if rep.Set != Institutions || rep.Unit != town || rep.Score.Scaled != 9500 {
		t.Errorf("township %+v", rep.Scored)
	}
	// Village: fulfilment 85 % of 100 % × 80 = 68 of the 80 with data;
	// satisfaction has no answers → 68 × 100 / 80 = 85.
	if len(rep.Children) != 1 || rep.Children[0].Set != Doctors || rep.Children[0].Score.Scaled != 8500 || rep.Children[0].Unit != village {
		t.Errorf("village %+v", rep.Children)
	}
	if len(ra.evs) != 1 || ra.evs[0].Action != ActView {
		t.Errorf("audit %+v", ra.evs)
	}
	if _, err := s.Appraise(context.Background(), care.Actor{}, 3, 2030); !isCode(err, care.ENOTFOUND) {
		t.Errorf("a year without rules: %v", err)
	}
	// With survey answers: the village's satisfaction 18 of 20 = 90 % meets
	// the 90 % target: 20 points; with fulfilment's 68: 88 of 100.
	fs := &fakeSurveys{m: map[int64][2]int{5: {18, 20}}}
	s.Surveys = fs
	rep, err = s.Appraise(context.Background(), care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}, 3, 2026)
	if err != nil || fs.county != "411723" || rep.Children[0].Score.Scaled != 8800 || rep.Children[0].Score.Lines[1].Points != 2000 || rep.Score.Scaled != 9500 {
		t.Errorf("with surveys: %+v %v", rep, err)
	}
	fs.err = care.Errorf(care.EINTERNAL, "error.internal")
	if _, err := s.Appraise(context.Background(), care.Actor{}, 3, 2026); !isCode(err, care.EINTERNAL) {
		t.Errorf("a survey error: %v", err)
	}
	s.Surveys = nil
	fb.err = care.Errorf(care.ENOTFOUND, "error.not_found")
	if _, err := s.Appraise(context.Background(), care.Actor{}, 9, 2026); !isCode(err, care.ENOTFOUND) || len(ra.evs) != 2 {
		t.Errorf("out of scope: %v", err)
	}
}

func isCode(err error, code string) bool {
	var ce *care.Error
	return errors.As(err, &ce) && ce.Code == code
}
