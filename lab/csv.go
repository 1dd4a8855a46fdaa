package lab

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"countycare/care"
)

// Import limits: a larger file is refused as a whole.
const (
	MaxImportRows  = 2000
	MaxImportBytes = 1 << 20
	maxColumns     = 30
	maxCell        = 200
)

// ErrFormat is the cause of every fault ParseCSV reports for the file as a
// whole (not a row).
var ErrFormat = errors.New("lab: bad CSV")

// csvColumns maps accepted header names (English and the Chinese headings
// of an analyser's export) to Input fields.
var csvColumns = map[string]string{
	"code": "code", "loinc": "code", "项目代码": "code", "检验项目代码": "code", "项目编码": "code",
	"value": "value", "result": "value", "结果": "value", "检验结果": "value",
	"unit": "unit", "单位": "unit",
	"ref_range": "ref_range", "reference": "ref_range", "参考范围": "ref_range", "参考值": "ref_range",
	"flag": "flag", "提示": "flag", "异常标志": "flag",
	"specimen": "specimen", "标本": "specimen", "标本类型": "specimen",
	"device": "device", "仪器": "device", "检验仪器": "device", "检验机构": "device",
	"doctor": "doctor", "开单医生": "doctor", "申请医生": "doctor",
	"collected_at": "collected_at", "采集时间": "collected_at", "采样时间": "collected_at",
	"resulted_at": "resulted_at", "报告时间": "resulted_at",
}

// Row is one result read from a CSV file.
type Row struct {
	Line  int // line in the file (the header is line 1)
	Input Input
}

// ParseCSV reads a CSV export of one resident's results: UTF-8 (a
// byte-order mark is allowed), a header naming columns (code, value, unit
// and collected_at required; see csvColumns), then one result per row.
// A row's fields are not checked here (Check does that, with the line);
// the error, wrapping ErrFormat, is for a file that cannot be read: too
// large, not UTF-8, no header, an unknown or repeated column, a row with
// the wrong number of cells.
func ParseCSV(r io.Reader) ([]Row, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(data) > MaxImportBytes {
		return nil, fmt.Errorf("%w: larger than %d KiB", ErrFormat, MaxImportBytes>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrFormat)
	}
	cr := csv.NewReader(care.LineLimiter(bytes.NewReader(data), care.MaxLineBytes))
	cr.FieldsPerRecord = 0
	cr.ReuseRecord = true
	head, err := cr.Read()
	var long *care.LineTooLongError
	if errors.As(err, &long) {
		return nil, fmt.Errorf("%w: %v", ErrFormat, long)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no header row", ErrFormat)
	}
	if len(head) > maxColumns {
		return nil, fmt.Errorf("%w: more than %d columns", ErrFormat, maxColumns)
	}
	cols := make([]string, len(head))
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		f, ok := csvColumns[h]
		if !ok {
			return nil, fmt.Errorf("%w: unknown column %q", ErrFormat, clip(h))
		}
		if seen[f] {
			return nil, fmt.Errorf("%w: column %q twice", ErrFormat, clip(h))
		}
		seen[f], cols[i] = true, f
	}
	for _, need := range []string{"code", "value", "unit", "collected_at"} {
		if !seen[need] {
			return nil, fmt.Errorf("%w: no %s column", ErrFormat, need)
		}
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &long) {
			return nil, fmt.Errorf("%w: %v", ErrFormat, long)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%w: line %d: %v", ErrFormat, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == MaxImportRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrFormat, MaxImportRows)
		}
		row := Row{Line: line}
		empty := true
		for i, v := range rec {
			if utf8.RuneCountInString(v) > maxCell {
				return nil, fmt.Errorf("%w: line %d: a cell longer than %d characters", ErrFormat, line, maxCell)
			}
			v = strings.TrimSpace(v)
			if v != "" {
				empty = false
			}
			in := &row.Input
			switch cols[i] {
			case "code":
				in.Code = v
			case "value":
				in.Value = v
			case "unit":
				in.Unit = v
			case "ref_range":
				in.RefRange = v
			case "flag":
				in.Flag = v
			case "specimen":
				in.Specimen = v
			case "device":
				in.Device = v
			case "doctor":
				in.Doctor = v
			case "collected_at":
				in.CollectedAt = v
			case "resulted_at":
				in.ResultedAt = v
			}
		}
		if !empty {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no results", ErrFormat)
	}
	return rows, nil
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 30 {
		return string([]rune(s)[:30]) + "…"
	}
	return s
}
