package resident

import (
	"sort"
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"

	"countycare/idcard"
)

// maxTokenVariants caps how many pinyin readings of one name are indexed:
// a name of heteronyms (e.g. 单长乐) multiplies its readings.
const maxTokenVariants = 16

// surnameReadings are the readings a character takes as a surname when
// they differ from its common reading (百家姓 readings: 单 Shàn, 曾 Zēng,
// 解 Xiè, 仇 Qiú, 区 Ōu, 朴 Piáo, 查 Zhā, 盖 Gě, 乐 Yuè, 覃 Qín, 翟 Zhái,
// 缪 Miào, 召 Shào, 种 Chóng, 繁 Pó, 尉 Yù, 员 Yùn, 句 Gōu, 阚 Kàn).
var surnameReadings = map[rune]string{
	'单': "shan", '曾': "zeng", '解': "xie", '仇': "qiu", '区': "ou", '朴': "piao",
	'查': "zha", '盖': "ge", '乐': "yue", '覃': "qin", '翟': "zhai", '缪': "miao",
	'召': "shao", '种': "chong", '繁': "po", '尉': "yu", '员': "yun", '句': "gou", '阚': "kan",
}

// SearchTokens returns the strings a resident is found by: the name as
// written (lower-cased), every full-pinyin spelling and every
// pinyin-initials spelling (张三丰 → "张三丰", "zhangsanfeng", "zsf"). Each
// character with several readings (多音字) contributes all of them, plus
// its surname reading for the first character, up to maxTokenVariants.
func SearchTokens(name string) []string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil
	}
	toks := map[string]bool{strings.ReplaceAll(name, " ", ""): true}
	full := []string{""}
	initials := []string{""}
	hasHan := false
	first := true
	for _, c := range name {
		var readings []string
		switch {
		case unicode.Is(unicode.Han, c):
			hasHan = true
			readings = hanReadings(c, first)
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			readings = []string{string(c)}
		default:
			continue // middle dots, spaces
		}
		first = false
		full = extend(full, readings, false)
		initials = extend(initials, readings, true)
	}
	if hasHan {
		for _, s := range full {
			toks[s] = true
		}
		for _, s := range initials {
			toks[s] = true
		}
	}
	out := make([]string, 0, len(toks))
	for s := range toks {
		if s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

var pinyinArgs = func() pinyin.Args {
	a := pinyin.NewArgs()
	a.Heteronym = true
	return a
}()

func hanReadings(c rune, surname bool) []string {
	rs := pinyin.SinglePinyin(c, pinyinArgs)
	seen := map[string]bool{}
	var out []string
	if surname {
		if s, ok := surnameReadings[c]; ok {
			out = append(out, s)
			seen[s] = true
		}
	}
	for _, r := range rs {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// extend appends each reading (or its first letter) to every prefix,
// keeping at most maxTokenVariants results.
func extend(prefixes, readings []string, initial bool) []string {
	if len(readings) == 0 {
		return prefixes
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range prefixes {
		for _, r := range readings {
			s := r
			if initial {
				s = r[:1]
			}
			if !seen[p+s] && len(out) < maxTokenVariants {
				seen[p+s] = true
				out = append(out, p+s)
			}
		}
	}
	return out
}

// QueryKind says what a search string looks like.
type QueryKind int

// Kinds of search query, decided by ParseQuery.
const (
	QueryName     QueryKind = iota // a name, pinyin or pinyin initials: prefix match
	QueryIDNumber                  // 15 or 18 characters of an ID number: exact match
	QueryRecord                    // 17-digit health record number: exact match
	QueryPhone                     // 11-digit mobile number: exact match
)

// Query is a parsed search string.
type Query struct {
	Kind  QueryKind
	Text  string // normalised: lower-case name prefix, upper-case ID number
	Valid bool   // false when the text cannot match anything (e.g. an ID number with a bad check digit)
}

// MaxQueryLen is the longest search string accepted (in characters).
const MaxQueryLen = 40

// ParseQuery decides how to search for q: an ID number, a record number,
// a phone number, or a name/pinyin prefix. An ID number that fails its
// check is reported with Valid=false, so the caller can say why.
func ParseQuery(q string) Query {
	q = strings.TrimSpace(q)
	allDigits := digits(q)
	switch {
	case len(q) == 18 && digits(q[:17]) && (allDigits || q[17] == 'x' || q[17] == 'X'):
		return Query{Kind: QueryIDNumber, Text: strings.ToUpper(q), Valid: CheckIDNumber(q)}
	case len(q) == 15 && allDigits:
		// A first-generation 15-digit number: search by its 18-digit form.
		first17 := q[:6] + "19" + q[6:]
		return Query{Kind: QueryIDNumber, Text: first17 + string(idcard.CheckChar(first17)), Valid: true}
	case len(q) == RecordNumberLen && allDigits:
		return Query{Kind: QueryRecord, Text: q, Valid: true}
	case len(q) == 11 && allDigits:
		return Query{Kind: QueryPhone, Text: q, Valid: true}
	}
	name := strings.ToLower(strings.ReplaceAll(q, " ", ""))
	ok := name != "" && len([]rune(name)) <= MaxQueryLen
	for _, c := range name {
		if !unicode.IsLetter(c) && c != '·' && !(c >= '0' && c <= '9') {
			ok = false
		}
	}
	return Query{Kind: QueryName, Text: name, Valid: ok}
}

// CheckIDNumber reports whether an 18-character ID number's check
// character is right (GB 11643-1999 §5.4).
func CheckIDNumber(s string) bool {
	if len(s) != 18 || !digits(s[:17]) {
		return false
	}
	c := s[17]
	if c == 'x' {
		c = 'X'
	}
	return idcard.CheckChar(s[:17]) == c
}
