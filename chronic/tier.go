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

// TierFor decides a patient's tier from their assessed visits, oldest
// first. The default rules (configuration, documented here):
//   - red when the last visit needed an urgent transfer or a referral (two
//     consecutive uncontrolled visits, an uncontrollable adverse reaction,
//     a new or worse complication), or a mental-disorder patient is unstable;
//   - yellow when the last visit was uncontrolled or had an adverse
//     reaction, or a mental-disorder patient is basically stable;
//   - green when the last visit was controlled (or stable);
//   - c.UnassessedTier (green: the village clinic) before the first assessed visit.
//
// Visits not assessed (phone calls without readings) do not move the tier.
// It returns the tier and a message key naming the reason.
func TierFor(outcomes []Outcome, c Config) (Tier, string) {
	for i := len(outcomes) - 1; i >= 0; i-- {
		o := outcomes[i]
		if o.Class == NotAssessed && len(o.Urgent) == 0 {
			continue
		}
		switch {
		case len(o.Urgent) > 0 || o.Refer || o.Class == Unstable:
			return Red, "chronic.tier.reason.red"
		case o.Class == Uncontrolled || o.Class == Adverse || o.Class == BasicallyStable || o.Class == Complication:
			return Yellow, "chronic.tier.reason.yellow"
		default:
			return Green, "chronic.tier.reason.green"
		}
	}
	return c.UnassessedTier, "chronic.tier.reason.unassessed"
}
