package resident

import (
	"fmt"
	"strconv"
)

// RecordNumberLen is the length of a health record number (健康档案编号):
// county 6 + township 3 + village 3 + personal sequence 5
// (城乡居民健康档案管理服务规范, 国家基本公共卫生服务规范第三版; policy-rules.md §7).
const RecordNumberLen = 17

// MaxRecordSequence is the largest personal sequence in one village.
const MaxRecordSequence = 99999

// RecordNumber builds the 17-digit health record number from a village's
// 12-digit area code (county 6 + township 3 + village 3) and the personal
// sequence 1–99999. It fails for a malformed code or sequence.
func RecordNumber(villageAreaCode string, seq int) (string, error) {
	if len(villageAreaCode) != 12 || !digits(villageAreaCode) {
		return "", fmt.Errorf("resident: village area code %q is not 12 digits", villageAreaCode)
	}
	if seq < 1 || seq > MaxRecordSequence {
		return "", fmt.Errorf("resident: record sequence %d outside 1–%d", seq, MaxRecordSequence)
	}
	return villageAreaCode + fmt.Sprintf("%05d", seq), nil
}

// ParseRecordNumber splits a health record number into its county,
// township, village codes and sequence; ok is false if s is not 17 digits.
func ParseRecordNumber(s string) (county, township, village string, seq int, ok bool) {
	if len(s) != RecordNumberLen || !digits(s) {
		return "", "", "", 0, false
	}
	seq, _ = strconv.Atoi(s[12:])
	return s[:6], s[6:9], s[9:12], seq, seq > 0
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
