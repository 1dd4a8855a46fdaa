// Package healthedu is the health-education service of the national basic
// public health services (国家基本公共卫生服务规范（第三版）, 健康教育服务规范):
// sessions of the spec's five forms planned and recorded with their
// attendance, each institution's yearly counts against the spec's
// minimums (configuration), and the health-education prescription issued
// with a drug prescription (双处方) from a maintained library of advice per
// condition. Pure Go: storage is the Repository, store.Store implements it.
package healthedu

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"countycare/care"
)

// Kind is a form of health education (健康教育服务形式).
type Kind string

// The spec's forms (健康教育服务规范 二、服务内容 (二) 服务形式及要求).
const (
	Lecture    Kind = "lecture"    // 举办健康知识讲座
	Counsel    Kind = "counsel"    // 开展公众健康咨询活动
	Bulletin   Kind = "bulletin"   // 设置健康教育宣传栏（更换内容）
	Materials  Kind = "materials"  // 提供健康教育资料（印刷资料、音像资料）
	Individual Kind = "individual" // 开展个体化健康教育
)

// Kinds lists the forms in the spec's order of the page.
var Kinds = []Kind{Lecture, Counsel, Bulletin, Materials, Individual}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Session is one health-education activity of an institution: planned
// (HeldOn zero), then recorded once with its attendance.
type Session struct {
	ID            int64     `json:"id"`
	CountyCode    string    `json:"county_code"`
	InstitutionID int64     `json:"institution_id"`
	Kind          Kind      `json:"kind"`
	PlannedOn     care.Date `json:"planned_on"`
	HeldOn        care.Date `json:"held_on"`
	Place         string    `json:"place"`
	Topic         string    `json:"topic"`
	Audience      string    `json:"audience"`
	Attendance    int       `json:"attendance"`
	Materials     string    `json:"materials"`
	CreatedBy     int64     `json:"created_by"`
	RecordedBy    int64     `json:"recorded_by"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	Attendees     []int64   `json:"attendees,omitempty"` // residents named on the list (filled by Detail)
	Institution   string    `json:"institution,omitempty"`
}

// Held reports whether the session has been recorded as held.
func (s *Session) Held() bool { return !s.HeldOn.IsZero() }

// Config is the programme's configuration: the yearly minimums per
// institution level ("township", "village") and form.
type Config struct {
	// Minimums[level][kind] is the yearly minimum of held sessions (for
	// Materials: of distinct topics, the spec counting kinds of printed
	// material); a missing entry is no minimum.
	Minimums map[string]map[Kind]int `json:"minimums"`
}

// DefaultConfig returns the spec's minimums (国家基本公共卫生服务规范（第三版）
// 健康教育服务规范 二(二)):
//   - 印刷资料: 每个机构每年提供不少于12种内容 → materials 12 (both levels);
//   - 宣传栏: 每2个月最少更换1次健康教育宣传栏内容 → bulletin 6;
//   - 公众健康咨询活动: 乡镇卫生院、社区卫生服务中心每年至少开展9次 → counsel 9 (township);
//   - 健康知识讲座: 乡镇卫生院和社区卫生服务中心每月至少举办1次 → lecture 12,
//     村卫生室和社区卫生服务站每两个月至少举办1次 → lecture 6 (village).
//
// The village clinic's 12 kinds of printed material is [U]: the spec says
// "每个机构" without naming the village level; a county may set it to 0.
func DefaultConfig() Config {
	return Config{Minimums: map[string]map[Kind]int{
		"township": {Lecture: 12, Counsel: 9, Bulletin: 6, Materials: 12},
		"village":  {Lecture: 6, Bulletin: 6, Materials: 12},
	}}
}

// LoadConfig reads a JSON Config from path. Errors: an unreadable file,
// malformed JSON, an unknown level or form, a negative or absurd minimum.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("healthedu: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("healthedu: %s: %w", path, err)
	}
	return c, c.Validate()
}

// Validate checks the levels, forms and minimums (0–365 a year).
func (c Config) Validate() error {
	for level, m := range c.Minimums {
		if level != "township" && level != "village" {
			return fmt.Errorf("healthedu: unknown level %q (township, village)", level)
		}
		for k, n := range m {
			if !k.Valid() {
				return fmt.Errorf("healthedu: unknown form %q", k)
			}
			if n < 0 || n > 365 {
				return fmt.Errorf("healthedu: minimum %d for %s/%s out of 0–365", n, level, k)
			}
		}
	}
	return nil
}

// Tally is one institution's year of health education against the
// minimums of its level.
type Tally struct {
	InstitutionID int64        `json:"institution_id"`
	Institution   string       `json:"institution"`
	Level         string       `json:"level"`
	Year          int          `json:"year"`
	Held          map[Kind]int `json:"held"`    // held sessions (Materials: distinct topics)
	Minimum       map[Kind]int `json:"minimum"` // the configured minimums
	Attendance    int          `json:"attendance"`
	Planned       int          `json:"planned"` // planned, not yet held
	Short         []Kind       `json:"short"`   // forms below their minimum
}

// Count is the storage's raw count of one institution's form in a year.
type Count struct {
	InstitutionID int64
	Kind          Kind
	Held          int // held sessions
	Topics        int // distinct topics of held sessions
	Planned       int
	Attendance    int
}

// TallyYear folds the counts of one institution into its Tally against
// the minimums of level: a form is short when its held count (distinct
// topics for Materials, the spec counting kinds of material) is below its
// minimum.
func (c Config) TallyYear(instID int64, name, level string, year int, counts []Count) Tally {
	t := Tally{InstitutionID: instID, Institution: name, Level: level, Year: year, Held: map[Kind]int{}, Minimum: map[Kind]int{}}
	for k, n := range c.Minimums[level] {
		t.Minimum[k] = n
	}
	for _, n := range counts {
		if n.InstitutionID != instID {
			continue
		}
		held := n.Held
		if n.Kind == Materials {
			held = n.Topics
		}
		t.Held[n.Kind] += held
		t.Attendance += n.Attendance
		t.Planned += n.Planned
	}
	for _, k := range Kinds {
		if min, ok := t.Minimum[k]; ok && t.Held[k] < min {
			t.Short = append(t.Short, k)
		}
	}
	return t
}
