package sms

import (
	"errors"
	"regexp"
	"testing"

	"countycare/notify"
)

var longDigits = regexp.MustCompile(`[0-9]{7,}`)

// FuzzDecodeAnswers: whatever a provider (or a proxy in front of it)
// answers, decoding never panics, and a refusal is a classified
// SendError whose text (logged and stored) holds no run of seven digits.
func FuzzDecodeAnswers(f *testing.F) {
	f.Add(200, []byte(`{"Code":"OK","BizId":"900001^0"}`))
	f.Add(400, []byte(`{"Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&PhoneNumbers%3D13812345678"}`))
	f.Add(200, []byte(`{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"+8613812345678"}}}`))
	f.Add(200, []byte(`{"Response":{"SendStatusSet":[{"SerialNo":"1","Code":"Ok"}]}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		for _, decode := range []func() error{
			func() error { _, err := aliyunDecode(status, body); return err },
			func() error { _, err := tencentDecode(status, body); return err },
		} {
			err := decode()
			if err == nil {
				continue
			}
			var se *notify.SendError
			if !errors.As(err, &se) {
				t.Fatalf("unclassified error %v", err)
			}
			if longDigits.MatchString(se.Error()) {
				t.Fatalf("error text holds a number: %q", se.Error())
			}
		}
	})
}

// FuzzParseConfig: a configuration file never panics the parser.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1", "params": ["a=b"]}}}`))
	f.Add([]byte(`{"provider": "tencent", "duty_phones": {"7": ["13900000007"]}, "rate_limits": [{"minutes": 60, "max": 2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		Parse(b, Purposes{"critical.alert": {"finding"}}, func(string) string { return "" })
	})
}
