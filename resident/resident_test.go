package resident

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/care"
)

var now = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC) // 12:00 in China

func TestSearchTokens(t *testing.T) {
	tests := []struct {
		name string
		want []string // must all be present
	}{
		{"张三丰", []string{"张三丰", "zhangsanfeng", "zsf"}},
		{"单田芳", []string{"shantianfang", "stf", "dtf", "dantianfang"}}, // surname 单 = Shàn
		{"曾小贤", []string{"zengxiaoxian", "zxx", "cxx"}},
		{"阿依古丽·买买提", []string{"阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt"}},
	}
	for _, tt := range tests {
		got := SearchTokens(tt.name)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("SearchTokens(%q) = %v; missing %q", tt.name, got, w)
			}
		}
	}
	if n := len(SearchTokens("长长长长长长长长长长")); n > 2*maxTokenVariants+1 {
		t.Errorf("heteronym explosion: %d tokens", n)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in   string
		want Query
	}{
		{"11010519491231002x", Query{QueryIDNumber, "11010519491231002X", true}},
		{"110105194912310021", Query{QueryIDNumber, "110105194912310021", false}},
		{"110105491231002", Query{QueryIDNumber, "11010519491231002X", true}},
		{"41172310120100001", Query{QueryRecord, "41172310120100001", true}},
		{"13800138000", Query{QueryPhone, "13800138000", true}},
		{" Z S ", Query{QueryName, "zs", true}},
		{"张三", Query{QueryName, "张三", true}},
		{"'; DROP TABLE residents; --", Query{QueryName, "';droptableresidents;--", false}},
		{"%", Query{QueryName, "%", false}},
		{"", Query{QueryName, "", false}},
	}
	for _, tt := range tests {
		if got := ParseQuery(tt.in); got != tt.want {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRecordNumber(t *testing.T) {
	got, err := RecordNumber("411723101201", 42)
	if err != nil || got != "41172310120100042" {
		t.Fatalf("RecordNumber = %q, %v", got, err)
	}
	c, tw, v, seq, ok := ParseRecordNumber(got)
	if !ok || c != "411723" || tw != "101" || v != "201" || seq != 42 {
		t.Fatalf("ParseRecordNumber = %s %s %s %d %v", c, tw, v, seq, ok)
	}
	for _, bad := range []struct {
		code string
		seq  int
	}{{"41172310120", 1}, {"41172310120A", 1}, {"411723101201", 0}, {"411723101201", 100000}} {
		if _, err := RecordNumber(bad.code, bad.seq); err == nil {
			t.Errorf("RecordNumber(%q, %d) accepted", bad.code, bad.seq)
		}
	}
}

func fieldKeys(fs []care.FieldError) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Field] = f.Key
	}
	return m
}

func TestValidate(t *testing.T) {
	ok := Input{Name: "张三", IDNumber: "11010519491231002X", Phone: "13800138000", VillageID: 7, Poverty: "subsistence"}
	r, fs := Validate(ok, now)
	if len(fs) != 0 {
		t.Fatalf("valid input refused: %v", fs)
	}
	if r.Sex != "F" || r.BirthDate.String() != "1949-12-31" || r.Relation != RelHead {
		t.Fatalf("derived fields wrong: %+v", r)
	}

	tests := []struct {
		name  string
		edit  func(*Input)
		field string
		key   string
	}{
		{"empty name", func(in *Input) { in.Name = " " }, "name", "field.required"},
		{"html in name", func(in *Input) { in.Name = "<script>alert(1)</script>" }, "name", "name.chars"},
		{"sql in name", func(in *Input) { in.Name = "x'; DROP TABLE residents;--" }, "name", "name.chars"},
		{"long name", func(in *Input) { in.Name = string(make([]rune, 51)) }, "name", "field.too_long"},
		{"bad check digit", func(in *Input) { in.IDNumber = "110105194912310021" }, "id_number", "idcard.check_digit"},
		{"impossible birth date", func(in *Input) { in.IDNumber = "110105194902300021" }, "id_number", "idcard.birth_date"},
		{"sex contradicts ID", func(in *Input) { in.Sex = "M" }, "sex", "sex.mismatch_id"},
		{"bad phone", func(in *Input) { in.Phone = "12345" }, "phone", "phone.format"},
		{"no village", func(in *Input) { in.VillageID = 0 }, "village_id", "field.required"},
		{"bad poverty", func(in *Input) { in.Poverty = "rich" }, "poverty", "poverty.invalid"},
		{"bad disability", func(in *Input) { in.DisabilityGrade = 5 }, "disability_grade", "disability.range"},
		{"new household needs head", func(in *Input) { in.Relation = "child" }, "relation", "relation.new_household_head"},
		{"old adult without ID", func(in *Input) { in.IDNumber = ""; in.Sex = "M"; in.BirthDate = "1990-01-01" }, "id_number", "idcard.required_for_age"},
		{"newborn future birth", func(in *Input) { in.IDNumber = ""; in.Sex = "M"; in.BirthDate = "2027-01-01" }, "birth_date", "birth_date.future"},
		{"newborn impossible birth", func(in *Input) { in.IDNumber = ""; in.Sex = "M"; in.BirthDate = "2026-02-30" }, "birth_date", "birth_date.invalid"},
		{"pregnancy for 76-year-old", func(in *Input) { in.PregnancyEDD = "2027-03-01" }, "pregnancy_edd", "pregnancy.not_applicable"},
	}
	for _, tt := range tests {
		in := ok
		tt.edit(&in)
		_, fs := Validate(in, now)
		if got := fieldKeys(fs)[tt.field]; got != tt.key {
			t.Errorf("%s: field %s got %q, want %q (all: %v)", tt.name, tt.field, got, tt.key, fs)
		}
	}

	newborn := Input{Name: "李小宝", Sex: "M", BirthDate: "2026-10-01", VillageID: 7}
	if _, fs := Validate(newborn, now); len(fs) != 0 {
		t.Errorf("newborn without ID refused: %v", fs)
	}
}

// TestKeyGroups checks the key-population rules (policy-rules.md §2; 国家基本
// 公共卫生服务规范第三版: 老年人 ≥ 65, 0–6 岁儿童, 孕产妇 incl. 产后 42 天).
func TestKeyGroups(t *testing.T) {
	day := care.Today(now)
	d := func(s string) care.Date { x, _ := care.ParseDate(s); return x }
	tests := []struct {
		r    Resident
		want []KeyGroup
	}{
		{Resident{BirthDate: d("1961-11-22")}, []KeyGroup{KeyElderly}}, // 65th birthday today
		{Resident{BirthDate: d("1961-11-23")}, nil},                    // 65 tomorrow
		{Resident{BirthDate: d("2019-11-23")}, []KeyGroup{KeyChild}},   // still 6
		{Resident{BirthDate: d("2019-11-22")}, nil},                    // turned 7 today
		{Resident{BirthDate: d("1995-01-01"), PregnancyEDD: d("2027-03-01")}, []KeyGroup{KeyPregnant}},
		{Resident{BirthDate: d("1995-01-01"), PregnancyEDD: d("2026-10-20")}, []KeyGroup{KeyPregnant}}, // 33 days postpartum
		{Resident{BirthDate: d("1995-01-01"), PregnancyEDD: d("2026-09-01")}, nil},
		{Resident{BirthDate: d("1980-01-01"), DisabilityGrade: 2, Poverty: PovertyExtreme}, []KeyGroup{KeyDisabled, KeyPoor}},
	}
	for _, tt := range tests {
		if got := tt.r.KeyGroups(day); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("KeyGroups(%v) = %v, want %v", tt.r.BirthDate, got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{"13800138000": "138****8000", "0396-5021234": "****-***1234", "": "", "123": "****"} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("张三", "11010519491231002X", "13800138000", "2026-01-01")
	f.Add("<b>", "", "", "2026-02-30")
	f.Fuzz(func(t *testing.T, name, id, phone, edd string) {
		r, fs := Validate(Input{Name: name, IDNumber: id, Phone: phone, PregnancyEDD: edd, VillageID: 1, Sex: "F", BirthDate: "2026-06-01"}, now)
		if len(fs) == 0 && (r.Name == "" || r.BirthDate.IsZero()) {
			t.Fatalf("accepted incomplete resident %+v", r)
		}
	})
}

func FuzzSearchTokens(f *testing.F) {
	f.Add("张三丰")
	f.Add("单长乐·x")
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range SearchTokens(s) {
			if tok == "" {
				t.Fatal("empty token")
			}
		}
		ParseQuery(s)
	})
}

func TestParseImport(t *testing.T) {
	file := "\ufeff户号,与户主关系,姓名,身份证号,手机号,困难类别,残疾等级\n" +
		"A,户主,张三,11010519491231002X,13800138000,低保,无\n" +
		"A,配偶,李四,,,无,二级\n" +
		"\n" +
		"B,head,王五,110105194912310021,,,\n"
	rows, fs, err := ParseImport(strings.NewReader(file))
	if err != nil || len(fs) != 0 {
		t.Fatalf("ParseImport: %v %v", fs, err)
	}
	if len(rows) != 3 || rows[0].Input.Relation != "head" || rows[0].Input.Poverty != "subsistence" || rows[1].Input.DisabilityGrade != 2 || rows[2].Line != 5 {
		t.Fatalf("rows: %+v", rows)
	}
	for _, tt := range []struct{ file, key string }{
		{"", "import.empty"},
		{"name\nx\n", "import.missing_column"},
		{"household,name,shoe_size\nA,x,42\n", "import.unknown_column"},
		{"household,name\nA,\"unclosed\n", "import.csv"},
		{"household,name\n\xff\xfe,x\n", "import.encoding"},
	} {
		_, fs, _ := ParseImport(strings.NewReader(tt.file))
		if len(fs) == 0 || fs[0].Key != tt.key {
			t.Errorf("ParseImport(%q) faults %v, want %s", tt.file, fs, tt.key)
		}
	}
}

func FuzzParseImport(f *testing.F) {
	f.Add("household,relation,name,id_number\nA,户主,张三,11010519491231002X\n")
	f.Add("户号,姓名\n1,\"a\"\"b\"\n")
	f.Add("\ufeffhousehold,name,disability_grade\nA,x,zz\n")
	f.Fuzz(func(t *testing.T, s string) {
		rows, fs, err := ParseImport(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > MaxImportRows {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if r.Line < 2 {
				t.Fatalf("row line %d", r.Line)
			}
			Validate(r.Input, now) // must not panic on anything a file holds
		}
		_ = fs
	})
}

// TestImportFaultsBounded: a hostile file cannot make the answer huge
// (security review): too many columns is one fault, and at most MaxFaults
// faults are listed.
func TestImportFaultsBounded(t *testing.T) {
	_, fs, _ := ParseImport(strings.NewReader(strings.Repeat("x,", 5000) + "name\n"))
	if len(fs) != 1 || fs[0].Key != "import.too_many_columns" {
		t.Errorf("wide header: %d faults", len(fs))
	}
	_, fs, _ = ParseImport(strings.NewReader("household,name,disability_grade\n" + strings.Repeat("A,x,zz\n", 1000)))
	if len(fs) != MaxFaults+1 || fs[MaxFaults].Key != "import.more_errors" {
		t.Errorf("1000 bad rows: %d faults", len(fs))
	}
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"": "", "王": "*", "张三": "张*", "王小明": "王*明", "欧阳娜娜": "欧**娜", "Ali": "A*i"} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}
