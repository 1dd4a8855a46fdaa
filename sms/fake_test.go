package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fakes below stand in for the providers' APIs on loopback. Each
// verifies the signature by recomputing it from the request as received,
// with code of its own (not the client's), checks the sign name, the
// template code and its parameters, and can be told to answer 500, to
// hang past the client's timeout, or to throttle.

// fakeSent is a message a fake accepted.
type fakeSent struct {
	Phone    string
	Template string
	Params   map[string]string // Alibaba: by variable; Tencent: "1", "2" …
	ID       string
}

type fake struct {
	t        *testing.T
	srv      *httptest.Server
	secret   string
	sign     string
	app      string              // Tencent SmsSdkAppId
	template map[string][]string // approved templates: code → variable names (Tencent: their count)

	mu       sync.Mutex
	script   []string // next answers: ok, 500, timeout, throttle, number_limit
	sent     []fakeSent
	refused  []string // codes answered
	nonces   map[string]bool
	failed   map[string]bool // IDs whose receipt says undelivered
	pulled   map[string]bool // Tencent: receipts already pulled
	requests int
}

func (f *fake) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if len(f.script) == 0 {
		return "ok"
	}
	s := f.script[0]
	f.script = f.script[1:]
	return s
}

func (f *fake) then(s ...string) {
	f.mu.Lock()
	f.script = append(f.script, s...)
	f.mu.Unlock()
}

func (f *fake) refuse(code string) {
	f.mu.Lock()
	f.refused = append(f.refused, code)
	f.mu.Unlock()
}

func (f *fake) sentCopy() []fakeSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSent(nil), f.sent...)
}

// hang waits past any client timeout (or until the client gives up).
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(3 * time.Second):
	}
}

// rfc3986 encodes every byte but the unreserved ones, upper-case hex.
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func newAliyunFake(t *testing.T, secret string) *fake {
	f := &fake{t: t, secret: secret, sign: "测试县医共体", nonces: map[string]bool{}, failed: map[string]bool{}, pulled: map[string]bool{},
		template: map[string][]string{"SMS_100001": {"finding", "value"}, "SMS_100002": {"topic", "phone"}}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.aliyun))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) aliyunAnswer(w http.ResponseWriter, status int, v map[string]any) {
	if c, _ := v["Code"].(string); c != "OK" {
		f.refuse(c)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fake) aliyun(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		f.aliyunAnswer(w, 400, map[string]any{"Code": "MissingParameter"})
		return
	}
	p := r.PostForm
	var keys []string
	for k := range p {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, rfc3986(k)+"="+rfc3986(p.Get(k)))
	}
	sts := "POST&%2F&" + rfc3986(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(f.secret+"&"))
	mac.Write([]byte(sts))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		// The real service echoes its string to sign, number included.
		f.aliyunAnswer(w, 400, map[string]any{"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation. server string to sign is:" + sts})
		return
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute || p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" || p.Get("Version") != "2017-05-25" {
		f.aliyunAnswer(w, 400, map[string]any{"Code": "InvalidTimeStamp.Expired"})
		return
	}
	f.mu.Lock()
	used := f.nonces[p.Get("SignatureNonce")]
	f.nonces[p.Get("SignatureNonce")] = true
	f.mu.Unlock()
	if used {
		f.aliyunAnswer(w, 400, map[string]any{"Code": "SignatureNonceUsed"})
		return
	}
	switch f.next() {
	case "500":
		f.aliyunAnswer(w, 500, map[string]any{"Code": "InternalError", "Message": "The request processing has failed due to some unknown error."})
		return
	case "timeout":
		hang(r)
		return
	case "throttle":
		f.aliyunAnswer(w, 400, map[string]any{"Code": "Throttling.User", "Message": "Request was denied due to user flow control."})
		return
	case "number_limit":
		f.aliyunAnswer(w, 200, map[string]any{"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控Permits:10"})
		return
	}
	switch p.Get("Action") {
	case "SendSms":
		vars, ok := f.template[p.Get("TemplateCode")]
		if !ok {
			f.aliyunAnswer(w, 200, map[string]any{"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"})
			return
		}
		if p.Get("SignName") != f.sign {
			f.aliyunAnswer(w, 200, map[string]any{"Code": "isv.SMS_SIGNATURE_ILLEGAL"})
			return
		}
		var got map[string]string
		if json.Unmarshal([]byte(p.Get("TemplateParam")), &got) != nil || len(got) != len(vars) {
			f.aliyunAnswer(w, 200, map[string]any{"Code": "isv.TEMPLATE_MISSING_PARAMETERS"})
			return
		}
		for _, v := range vars {
			if got[v] == "" {
				f.aliyunAnswer(w, 200, map[string]any{"Code": "isv.TEMPLATE_MISSING_PARAMETERS"})
				return
			}
		}
		f.mu.Lock()
		id := fmt.Sprintf("9%05d^0", len(f.sent)+1)
		f.sent = append(f.sent, fakeSent{Phone: p.Get("PhoneNumbers"), Template: p.Get("TemplateCode"), Params: got, ID: id})
		f.mu.Unlock()
		f.aliyunAnswer(w, 200, map[string]any{"Code": "OK", "Message": "OK", "BizId": id, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"})
	case "QuerySendDetails":
		id := p.Get("BizId")
		var dto []map[string]any
		for _, s := range f.sentCopy() {
			if _, err := time.Parse("20060102", p.Get("SendDate")); err == nil && s.ID == id && s.Phone == p.Get("PhoneNumber") {
				st, code := 3, "DELIVERED"
				f.mu.Lock()
				failed := f.failed[id]
				f.mu.Unlock()
				if failed {
					st, code = 2, "MK:0001"
				}
				dto = append(dto, map[string]any{"SendStatus": st, "ErrCode": code, "PhoneNum": s.Phone, "TemplateCode": s.Template,
					"ReceiveDate": time.Now().In(shanghai).Format(time.DateTime), "SendDate": time.Now().In(shanghai).Format(time.DateTime)})
			}
		}
		f.aliyunAnswer(w, 200, map[string]any{"Code": "OK", "TotalCount": len(dto), "SmsSendDetailDTOs": map[string]any{"SmsSendDetailDTO": dto}})
	default:
		f.aliyunAnswer(w, 404, map[string]any{"Code": "InvalidAction.NotFound"})
	}
}

func newTencentFake(t *testing.T, secret string) *fake {
	f := &fake{t: t, secret: secret, sign: "测试县医共体", app: "1400006666", nonces: map[string]bool{}, failed: map[string]bool{}, pulled: map[string]bool{},
		template: map[string][]string{"100001": {"1", "2"}, "100002": {"1", "2"}}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.tencent))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) tencentAnswer(w http.ResponseWriter, status int, code string, resp map[string]any) {
	if resp == nil {
		resp = map[string]any{}
	}
	if code != "" {
		f.refuse(code)
		resp["Error"] = map[string]string{"Code": code, "Message": "refused by the fake: " + code}
	}
	resp["RequestId"] = "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"Response": resp})
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, s)
	return m.Sum(nil)
}

func (f *fake) tencent(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "TC3-HMAC-SHA256 ")
	fields := map[string]string{}
	for _, kv := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	ts := r.Header.Get("X-TC-Timestamp")
	var sec int64
	fmt.Sscan(ts, &sec)
	date := time.Unix(sec, 0).UTC().Format("2006-01-02")
	if !ok || len(cred) != 4 || cred[1] != date || cred[2] != "sms" || cred[3] != "tc3_request" || fields["SignedHeaders"] != "content-type;host;x-tc-action" {
		f.tencentAnswer(w, 200, "AuthFailure.SignatureFailure", nil)
		return
	}
	sum := sha256.Sum256(body)
	canon := strings.Join([]string{"POST", "/", "", "content-type:" + r.Header.Get("Content-Type"), "host:" + r.Host,
		"x-tc-action:" + strings.ToLower(r.Header.Get("X-TC-Action")), "", "content-type;host;x-tc-action", hex.EncodeToString(sum[:])}, "\n")
	csum := sha256.Sum256([]byte(canon))
	sts := "TC3-HMAC-SHA256\n" + ts + "\n" + date + "/sms/tc3_request\n" + hex.EncodeToString(csum[:])
	key := hmacSHA256(hmacSHA256(hmacSHA256([]byte("TC3"+f.secret), date), "sms"), "tc3_request")
	if want := hex.EncodeToString(hmacSHA256(key, sts)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		f.tencentAnswer(w, 200, "AuthFailure.SignatureFailure", nil)
		return
	}
	if time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute || r.Header.Get("X-TC-Version") != "2021-01-11" {
		f.tencentAnswer(w, 200, "AuthFailure.SignatureExpire", nil)
		return
	}
	switch f.next() {
	case "500":
		w.WriteHeader(500)
		io.WriteString(w, "internal error")
		return
	case "timeout":
		hang(r)
		return
	case "throttle":
		f.tencentAnswer(w, 200, "RequestLimitExceeded", nil)
		return
	case "number_limit":
		f.tencentAnswer(w, 200, "", map[string]any{"SendStatusSet": []map[string]any{{"SerialNo": "", "Code": "LimitExceeded.PhoneNumberDailyLimit",
			"Message": "the number +8613812345678 reached its daily limit"}}})
		return
	}
	switch r.Header.Get("X-TC-Action") {
	case "SendSms":
		var in struct {
			PhoneNumberSet   []string
			SmsSdkAppId      string
			SignName         string
			TemplateId       string
			TemplateParamSet []string
		}
		if json.Unmarshal(body, &in) != nil || len(in.PhoneNumberSet) != 1 || in.SmsSdkAppId != f.app {
			f.tencentAnswer(w, 200, "InvalidParameter", nil)
			return
		}
		if in.SignName != f.sign {
			f.tencentAnswer(w, 200, "FailedOperation.SignatureIncorrectOrUnapproved", nil)
			return
		}
		vars, known := f.template[in.TemplateId]
		if !known {
			f.tencentAnswer(w, 200, "FailedOperation.TemplateIncorrectOrUnapproved", nil)
			return
		}
		if len(in.TemplateParamSet) != len(vars) {
			f.tencentAnswer(w, 200, "InvalidParameterValue.TemplateParameterFormatError", nil)
			return
		}
		ps := map[string]string{}
		for i, v := range in.TemplateParamSet {
			ps[fmt.Sprint(i+1)] = v
		}
		f.mu.Lock()
		id := fmt.Sprintf("5000:10418%05d", len(f.sent)+1)
		f.sent = append(f.sent, fakeSent{Phone: in.PhoneNumberSet[0], Template: in.TemplateId, Params: ps, ID: id})
		f.mu.Unlock()
		f.tencentAnswer(w, 200, "", map[string]any{"SendStatusSet": []map[string]any{{"SerialNo": id, "PhoneNumber": in.PhoneNumberSet[0], "Fee": 1,
			"SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"}}})
	case "PullSmsSendStatus":
		var set []map[string]any
		f.mu.Lock()
		for _, s := range f.sent {
			if f.pulled[s.ID] {
				continue
			}
			f.pulled[s.ID] = true
			st, d := "SUCCESS", "用户接收成功"
			if f.failed[s.ID] {
				st, d = "FAIL", "DB:0141 黑名单"
			}
			set = append(set, map[string]any{"UserReceiveTime": time.Now().In(shanghai).Format(time.DateTime), "CountryCode": "86",
				"SubscriberNumber": strings.TrimPrefix(s.Phone, "+86"), "PhoneNumber": s.Phone, "SerialNo": s.ID, "ReportStatus": st, "Description": d, "SessionContext": ""})
		}
		f.mu.Unlock()
		f.tencentAnswer(w, 200, "", map[string]any{"PullSmsSendStatusSet": set})
	default:
		f.tencentAnswer(w, 200, "InvalidAction", nil)
	}
}
