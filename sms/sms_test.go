package sms

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"countycare/notify"
)

// TestAliyunSignatureExample: the worked example of Alibaba Cloud's RPC
// signature documentation (AccessKey ID testid, secret testsecret,
// DescribeRegions, GET) gives CT9X0VtwR86fNWSnsc6v8YGOjuE=.
func TestAliyunSignatureExample(t *testing.T) {
	p := url.Values{"TimeStamp": {"2016-02-23T12:46:24Z"}, "Format": {"XML"}, "AccessKeyId": {"testid"}, "Action": {"DescribeRegions"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"}, "Version": {"2014-05-26"}, "SignatureVersion": {"1.0"}}
	sts := aliyunStringToSign("GET", p)
	const want = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if sts != want {
		t.Fatalf("string to sign\n got %s\nwant %s", sts, want)
	}
	if got := aliyunSign("testsecret", sts); got != "CT9X0VtwR86fNWSnsc6v8YGOjuE=" {
		t.Errorf("signature %s", got)
	}
	if got := percentEncode("a b*c~d+中"); got != "a%20b%2Ac~d%2B%E4%B8%AD" {
		t.Errorf("percentEncode %s", got)
	}
}

// TestTencentSignatureExample: the worked example of Tencent Cloud's
// signature v3 documentation (DescribeInstances on cvm at 1551113065):
// the payload and canonical request hashes and the string to sign. (Its
// secret key is published masked, so the final signature is checked
// against the fake instead.)
func TestTencentSignatureExample(t *testing.T) {
	payload := []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`)
	if h := sha256Hex(payload); h != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Fatalf("payload hash %s", h)
	}
	canon := tc3CanonicalRequest("cvm.tencentcloudapi.com", "DescribeInstances", payload)
	if h := sha256Hex([]byte(canon)); h != "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84" {
		t.Fatalf("canonical request hash %s of\n%s", h, canon)
	}
	want := "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
	if got := tc3StringToSign(1551113065, "cvm", canon); got != want {
		t.Errorf("string to sign\n%s", got)
	}
}

const testSecret = "s3cr3t-Key-0123456789abcdef"

func testConfig(t *testing.T, provider, endpoint string) *Config {
	t.Helper()
	code1, code2 := "SMS_100001", "SMS_100002"
	if provider == Tencent {
		code1, code2 = "100001", "100002"
	}
	raw := `{"provider": "` + provider + `", "endpoint": "` + endpoint + `", "key_id": "LTAI-test", "secret_env": "SMS_TEST_SECRET",
		"sign_name": "测试县医共体", "sdk_app_id": "1400006666",
		"templates": {"critical.alert": {"code": "` + code1 + `", "params": ["finding", "value"], "label": "危急值通知"},
		              "notify.duty": {"code": "` + code2 + `", "params": ["topic", "phone"]},
		              "chronic.reminder": {"code": "SMS_999999", "params": ["name"]}},
		"rate_limits": [{"minutes": 60, "max": 2}],
		"retry": {"attempts": 3, "first_seconds": 30, "max_seconds": 600},
		"duty_phones": {"7": ["13900000007"]}}`
	c, err := Parse([]byte(raw), Purposes{"critical.alert": {"finding", "value", "stage"}, "notify.duty": {"topic", "phone"}}, func(k string) string {
		if k == "SMS_TEST_SECRET" {
			return testSecret
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testClient(t *testing.T, provider string) (*Client, *fake) {
	var f *fake
	if provider == Aliyun {
		f = newAliyunFake(t, testSecret)
	} else {
		f = newTencentFake(t, testSecret)
	}
	c := New(testConfig(t, provider, f.srv.URL+"/"))
	c.HTTP.Timeout = 300 * time.Millisecond
	return c, f
}

func alertMsg() *notify.Message {
	return &notify.Message{ID: 1, Channel: notify.ChannelSMS, Recipient: "13812345678", Purpose: "critical.alert",
		Params: map[string]string{"finding": "血钾", "value": "6.8 mmol/L"}, Body: "【危急值】血钾 6.8 mmol/L"}
}

func kindOf(err error) int {
	var se *notify.SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return -1
}

// TestSendAgainstFakes: each provider's fake accepts a correctly signed
// template message with its parameters, and each failure is classified.
func TestSendAgainstFakes(t *testing.T) {
	for _, prov := range []string{Aliyun, Tencent} {
		t.Run(prov, func(t *testing.T) {
			c, f := testClient(t, prov)
			ctx := context.Background()
			m := alertMsg()
			if err := c.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			sent := f.sentCopy()
			if len(sent) != 1 || m.ProviderID != sent[0].ID || m.Provider != prov {
				t.Fatalf("sent %+v, message %+v", sent, m)
			}
			wantPhone, wantParams := "13812345678", map[string]string{"finding": "血钾", "value": "6.8 mmol/L"}
			if prov == Tencent {
				wantPhone, wantParams = "+8613812345678", map[string]string{"1": "血钾", "2": "6.8 mmol/L"}
			}
			if s := sent[0]; s.Phone != wantPhone || len(s.Params) != 2 || s.Params["finding"]+s.Params["1"] != wantParams["finding"]+wantParams["1"] ||
				s.Params["value"]+s.Params["2"] != wantParams["value"]+wantParams["2"] {
				t.Errorf("the fake got %+v", s)
			}
			for _, tc := range []struct {
				answer string
				kind   int
			}{{"500", notify.Temporary}, {"timeout", notify.Temporary}, {"throttle", notify.Throttled}, {"number_limit", notify.Temporary}} {
				f.then(tc.answer)
				err := c.Send(ctx, alertMsg())
				if kindOf(err) != tc.kind {
					t.Errorf("%s: %v (kind %d), want kind %d", tc.answer, err, kindOf(err), tc.kind)
				}
				if err != nil && strings.Contains(err.Error(), "13812345678") {
					t.Errorf("%s: the error names the number: %v", tc.answer, err)
				}
			}
			// A purpose without a template, a missing parameter and a
			// landline never reach the provider.
			before := f.requests
			for _, m := range []*notify.Message{
				{Recipient: "13812345678", Purpose: "consult.alert", Params: map[string]string{}},
				{Recipient: "13812345678", Purpose: "critical.alert", Params: map[string]string{"finding": "血钾"}},
				{Recipient: "039612345678", Purpose: "critical.alert", Params: map[string]string{"finding": "血钾", "value": "6.8"}},
			} {
				if err := c.Send(ctx, m); kindOf(err) != notify.Permanent {
					t.Errorf("%+v: %v", m, err)
				}
			}
			if f.requests != before {
				t.Errorf("invalid messages reached the provider")
			}
			// A template the provider does not know is refused for good.
			m = alertMsg()
			m.Purpose = "chronic.reminder"
			m.Params = map[string]string{"name": "张三"}
			if err := c.Send(ctx, m); kindOf(err) != notify.Permanent {
				t.Errorf("unknown template: %v", err)
			}
			// A wrong secret: the fake recomputes the signature and refuses.
			bad := *c.cfg
			bad.Secret = "wrong"
			bc := New(&bad)
			if err := bc.Send(ctx, alertMsg()); kindOf(err) != notify.Permanent || strings.Contains(err.Error(), "13812345678") {
				t.Errorf("bad signature: %v", err)
			}
			f.mu.Lock()
			last := f.refused[len(f.refused)-1]
			f.mu.Unlock()
			if last != "SignatureDoesNotMatch" && last != "AuthFailure.SignatureFailure" {
				t.Errorf("the fake's last refusal: %s", last)
			}
			if len(f.sentCopy()) != 1 {
				t.Errorf("sent %d", len(f.sentCopy()))
			}
		})
	}
}

// TestConfigErrors: a purpose without a template, an unknown provider, a
// missing secret each stop the start with a message naming the field.
func TestConfigErrors(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct{ raw, want string }{
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {}}`, "no template for the purpose critical.alert"},
		{`{"provider": "yunpian", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}}`, "provider"},
		{`{"provider": "aliyun", "key_id": "k", "secret_env": "NOPE", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}}`, "NOPE"},
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "secret_env": "X", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}}`, "exactly one"},
		{`{"provider": "tencent", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}}`, "sdk_app_id"},
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1", "params": ["a b"]}}}`, "params"},
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}, "duty_phones": {"x": []}}`, "institution"},
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1"}}, "rate_limits": [{"minutes": 0, "max": 1}]}`, "rate_limits[0]"},
		{`{"provider": "aliyun", "unknown": 1}`, "unknown"},
		{`{"provider": "aliyun", "key_id": "k", "secret": "s", "sign_name": "x", "templates": {"critical.alert": {"code": "1", "params": ["v1=patient"]}}}`,
			"critical.alert messages have no parameter patient (they offer finding, value)"},
	} {
		_, err := Parse([]byte(tc.raw), Purposes{"critical.alert": {"finding", "value"}}, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.raw, err, tc.want)
		}
	}
	c := testConfig(t, Aliyun, "http://127.0.0.1:1/")
	if s := fmtAll(c); strings.Contains(s, testSecret) {
		t.Errorf("the config prints its secret: %s", s)
	}
}

func fmtAll(c *Config) string {
	return strings.Join([]string{sprintf("%v", c), sprintf("%+v", c), sprintf("%#v", c), sprintf("%s", c.Secret)}, "\n")
}

var sprintf = fmt.Sprintf
