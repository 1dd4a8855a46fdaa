package chronic

import (
	"encoding/json"
	"fmt"
	"io"
)

// LoadConfig reads a county's chronic-care configuration as JSON over the
// defaults (DefaultConfig): only the fields a county changes need to be in
// the file; an unknown field is an error, and the result is checked
// (`countycare chronic defaults` prints every field with its default).
func LoadConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("chronic config: %w", err)
	}
	return c, c.Check()
}

// Check reports the first impossible value of a configuration.
func (c *Config) Check() error {
	pos := map[string]int{"BPTargetSBP": c.BPTargetSBP, "BPTargetDBP": c.BPTargetDBP, "UrgentSBP": c.UrgentSBP, "UrgentDBP": c.UrgentDBP,
		"FPGTarget": c.FPGTarget, "RoutineDays": c.RoutineDays, "RecheckDays": c.RecheckDays, "AfterTransferDays": c.AfterTransferDays,
		"MentalStableDays": c.MentalStableDays, "MentalBasicDays": c.MentalBasicDays, "TBContinuationDays": c.TBContinuationDays, "HepatitisDays": c.HepatitisDays,
		"ScreenMinAge": c.ScreenMinAge, "TBRegularDosesRatio": c.TBRegularDosesRatio, "PrevalenceMinAge": c.PrevalenceMinAge}
	for k, v := range pos {
		if v <= 0 {
			return fmt.Errorf("chronic config: %s must be positive (got %d)", k, v)
		}
	}
	// Plain ifs rather than a tagless switch: gremlins cannot mutate case
	// conditions (docs/mutation.md), and these bounds are rules.
	if c.BPTargetSBP >= c.UrgentSBP || c.BPTargetDBP >= c.UrgentDBP ||
		c.ElderlyTargetSBP >= c.UrgentSBP || c.ElderlyTargetDBP >= c.UrgentDBP {
		return fmt.Errorf("chronic config: the BP targets (BPTarget*, ElderlyTarget*) must be below the urgent-transfer threshold (UrgentSBP, UrgentDBP)")
	}
	if c.FPGTarget <= c.UrgentFPGLow+1 || c.FPGTarget >= c.UrgentFPGHigh {
		return fmt.Errorf("chronic config: FPGTarget must lie between UrgentFPGLow and UrgentFPGHigh (a glucose at target cannot be urgent)")
	}
	if c.TBRegularDosesRatio > 100 {
		return fmt.Errorf("chronic config: TBRegularDosesRatio is a percentage")
	}
	if c.RemindersPerWeek < 0 {
		return fmt.Errorf("chronic config: RemindersPerWeek cannot be negative")
	}
	valid := func(t Tier) bool { return t == Green || t == Yellow || t == Red }
	if !valid(c.UnassessedTier) || !valid(c.Tiers.Urgent) {
		return fmt.Errorf("chronic config: tiers are green, yellow or red")
	}
	for cl, t := range c.Tiers.ByClass {
		if !valid(t) {
			return fmt.Errorf("chronic config: Tiers.ByClass[%s] = %q: tiers are green, yellow or red", cl, t)
		}
	}
	for _, cl := range []Class{Controlled, Uncontrolled, Adverse, Complication, Stable, BasicallyStable, Unstable} {
		if _, ok := c.Tiers.ByClass[cl]; !ok {
			return fmt.Errorf("chronic config: Tiers.ByClass has no tier for %s", cl)
		}
	}
	for d, bp := range c.PrevalenceBP {
		if !d.Valid() || bp < 0 || bp > 10000 {
			return fmt.Errorf("chronic config: PrevalenceBP[%s] = %d (basis points, 0–10000)", d, bp)
		}
	}
	for o, days := range c.CallHideDays {
		if days < 0 || days > 365 {
			return fmt.Errorf("chronic config: CallHideDays[%s] = %d", o, days)
		}
	}
	return nil
}
