// Package family is the family doctor contract service (家庭医生签约服务,
// policy-rules.md §2; DOMAIN.md §5): teams of county, township and village
// staff, service packages (basic and personalised) listing the services
// due each year, contracts with residents or whole households (≥ 1 year,
// consent recorded, renewed, switched or ended but never overwritten),
// the services delivered against them, and the indicators of the
// programme: signing coverage, key-population coverage, renewal rate and
// fulfilment rate.
//
// The rules and indicators here are pure; Service applies them with the
// resident registry's scope and writes the audit trail.
package family

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/care"
)

// Kind is a kind of contracted service.
type Kind string

// Service kinds. The first four are the ones seeds 001 and 002 count
// (follow-ups, check-ups, home visits 送医送护, health education);
// rehabilitation guidance (康复指导) is added because the disabled are a key
// population and seed 000 describes rehab guidance reaching village clinics.
const (
	FollowUp  Kind = "follow_up"  // 随访（慢病随访计入，见 Delivered）
	Checkup   Kind = "checkup"    // 健康体检
	HomeVisit Kind = "home_visit" // 上门服务
	Education Kind = "education"  // 健康教育
	Rehab     Kind = "rehab"      // 康复指导
)

// Kinds lists every service kind in display order.
var Kinds = []Kind{FollowUp, Checkup, HomeVisit, Education, Rehab}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Due is one line of a package: a kind of service and how many times a
// year the team owes it.
type Due struct {
	Kind    Kind
	PerYear int
}

// Dues is a package's (or a contract's) list of services due per year.
type Dues []Due

// String encodes dues for storage: "follow_up:4,checkup:1".
func (ds Dues) String() string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s:%d", d.Kind, d.PerYear)
	}
	return strings.Join(parts, ",")
}

// ParseDues decodes Dues.String. It fails on an unknown kind, a count
// outside 1–52 or a kind listed twice.
func ParseDues(s string) (Dues, error) {
	var out Dues
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, p := range strings.Split(s, ",") {
		k, n, ok := strings.Cut(strings.TrimSpace(p), ":")
		c, err := strconv.Atoi(n)
		if !ok || err != nil || !Kind(k).Valid() || c < 1 || c > MaxPerYear {
			return nil, fmt.Errorf("family: bad service line %q", p)
		}
		if out.Of(Kind(k)) > 0 {
			return nil, fmt.Errorf("family: service %q listed twice", k)
		}
		out = append(out, Due{Kind(k), c})
	}
	return out, nil
}

// Of returns the count due per year for kind k (0 when not listed).
func (ds Dues) Of(k Kind) int {
	for _, d := range ds {
		if d.Kind == k {
			return d.PerYear
		}
	}
	return 0
}

// Total returns the number of services due per year.
func (ds Dues) Total() int {
	n := 0
	for _, d := range ds {
		n += d.PerYear
	}
	return n
}

// MaxPerYear bounds one package line (weekly at most).
const MaxPerYear = 52

// Package kinds.
const (
	PackageBasic        = "basic"        // 基础包: free, the national basic public health services
	PackagePersonalised = "personalised" // 个性化包: a fee, set per county
)

// Package is a service package (服务包).
type Package struct {
	ID         int64
	CountyCode string
	Code       string // short stable code, e.g. "basic-2026"
	Name       string
	Kind       string // PackageBasic or PackagePersonalised
	FeeFen     int64  // yearly fee in fen; 0 for basic
	Services   Dues
	Active     bool
	CreatedAt  time.Time
}

// Team member roles (policy-rules.md §2: family doctor + nurse +
// public-health physician; optional pharmacist, maternal-child staff,
// village doctor; county specialists join "1+1+1" teams, seed 004).
const (
	MemberDoctor        = "doctor"         // 家庭医生
	MemberNurse         = "nurse"          // 护士
	MemberPublicHealth  = "public_health"  // 公卫医师
	MemberVillageDoctor = "village_doctor" // 乡村医生
	MemberSpecialist    = "specialist"     // 县级专科医生
	MemberPharmacist    = "pharmacist"     // 药师
	MemberMaternalChild = "maternal_child" // 妇幼保健人员
)

// MemberRoles lists the roles a team member may have.
var MemberRoles = []string{MemberDoctor, MemberNurse, MemberPublicHealth, MemberVillageDoctor, MemberSpecialist, MemberPharmacist, MemberMaternalChild}

// Member is one practitioner in a team.
type Member struct {
	PractitionerID int64
	Role           string
	Name           string // filled on read
	InstitutionID  int64  // filled on read
}

// Team is a family doctor team (家庭医生团队), owned by a township
// center or a village clinic.
type Team struct {
	ID            int64
	CountyCode    string
	Name          string
	InstitutionID int64 // the owning township center or village clinic
	LeaderID      int64 // practitioner; must be a member
	Members       []Member
	Active        bool
	CreatedAt     time.Time
	Version       int
}

// MaxTeamMembers bounds a team's size.
const MaxTeamMembers = 30

// Validate checks a team: a name, an owner, 2–30 distinct members with
// valid roles, and a leader among them.
func (t *Team) Validate() []care.FieldError {
	var fs []care.FieldError
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || utf8.RuneCountInString(t.Name) > 60 {
		fs = append(fs, care.FieldError{Field: "name", Key: "family.team.name"})
	}
	if t.InstitutionID == 0 {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "family.team.owner"})
	}
	seen := map[int64]bool{}
	leader := false
	for _, m := range t.Members {
		if seen[m.PractitionerID] || m.PractitionerID == 0 || !slices.Contains(MemberRoles, m.Role) {
			fs = append(fs, care.FieldError{Field: "members", Key: "family.team.member"})
			break
		}
		seen[m.PractitionerID] = true
		leader = leader || m.PractitionerID == t.LeaderID
	}
	if len(t.Members) < 2 || len(t.Members) > MaxTeamMembers {
		fs = append(fs, care.FieldError{Field: "members", Key: "family.team.size", Args: []any{2, MaxTeamMembers}})
	}
	if !leader {
		fs = append(fs, care.FieldError{Field: "leader_id", Key: "family.team.leader"})
	}
	return fs
}

// Contract statuses. Only the closing fields of a contract ever change,
// once: its terms are never overwritten, and a renewal or a switch is a
// new contract pointing at the one it continues (PreviousID).
const (
	StatusActive   = "active"   // in force (or expired, when End has passed)
	StatusRenewed  = "renewed"  // runs to its end, continued by a renewal
	StatusSwitched = "switched" // ended early because the resident changed team
	StatusEnded    = "ended"    // ended early (moved away, died, withdrew)
	StatusExpired  = "expired"  // reached its end without renewal; closed when a new contract is signed
)

// Who consented, and how (签约知情同意).
const (
	ConsentSelf          = "self"
	ConsentGuardian      = "guardian"       // 监护人 (children, incapacitated adults)
	ConsentHouseholdHead = "household_head" // 户主, for the household's members
	ConsentPaper         = "paper_signature"
	ConsentPhone         = "phone_signature" // signed on a phone (electronic signature)
	ConsentVerbal        = "verbal_witnessed"
)

// ConsentParties and ConsentMethods list the accepted values.
var (
	ConsentParties = []string{ConsentSelf, ConsentGuardian, ConsentHouseholdHead}
	ConsentMethods = []string{ConsentPaper, ConsentPhone, ConsentVerbal}
)

// Consent records who agreed to a contract, how and when. No consent, no contract.
type Consent struct {
	By      string    // ConsentSelf, ConsentGuardian or ConsentHouseholdHead
	Name    string    // the consenting person when not the resident
	Method  string    // ConsentPaper, ConsentPhone, ConsentVerbal
	Witness string    // required for a verbal consent
	At      time.Time // when consent was given
}

// Contract is a family doctor contract (签约协议) of one resident.
type Contract struct {
	ID            int64
	CountyCode    string
	ResidentID    int64
	TeamID        int64
	PackageID     int64
	Services      Dues  // the package's services when signed: the promise
	FeeFen        int64 // the package's fee when signed
	Start, End    care.Date
	Consent       Consent
	Status        string
	PreviousID    int64     // the contract this one renews or replaces
	EndedOn       care.Date // first day no longer covered, for switched and ended
	EndReason     string
	SignedBy      int64 // account
	InstitutionID int64 // where it was signed
	CreatedAt     time.Time
	ClosedBy      int64
	ClosedAt      time.Time
}

// Covers reports whether the contract is in force on day d: from Start to
// End inclusive, and before EndedOn when it was ended early.
func (c *Contract) Covers(d care.Date) bool {
	if d.Before(c.Start) || d.After(c.End) {
		return false
	}
	return c.EndedOn.IsZero() || d.Before(c.EndedOn)
}

// LapsedAt is when an active contract ran past its End by the passage of
// time alone, nothing written then: the start of the day after End in the
// county's time (care.Shanghai), if that day has come by today; zero
// otherwise. What is derived from its dates changed then (its FHIR
// CarePlan became completed, its Consent inactive).
func (c *Contract) LapsedAt(today care.Date) time.Time {
	if c.Status != StatusActive || !today.After(c.End) {
		return time.Time{}
	}
	return dayStart(c.End.AddDays(1))
}

// LapsedFrom is the first End day of the contracts whose lapse
// (LapsedAt) is at or after t: with the end days before today, the
// active contracts that lapsed in [t, now].
func LapsedFrom(t time.Time) care.Date {
	d := care.Today(t)
	if !dayStart(d).Before(t) { // t is the very start of day d: the lapse of d-1's end
		return d.AddDays(-1)
	}
	return d
}

// dayStart is the first instant of day d in the county's time.
func dayStart(d care.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, care.Shanghai)
}

// LastDay returns the last day the contract covers.
func (c *Contract) LastDay() care.Date {
	if !c.EndedOn.IsZero() && !c.EndedOn.After(c.End) {
		return c.EndedOn.AddDays(-1)
	}
	return c.End
}

// AddYears returns d moved by n years; 29 February falls on 28 February
// in a common year.
func AddYears(d care.Date, n int) care.Date {
	x, ok := care.MakeDate(d.Year+n, d.Month, d.Day)
	if !ok {
		x, _ = care.MakeDate(d.Year+n, d.Month, d.Day-1)
	}
	return x
}

// MinEnd returns the earliest end date of a contract starting on start:
// one full year, the last day inclusive (2026-03-01 → 2027-02-28), per the
// rule that a contract runs at least one year (policy-rules.md §2).
func MinEnd(start care.Date) care.Date { return AddYears(start, 1).AddDays(-1) }

// MaxContractYears bounds a contract's term.
const MaxContractYears = 5

// ContractYear returns the contract year of c containing day d: years run
// from Start's anniversary; the last one stops at the contract's last day.
// Services due per year are counted per contract year.
func (c *Contract) ContractYear(d care.Date) (from, to care.Date) {
	from = c.Start
	for k := 1; ; k++ {
		next := AddYears(c.Start, k)
		if next.After(d) {
			break
		}
		from = next
	}
	to = AddYears(from, 1).AddDays(-1)
	if last := c.LastDay(); to.After(last) {
		to = last
	}
	return from, to
}

// Terms are what a resident agrees to when signing or renewing.
type Terms struct {
	TeamID    int64
	PackageID int64
	Start     care.Date
	End       care.Date
	Consent   Consent
}

// CheckTerms validates contract terms on day today: the term is at least
// a year (End ≥ MinEnd(Start)) and at most MaxContractYears, the start is
// not more than a year back nor a year ahead, and consent is recorded
// completely and not in the future. (policy-rules.md §2: period ≥ 1 year;
// no consent, no contract.)
func CheckTerms(t *Terms, now time.Time) []care.FieldError {
	var fs []care.FieldError
	today := care.Today(now)
	if t.TeamID == 0 {
		fs = append(fs, care.FieldError{Field: "team_id", Key: "family.team.required"})
	}
	if t.PackageID == 0 {
		fs = append(fs, care.FieldError{Field: "package_id", Key: "family.package.required"})
	}
	// An if/else chain rather than a tagless switch, so that mutation
	// testing sees the conditions (docs/mutation.md).
	if t.Start.IsZero() || t.Start.Before(AddYears(today, -1)) || t.Start.After(AddYears(today, 1)) {
		fs = append(fs, care.FieldError{Field: "start", Key: "family.contract.start"})
	} else if t.End.IsZero() || t.End.Before(MinEnd(t.Start)) {
		fs = append(fs, care.FieldError{Field: "end", Key: "family.contract.min_term", Args: []any{MinEnd(t.Start).String()}})
	} else if t.End.After(AddYears(t.Start, MaxContractYears)) {
		fs = append(fs, care.FieldError{Field: "end", Key: "family.contract.max_term", Args: []any{MaxContractYears}})
	}
	c := &t.Consent
	c.Name, c.Witness = strings.TrimSpace(c.Name), strings.TrimSpace(c.Witness)
	if !slices.Contains(ConsentParties, c.By) {
		fs = append(fs, care.FieldError{Field: "consent_by", Key: "family.consent.required"})
	} else if c.By != ConsentSelf && c.Name == "" {
		fs = append(fs, care.FieldError{Field: "consent_name", Key: "family.consent.name"})
	}
	if !slices.Contains(ConsentMethods, c.Method) {
		fs = append(fs, care.FieldError{Field: "consent_method", Key: "family.consent.required"})
	} else if c.Method == ConsentVerbal && c.Witness == "" {
		fs = append(fs, care.FieldError{Field: "consent_witness", Key: "family.consent.witness"})
	}
	if utf8.RuneCountInString(c.Name) > 40 || utf8.RuneCountInString(c.Witness) > 40 {
		fs = append(fs, care.FieldError{Field: "consent_name", Key: "field.too_long", Args: []any{40}})
	}
	if c.At.IsZero() || c.At.After(now) || care.Today(c.At).Before(AddYears(today, -1)) {
		fs = append(fs, care.FieldError{Field: "consent_at", Key: "family.consent.when"})
	}
	return fs
}

// Delivery is one service delivered to a contracted resident (履约记录).
type Delivery struct {
	ID             int64
	CountyCode     string
	ResidentID     int64
	ContractID     int64
	Kind           Kind
	Date           care.Date
	PractitionerID int64
	InstitutionID  int64
	Note           string
	RecordedBy     int64
	CreatedAt      time.Time
}

// Done is one delivered service as counted: a kind on a day. Chronic
// follow-up visits appear as FollowUp.
type Done struct {
	Kind Kind
	Date care.Date
}

// Line is one line of a contract's fulfilment: due this contract year,
// delivered, and delivered counted (capped at due).
type Line struct {
	Kind      Kind
	Due       int
	Delivered int
}

// Counted returns the deliveries that count towards fulfilment: at most Due.
func (l Line) Counted() int { return min(l.Delivered, l.Due) }

// Fulfilment returns c's lines for the contract year containing day,
// counting the services in done dated within that year up to day. Each
// (kind, day) counts once. Kinds delivered but not promised appear with
// Due 0 (they count as services for key groups, not towards fulfilment).
func Fulfilment(c *Contract, done []Done, day care.Date) []Line {
	from, to := c.ContractYear(day)
	if day.Before(to) {
		to = day
	}
	n := map[Kind]int{}
	seen := map[Done]bool{}
	for _, d := range done {
		if seen[d] || d.Date.Before(from) || d.Date.After(to) {
			continue
		}
		seen[d] = true
		n[d.Kind]++
	}
	var out []Line
	for _, d := range c.Services {
		out = append(out, Line{Kind: d.Kind, Due: d.PerYear, Delivered: n[d.Kind]})
	}
	for _, k := range Kinds {
		if c.Services.Of(k) == 0 && n[k] > 0 {
			out = append(out, Line{Kind: k, Delivered: n[k]})
		}
	}
	return out
}

// KeyGroupMinServices is the number of services a key-group resident
// should receive in a year (seed 002: "重点人群每年至少 4 次服务"; DOMAIN.md §5).
const KeyGroupMinServices = 4

// ServicesIn counts the distinct services in lines (all kinds, promised or not).
func ServicesIn(lines []Line) int {
	n := 0
	for _, l := range lines {
		n += l.Delivered
	}
	return n
}

// Shortfall is a key-group resident with a contract who has had fewer than
// KeyGroupMinServices services this contract year.
type Shortfall struct {
	ResidentID int64
	Name       string
	VillageID  int64
	ContractID int64
	Services   int
	YearEnds   care.Date
}

// SortShortfalls orders the list: fewest services first, then the year ending soonest.
func SortShortfalls(s []Shortfall) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Services != s[j].Services {
			return s[i].Services < s[j].Services
		}
		if s[i].YearEnds != s[j].YearEnds {
			return s[i].YearEnds.Before(s[j].YearEnds)
		}
		return s[i].ResidentID < s[j].ResidentID
	})
}

// Yuan formats an amount in fen as yuan with two decimals ("120.00").
func Yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// FeeYuan returns the package's yearly fee in yuan.
func (p *Package) FeeYuan() string { return Yuan(p.FeeFen) }

// FeeYuan returns the contract's yearly fee in yuan.
func (c *Contract) FeeYuan() string { return Yuan(c.FeeFen) }
