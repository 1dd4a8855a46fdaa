package chronic

// Tier is the traffic-light tier of a chronic patient (红黄绿分级管理,
// seeds 001 and 004): who manages them.
type Tier string

// Tiers and the level that manages each.
const (
	Green  Tier = "green"  // controlled: the village clinic
	Yellow Tier = "yellow" // unsatisfactory control: the township center
	Red    Tier = "red"    // hard to control: the county hospital
)

// Tiers lists the tiers, lowest first.
var Tiers = []Tier{Green, Yellow, Red}

// ManagingLevel returns the level that manages a tier: village, township or county.
func (t Tier) ManagingLevel() string {
	switch t {
	case Green:
		return "village"
	case Red:
		return "county"
	}
	return "township"
}

// TierRules decide a tier from the last assessed visit ([U]: configuration
// with these defaults, DefaultTierRules):
//   - Urgent: a visit that needed an urgent transfer or proposed a referral
//     (two consecutive uncontrolled visits, an uncontrollable adverse
//     reaction, a new or worse complication) → red, the county hospital;
//   - ByClass: controlled and stable → green (the village clinic);
//     uncontrolled, adverse reaction, complication and basically stable →
//     yellow (the township center); unstable → red.
type TierRules struct {
	Urgent  Tier           // tier after an urgent or referral visit
	ByClass map[Class]Tier // tier by the last assessed visit's class
}

// DefaultTierRules returns the defaults documented on TierRules.
func DefaultTierRules() TierRules {
	return TierRules{Urgent: Red, ByClass: map[Class]Tier{
		Controlled: Green, Stable: Green,
		Uncontrolled: Yellow, Adverse: Yellow, Complication: Yellow, BasicallyStable: Yellow,
		Unstable: Red,
	}}
}

// TierFor decides a patient's tier from their assessed visits, oldest
// first, by c.Tiers (TierRules); before the first assessed visit it is
// c.UnassessedTier (green: the village clinic). Visits not assessed (phone
// calls without readings) do not move the tier. It returns the tier and a
// message key naming the reason.
func TierFor(outcomes []Outcome, c Config) (Tier, string) {
	rules := c.Tiers
	if rules.ByClass == nil {
		rules = DefaultTierRules()
	}
	for i := len(outcomes) - 1; i >= 0; i-- {
		o := outcomes[i]
		if o.Class == NotAssessed && len(o.Urgent) == 0 {
			continue
		}
		t := rules.ByClass[o.Class]
		if len(o.Urgent) > 0 || o.Refer {
			t = rules.Urgent
		}
		if t == "" {
			t = Yellow
		}
		return t, "chronic.tier.reason." + string(t)
	}
	return c.UnassessedTier, "chronic.tier.reason.unassessed"
}
