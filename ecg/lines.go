package ecg

import (
	"bytes"
	"io"
)

// limitLines reads r and fails (ErrFormat, naming the line) as soon as a
// line passes max bytes: a CSV reader builds a whole record before any
// check, and a line of millions of commas would become millions of
// fields in memory. (The same as care.LineLimiter; ecg imports nothing of
// the module.)
func limitLines(r io.Reader, max int) io.Reader { return &lineLimiter{r: r, max: max, line: 1} }

type lineLimiter struct {
	r        io.Reader
	max, cur int
	line     int
	err      error
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
		l.err = formatError("CSV line %d is longer than %d bytes", l.line, l.max)
		return 0, l.err
	}
	return n, err
}
