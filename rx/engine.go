package rx

import (
	"strings"

	"countycare/care"
)

// Rule identifiers of findings.
const (
	RuleExpired        = "rx.expired"         // 处方已过有效期
	RuleValidity       = "rx.validity"        // 有效期延长超过3天
	RuleTooManyLines   = "rx.lines"           // 每张处方超过5种药品
	RuleNoDiagnosis    = "rx.diagnosis"       // 未写临床诊断
	RuleSupply         = "rx.supply"          // 用量超过允许天数
	RuleClassSupply    = "rx.class_supply"    // 麻精药品用量超限
	RuleLongTermClass  = "rx.long_term_class" // 不得开具长期处方的药品
	RuleOnlineClass    = "rx.online_class"    // 互联网处方不得开具麻醉/精神药品
	RuleOnlineChild    = "rx.online_child"    // 6岁以下儿童须监护人陪同
	RuleLevel          = "rx.level"           // 本级机构不得使用
	RuleAge            = "rx.age"             // 年龄禁忌
	RuleDoseHigh       = "rx.dose_high"       // 单次剂量超过上限
	RuleDoseLow        = "rx.dose_low"        // 单次剂量低于常用量
	RuleDailyHigh      = "rx.daily_high"      // 日剂量超过上限
	RuleChildDose      = "rx.child_dose"      // 儿童按体重剂量超限
	RuleChildWeight    = "rx.child_weight"    // 儿童用药缺体重
	RuleChildNoDosing  = "rx.child_no_dosing" // 知识库无儿童剂量
	RuleFrequency      = "rx.frequency"       // 给药频次超过每日最多次数
	RuleRoute          = "rx.route"           // 给药途径与剂型不符
	RulePregnancy      = "rx.pregnancy"
	RuleLactation      = "rx.lactation"
	RuleRenal          = "rx.renal"
	RuleHepatic        = "rx.hepatic"
	RuleAllergy        = "rx.allergy"
	RuleCrossAllergy   = "rx.cross_allergy"
	RuleIndication     = "rx.indication"
	RuleDuplicate      = "rx.duplicate"
	RuleInteraction    = "rx.interaction"
	RuleQuantityShort  = "rx.quantity_short"
	overdoseSignedNote = "（医师已注明并再次签名）"
)

// Engine reviews prescriptions against a knowledge base under a Config.
type Engine struct {
	KB     *KB
	Config Config
}

// NewEngine returns an engine on the embedded knowledge base with the
// regulations' defaults; it fails only if the knowledge base is broken.
func NewEngine() (*Engine, error) {
	kb, err := Load()
	if err != nil {
		return nil, err
	}
	return &Engine{KB: kb, Config: DefaultConfig()}, nil
}

// Review checks p, as reviewed on day on, and appends its findings to out,
// which it returns; pass out[:0] of a reused slice and a review allocates
// nothing. p should have passed KB.Validate: lines with unknown drugs are
// skipped here. Findings come in line order, then pairs.
func (e *Engine) Review(p *Prescription, on care.Date, out []Finding) []Finding {
	c, kb := &e.Config, e.KB
	add := func(f Finding) { out = append(out, f) }

	if !PrescriptionValidOn(*c, p.Issued, p.ValidDays, on) {
		add(Finding{Rule: RuleExpired, Severity: Block, ZH: "处方已超过有效期（开具当日有效，延长最长不超过3天）", EN: "the prescription is past its validity (the day of issue, extendable to 3 days)", Source: SrcRx2007Art18})
	}
	if p.ValidDays > c.ValidityExtension {
		add(Finding{Rule: RuleValidity, Severity: Block, Value: float64(p.ValidDays), Limit: float64(c.ValidityExtension), ZH: "处方有效期延长超过3天", EN: "validity extended beyond 3 days", Source: SrcRx2007Art18})
	}
	if !LinesWithinLimit(*c, len(p.Lines)) {
		add(Finding{Rule: RuleTooManyLines, Severity: Block, Value: float64(len(p.Lines)), Limit: float64(c.MaxLines), ZH: "每张处方不得超过5种药品", EN: "more than 5 drugs on one prescription", Source: SrcRx2007Art6})
	}
	if len(p.Diagnoses) == 0 {
		noDx := false
		for i := range p.Lines {
			noDx = noDx || p.Lines[i].Diagnosis == ""
		}
		if noDx {
			sev := Warn
			if p.Kind == KindLongTerm {
				sev = Block
			}
			add(Finding{Rule: RuleNoDiagnosis, Severity: sev, ZH: "处方未写临床诊断（长期处方须有明确的慢性病诊断）", EN: "no clinical diagnosis (a long-term prescription needs a chronic diagnosis)", Source: SrcRx2007})
		}
	}
	pt := &p.Patient
	if p.Online && OnlineChildNeedsGuardian(*c, pt.AgeMonths) && !p.GuardianPresent {
		add(Finding{Rule: RuleOnlineChild, Severity: Block, ZH: "为6岁以下儿童开具互联网处方须确认监护人陪伴", EN: "an online prescription for a child under 6 needs a guardian present", Source: SrcInternet})
	}
	level := LevelOf(p.InstitutionLevel)
	maxDays := MaxSupplyDays(*c, p.Kind, p.Reason, p.Stable)
	child := pt.AgeMonths < c.ChildAgeYears*12

	var idx [16]int32
	lines := p.Lines
	if len(lines) > len(idx) {
		lines = lines[:len(idx)]
	}
	for i := range lines {
		l := &lines[i]
		n := i + 1
		di, ok := kb.byCode[l.DrugCode]
		if !ok {
			idx[i] = -1
			continue
		}
		idx[i] = di
		d := &kb.Drugs[di]
		if !AllowedAtLevel(d, level) {
			add(Finding{Rule: RuleLevel, Severity: Block, Line: n, ZH: "本级医疗机构不得使用该药品（抗菌药物分级或特殊管理药品）", EN: "not allowed at this institution level (antimicrobial grade or special-control drug)", Source: levelSource(d)})
		}
		if p.Online && !AllowedOnline(d) {
			add(Finding{Rule: RuleOnlineClass, Severity: Block, Line: n, ZH: "互联网诊疗不得开具麻醉药品、精神药品处方", EN: "no narcotic or psychotropic drugs on an online prescription", Source: SrcInternet})
		}
		if p.Kind == KindLongTerm && !AllowedOnLongTerm(d) {
			add(Finding{Rule: RuleLongTermClass, Severity: Block, Line: n, ZH: "该药品不得用于长期处方（麻精毒药品、除抗结核外的抗菌药物）", EN: "this drug may not be on a long-term prescription (controlled, toxic, or antimicrobial other than TB)", Source: SrcLongTerm2021})
		}
		if float64(l.Days) > float64(maxDays) {
			add(Finding{Rule: RuleSupply, Severity: Block, Line: n, Value: float64(l.Days), Limit: float64(maxDays), ZH: supplyZH(p.Kind, p.Reason), EN: supplyEN(p.Kind, p.Reason), Source: supplySource(p.Kind)})
		}
		if cd := ClassMaxDays(*c, d); cd > 0 && l.Days > cd {
			add(Finding{Rule: RuleClassSupply, Severity: Block, Line: n, Value: float64(l.Days), Limit: float64(cd), ZH: "麻醉药品、精神药品处方用量超过规定天数", EN: "narcotic/psychotropic supply beyond its limit", Source: SrcRx2007Art23})
		}
		dose, okDose := DoseIn(d, l.Dose, l.DoseUnit)
		times, okFreq := TimesPerDay(l.Frequency, d)
		if okDose && okFreq && dose > 0 && times > 0 && d.Form != "aerosol" {
			perUnit := d.Strength
			supply := l.Quantity * perUnit / (dose * times)
			if supply > float64(maxDays)+c.SupplyTolerance && float64(l.Days) <= float64(maxDays) {
				add(Finding{Rule: RuleSupply, Severity: Block, Line: n, Value: supply, Limit: float64(maxDays), ZH: "开具数量折合用药天数超过允许天数", EN: "the quantity dispensed exceeds the allowed days' supply", Source: supplySource(p.Kind)})
			} else if supply+c.SupplyTolerance < float64(l.Days) {
				add(Finding{Rule: RuleQuantityShort, Severity: Info, Line: n, Value: supply, Limit: float64(l.Days), ZH: "开具数量不足所写用药天数", EN: "the quantity does not cover the days written", Source: SrcRx2007})
			}
		}
		if pt.AgeMonths < d.MinAgeMonths {
			add(Finding{Rule: RuleAge, Severity: Block, Line: n, Value: float64(pt.AgeMonths) / 12, Limit: float64(d.MinAgeMonths) / 12, ZH: "患者年龄低于该药品说明书允许的最小年龄", EN: "the patient is younger than the label allows", Source: SrcInsert})
		}
		if okDose && okFreq {
			e.checkDose(l, d, n, dose, times, child, pt.WeightKg, &out)
		}
		if okFreq && times > float64(d.Dose.MaxPerDay) {
			add(Finding{Rule: RuleFrequency, Severity: Warn, Line: n, Value: times, Limit: float64(d.Dose.MaxPerDay), ZH: "给药频次超过该药每日最多次数", EN: "more administrations a day than the drug allows", Source: SrcInsert})
		}
		if l.Route != "" && l.Route != d.Route {
			add(Finding{Rule: RuleRoute, Severity: Warn, Line: n, ZH: "给药途径与剂型不符", EN: "route does not match the dosage form", Source: SrcInsert})
		}
		e.checkPatient(pt, d, n, &out)
		e.checkAllergy(pt, d, n, &out)
		if !indicated(d, l.Diagnosis, p.Diagnoses) {
			add(Finding{Rule: RuleIndication, Severity: Warn, Line: n, ZH: "临床诊断与药品适应症不符", EN: "the diagnosis is not an indication of this drug", Source: SrcInsert})
		}
	}
	nd := len(kb.Drugs)
	for i := range lines {
		if idx[i] < 0 {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if idx[j] < 0 {
				continue
			}
			a, b := idx[i], idx[j]
			if kb.class[a] == kb.class[b] {
				add(Finding{Rule: RuleDuplicate, Severity: Warn, Line: i + 1, Other: j + 1, ZH: "重复用药：同一药理类别（ATC第4级）药品合用", EN: "duplicate therapy: two drugs of the same class (ATC level 4)", Source: SrcATC})
			}
			if r := kb.ddi[int(a)*nd+int(b)]; r != 0 {
				in := &kb.Interactions[r-1]
				add(Finding{Rule: RuleInteraction, Severity: in.Severity, Line: i + 1, Other: j + 1, ZH: in.ZH, EN: in.EN, Source: in.Source})
			}
		}
	}
	return out
}

func (e *Engine) checkDose(l *Line, d *Drug, n int, dose, times float64, child bool, weight float64, out *[]Finding) {
	over := Block
	zhNote := ""
	if l.OverdoseSigned {
		over, zhNote = Warn, overdoseSignedNote
	}
	pt := d.Dose
	const eps = 1e-9
	if child {
		switch {
		case pt.ChildMaxPerKg == 0:
			*out = append(*out, Finding{Rule: RuleChildNoDosing, Severity: Warn, Line: n, ZH: "知识库无该药儿童剂量依据，需药师审核", EN: "no paediatric dosing in the knowledge base: pharmacist review", Source: SrcInsert})
		case weight == 0:
			*out = append(*out, Finding{Rule: RuleChildWeight, Severity: Warn, Line: n, ZH: "儿童用药须按体重核算剂量，未填写体重", EN: "child: dose by weight, but no weight given", Source: SrcInsert})
		case dose > pt.ChildMaxPerKg*weight+eps:
			*out = append(*out, Finding{Rule: RuleChildDose, Severity: over, Line: n, Value: dose, Limit: pt.ChildMaxPerKg * weight, ZH: childZH(zhNote), EN: "single dose above the per-kg maximum for the child's weight", Source: SrcInsert})
		}
	}
	if dose > pt.MaxSingle+eps {
		*out = append(*out, Finding{Rule: RuleDoseHigh, Severity: over, Line: n, Value: dose, Limit: pt.MaxSingle, ZH: doseZH(zhNote), EN: "single dose above the maximum", Source: SrcInsert})
	} else if dose < pt.MinSingle-eps && !child {
		*out = append(*out, Finding{Rule: RuleDoseLow, Severity: Info, Line: n, Value: dose, Limit: pt.MinSingle, ZH: "单次剂量低于常用剂量", EN: "single dose below the usual range", Source: SrcInsert})
	}
	if daily := dose * times; daily > pt.MaxDaily+eps {
		*out = append(*out, Finding{Rule: RuleDailyHigh, Severity: over, Line: n, Value: daily, Limit: pt.MaxDaily, ZH: dailyZH(zhNote), EN: "daily dose above the maximum", Source: SrcInsert})
	}
}

func (e *Engine) checkPatient(pt *Patient, d *Drug, n int, out *[]Finding) {
	if pt.Pregnant {
		switch d.Pregnancy {
		case CautionContraindicate:
			*out = append(*out, Finding{Rule: RulePregnancy, Severity: Block, Line: n, ZH: "孕妇禁用", EN: "contraindicated in pregnancy", Source: SrcInsert})
		case CautionAvoid:
			*out = append(*out, Finding{Rule: RulePregnancy, Severity: Warn, Line: n, ZH: "孕妇避免使用，确需使用须权衡利弊", EN: "avoid in pregnancy unless the benefit outweighs the risk", Source: SrcInsert})
		}
	}
	if pt.Lactating {
		switch d.Lactation {
		case 'X':
			*out = append(*out, Finding{Rule: RuleLactation, Severity: Block, Line: n, ZH: "哺乳期禁用", EN: "contraindicated while breastfeeding", Source: SrcInsert})
		case 'A':
			*out = append(*out, Finding{Rule: RuleLactation, Severity: Warn, Line: n, ZH: "哺乳期避免使用或暂停哺乳", EN: "avoid while breastfeeding, or stop breastfeeding", Source: SrcInsert})
		}
	}
	if pt.EGFR > 0 {
		for _, r := range d.Renal {
			if pt.EGFR < r.Below {
				if r.Avoid {
					*out = append(*out, Finding{Rule: RuleRenal, Severity: Block, Line: n, Value: float64(pt.EGFR), Limit: float64(r.Below), ZH: "肾功能不全禁用（eGFR低于阈值）", EN: "contraindicated at this eGFR", Source: SrcInsert})
				} else {
					*out = append(*out, Finding{Rule: RuleRenal, Severity: Warn, Line: n, Value: float64(pt.EGFR), Limit: float64(r.Below), ZH: "肾功能不全需减量或延长给药间隔", EN: "reduce the dose or lengthen the interval at this eGFR", Source: SrcInsert})
				}
				break
			}
		}
	}
	if pt.HepaticImpairment {
		switch d.Hepatic {
		case CautionContraindicate:
			*out = append(*out, Finding{Rule: RuleHepatic, Severity: Block, Line: n, ZH: "严重肝功能不全禁用", EN: "contraindicated in severe hepatic impairment", Source: SrcInsert})
		case CautionCare:
			*out = append(*out, Finding{Rule: RuleHepatic, Severity: Info, Line: n, ZH: "肝功能不全慎用", EN: "use with care in hepatic impairment", Source: SrcInsert})
		}
	}
}

func (e *Engine) checkAllergy(pt *Patient, d *Drug, n int, out *[]Finding) {
	kb := e.KB
	for _, a := range pt.Allergies {
		hit, cross := false, false
		if g, ok := kb.Allergies[a]; ok {
			hit = hasATC(d, g.Members)
			cross = !hit && hasATC(d, g.CrossReacts)
		} else if g, ok := kb.Groups[a]; ok {
			hit = hasATC(d, g)
		} else if a == d.Code || a == d.NameEN {
			hit = true
		} else if len(a) >= 3 && a[0] >= 'A' && a[0] <= 'Z' {
			for _, atc := range d.ATC {
				hit = hit || strings.HasPrefix(atc, a)
			}
		}
		switch {
		case hit:
			*out = append(*out, Finding{Rule: RuleAllergy, Severity: Block, Line: n, ZH: "患者对该药或同类药物过敏", EN: "the patient is allergic to this drug or its class", Source: SrcAllergy})
			return
		case cross:
			*out = append(*out, Finding{Rule: RuleCrossAllergy, Severity: Warn, Line: n, ZH: "患者对可能交叉过敏的药物类别过敏", EN: "the patient is allergic to a class that may cross-react", Source: SrcAllergy})
			return
		}
	}
}

// indicated reports whether a diagnosis of the line (or, without one, of
// the prescription) is among the drug's indications. Without any
// diagnosis there is nothing to compare; RuleNoDiagnosis reports that.
func indicated(d *Drug, lineDx string, dxs []string) bool {
	if lineDx == "" && len(dxs) == 0 {
		return true
	}
	for _, ind := range d.Indications {
		if ind == "*" {
			return true
		}
		if lineDx != "" {
			if strings.HasPrefix(lineDx, ind) {
				return true
			}
			continue
		}
		for _, dx := range dxs {
			if strings.HasPrefix(dx, ind) {
				return true
			}
		}
	}
	return false
}

func levelSource(d *Drug) string {
	if d.Flags&(Narcotic|Psychotropic) != 0 {
		return SrcNarcotics
	}
	return SrcAntimicrobe
}

func supplySource(k Kind) string {
	if k == KindLongTerm {
		return SrcLongTerm2021
	}
	return SrcRx2007Art19
}

func supplyZH(k Kind, reason string) string {
	switch k {
	case KindEmergency:
		return "急诊处方一般不得超过3日用量"
	case KindChronic:
		if reason == "" {
			return "慢性病处方延长用量须注明理由；未注明理由按7日用量"
		}
		return "慢性病处方用量超过本地规定的最长天数"
	case KindLongTerm:
		return "长期处方一般不超过4周，病情稳定者最长不超过12周"
	}
	return "处方一般不得超过7日用量"
}

func supplyEN(k Kind, reason string) string {
	switch k {
	case KindEmergency:
		return "an emergency prescription is limited to 3 days' supply"
	case KindChronic:
		if reason == "" {
			return "a longer chronic prescription needs a reason; without one the limit is 7 days"
		}
		return "beyond the local limit for chronic prescriptions"
	case KindLongTerm:
		return "a long-term prescription is limited to 4 weeks, 12 weeks when the condition is stable"
	}
	return "a prescription is limited to 7 days' supply"
}

func doseZH(note string) string {
	if note != "" {
		return "单次剂量超过说明书最大剂量" + overdoseSignedNote
	}
	return "单次剂量超过说明书最大剂量"
}

func dailyZH(note string) string {
	if note != "" {
		return "日剂量超过说明书最大日剂量" + overdoseSignedNote
	}
	return "日剂量超过说明书最大日剂量"
}

func childZH(note string) string {
	if note != "" {
		return "儿童单次剂量超过按体重计算的上限" + overdoseSignedNote
	}
	return "儿童单次剂量超过按体重计算的上限"
}
