package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEventJSON appends e as JSON, byte for byte what json.Marshal(e)
// writes (TestEventJSONMatchesEncodingJSON), without reflection or
// allocation: it runs on the request's path for every read (issue 18 §2),
// where json.Marshal cost about 1 µs and two allocations per event
// (BenchmarkJournalEncode). The journal's reader decodes it with
// json.Unmarshal, so journals written before and after are the same format.
// e.Time's year must be within 0–9999 (JSON's RFC 3339; Record sees to it).
func appendEventJSON(b []byte, e *Event) []byte {
	b = append(b, `{"Seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"Time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","AccountID":`...)
	b = strconv.AppendInt(b, e.AccountID, 10)
	b = append(b, `,"Username":`...)
	b = appendJSONString(b, e.Username)
	b = append(b, `,"Role":`...)
	b = appendJSONString(b, string(e.Role))
	b = append(b, `,"InstitutionID":`...)
	b = strconv.AppendInt(b, e.InstitutionID, 10)
	b = append(b, `,"Action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"ResidentID":`...)
	b = strconv.AppendInt(b, e.ResidentID, 10)
	b = append(b, `,"CountyCode":`...)
	b = appendJSONString(b, e.CountyCode)
	b = append(b, `,"Purpose":`...)
	b = appendJSONString(b, e.Purpose)
	b = append(b, `,"Outcome":`...)
	b = appendJSONString(b, e.Outcome)
	b = append(b, `,"RequestID":`...)
	b = appendJSONString(b, e.RequestID)
	b = append(b, `,"Detail":`...)
	b = appendJSONString(b, e.Detail)
	b = append(b, `,"PrevHash":`...)
	b = appendJSONString(b, e.PrevHash)
	b = append(b, `,"Hash":`...)
	b = appendJSONString(b, e.Hash)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does (HTML-safe: <, > and &
// escaped; invalid UTF-8 as U+FFFD; U+2028 and U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
