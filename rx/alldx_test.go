package rx

import (
	"context"
	"slices"
	"testing"
)

// TestAllDiagnoses: the double prescription reads the prescription's
// diagnoses and its lines' own, each once, in order.
func TestAllDiagnoses(t *testing.T) {
	p := &Prescription{Diagnoses: []string{"I10"}, Lines: []Line{{Diagnosis: "E11.9"}, {Diagnosis: "I10"}, {}}}
	if got := p.AllDiagnoses(); !slices.Equal(got, []string{"I10", "E11.9"}) {
		t.Errorf("got %v, want [I10 E11.9]", got)
	}
	if got := (&Prescription{}).AllDiagnoses(); len(got) != 0 {
		t.Errorf("got %v, want none", got)
	}
}

type fakeEducator struct{ got [][]string }

func (f *fakeEducator) Educate(_ context.Context, _ string, dx []string) *Education {
	f.got = append(f.got, dx)
	if slices.Contains(dx, "I10") {
		return &Education{LibraryVersion: "t-1", Items: []EducationItem{{Prefix: "I10", Code: "salt", ZH: "少盐", EN: "Less salt"}}}
	}
	return nil
}

// TestSignIssuesEducation: the double prescription (双处方) — Sign asks the
// Educator once with the prescription's diagnoses and hands the
// health-education prescription to the repository with the prescription
// (one save, one transaction); a blocked prescription asks nothing.
func TestSignIssuesEducation(t *testing.T) {
	s, repo, _ := newRxService()
	ed := &fakeEducator{}
	s.Education = ed
	sg, _, err := s.Sign(context.Background(), rxVillageDr, 100, rxClean())
	if err != nil || len(ed.got) != 1 || !slices.Equal(ed.got[0], []string{"I10"}) {
		t.Fatalf("sign: %v, asked %v", err, ed.got)
	}
	if len(repo.rows) != 1 || repo.rows[0].Education == nil || repo.rows[0].Education.LibraryVersion != "t-1" || sg.Education == nil {
		t.Fatalf("stored %+v", repo.rows)
	}
	p := rxClean()
	p.Diagnoses = []string{"R51"}
	p.Lines[0].Diagnosis = "R51"
	if sg, _, err := s.Sign(context.Background(), rxVillageDr, 100, p); err != nil || sg.Education != nil {
		t.Errorf("no matching diagnosis: %v %+v", err, sg)
	}
}
