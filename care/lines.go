package care

import (
	"bytes"
	"fmt"
	"io"
)

// MaxLineBytes bounds one physical line of the CSV files the platform
// imports (residents, lab results, fetal traces): real rows are under
// 2 KiB, the largest a resident import allows (40 columns of 400
// characters) about 16 KiB. A line of that many commas still becomes a
// record of as many fields, about 4.5 MiB with the reader's growth.
const MaxLineBytes = 32 << 10

// LineTooLongError is returned by a LineLimiter's Read for a line longer
// than its limit.
type LineTooLongError struct {
	Line int // 1-based
	Max  int // bytes
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes", e.Line, e.Max)
}

// LineLimiter reads r and fails with *LineTooLongError as soon as a line
// (bytes up to a newline) passes max bytes. A CSV reader builds a whole
// record before any field-count check: a single line of millions of
// commas would otherwise become millions of fields (about 40 bytes each)
// in memory; behind a LineLimiter a record holds at most max fields.
func LineLimiter(r io.Reader, max int) io.Reader {
	return &lineLimiter{r: r, max: max, line: 1}
}

type lineLimiter struct {
	r    io.Reader
	max  int
	cur  int // bytes of the current line so far
	line int
	err  error
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			l.cur += n - i
			break
		}
		l.cur += j
		if l.cur > l.max {
			break
		}
		l.cur, l.line = 0, l.line+1
		i += j + 1
	}
	if l.cur > l.max {
		l.err = &LineTooLongError{Line: l.line, Max: l.max}
		return 0, l.err
	}
	return n, err
}
