// Package kpi is the county dashboard's domain (一张图): the catalogue of
// the indicators the platform computes, each with its definition and
// source; the targets the county sets per indicator and year, and the
// traffic-light rule that compares a value with its target; the rate
// arithmetic that never divides by zero and never shows a share above
// 100 %; and Board, which gathers the indicators of one unit and period
// from the capability packages' reports (chronic, family, referral) for a
// viewer, within the viewer's scope. docs/dashboard.md.
package kpi

import "countycare/care"

// Unit is how an indicator's value is expressed.
type Unit string

// Units of indicators.
const (
	Percent Unit = "percent" // a share: numerator ⊆ denominator, never above 100 %
	// MoneyShare is a share of an amount of money: numerator and
	// denominator are fen (settle.Fen), shown as yuan.
	MoneyShare Unit = "money_share"
	// Minutes is a duration in whole minutes, read from a histogram (a
	// turnaround quantile, turnaround.go): the Rate is {minutes, reports}
	// and never a share; its target is minutes too.
	Minutes Unit = "minutes"
	// Index is a mean weight, not a share: the case mix index (CMI, casemix.go),
	// its Rate {Σ relative weight × 10000, cases with a weight}, so Value.BP is
	// the index × 10000; its target is the index too (kpi-targets: 1.05).
	Index Unit = "index"
)

// Indicator is one figure of the catalogue. Its name, definition and
// source as the page shows them are keys of the message catalogue
// (web/locales): kpi.<ID>.name, kpi.<ID>.def, kpi.<ID>.src; Source is the
// citation for readers of the code and docs/dashboard.md: the section of
// the project's reference policy-rules.md and the national document.
type Indicator struct {
	ID          string
	Group       string // chronic, family, referral: the page's sections
	Unit        Unit
	Numerator   string // message key of the numerator's meaning
	Denominator string // message key of the denominator's meaning
	Source      string // citation shown under the definition
	// HigherIsBetter: true when a higher value is better (a control rate);
	// false when lower is better (out-of-county referrals).
	HigherIsBetter bool
	// Bounded: the numerator is a subset of the denominator, so a value
	// above 100 % is impossible and is reported as a data error, never shown.
	Bounded bool
}

// NameKey is the catalogue key of the indicator's name.
func (in Indicator) NameKey() string { return "kpi." + in.ID + ".name" }

// DefKey is the catalogue key of the indicator's definition.
func (in Indicator) DefKey() string { return "kpi." + in.ID + ".def" }

// InMinutes reports whether the indicator is a duration in minutes.
func (in Indicator) InMinutes() bool { return in.Unit == Minutes }

// InIndex reports whether the indicator is an index (the CMI).
func (in Indicator) InIndex() bool { return in.Unit == Index }

// Share reports whether the indicator is a share of 100 % (a count or
// money share), the only kind the dashboard's bar charts and map draw.
func (in Indicator) Share() bool { return in.Unit == Percent || in.Unit == MoneyShare }

// SourceKey is the catalogue key of the indicator's source as shown.
func (in Indicator) SourceKey() string { return "kpi." + in.ID + ".src" }

// Catalogue is every indicator the dashboard shows, in page order. The
// formulas are the capability packages' (chronic/indicators.go,
// family/indicators.go, referral/indicators.go, consult/indicators.go);
// the sources are theirs.
var Catalogue = []Indicator{
	// 国家基本公共卫生服务规范（第三版）2017, hypertension: policy-rules.md §1.1.
	{ID: "htn_standardised", Group: "chronic", Unit: Percent, Numerator: "kpi.num.per_spec", Denominator: "kpi.den.managed", Source: "policy-rules.md §1.1 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	{ID: "htn_controlled", Group: "chronic", Unit: Percent, Numerator: "kpi.num.at_target", Denominator: "kpi.den.managed", Source: "policy-rules.md §1.1 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	{ID: "htn_health_managed", Group: "chronic", Unit: Percent, Numerator: "kpi.num.managed", Denominator: "kpi.den.area_patients", Source: "policy-rules.md §1.1 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	// Type 2 diabetes: policy-rules.md §1.2.
	{ID: "dm_standardised", Group: "chronic", Unit: Percent, Numerator: "kpi.num.per_spec", Denominator: "kpi.den.managed", Source: "policy-rules.md §1.2 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	{ID: "dm_controlled", Group: "chronic", Unit: Percent, Numerator: "kpi.num.at_target", Denominator: "kpi.den.managed", Source: "policy-rules.md §1.2 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	{ID: "dm_health_managed", Group: "chronic", Unit: Percent, Numerator: "kpi.num.managed", Denominator: "kpi.den.area_patients", Source: "policy-rules.md §1.2 · 国家基本公共卫生服务规范（第三版）", HigherIsBetter: true, Bounded: true},
	// Family doctor contracts: policy-rules.md §2 (2022 guidance: ≥ 75 % overall, ≥ 85 % key groups by 2035).
	{ID: "family_coverage", Group: "family", Unit: Percent, Numerator: "kpi.num.contracted", Denominator: "kpi.den.residents", Source: "policy-rules.md §2 · 关于推进家庭医生签约服务高质量发展的指导意见（2022）", HigherIsBetter: true, Bounded: true},
	{ID: "family_key_coverage", Group: "family", Unit: Percent, Numerator: "kpi.num.key_contracted", Denominator: "kpi.den.key_residents", Source: "policy-rules.md §2 · 关于推进家庭医生签约服务高质量发展的指导意见（2022）", HigherIsBetter: true, Bounded: true},
	{ID: "family_fulfilment", Group: "family", Unit: Percent, Numerator: "kpi.num.delivered", Denominator: "kpi.den.due", Source: "policy-rules.md §2 [U]", HigherIsBetter: true, Bounded: true},
	// Tiered care: policy-rules.md §3.
	{ID: "in_county", Group: "referral", Unit: Percent, Numerator: "kpi.num.in_county_visits", Denominator: "kpi.den.visits", Source: "policy-rules.md §3 · 县域内就诊率", HigherIsBetter: true, Bounded: true},
	{ID: "primary_share", Group: "referral", Unit: Percent, Numerator: "kpi.num.primary_visits", Denominator: "kpi.den.visits", Source: "policy-rules.md §3 · 分级诊疗试点评价标准（2015）", HigherIsBetter: true, Bounded: true},
	{ID: "referral_completion", Group: "referral", Unit: Percent, Numerator: "kpi.num.completed", Denominator: "kpi.den.referrals", Source: "referral/indicators.go · issue #3", HigherIsBetter: true, Bounded: true},
	{ID: "out_of_county", Group: "referral", Unit: Percent, Numerator: "kpi.num.out_of_county", Denominator: "kpi.den.up_referrals", Source: "policy-rules.md §3 · 县外转诊率", HigherIsBetter: false, Bounded: true},
	// Remote consultation: the articles' promise that a village's request is answered within 10 minutes (consult.Compute).
	{ID: "consult_sla", Group: "consult", Unit: Percent, Numerator: "kpi.num.answered_in_time", Denominator: "kpi.den.judged_consults", Source: "consult/indicators.go · seeds: 10 分钟响应", HigherIsBetter: true, Bounded: true},
	{ID: "consult_escalated", Group: "consult", Unit: Percent, Numerator: "kpi.num.escalated_consults", Denominator: "kpi.den.consults", Source: "consult/indicators.go · consult.Config escalation", HigherIsBetter: false, Bounded: true},
	// Reading centers and labs: critical values acknowledged by the ordering clinic before escalation (critical.AckInTimeByClinic).
	{ID: "critical_ack_in_time", Group: "reading", Unit: Percent, Numerator: "kpi.num.acked_in_time", Denominator: "kpi.den.judged_alerts", Source: "critical/critical.go · 危急值报告制度（医疗质量安全核心制度要点，2018）", HigherIsBetter: true, Bounded: true},
	// Reading centers' turnaround: upload to signed report (ECG, imaging; reading.Study.Turnaround), collection to
	// result (lab), median and 90th percentile from the kept histograms (turnaround.go); lower is better. The
	// targets are the county's (kpi-targets, minutes); the shipped ones follow the reading targets
	// (reading.DefaultTargets: ECG 15 min, DR 30, CT 60): 90 % of ECGs within 15 minutes, half within 10; imaging
	// 90 % within 60, half within 30; the lab's 60/120 minutes are an example [U: the county confirms].
	{ID: "tat_ecg_median", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_median", Denominator: "kpi.den.tat_reports", Source: "reading/workflow.go · 诊断中心报告时限", HigherIsBetter: false},
	{ID: "tat_ecg_p90", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_p90", Denominator: "kpi.den.tat_reports", Source: "reading/workflow.go · 诊断中心报告时限", HigherIsBetter: false},
	{ID: "tat_imaging_median", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_median", Denominator: "kpi.den.tat_reports", Source: "reading/workflow.go · 诊断中心报告时限", HigherIsBetter: false},
	{ID: "tat_imaging_p90", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_p90", Denominator: "kpi.den.tat_reports", Source: "reading/workflow.go · 诊断中心报告时限", HigherIsBetter: false},
	{ID: "tat_lab_median", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_median", Denominator: "kpi.den.tat_results", Source: "lab · 检验报告时限（采样至出报告）", HigherIsBetter: false},
	{ID: "tat_lab_p90", Group: "reading", Unit: Minutes, Numerator: "kpi.num.tat_p90", Denominator: "kpi.den.tat_results", Source: "lab · 检验报告时限（采样至出报告）", HigherIsBetter: false},
	// Settlement: what the county's settled visits cost, per institution that settled them (the fees of
	// settle.Settlement; policy-rules.md §5, §6). No shipped target: the county sets one (kpi-targets).
	{ID: "settle_oop_share", Group: "settle", Unit: MoneyShare, Numerator: "kpi.num.patient_fees", Denominator: "kpi.den.medical_fees", Source: "policy-rules.md §5 · settle.Result.Patient", HigherIsBetter: false, Bounded: true},
	{ID: "settle_drug_share", Group: "settle", Unit: MoneyShare, Numerator: "kpi.num.drug_fees", Denominator: "kpi.den.medical_fees", Source: "policy-rules.md §6 · 药占比", HigherIsBetter: false, Bounded: true},
	{ID: "settle_material_share", Group: "settle", Unit: MoneyShare, Numerator: "kpi.num.material_fees", Denominator: "kpi.den.medical_fees", Source: "policy-rules.md §6 · 耗占比", HigherIsBetter: false, Bounded: true},
	// Fund use against the medical community's global budget (医保总额预算, Budgets): the basic
	// fund paid for the visits its institutions settled, from January to the period's end, over
	// the year's budget; judged against the share of the year elapsed (ElapsedBP), not a target.
	{ID: "settle_fund_use", Group: "settle", Unit: MoneyShare, Numerator: "kpi.num.fund_paid", Denominator: "kpi.den.budget", Source: "关于推进紧密型县域医疗卫生共同体建设的意见（2023）· 医保基金总额付费", HigherIsBetter: false, Bounded: false},
	// Case mix index (CMI) of the in-patient cases the county's institutions settled, over those whose
	// DRG has a relative weight in the configured table (settle.Window.Weights): the same definition as
	// the insurance office's /settle/reports (settle.CostIndicators); cases without a weight are counted
	// and shown, never weighted. A higher CMI: harder cases treated in the county. casemix.go.
	{ID: CMI, Group: "casemix", Unit: Index, Numerator: "kpi.num.rw_sum", Denominator: "kpi.den.weighted_cases", Source: "policy-rules.md §6 · CHS-DRG 2.0 · CMI = Σ(RW×n)/Σn", HigherIsBetter: true},
	// Prescriptions: the regional review's outcomes (区域审方, rx.Status) and the prescribing
	// rates the national monitoring counts, per institution that prescribed (rx.Classes).
	{ID: "rx_passed", Group: "rx", Unit: Percent, Numerator: "kpi.num.rx_passed", Denominator: "kpi.den.rx_decided", Source: "rx/service.go · 处方管理办法（2007）第三十五条 处方审核", HigherIsBetter: true, Bounded: true},
	{ID: "rx_returned", Group: "rx", Unit: Percent, Numerator: "kpi.num.rx_returned", Denominator: "kpi.den.rx_decided", Source: "rx/service.go · 医疗机构处方审核规范（2018）", HigherIsBetter: false, Bounded: true},
	{ID: "rx_rejected", Group: "rx", Unit: Percent, Numerator: "kpi.num.rx_rejected", Denominator: "kpi.den.rx_decided", Source: "rx/service.go · 医疗机构处方审核规范（2018）", HigherIsBetter: false, Bounded: true},
	{ID: "rx_antibiotic", Group: "rx", Unit: Percent, Numerator: "kpi.num.rx_antibiotic", Denominator: "kpi.den.rx_classified", Source: "抗菌药物临床应用管理办法（2012）· 门诊患者抗菌药物处方比例", HigherIsBetter: false, Bounded: true},
	{ID: "rx_injection", Group: "rx", Unit: Percent, Numerator: "kpi.num.rx_injection", Denominator: "kpi.den.rx_classified", Source: "基层医疗卫生机构 门诊注射剂使用率 [U]", HigherIsBetter: false, Bounded: true},
}

// lookupField is Lookup for a request's indicator: EINVALID on the field
// "indicator" (kpi.unknown_indicator) for an unknown one.
func lookupField(id string) (Indicator, error) {
	in, ok := Lookup(id)
	if !ok {
		return in, care.Invalid([]care.FieldError{{Field: "indicator", Key: "kpi.unknown_indicator", Args: []any{id}}})
	}
	return in, nil
}

// Lookup returns the indicator with id; ok is false for an unknown one.
func Lookup(id string) (Indicator, bool) {
	for _, in := range Catalogue {
		if in.ID == id {
			return in, true
		}
	}
	return Indicator{}, false
}

// HasGroup reports whether some indicator of the catalogue is in group.
func HasGroup(group string) bool {
	for _, in := range Catalogue {
		if in.Group == group {
			return true
		}
	}
	return false
}
