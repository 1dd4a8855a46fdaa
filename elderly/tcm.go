package elderly

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Constitution is one of the nine TCM constitutions (中医体质) of the
// 老年人中医药健康管理服务记录表.
type Constitution string

// The nine constitutions, in the form's order.
const (
	Balanced       Constitution = "balanced"        // 平和质
	QiDeficiency   Constitution = "qi_deficiency"   // 气虚质
	YangDeficiency Constitution = "yang_deficiency" // 阳虚质
	YinDeficiency  Constitution = "yin_deficiency"  // 阴虚质
	PhlegmDamp     Constitution = "phlegm_damp"     // 痰湿质
	DampHeat       Constitution = "damp_heat"       // 湿热质
	BloodStasis    Constitution = "blood_stasis"    // 血瘀质
	QiStagnation   Constitution = "qi_stagnation"   // 气郁质
	Inherited      Constitution = "inherited"       // 特禀质
)

// Constitutions lists the nine in the form's order (平和质 first).
var Constitutions = []Constitution{Balanced, QiDeficiency, YangDeficiency, YinDeficiency, PhlegmDamp, DampHeat, BloodStasis, QiStagnation, Inherited}

// TCMQuestions is the number of questions of the form; each is answered
// 1 (没有/根本不) to 5 (总是/非常).
const TCMQuestions = 33

// tcmItems gives each constitution's questions (1-based) as the form's
// 体质类型及计分 table lists them; for 平和质 a negative number is scored
// in reverse (6 − answer: 2, 4, 5 and 13 are 反向计分).
var tcmItems = map[Constitution][]int{
	Balanced:       {1, -2, -4, -5, -13},
	QiDeficiency:   {2, 3, 4, 14},
	YangDeficiency: {11, 12, 13, 29},
	YinDeficiency:  {10, 21, 26, 31},
	PhlegmDamp:     {9, 16, 28, 32},
	DampHeat:       {23, 25, 27, 30},
	BloodStasis:    {19, 22, 24, 33},
	QiStagnation:   {5, 6, 7, 8},
	Inherited:      {15, 17, 18, 20},
}

// Verdict is the 判定 of one constitution.
type Verdict string

// Verdicts: 是, 倾向是 (a biased constitution), 基本是 (平和质 only), 否.
const (
	Yes       Verdict = "yes"       // 是
	Leaning   Verdict = "leaning"   // 倾向是
	Basically Verdict = "basically" // 基本是 (平和质)
	No        Verdict = "no"        // 否
)

// TCMScore is one constitution's summed score and verdict.
type TCMScore struct {
	Constitution Constitution `json:"constitution"`
	Score        int          `json:"score"`
	Verdict      Verdict      `json:"verdict"`
}

// TCMResult is the identification: the nine scores in the form's order
// and the constitutions judged 是, 基本是 or 倾向是 (the ones whose
// guidance is given; 平和质 alone when balanced).
type TCMResult struct {
	Scores []TCMScore     `json:"scores"`
	Types  []Constitution `json:"types"`
}

// ValidAnswers reports the fault of a set of answers: exactly 33, each
// 1–5. Key elderly.tcm_answers; nil when good.
func ValidAnswers(ans []int) *FieldFault {
	if len(ans) != TCMQuestions {
		return &FieldFault{Field: "tcm", Key: "elderly.tcm_answers", Args: []any{TCMQuestions}}
	}
	for i, v := range ans {
		if v < 1 || v > 5 {
			return &FieldFault{Field: fmt.Sprintf("tcm_%d", i+1), Key: "elderly.tcm_answers", Args: []any{TCMQuestions}}
		}
	}
	return nil
}

// FieldFault is a field's fault before it becomes a care.FieldError.
type FieldFault struct {
	Field string
	Key   string
	Args  []any
}

// IdentifyConstitution scores 33 valid answers (ValidAnswers) by the
// form's 体质判定标准: a biased constitution is 是 at a summed score ≥
// TCMYes (11), 倾向是 at TCMLean–TCMYes−1 (9–10), else 否; 平和质 is 是 at
// ≥ TCMBalanced (17) with every other constitution ≤ TCMLean−1 (8), 基本是
// at ≥ 17 with every other ≤ TCMYes−1 (10), else 否.
func (c Config) IdentifyConstitution(ans []int) TCMResult {
	score := func(k Constitution) int {
		s := 0
		for _, q := range tcmItems[k] {
			if q < 0 {
				s += 6 - ans[-q-1]
			} else {
				s += ans[q-1]
			}
		}
		return s
	}
	var r TCMResult
	maxBiased := 0
	for _, k := range Constitutions[1:] {
		s := score(k)
		maxBiased = max(maxBiased, s)
		v := No
		switch {
		case s >= c.TCMYes:
			v = Yes
		case s >= c.TCMLean:
			v = Leaning
		}
		r.Scores = append(r.Scores, TCMScore{Constitution: k, Score: s, Verdict: v})
	}
	b := score(Balanced)
	bv := No
	switch {
	case b >= c.TCMBalanced && maxBiased < c.TCMLean:
		bv = Yes
	case b >= c.TCMBalanced && maxBiased < c.TCMYes:
		bv = Basically
	}
	r.Scores = append([]TCMScore{{Constitution: Balanced, Score: b, Verdict: bv}}, r.Scores...)
	if bv != No {
		r.Types = []Constitution{Balanced}
		return r
	}
	for _, s := range r.Scores[1:] {
		if s.Verdict == Yes {
			r.Types = append(r.Types, s.Constitution)
		}
	}
	for _, s := range r.Scores[1:] {
		if s.Verdict == Leaning {
			r.Types = append(r.Types, s.Constitution)
		}
	}
	return r
}

// Aspects of the TCM health guidance (中医药保健指导), in the spec's order.
var Aspects = []string{"emotion", "diet", "living", "exercise", "acupoint"} // 情志调摄, 饮食调养, 起居调摄, 运动保健, 穴位保健

// Text is one guidance text in Chinese and English.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// In returns the text in lang ("zh" or "en"; Chinese otherwise).
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.ZH
}

// Library is the maintained TCM guidance per constitution and aspect.
type Library map[Constitution]map[string]Text

//go:embed tcm_guidance.json
var defaultLibrary []byte

// DefaultLibrary is the library shipped with the binary (tcm_guidance.json,
// edited there or replaced with --elderly-tcm-library).
func DefaultLibrary() Library {
	l, err := ParseLibrary(defaultLibrary)
	if err != nil {
		panic(err)
	}
	return l
}

// ParseLibrary reads a library and checks it holds every constitution and
// aspect in both languages.
func ParseLibrary(b []byte) (Library, error) {
	var l Library
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("elderly: tcm library: %w", err)
	}
	for _, k := range Constitutions {
		for _, a := range Aspects {
			if t := l[k][a]; t.ZH == "" || t.EN == "" {
				return nil, fmt.Errorf("elderly: tcm library: %s %s needs zh and en", k, a)
			}
		}
	}
	return l, nil
}

// Questions lists a constitution's questions (1-based) of the form.
func Questions(c Constitution) []int {
	out := make([]int, len(tcmItems[c]))
	for i, q := range tcmItems[c] {
		out[i] = max(q, -q)
	}
	return out
}
