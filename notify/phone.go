package notify

import "strings"

// NormalizePhone returns a mainland mobile number as its 11 digits
// (spaces, dashes and a +86 or 86 prefix removed), or "" if it is not one.
// A mobile number is 11 digits starting 13–19 (the numbering plan of the
// Ministry of Industry and Information Technology, 电信网编号计划: 1 then a
// network digit of 3 or more); 10, 11 and 12 begin service and data numbers
// that receive no text message. One rule for every place a phone number is
// taken: resident sign-in, proxies, office phones in configuration.
func NormalizePhone(p string) string {
	p = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(p))
	p = strings.TrimPrefix(p, "+")
	if len(p) == 13 && strings.HasPrefix(p, "86") {
		p = p[2:]
	}
	if len(p) != 11 || p[0] != '1' || p[1] < '3' {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return ""
		}
	}
	return p
}
