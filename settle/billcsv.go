package settle

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"countycare/care"
)

// ParseBillLines reads an itemised bill typed or pasted at the window, one
// item per line: code, name, class, category, amount in yuan
// ("XA10BAE054A001010100001,二甲双胍片,drug,A,12.50"). Blank lines are
// skipped; every fault is reported with its line.
func ParseBillLines(text string) ([]Line, []care.FieldError) {
	var out []Line
	var fs []care.FieldError
	if !utf8.ValidString(text) {
		return nil, []care.FieldError{{Field: "lines", Key: "error.encoding"}}
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "lines", Key: "settle.line_csv", Args: []any{line}})
			break
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(out) >= MaxLines {
			fs = append(fs, care.FieldError{Field: "lines", Key: "settle.too_many_lines", Args: []any{MaxLines}})
			break
		}
		if len(rec) != 5 {
			fs = append(fs, care.FieldError{Field: "lines", Key: "settle.line_fields", Args: []any{line, len(rec)}})
			continue
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		l := Line{Code: rec[0], Name: rec[1], Class: classCode(rec[2]), Category: rec[3]}
		if l.Code == "" || len(l.Code) > 40 || utf8.RuneCountInString(l.Name) > 100 || len(l.Class) > 20 || len(l.Category) > 10 {
			fs = append(fs, care.FieldError{Field: "lines", Key: "settle.line_field_invalid", Args: []any{line}})
			continue
		}
		a, err := ParseYuan(rec[4])
		if err != nil {
			fs = append(fs, care.FieldError{Field: "lines", Key: "settle.line_amount", Args: []any{line, rec[4]}})
			continue
		}
		l.Amount = a
		out = append(out, l)
	}
	if len(out) == 0 && len(fs) == 0 {
		fs = append(fs, care.FieldError{Field: "lines", Key: "settle.no_lines"})
	}
	return out, fs
}

// ClassNamesZH are the item classes as the window types them in Chinese;
// ParseBillLines accepts either the name or the code.
var ClassNamesZH = map[string]string{
	ClassDrug: "药品", ClassMaterial: "耗材", "exam": "检查", "treatment": "治疗", "bed": "床位",
}

// classCode returns the class code of a typed class: a Chinese name
// becomes its code, anything else is kept.
func classCode(s string) string {
	for code, name := range ClassNamesZH {
		if s == name {
			return code
		}
	}
	return s
}

// FormatBillLines writes lines back in the form ParseBillLines reads.
func FormatBillLines(ls []Line) string { return formatBillLines(ls, false) }

// FormatBillLinesZH is FormatBillLines with the classes in Chinese
// (药品 for drug), for the window's Chinese page.
func FormatBillLinesZH(ls []Line) string { return formatBillLines(ls, true) }

func formatBillLines(ls []Line, zh bool) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	for _, l := range ls {
		class := l.Class
		if n, ok := ClassNamesZH[class]; ok && zh {
			class = n
		}
		w.Write([]string{l.Code, l.Name, class, l.Category, l.Amount.String()})
	}
	w.Flush()
	return b.String()
}
