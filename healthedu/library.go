package healthedu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"countycare/icd10"
	"countycare/rx"
)

//go:embed library/advice.csv
var embedded embed.FS

// Advice is one item of the library: advice for the diagnoses whose
// ICD-10 code starts with Prefix.
type Advice struct {
	Prefix string
	rx.EducationItem
}

// Library is the maintained advice per condition of the double
// prescription (双处方): a versioned table of ICD-10 prefixes → advice.
// Immutable once loaded; safe for concurrent use.
type Library struct {
	// Version names the edition: the file's version label and the first 8
	// hex digits of its SHA-256, so an edit without a new label still
	// shows on the prescriptions issued from it.
	Version string
	Items   []Advice
	byPref  map[string][]rx.EducationItem
	maxLen  int
}

// MaxAdvice bounds the items of one health-education prescription.
const MaxAdvice = 12

// DefaultLibrary returns the embedded library (healthedu/library/advice.csv).
func DefaultLibrary() *Library {
	b, err := embedded.ReadFile("library/advice.csv")
	if err != nil {
		panic(err)
	}
	l, err := ParseLibrary(b)
	if err != nil {
		panic(err)
	}
	return l
}

// LoadLibrary reads a library file in the embedded file's format (a
// county's own edition, serve --healthedu-library).
func LoadLibrary(path string) (*Library, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("healthedu: %w", err)
	}
	l, err := ParseLibrary(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// ParseLibrary reads a library: '#' comment lines, one "version,<label>"
// row, then rows of ICD-10 prefix, advice code, Chinese text, English
// text. Errors name the line: a missing version, a malformed prefix, an
// empty or over-long text (≤ 200 characters), a code repeated under one
// prefix.
func ParseLibrary(b []byte) (*Library, error) {
	sum := sha256.Sum256(b)
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment, r.FieldsPerRecord = '#', -1
	var items []Advice
	label := ""
	seen := map[string]bool{}
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("healthedu: library: %w", err)
		}
		line, _ := r.FieldPos(0)
		if f[0] == "version" && len(f) == 2 {
			if label != "" {
				return nil, fmt.Errorf("healthedu: library line %d: a second version row", line)
			}
			if label = strings.TrimSpace(f[1]); label == "" || len(label) > 20 {
				return nil, fmt.Errorf("healthedu: library line %d: a version label of 1–20 characters", line)
			}
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("healthedu: library line %d: %d fields, want prefix,code,zh,en", line, len(f))
		}
		a := Advice{Prefix: strings.ToUpper(strings.TrimSpace(f[0])), EducationItem: rx.EducationItem{Code: strings.TrimSpace(f[1]), ZH: strings.TrimSpace(f[2]), EN: strings.TrimSpace(f[3])}}
		a.EducationItem.Prefix = a.Prefix
		if !validPrefix(a.Prefix) {
			return nil, fmt.Errorf("healthedu: library line %d: %q is not an ICD-10 prefix (a letter, then up to 5 digits or a dot)", line, f[0])
		}
		if a.Code == "" || len(a.Code) > 40 || a.ZH == "" || a.EN == "" || utf8.RuneCountInString(a.ZH) > 200 || utf8.RuneCountInString(a.EN) > 200 {
			return nil, fmt.Errorf("healthedu: library line %d: a code and both texts of 1–200 characters are required", line)
		}
		if key := a.Prefix + "/" + a.Code; seen[key] {
			return nil, fmt.Errorf("healthedu: library line %d: %s repeated", line, key)
		} else {
			seen[key] = true
		}
		items = append(items, a)
	}
	if label == "" {
		return nil, errors.New("healthedu: library: no version row (version,<label>)")
	}
	if len(items) == 0 {
		return nil, errors.New("healthedu: library: no advice")
	}
	return NewLibrary(label+"-"+hex.EncodeToString(sum[:4]), items), nil
}

// validPrefix accepts a letter followed by digits, with at most one dot
// after the third character (I1, I10, E11.9).
func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > 7 || p[0] < 'A' || p[0] > 'Z' {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		if !(c >= '0' && c <= '9' || c == '.' && i == 3) {
			return false
		}
	}
	return true
}

// Educate is Advise for any county: one library for every county
// (rx.Educator).
func (l *Library) Educate(_ context.Context, _ string, diagnoses []string) *rx.Education {
	return l.Advise(diagnoses)
}

// Advise returns the health-education prescription for a drug
// prescription's diagnoses: for each diagnosis the advice of every
// library prefix it starts with (the general I1 and the specific I10),
// each code once, in the diagnoses' order, at most MaxAdvice items; nil
// when nothing matches.
func (l *Library) Advise(diagnoses []string) *rx.Education {
	var items []rx.EducationItem
	seen := map[string]bool{}
	for _, dx := range diagnoses {
		dx = icd10.Normalize(dx)
		if !icd10.Valid(dx) {
			continue
		}
		for n := min(len(dx), l.maxLen); n >= 2; n-- {
			for _, it := range l.byPref[dx[:n]] {
				if !seen[it.Code] && len(items) < MaxAdvice {
					seen[it.Code] = true
					items = append(items, it)
				}
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	return &rx.Education{LibraryVersion: l.Version, Items: items}
}
