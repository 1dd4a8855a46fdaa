package rx

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

//go:embed kb/*.psv
var embedded embed.FS

// Interaction is one drug–drug interaction rule of the knowledge base: two
// selectors (ATC code or prefix, or g:<group>), a grade and its message.
type Interaction struct {
	A, B     string
	Grade    string // contraindicated, major, moderate
	Severity Severity
	ZH, EN   string
	Source   string
	// Pair marks a drug-pair rule of pairs.psv: it names two substances by
	// their full ATC codes, cites the label section that grades the pair
	// (Source), and replaces whatever the group rules gave that pair.
	Pair bool
}

// AllergyGroup is a named allergy (penicillin, sulfonamide…): the ATC
// prefixes it covers (a block) and those that cross-react (a warning).
type AllergyGroup struct {
	Name, ZH    string
	Members     []string
	CrossReacts []string
}

// KB is the compiled knowledge base: the formulary indexed by code, each
// drug's therapeutic class, and a dense drug×drug interaction table, so a
// review looks things up and never searches.
type KB struct {
	Drugs        []Drug
	Interactions []Interaction
	Groups       map[string][]string // group name → ATC prefixes
	Allergies    map[string]*AllergyGroup
	byCode       map[string]int32
	class        []string // ATC 4th level (5 characters) of each drug's main code
	ddi          []int16  // n×n: index+1 into Interactions, 0 none
	// Pairs is the number of distinct drug pairs with an interaction.
	Pairs int
}

// Load compiles the knowledge base embedded in the binary.
func Load() (*KB, error) { return LoadFS(embedded, "kb") }

// MustLoad is Load for program start and tests; it panics on a broken
// knowledge base, which is a build defect.
func MustLoad() *KB {
	kb, err := Load()
	if err != nil {
		panic(err)
	}
	return kb
}

// LoadFS compiles the knowledge base from formulary.psv, groups.psv,
// interactions.psv, allergy.psv and pairs.psv (the label's grade for one
// drug pair, applied over the group rules) in dir of fsys. Every selector must
// name a known group or match at least one drug, so a typo cannot silently
// drop a rule.
func LoadFS(fsys fs.FS, dir string) (*KB, error) {
	kb := &KB{Groups: map[string][]string{}, Allergies: map[string]*AllergyGroup{}, byCode: map[string]int32{}}
	if err := eachRow(fsys, path.Join(dir, "formulary.psv"), 21, kb.addDrug); err != nil {
		return nil, err
	}
	if err := eachRow(fsys, path.Join(dir, "groups.psv"), 4, func(f []string) error {
		kb.Groups[f[0]] = strings.Fields(f[3])
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(fsys, path.Join(dir, "allergy.psv"), 4, func(f []string) error {
		kb.Allergies[f[0]] = &AllergyGroup{Name: f[0], ZH: f[1], Members: strings.Fields(f[2]), CrossReacts: strings.Fields(f[3])}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(fsys, path.Join(dir, "interactions.psv"), 6, kb.addInteraction); err != nil {
		return nil, err
	}
	// Pair rules come after every group rule: compile applies them last,
	// so the label's grade for a pair wins over its class's.
	seen := map[[2]string]bool{}
	if err := eachRow(fsys, path.Join(dir, "pairs.psv"), 6, func(f []string) error {
		return kb.addPair(f, seen)
	}); err != nil {
		return nil, err
	}
	kb.compile()
	return kb, nil
}

func eachRow(fsys fs.FS, name string, fields int, add func([]string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return fmt.Errorf("rx: knowledge base: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != fields {
			return fmt.Errorf("rx: %s:%d: %d fields, want %d", name, n, len(parts), fields)
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if err := add(parts); err != nil {
			return fmt.Errorf("rx: %s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

func num(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseFloat(s, 64)
}

// addDrug parses code|zh|en|form|strength|unit|route|atc|flags|levels|
// dmin|dmax|dday|maxfreq|child_mgkg|min_age|preg|lact|renal|hepatic|indications.
func (kb *KB) addDrug(f []string) error {
	d := Drug{Code: f[0], NameZH: f[1], NameEN: f[2], Form: f[3], Unit: f[5], Route: f[6], ATC: strings.Fields(f[7])}
	if _, dup := kb.byCode[d.Code]; dup || d.Code == "" {
		return fmt.Errorf("duplicate or empty drug code %q", d.Code)
	}
	if len(d.ATC) == 0 || len(d.ATC[0]) < 5 {
		return fmt.Errorf("%s: ATC code %q too short", d.Code, f[7])
	}
	if _, ok := unitFactor(d.Unit, d.Unit); !ok {
		return fmt.Errorf("%s: unknown unit %q", d.Code, d.Unit)
	}
	var err error
	nums := []*float64{&d.Strength, &d.Dose.MinSingle, &d.Dose.MaxSingle, &d.Dose.MaxDaily, nil, &d.Dose.ChildMaxPerKg}
	for i, p := range nums {
		col := []int{4, 10, 11, 12, 13, 14}[i]
		if p == nil {
			continue
		}
		if *p, err = num(f[col]); err != nil {
			return fmt.Errorf("%s: column %d: %w", d.Code, col+1, err)
		}
	}
	if d.Dose.MaxPerDay, err = strconv.Atoi(f[13]); err != nil || d.Dose.MaxPerDay < 1 {
		return fmt.Errorf("%s: max administrations a day %q", d.Code, f[13])
	}
	if d.Strength <= 0 || d.Dose.MaxSingle < d.Dose.MinSingle || d.Dose.MaxDaily < d.Dose.MaxSingle {
		return fmt.Errorf("%s: inconsistent strength or dose range", d.Code)
	}
	minAge, err := num(f[15])
	if err != nil {
		return fmt.Errorf("%s: min age: %w", d.Code, err)
	}
	d.MinAgeMonths = int(minAge*12 + 0.5)
	for _, c := range f[8] {
		switch c {
		case 'N':
			d.Flags |= Narcotic
		case 'P':
			d.Flags |= Psychotropic
		case 'A':
			d.Flags |= Antimicrobial
		case 'R':
			d.Flags |= RestrictedAntimicrobial | Antimicrobial
		case 'T':
			d.Flags |= Toxic
		case 'E':
			d.Flags |= Essential
		default:
			return fmt.Errorf("%s: unknown flag %q", d.Code, c)
		}
	}
	for _, c := range f[9] {
		switch c {
		case 'V':
			d.Levels |= AtVillage
		case 'T':
			d.Levels |= AtTownship
		case 'C':
			d.Levels |= AtCounty
		default:
			return fmt.Errorf("%s: unknown level %q", d.Code, c)
		}
	}
	grade := func(s string, ok string) (byte, error) {
		if s == "" {
			return 0, nil
		}
		if len(s) != 1 || !strings.Contains(ok, s) {
			return 0, fmt.Errorf("%s: grade %q not one of %s", d.Code, s, ok)
		}
		return s[0], nil
	}
	if d.Pregnancy, err = grade(f[16], "XDC"); err != nil {
		return err
	}
	if d.Lactation, err = grade(f[17], "XAC"); err != nil {
		return err
	}
	if d.Hepatic, err = grade(f[19], "XC"); err != nil {
		return err
	}
	for _, r := range strings.Split(f[18], ";") {
		if r == "" {
			continue
		}
		below, action, ok := strings.Cut(r, ":")
		n, err := strconv.Atoi(below)
		if !ok || err != nil || (action != "X" && action != "R") {
			return fmt.Errorf("%s: renal rule %q", d.Code, r)
		}
		d.Renal = append(d.Renal, RenalLimit{Below: n, Avoid: action == "X"})
	}
	d.Indications = strings.Fields(f[20])
	if len(d.Indications) == 0 {
		return fmt.Errorf("%s: no indications (use * for any)", d.Code)
	}
	kb.byCode[d.Code] = int32(len(kb.Drugs))
	kb.Drugs = append(kb.Drugs, d)
	return nil
}

// gradeSeverity is the review severity of an interaction grade: a
// contraindicated pair blocks, a major one goes to a pharmacist, a
// moderate one informs.
func gradeSeverity(grade string) (Severity, error) {
	switch grade {
	case "contraindicated":
		return Block, nil
	case "major":
		return Warn, nil
	case "moderate":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown grade %q", grade)
}

func (kb *KB) addInteraction(f []string) error {
	in := Interaction{A: f[0], B: f[1], Grade: f[2], ZH: f[4], EN: f[5]}
	sev, err := gradeSeverity(f[2])
	if err != nil {
		return err
	}
	in.Severity = sev
	switch f[3] {
	case "ONC-HP":
		in.Source = SrcONC
	case "LABEL":
		in.Source = SrcLabel
	default:
		return fmt.Errorf("unknown source %q", f[3])
	}
	for _, sel := range []string{in.A, in.B} {
		if len(kb.members(sel)) == 0 {
			return fmt.Errorf("selector %q matches no drug in the formulary", sel)
		}
	}
	kb.Interactions = append(kb.Interactions, in)
	return nil
}

// addPair reads a pairs.psv row: a|b|grade|citation|zh|en, where a and b
// are full (7-character) WHO ATC codes of formulary drugs and the citation
// names the label and its section. A group or prefix selector, a missing
// citation, and a pair listed twice are refused.
func (kb *KB) addPair(f []string, seen map[[2]string]bool) error {
	for _, sel := range f[:2] {
		if len(sel) != 7 || strings.HasPrefix(sel, "g:") {
			return fmt.Errorf("pair rule: %q is not a full ATC code (a pair names two substances, not groups)", sel)
		}
		if len(kb.members(sel)) == 0 {
			return fmt.Errorf("pair rule: %q matches no drug in the formulary", sel)
		}
	}
	if f[0] == f[1] {
		return fmt.Errorf("pair rule: %q paired with itself", f[0])
	}
	if f[3] == "" {
		return fmt.Errorf("pair rule %s|%s: no citation (label and section)", f[0], f[1])
	}
	key := [2]string{min(f[0], f[1]), max(f[0], f[1])}
	if seen[key] {
		return fmt.Errorf("pair rule %s|%s listed twice", f[0], f[1])
	}
	seen[key] = true
	in := Interaction{A: f[0], B: f[1], Grade: f[2], ZH: f[4], EN: f[5], Source: f[3], Pair: true}
	sev, err := gradeSeverity(f[2])
	if err != nil {
		return err
	}
	in.Severity = sev
	kb.Interactions = append(kb.Interactions, in)
	return nil
}

// members lists the drugs a selector names: g:<group> or an ATC prefix.
func (kb *KB) members(sel string) []int {
	prefixes := []string{sel}
	if name, ok := strings.CutPrefix(sel, "g:"); ok {
		prefixes = kb.Groups[name]
	}
	var out []int
	for i := range kb.Drugs {
		if hasATC(&kb.Drugs[i], prefixes) {
			out = append(out, i)
		}
	}
	return out
}

func hasATC(d *Drug, prefixes []string) bool {
	for _, a := range d.ATC {
		for _, p := range prefixes {
			if strings.HasPrefix(a, p) {
				return true
			}
		}
	}
	return false
}

// compile expands every interaction rule to drug pairs in a dense table,
// keeping the most severe group rule for a pair; a pair rule (pairs.psv)
// then sets its pair whatever the group rules gave, up or down, because the
// label grades the pair and the group grade is only a default. Products of the same substance
// (same full ATC code) never interact with themselves: that is duplicate
// therapy, checked separately.
func (kb *KB) compile() {
	n := len(kb.Drugs)
	kb.class = make([]string, n)
	for i := range kb.Drugs {
		kb.class[i] = kb.Drugs[i].ATC[0][:5]
	}
	kb.ddi = make([]int16, n*n)
	for ri := range kb.Interactions {
		r := &kb.Interactions[ri]
		as, bs := kb.members(r.A), kb.members(r.B)
		for _, a := range as {
			for _, b := range bs {
				if a == b || kb.Drugs[a].ATC[0] == kb.Drugs[b].ATC[0] {
					continue
				}
				for _, k := range [2]int{a*n + b, b*n + a} {
					cur := kb.ddi[k]
					if r.Pair || cur == 0 || !kb.Interactions[cur-1].Pair && kb.Interactions[cur-1].Severity < r.Severity {
						kb.ddi[k] = int16(ri + 1)
					}
				}
			}
		}
	}
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if kb.ddi[a*n+b] != 0 {
				kb.Pairs++
			}
		}
	}
}

// Drug returns the formulary entry for code, or nil.
func (kb *KB) Drug(code string) *Drug {
	if i, ok := kb.byCode[code]; ok {
		return &kb.Drugs[i]
	}
	return nil
}

// InteractionBetween returns the interaction rule between two formulary
// codes, or nil.
func (kb *KB) InteractionBetween(a, b string) *Interaction {
	i, ok1 := kb.byCode[a]
	j, ok2 := kb.byCode[b]
	if !ok1 || !ok2 {
		return nil
	}
	if r := kb.ddi[int(i)*len(kb.Drugs)+int(j)]; r != 0 {
		return &kb.Interactions[r-1]
	}
	return nil
}
