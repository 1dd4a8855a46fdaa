package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/account"
	"countycare/care"
	"countycare/ecg"
	"countycare/reading"
)

// demoOpenFor is how recent a demo study must be to be still open: the
// reads of the last hours wait in the centers' worklists (a third of
// them claimed), so a reader signing in to `make run` has work; older
// ones are reported.
const demoOpenFor = 4 * time.Hour

// signer is a reader who signs the demo's reports.
type signer struct {
	account int64
	name    string
}

// desk moves the demo's studies through the reading workflow as the
// centers' readers would have: claimed, signed within (or just over) the
// turnaround target, escalated when late.
type desk struct {
	g       *gen
	rng     *rand.Rand
	targets reading.Targets
	tpls    reading.Templates
	signers map[int64][]signer // center → readers who sign its reports
	open    int                // open studies filed (the demo resident's aside)
}

// newDesk gives every reader of the reading centers but the demo sign-in
// (who starts with no reports of their own) an account, to sign with.
func (g *gen) newDesk(rng *rand.Rand, centers []int64) (*desk, error) {
	d := &desk{g: g, rng: rng, targets: reading.DefaultTargets(), tpls: reading.DefaultTemplates(), signers: map[int64][]signer{}}
	hash, err := account.HashPassword(g.cfg.Password)
	if err != nil {
		return nil, err
	}
	for _, c := range centers {
		if len(d.signers[c]) > 0 {
			continue
		}
		for _, p := range g.readers[c] {
			if p == g.pract[care.RoleReader] {
				continue
			}
			a := &account.Account{ID: g.id("account"), Username: fmt.Sprintf("reader.%s.%d", pinyinOf(p.Name), p.ID), Role: care.RoleReader,
				InstitutionID: c, PractitionerID: p.ID, PasswordHash: hash, PasswordChangedAt: g.now, CreatedAt: g.now}
			if err := g.b.Account(a); err != nil {
				return nil, err
			}
			d.signers[c] = append(d.signers[c], signer{account: a.ID, name: p.Name})
		}
		if len(d.signers[c]) == 0 {
			return nil, fmt.Errorf("demo: diagnosis center %d has no reader to sign reports", c)
		}
	}
	return d, nil
}

// file moves the workflow entry e (made by reading.ECGEntry or
// reading.ImagingEntry, its ID set) to where it is at the demo's now and
// loads it: an open study keeps waiting (or is claimed, unless
// keepWaiting) with the escalations the scheduler would have made; an
// older one is reported with a signed, sealed report on the modality's
// template. pre is the ECG's pre-read (nil for imaging).
func (d *desk) file(e *reading.Study, pre *reading.PreRead, keepWaiting bool) error {
	g := d.g
	target := d.targets.Target(e.Modality)
	due := e.DueAt
	readers := d.signers[e.CenterID]
	if len(readers) == 0 {
		return fmt.Errorf("demo: no reader signs for center %d", e.CenterID)
	}
	who := readers[d.rng.IntN(len(readers))]
	if age := g.now.Sub(e.UploadedAt); age < demoOpenFor {
		// Every third open study (the first among them) is in a reader's hands.
		if !keepWaiting && d.open%3 == 0 {
			e.Status, e.ClaimedBy, e.ClaimedName = reading.FlowClaimed, who.account, who.name
			e.ClaimedAt = e.UploadedAt.Add(time.Duration(d.rng.Int64N(int64(min(age, target)) + 1)))
			e.Version++
		}
		if !keepWaiting {
			d.open++
		}
		if age >= target {
			n := int(age / target)
			e.BreachedAt, e.Escalations, e.DueAt = due, n, e.UploadedAt.Add(time.Duration(n+1)*target)
			e.Version += n
		}
		return g.b.ReadingStudy(e, nil)
	}
	// Most reports go out within the target, some just over it.
	frac := 0.2 + 0.8*d.rng.Float64()
	if d.rng.IntN(100) < 12 {
		frac = 1 + 0.6*d.rng.Float64()
	}
	tat := time.Duration(frac * float64(target))
	signed := e.UploadedAt.Add(tat).UTC().Truncate(time.Microsecond) // as stored, so the seal checks after a reload
	e.Status, e.ClaimedBy, e.ClaimedName = reading.FlowReported, who.account, who.name
	e.ClaimedAt = e.UploadedAt.Add(time.Duration((0.1 + 0.5*d.rng.Float64()) * float64(tat)))
	e.ReportedAt, e.ReportedBy = signed, who.account
	e.Version += 2 // claimed, reported
	if signed.After(due) {
		e.BreachedAt, e.Escalations, e.DueAt = due, 1, due.Add(target)
		e.Version++
	}
	tpl := d.tpls.For(e.Modality)
	fields, normal := d.reportFields(tpl.Modality, pre)
	r := &reading.Report{ID: g.id("reading_report"), County: e.County, StudyID: e.ID, ResidentID: e.ResidentID, Kind: reading.ReportSigned,
		Template: tpl.Modality, Fields: fit(tpl, fields), Normal: normal, SignedBy: who.account, SignerName: who.name, SignedAt: signed}
	r.Seal = reading.ReportSeal(r)
	return g.b.ReadingStudy(e, r)
}

// fit makes values valid for tpl, whatever its current fields: only the
// template's fields, integers within their range, texts within their
// length, required fields and the one-of group filled.
func fit(tpl *reading.Template, values map[string]string) map[string]string {
	const plain = "未见明显异常"
	out := map[string]string{}
	for _, f := range tpl.Fields {
		v, ok := values[f.Name]
		switch {
		case ok && f.Type == "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				n = (f.Min + f.Max) / 2
			}
			v = strconv.Itoa(max(f.Min, min(f.Max, n)))
		case ok && f.Type == "text" && utf8.RuneCountInString(v) > f.Max:
			v = string([]rune(v)[:f.Max])
		case !ok && f.Required && f.Type == "int":
			v, ok = strconv.Itoa((f.Min+f.Max)/2), true
		case !ok && f.Required:
			v, ok = plain, true
		}
		if ok && v != "" {
			out[f.Name] = v
		}
	}
	if len(tpl.OneOf) > 0 {
		filled := false
		for _, n := range tpl.OneOf {
			filled = filled || out[n] != ""
		}
		if !filled {
			out[tpl.OneOf[0]] = plain
		}
	}
	return out
}

// reportFields writes a report on a template modality's fields and says
// whether its conclusion is normal. An ECG's follows its pre-read, the
// reader now and then disagreeing (the pre-read's false alarms, a subtle
// ST-T change it cannot see); imaging reports are abnormal in about a
// third of studies.
func (d *desk) reportFields(modality string, pre *reading.PreRead) (map[string]string, bool) {
	if modality == "ECG" && pre != nil {
		return d.ecgReport(pre)
	}
	abnormal := d.rng.IntN(100) < 30
	texts := imagingTexts[modality]
	if len(texts) == 0 {
		texts = imagingTexts["OT"]
	}
	pick := texts[0]
	if abnormal && len(texts) > 1 {
		pick = texts[1+d.rng.IntN(len(texts)-1)]
	}
	out := map[string]string{}
	for k, v := range pick {
		out[k] = v
	}
	return out, !abnormal
}

// ecgReport reads an ECG as its pre-read saw it.
func (d *desk) ecgReport(pre *reading.PreRead) (map[string]string, bool) {
	has := map[ecg.Finding]bool{}
	for _, f := range pre.Findings {
		has[f] = true
	}
	rate := int(math.Round(pre.HeartRate))
	if rate <= 0 {
		rate = 60 + d.rng.IntN(30)
	}
	rr := 60 / float64(rate)
	qtc := 390 + d.rng.IntN(50)
	f := map[string]string{
		"rate": strconv.Itoa(rate), "qrs": strconv.Itoa(80 + d.rng.IntN(30)), "qtc": strconv.Itoa(qtc),
		"qt": strconv.Itoa(int(float64(qtc) * math.Sqrt(rr))), "axis": strconv.Itoa(-20 + d.rng.IntN(100)), "st_t": "无明显 ST-T 改变",
	}
	var rhythm string
	switch {
	case has[ecg.FindingPossibleAF]:
		rhythm = "心房颤动"
	case has[ecg.FindingTachycardia]:
		rhythm = "窦性心动过速"
	case has[ecg.FindingBradycardia]:
		rhythm = "窦性心动过缓"
	default:
		rhythm = "窦性心律"
	}
	if !has[ecg.FindingPossibleAF] {
		f["pr"] = strconv.Itoa(130 + d.rng.IntN(60))
	}
	var concl []string
	concl = append(concl, rhythm)
	if has[ecg.FindingPremature] {
		concl = append(concl, []string{"频发室性早搏", "房性早搏"}[d.rng.IntN(2)])
	}
	if has[ecg.FindingPause] {
		concl = append(concl, "长 RR 间期")
	}
	if has[ecg.FindingNoQRS] {
		concl = append(concl, "图形干扰较大，建议复查")
	}
	normal := !pre.Abnormal()
	switch {
	case normal && d.rng.IntN(100) < 6: // a change the pre-read does not look for
		normal = false
		f["st_t"] = "II、III、aVF 导联 T 波低平"
		concl = append(concl, "ST-T 改变")
	case len(pre.Findings) == 1 && has[ecg.FindingPremature] && d.rng.IntN(100) < 40: // a few premature beats, read as normal
		normal, concl = true, []string{rhythm, "偶发房性早搏"}
	}
	f["rhythm"] = rhythm
	if normal {
		f["conclusion"] = strings.Join(concl, "，") + "；正常心电图"
	} else {
		f["conclusion"] = strings.Join(concl, "，") + "；建议结合临床"
	}
	return f, normal
}

// imagingTexts are report texts per template modality; the first of each
// is the normal report, the others abnormal.
var imagingTexts = map[string][]map[string]string{
	"DR": {
		{"findings": "胸廓对称，双肺纹理清晰，未见明显实质性病变。心影大小形态正常，双膈面光整，双侧肋膈角锐利。", "impression": "胸部正位片未见明显异常。"},
		{"findings": "右下肺野见斑片状模糊影，边缘不清，余肺纹理增多。心影不大，双侧肋膈角锐利。", "impression": "右下肺炎症可能，建议抗感染治疗后复查。"},
		{"findings": "双肺纹理增多、紊乱，肺野透亮度增高，膈肌低平。心影狭长。", "impression": "慢性支气管炎、肺气肿表现。"},
	},
	"CT": {
		{"findings": "脑实质密度均匀，未见异常密度影，脑室系统大小形态正常，中线结构居中，颅骨未见异常。", "impression": "颅脑 CT 平扫未见明显异常。"},
		{"findings": "左侧基底节区见小片状低密度影，边界清，大小约 8 mm。脑室系统未见扩大，中线结构居中。", "impression": "左侧基底节区腔隙性脑梗死。"},
		{"findings": "右肺上叶见一实性结节，大小约 7 mm，边缘光整。纵隔内未见肿大淋巴结。", "impression": "右肺上叶实性小结节，建议 6–12 个月复查。"},
	},
	"MR": {
		{"findings": "脑实质信号均匀，灰白质分界清，脑室系统及脑沟未见异常，中线结构居中。", "impression": "颅脑 MR 平扫未见明显异常。"},
		{"findings": "双侧侧脑室旁白质见多发斑点状长 T2 信号，FLAIR 呈高信号，DWI 未见弥散受限。", "impression": "双侧脑室旁缺血性白质改变。"},
	},
	"US": {
		{"liver": "肝脏大小形态正常，包膜光整，实质回声均匀。", "gallbladder": "胆囊大小正常，壁光滑，腔内未见异常回声。",
			"kidneys": "双肾大小形态正常，集合系统未见分离。", "impression": "肝、胆、双肾未见明显异常。"},
		{"liver": "肝脏大小正常，实质回声细密增强，远场回声衰减。", "gallbladder": "胆囊大小正常，壁光滑，腔内未见异常回声。", "impression": "脂肪肝。"},
		{"liver": "肝脏大小形态正常，实质回声均匀。", "gallbladder": "胆囊内见一强回声团，大小约 8×6 mm，后伴声影，随体位移动。", "impression": "胆囊结石。"},
		{"thyroid": "甲状腺右叶见一低回声结节，大小约 6×5 mm，边界清，形态规则，未见钙化。", "impression": "甲状腺右叶结节（C-TIRADS 3 类）。"},
	},
	"OT": {
		{"findings": "双眼视盘边界清，色淡红，C/D 约 0.3，视网膜平伏，黄斑中心凹反光可见。", "impression": "双眼眼底未见明显异常。"},
		{"findings": "视网膜动脉变细，可见动静脉交叉压迫征，后极部散在微血管瘤及点状出血。", "impression": "糖尿病视网膜病变（非增殖期）可能，建议眼科就诊。"},
	},
}
