package healthedu

import (
	"strings"
	"testing"
)

// TestDefaultMinimums: the yearly minimums are the national spec's
// (国家基本公共卫生服务规范（第三版）健康教育服务规范 二(二)): printed material
// ≥ 12 kinds, bulletin boards changed at least every 2 months (≥ 6), public
// consultations ≥ 9 (township), lectures monthly at a township (≥ 12) and
// every two months at a village clinic (≥ 6).
func TestDefaultMinimums(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		level string
		kind  Kind
		want  int
	}{
		{"township", Lecture, 12}, {"township", Counsel, 9}, {"township", Bulletin, 6}, {"township", Materials, 12},
		{"village", Lecture, 6}, {"village", Bulletin, 6}, {"village", Materials, 12},
	} {
		if got := c.Minimums[tc.level][tc.kind]; got != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.level, tc.kind, got, tc.want)
		}
	}
	if _, ok := c.Minimums["village"][Counsel]; ok {
		t.Error("the spec sets no consultation minimum for a village clinic")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Minimums: map[string]map[Kind]int{"county": {Lecture: 1}}}
	if bad.Validate() == nil {
		t.Error("an unknown level accepted")
	}
	bad = Config{Minimums: map[string]map[Kind]int{"village": {"dance": 1}}}
	if bad.Validate() == nil {
		t.Error("an unknown form accepted")
	}
}

// TestTallyYear: held sessions count against the minimums; printed
// materials count by distinct topic (the spec's "12种内容"), not by
// session; a form below its minimum is short.
func TestTallyYear(t *testing.T) {
	c := DefaultConfig()
	counts := []Count{
		{InstitutionID: 7, Kind: Lecture, Held: 6, Planned: 2, Attendance: 300},
		{InstitutionID: 7, Kind: Materials, Held: 30, Topics: 12, Attendance: 900},
		{InstitutionID: 7, Kind: Bulletin, Held: 5},
		{InstitutionID: 8, Kind: Lecture, Held: 20},
	}
	got := c.TallyYear(7, "村卫生室", "village", 2026, counts)
	if got.Held[Lecture] != 6 || got.Held[Materials] != 12 || got.Attendance != 1200 || got.Planned != 2 {
		t.Fatalf("got %+v", got)
	}
	if len(got.Short) != 1 || got.Short[0] != Bulletin {
		t.Errorf("short: got %v, want [bulletin]", got.Short)
	}
	town := c.TallyYear(7, "卫生院", "township", 2026, counts)
	if strings.Join(kinds(town.Short), ",") != "lecture,counsel,bulletin" {
		t.Errorf("township short: got %v", town.Short)
	}
}

func kinds(ks []Kind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

// TestAdvise: the double prescription (双处方) matches every library prefix
// a diagnosis starts with (I10 and I1 for essential hypertension, E11 and
// E1 for E11.900), each advice code once, and nothing for a diagnosis the
// library has no advice for or a malformed code.
func TestAdvise(t *testing.T) {
	l := DefaultLibrary()
	if !strings.HasPrefix(l.Version, "2026.1-") || len(l.Version) != len("2026.1-")+8 {
		t.Fatalf("version %q", l.Version)
	}
	e := l.Advise([]string{"i10.x00x002"})
	if e == nil || e.LibraryVersion != l.Version {
		t.Fatal("no advice for hypertension")
	}
	var codes []string
	for _, it := range e.Items {
		codes = append(codes, it.Prefix+"/"+it.Code)
		if it.ZH == "" || it.EN == "" {
			t.Errorf("%s lacks a text", it.Code)
		}
	}
	if got := strings.Join(codes, " "); got != "I10/salt I10/bp_home I10/drug_daily I1/exercise I1/smoke_alcohol" {
		t.Errorf("hypertension: got %s", got)
	}
	e = l.Advise([]string{"E11.900", "I10", "E11.900"})
	if e == nil || len(e.Items) != 8 { // E11×3, E1 exercise, I10×3, I1 smoke (exercise once)
		t.Errorf("diabetes + hypertension: got %d items", len(e.Items))
	}
	if l.Advise([]string{"S52.5"}) != nil || l.Advise([]string{"not a code"}) != nil || l.Advise(nil) != nil {
		t.Error("advice for a diagnosis the library does not cover")
	}
}

// TestParseLibrary: a county's edition is refused with the line named
// when it lacks a version or has a malformed row; an edit changes the
// version even under the same label.
func TestParseLibrary(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no version", "I10,salt,少盐,Less salt\n", "no version"},
		{"bad prefix", "version,1\n10I,salt,少盐,Less salt\n", "line 2"},
		{"empty text", "version,1\nI10,salt,,Less salt\n", "line 2"},
		{"repeat", "version,1\nI10,salt,少盐,Less salt\nI10,salt,少盐,Less salt\n", "repeated"},
		{"fields", "version,1\nI10,salt,少盐\n", "3 fields"},
		{"two versions", "version,1\nversion,2\nI10,salt,少盐,Less salt\n", "second version"},
	} {
		if _, err := ParseLibrary([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	a, err := ParseLibrary([]byte("version,1\nI10,salt,少盐,Less salt\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseLibrary([]byte("version,1\nI10,salt,少盐。,Less salt.\n"))
	if a.Version == b.Version || !strings.HasPrefix(b.Version, "1-") {
		t.Errorf("an edit kept version %q", a.Version)
	}
}

// FuzzParseLibrary: any file either parses into a library whose advice is
// well formed, or is refused; never a panic.
func FuzzParseLibrary(f *testing.F) {
	f.Add([]byte("version,1\nI10,salt,少盐,Less salt\n"))
	f.Add([]byte("version,\"x\ny\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLibrary(b)
		if err != nil {
			return
		}
		for _, a := range l.Items {
			if !validPrefix(a.Prefix) || a.Code == "" {
				t.Fatalf("bad item %+v", a)
			}
		}
		l.Advise([]string{"I10", "E11.9"})
	})
}

// TestKnownPrefix: the advice library keys advice by an ICD-10 prefix
// whose category lies in one of the 22 chapters (WHO ICD-10 2019; the
// national clinical edition 2.0 adds extension codes after the dot).
func TestKnownPrefix(t *testing.T) {
	for p, want := range map[string]bool{"I1": true, "I10": true, "E11.9": true, "E11.900": true, "J44": true, "U8": true,
		"E99": false, "P97": false, "U9": false, "I": false, "I10.": false, "10": false, "i10": false, "I1A": false} {
		if got := KnownPrefix(p); got != want {
			t.Errorf("KnownPrefix(%q) = %v, want %v", p, got, want)
		}
	}
	in := AdviceInput{Prefix: " i10 ", Code: "low_salt", ZH: " 少盐 "}
	if fs := ValidateAdvice(&in); len(fs) != 0 || in.Prefix != "I10" || in.ZH != "少盐" {
		t.Errorf("valid advice: %v %+v", fs, in)
	}
}
