package resident

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"countycare/care"
)

// ImportRow is one resident read from an import file.
type ImportRow struct {
	Line      int    // line in the file (the header is line 1)
	Household string // file-local household key: rows with one key form one household
	Input     Input
}

// Import limits. A larger file is refused as a whole.
const (
	MaxImportRows    = 5000
	MaxImportBytes   = 4 << 20
	MaxImportColumns = 40
	maxCellLen       = 400
)

// importColumns maps accepted header names (English and the Chinese
// headings a spreadsheet export uses) to fields.
var importColumns = map[string]string{
	"household": "household", "户号": "household", "家庭": "household", "家庭编号": "household",
	"relation": "relation", "与户主关系": "relation",
	"name": "name", "姓名": "name",
	"id_number": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "公民身份号码": "id_number",
	"sex": "sex", "性别": "sex",
	"birth_date": "birth_date", "出生日期": "birth_date",
	"phone": "phone", "手机号": "phone", "联系电话": "phone", "电话": "phone",
	"address": "address", "住址": "address", "现住址": "address",
	"poverty": "poverty", "困难类别": "poverty", "困难群众类别": "poverty",
	"disability_grade": "disability_grade", "残疾等级": "disability_grade",
	"pregnancy_edd": "pregnancy_edd", "预产期": "pregnancy_edd",
}

// importValues maps Chinese cell values to codes for relation, poverty and sex.
var importValues = map[string]map[string]string{
	"relation":         {"户主": "head", "本人": "head", "配偶": "spouse", "子女": "child", "子": "child", "女": "child", "父母": "parent", "父亲": "parent", "母亲": "parent", "孙子女": "grandchild", "孙子": "grandchild", "孙女": "grandchild", "其他": "other"},
	"poverty":          {"无": "", "特困": "extreme", "特困人员": "extreme", "低保": "subsistence", "低保对象": "subsistence", "低保边缘": "edge", "因病致贫": "illness", "监测户": "monitored", "防返贫监测户": "monitored"},
	"sex":              {"男": "M", "女": "F"},
	"disability_grade": {"无": "0", "一级": "1", "二级": "2", "三级": "3", "四级": "4"},
}

// ParseImport reads a CSV import file: UTF-8 (a byte-order mark is
// allowed), a header row naming columns (see importColumns; name and
// household are required), then one resident per row. It returns the
// rows and every fault found, each with its line; a file with any fault
// should be refused as a whole. The error is for an unreadable file.
func ParseImport(r io.Reader) ([]ImportRow, []care.FieldError, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxImportBytes {
		return nil, []care.FieldError{{Field: "file", Key: "import.too_large", Args: []any{MaxImportBytes >> 20}}}, nil
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, []care.FieldError{{Field: "file", Key: "import.encoding"}}, nil
	}
	cr := csv.NewReader(care.LineLimiter(bytes.NewReader(data), care.MaxLineBytes))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []care.FieldError{{Field: "file", Key: "import.empty"}}, nil
	}
	var long *care.LineTooLongError
	if errors.As(err, &long) {
		return nil, []care.FieldError{{Field: "file", Key: "import.line_too_long", Args: []any{long.Line, long.Max >> 10}}}, nil
	}
	if err != nil {
		return nil, []care.FieldError{{Field: "file", Key: "import.csv", Args: []any{1}}}, nil
	}
	if len(header) > MaxImportColumns {
		return nil, []care.FieldError{{Field: "file", Key: "import.too_many_columns", Args: []any{MaxImportColumns}}}, nil
	}
	cols := map[string]int{}
	var fs []care.FieldError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		f, ok := importColumns[h]
		if !ok {
			fs = append(fs, care.FieldError{Field: "file", Key: "import.unknown_column", Args: []any{clipCell(h)}})
			continue
		}
		if _, dup := cols[f]; dup {
			fs = append(fs, care.FieldError{Field: "file", Key: "import.duplicate_column", Args: []any{clipCell(h)}})
		}
		cols[f] = i
	}
	for _, req := range []string{"name", "household"} {
		if _, ok := cols[req]; !ok {
			fs = append(fs, care.FieldError{Field: "file", Key: "import.missing_column", Args: []any{req}})
		}
	}
	if len(fs) > 0 {
		return nil, fs, nil
	}
	var rows []ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := 0
		if errors.As(err, &long) {
			fs = append(fs, care.FieldError{Field: "file", Key: "import.line_too_long", Args: []any{long.Line, long.Max >> 10}})
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			fs = append(fs, care.FieldError{Field: "file", Key: "import.csv", Args: []any{line}})
			break
		}
		line, _ = cr.FieldPos(0)
		if len(rows) >= MaxImportRows {
			fs = append(fs, care.FieldError{Field: "file", Key: "import.too_many", Args: []any{MaxImportRows}})
			break
		}
		if blank(rec) {
			continue
		}
		get := func(f string) string {
			i, ok := cols[f]
			if !ok || i >= len(rec) {
				return ""
			}
			v := strings.TrimSpace(rec[i])
			if m, ok := importValues[f][v]; ok {
				return m
			}
			return v
		}
		row := ImportRow{Line: line, Household: get("household")}
		tooLong := false
		for _, c := range rec {
			tooLong = tooLong || len(c) > maxCellLen
		}
		if tooLong {
			fs = append(fs, care.FieldError{Field: rowField(line, "row"), Key: "field.too_long", Args: []any{maxCellLen}})
			continue
		}
		if row.Household == "" {
			fs = append(fs, care.FieldError{Field: rowField(line, "household"), Key: "field.required"})
		}
		row.Input = Input{Name: get("name"), IDNumber: get("id_number"), Sex: get("sex"), BirthDate: get("birth_date"), Phone: get("phone"),
			Address: get("address"), Relation: get("relation"), Poverty: get("poverty"), PregnancyEDD: get("pregnancy_edd")}
		if g := get("disability_grade"); g != "" {
			n, err := strconv.Atoi(g)
			if err != nil {
				fs = append(fs, care.FieldError{Field: rowField(line, "disability_grade"), Key: "disability.range"})
			}
			row.Input.DisabilityGrade = n
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 && len(fs) == 0 {
		fs = append(fs, care.FieldError{Field: "file", Key: "import.empty"})
	}
	return rows, CapFaults(fs), nil
}

// rowField names a field of a file row: "12:id_number".
func rowField(line int, field string) string { return fmt.Sprintf("%d:%s", line, field) }

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func clipCell(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}
