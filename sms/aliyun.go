package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"countycare/notify"
)

// Alibaba Cloud SMS (dysmsapi, API version 2017-05-25) with the RPC
// signature, version 1.0 (HMAC-SHA1): the request's parameters, sorted by
// name, each name and value percent-encoded (RFC 3986: space %20, * %2A,
// ~ kept), joined "k=v&…" into the canonicalized query; the string to sign
// is METHOD&%2F&percentEncode(canonicalized query); the signature is
// Base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)). Source:
// Alibaba Cloud, "Request signatures" of RPC APIs (its worked example is
// TestAliyunSignatureExample).

const aliyunVersion = "2017-05-25"

// percentEncode is the RPC signature's encoding.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// aliyunStringToSign is the RPC string to sign of params (without Signature).
func aliyunStringToSign(method string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = percentEncode(k) + "=" + percentEncode(params.Get(k))
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(parts, "&"))
}

// aliyunSign is the RPC signature of a string to sign.
func aliyunSign(secret, stringToSign string) string {
	h := hmac.New(sha1.New, []byte(secret+"&"))
	h.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// aliyunAnswer is the JSON answer of an action (the fields used).
type aliyunAnswer struct {
	Code              string
	Message           string
	BizId             string
	SmsSendDetailDTOs struct {
		SmsSendDetailDTO []struct {
			SendStatus  int
			ErrCode     string
			ReceiveDate string
		}
	}
}

// aliyunCall signs and POSTs an action with its parameters.
func (c *Client) aliyunCall(ctx context.Context, action string, p url.Values) (*aliyunAnswer, error) {
	p.Set("AccessKeyId", c.cfg.KeyID)
	p.Set("Action", action)
	p.Set("Format", "JSON")
	p.Set("RegionId", c.cfg.Region)
	p.Set("SignatureMethod", "HMAC-SHA1")
	p.Set("SignatureNonce", c.Nonce())
	p.Set("SignatureVersion", "1.0")
	p.Set("Timestamp", c.Now().UTC().Format("2006-01-02T15:04:05Z"))
	p.Set("Version", aliyunVersion)
	p.Set("Signature", aliyunSign(string(c.cfg.Secret), aliyunStringToSign(http.MethodPost, p)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, strings.NewReader(p.Encode()))
	if err != nil {
		return nil, &notify.SendError{Kind: notify.Permanent, Msg: "aliyun: bad endpoint"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := c.post(req)
	if err != nil {
		return nil, err
	}
	return aliyunDecode(status, body)
}

// aliyunDecode reads an answer: an error is a *notify.SendError whose text
// holds no phone number.
func aliyunDecode(status int, body []byte) (*aliyunAnswer, error) {
	var a aliyunAnswer
	if jerr := json.Unmarshal(body, &a); jerr != nil || a.Code == "" {
		if status >= 500 || status == http.StatusTooManyRequests {
			return nil, &notify.SendError{Kind: notify.Temporary, Code: http.StatusText(status), Msg: "aliyun: server error"}
		}
		return nil, &notify.SendError{Kind: notify.Temporary, Msg: "aliyun: unreadable answer"}
	}
	if a.Code != "OK" {
		return nil, aliyunError(status, a.Code, a.Message)
	}
	return &a, nil
}

// aliyunError classifies an error code of dysmsapi (its error-code list).
func aliyunError(status int, code, msg string) error {
	e := &notify.SendError{Kind: notify.Permanent, Code: scrub(code), Msg: "aliyun: " + scrub(msg)}
	switch {
	case strings.HasPrefix(code, "Throttling"), code == "isv.DAY_LIMIT_CONTROL", code == "isv.AMOUNT_NOT_ENOUGH", code == "isv.OUT_OF_SERVICE":
		// The account is throttled or has stopped: everything waits.
		e.Kind, e.RetryAfter = notify.Throttled, time.Minute
		if code != "Throttling" && !strings.HasPrefix(code, "Throttling.") {
			e.RetryAfter = time.Hour
		}
	case code == "isv.BUSINESS_LIMIT_CONTROL":
		// The carrier's per-number flow control (1 a minute, 5 an hour,
		// 10 a day): only this number waits.
		e.Kind, e.RetryAfter = notify.Temporary, time.Hour
	case status >= 500, code == "isp.SYSTEM_ERROR", code == "ServiceUnavailable", code == "InternalError", code == "SignatureNonceUsed":
		e.Kind = notify.Temporary
	}
	return e
}

func (c *Client) aliyunSend(ctx context.Context, to, template string, ps []param) (string, error) {
	vars := make(map[string]string, len(ps))
	for _, p := range ps {
		vars[p.name] = p.value
	}
	tp, _ := json.Marshal(vars)
	a, err := c.aliyunCall(ctx, "SendSms", url.Values{"PhoneNumbers": {to}, "SignName": {c.cfg.SignName}, "TemplateCode": {template}, "TemplateParam": {string(tp)}})
	if err != nil {
		return "", err
	}
	return a.BizId, nil
}

// aliyunReceipts polls QuerySendDetails for each awaiting message (by its
// BizId, number and China send date); a message still waiting for its
// receipt (SendStatus 1) gives none.
func (c *Client) aliyunReceipts(ctx context.Context, awaiting []notify.Message) ([]notify.Receipt, error) {
	var out []notify.Receipt
	for _, m := range awaiting {
		a, err := c.aliyunCall(ctx, "QuerySendDetails", url.Values{"PhoneNumber": {m.Recipient}, "BizId": {m.ProviderID},
			"SendDate": {m.SentAt.In(shanghai).Format("20060102")}, "PageSize": {"10"}, "CurrentPage": {"1"}})
		if err != nil {
			return out, err
		}
		for _, d := range a.SmsSendDetailDTOs.SmsSendDetailDTO {
			switch d.SendStatus {
			case 3:
				out = append(out, notify.Receipt{ProviderID: m.ProviderID, Delivered: true, At: chinaTime(d.ReceiveDate), Code: d.ErrCode})
			case 2:
				out = append(out, notify.Receipt{ProviderID: m.ProviderID, At: chinaTime(d.ReceiveDate), Code: scrub(d.ErrCode)})
			}
		}
	}
	return out, nil
}
