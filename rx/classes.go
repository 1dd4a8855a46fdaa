package rx

// Classes are the monitoring classes of a prescription that the county's
// prescribing indicators count (the dashboard's 抗菌药物处方率 and
// 注射剂使用率, docs/dashboard.md): whether any of its lines is an
// antimicrobial, whether any is an injection.
type Classes uint8

// Monitoring classes of a prescription.
const (
	// WithAntimicrobial: a line is an antimicrobial (抗菌药物, the
	// formulary's A or R flag: 抗菌药物临床应用管理办法, 卫生部令第84号,
	// 2012, 第二条 and its 分级管理).
	WithAntimicrobial Classes = 1 << iota
	// WithInjection: a line is an injection (注射剂, the formulary's form
	// "inj" whatever the route: 门诊注射剂使用率 counts prescriptions with
	// an injectable product).
	WithInjection
)

// Classify returns the monitoring classes of p by its lines' formulary
// entries. A line whose drug the formulary does not hold adds nothing
// (Validate refuses such a line before a prescription is signed).
func (kb *KB) Classify(p *Prescription) Classes {
	var c Classes
	for _, l := range p.Lines {
		d := kb.Drug(l.DrugCode)
		if d == nil {
			continue
		}
		if d.Flags&(Antimicrobial|RestrictedAntimicrobial) != 0 {
			c |= WithAntimicrobial
		}
		if d.Form == "inj" {
			c |= WithInjection
		}
	}
	return c
}
