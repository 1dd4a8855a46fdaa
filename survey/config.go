// Package survey is the residents' voice (issue 14 §4): short satisfaction
// and policy-awareness surveys (满意度、政策知晓率调查) sent after a
// consultation, a referral, a settlement or a family-doctor visit — by a
// text message with a signed, single-use, expiring link, or shown on the
// resident's own page — answered without signing in, and counted per
// institution and doctor for the appraisal's satisfaction item. Answers
// are anonymous to the staff concerned: an answer is stored without the
// resident or the invitation, dated by month only, and staff see only
// aggregates of at least Config.MinCount answers. docs/appraisal.md.
package survey

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"

	"countycare/care"
)

// Question kinds.
const (
	Scale5 = "scale5" // 1 very dissatisfied … 5 very satisfied
	YesNo  = "yes_no" // 1 yes, 0 no
)

// The questions the platform counts: satisfaction feeds the appraisal
// (required in every configuration), policy_aware the awareness rate.
const (
	QSatisfaction = "satisfaction"
	QPolicyAware  = "policy_aware"
)

// Question is one question as configured, with its text in each language
// of the pages (zh, en).
type Question struct {
	ID   string            `json:"id"`
	Kind string            `json:"kind"`
	Text map[string]string `json:"text"`
}

// Config is the survey's configuration (serve --survey-config), a
// versioned JSON file: the questions, the smallest group staff may see
// (MinCount, at least 5), how long a link lives (LinkDays) and how often
// one resident is asked at most (GapDays).
type Config struct {
	Version   int        `json:"version"`
	MinCount  int        `json:"min_count"`
	LinkDays  int        `json:"link_days"`
	GapDays   int        `json:"gap_days"`
	Questions []Question `json:"questions"`
}

// ConfigVersion is the file format this code reads.
const ConfigVersion = 1

// MinMinCount is the smallest MinCount a county may configure: fewer
// answers would let a doctor guess who answered.
const MinMinCount = 5

//go:embed survey.default.json
var defaultConfig []byte

// DefaultConfig returns the survey shipped with countycare.
func DefaultConfig() Config {
	c, err := LoadConfig(bytes.NewReader(defaultConfig))
	if err != nil {
		panic("survey: survey.default.json: " + err.Error()) // TestDefaultConfig
	}
	return c
}

var questionID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// LoadConfig reads a survey configuration. Every fault is named with its
// field: malformed JSON or an unknown field, another version, a MinCount
// under MinMinCount, LinkDays outside 1–60, GapDays outside 0–365, no
// question or more than 10, a question ID that is malformed or repeated,
// an unknown kind, a text missing in a language or longer than 200
// characters, no satisfaction question on the five-point scale, a
// policy_aware question that is not yes/no. Errors are EINVALID.
func LoadConfig(r io.Reader) (Config, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, care.Invalid([]care.FieldError{{Field: "file", Key: "survey.config.syntax", Args: []any{err.Error()}}})
	}
	var fs []care.FieldError
	bad := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	if c.Version != ConfigVersion {
		bad("version", "survey.config.version", c.Version, ConfigVersion)
	}
	if c.MinCount < MinMinCount {
		bad("min_count", "survey.config.min_count", MinMinCount)
	}
	if c.LinkDays < 1 || c.LinkDays > 60 {
		bad("link_days", "survey.config.link_days")
	}
	if c.GapDays < 0 || c.GapDays > 365 {
		bad("gap_days", "survey.config.gap_days")
	}
	if len(c.Questions) == 0 || len(c.Questions) > 10 {
		bad("questions", "survey.config.questions")
	}
	seen := map[string]bool{}
	for i, q := range c.Questions {
		f := fmt.Sprintf("questions[%d]", i)
		switch {
		case !questionID.MatchString(q.ID):
			bad(f+".id", "survey.config.id")
		case seen[q.ID]:
			bad(f+".id", "survey.config.id_repeated", q.ID)
		}
		seen[q.ID] = true
		if q.Kind != Scale5 && q.Kind != YesNo {
			bad(f+".kind", "survey.config.kind", q.Kind)
		}
		for _, lang := range []string{"zh", "en"} {
			if t := q.Text[lang]; t == "" || utf8.RuneCountInString(t) > 200 {
				bad(f+".text."+lang, "survey.config.text")
			}
		}
		if (q.ID == QSatisfaction && q.Kind != Scale5) || (q.ID == QPolicyAware && q.Kind != YesNo) {
			bad(f+".kind", "survey.config.fixed_kind", q.ID)
		}
	}
	if !seen[QSatisfaction] {
		bad("questions", "survey.config.no_satisfaction")
	}
	if err := care.Invalid(fs); err != nil {
		return Config{}, err
	}
	return c, nil
}
