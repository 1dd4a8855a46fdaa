package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"countycare/notify"
)

// Tencent Cloud SMS (API 2021-01-11) with the TC3-HMAC-SHA256 signature
// (API 3.0, signature v3): the canonical request
// "POST\n/\n\ncontent-type:…\nhost:…\nx-tc-action:<action, lower case>\n\ncontent-type;host;x-tc-action\n"
// + hex(SHA-256(payload)); the string to sign
// "TC3-HMAC-SHA256\n<timestamp>\n<UTC date>/sms/tc3_request\n" +
// hex(SHA-256(canonical request)); the key HMAC-SHA256 chained from
// "TC3"+SecretKey over the date, the service and "tc3_request"; the
// signature hex(HMAC-SHA256(key, string to sign)). Source: Tencent Cloud
// API 3.0 "Signature v3" (签名方法 v3); its worked example is
// TestTencentSignatureExample.

const (
	tencentVersion     = "2021-01-11"
	tencentService     = "sms"
	tencentContentType = "application/json; charset=utf-8"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmac256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// tc3CanonicalRequest is the canonical request of a POST to host.
func tc3CanonicalRequest(host, action string, payload []byte) string {
	return "POST\n/\n\n" +
		"content-type:" + tencentContentType + "\nhost:" + host + "\nx-tc-action:" + strings.ToLower(action) + "\n\n" +
		"content-type;host;x-tc-action\n" + sha256Hex(payload)
}

// tc3StringToSign is the string to sign at ts (Unix seconds) for service.
func tc3StringToSign(ts int64, service, canonical string) string {
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	return "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + date + "/" + service + "/tc3_request\n" + sha256Hex([]byte(canonical))
}

// tc3Signature signs a string to sign with the secret key.
func tc3Signature(secret string, ts int64, service, stringToSign string) string {
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	k := hmac256([]byte("TC3"+secret), date)
	k = hmac256(k, service)
	k = hmac256(k, "tc3_request")
	return hex.EncodeToString(hmac256(k, stringToSign))
}

// tencentAnswer is the JSON answer of an action (the fields used).
type tencentAnswer struct {
	Response struct {
		Error *struct {
			Code    string
			Message string
		}
		SendStatusSet []struct {
			SerialNo string
			Code     string
			Message  string
		}
		PullSmsSendStatusSet []struct {
			SerialNo        string
			ReportStatus    string
			Description     string
			UserReceiveTime string
		}
	}
}

func (c *Client) tencentCall(ctx context.Context, action string, body any) (*tencentAnswer, error) {
	payload, _ := json.Marshal(body)
	u, err := url.Parse(c.cfg.Endpoint)
	if err != nil {
		return nil, &notify.SendError{Kind: notify.Permanent, Msg: "tencent: bad endpoint"}
	}
	ts := c.Now().Unix()
	sts := tc3StringToSign(ts, tencentService, tc3CanonicalRequest(u.Host, action, payload))
	auth := "TC3-HMAC-SHA256 Credential=" + c.cfg.KeyID + "/" + time.Unix(ts, 0).UTC().Format(time.DateOnly) + "/" + tencentService + "/tc3_request" +
		", SignedHeaders=content-type;host;x-tc-action, Signature=" + tc3Signature(string(c.cfg.Secret), ts, tencentService, sts)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, &notify.SendError{Kind: notify.Permanent, Msg: "tencent: bad endpoint"}
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", tencentContentType)
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", tencentVersion)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", c.cfg.Region)
	status, b, err := c.post(req)
	if err != nil {
		return nil, err
	}
	return tencentDecode(status, b)
}

// tencentDecode reads an answer: an error is a *notify.SendError whose
// text holds no phone number.
func tencentDecode(status int, b []byte) (*tencentAnswer, error) {
	var a tencentAnswer
	if jerr := json.Unmarshal(b, &a); jerr != nil || status >= 500 {
		return nil, &notify.SendError{Kind: notify.Temporary, Code: http.StatusText(status), Msg: "tencent: server error"}
	}
	if e := a.Response.Error; e != nil {
		return nil, tencentError(e.Code, e.Message)
	}
	return &a, nil
}

// tencentError classifies an error code of the SMS API (its error-code list).
func tencentError(code, msg string) error {
	e := &notify.SendError{Kind: notify.Permanent, Code: scrub(code), Msg: "tencent: " + scrub(msg)}
	switch {
	case strings.HasPrefix(code, "RequestLimitExceeded"), code == "LimitExceeded.AppDailyLimit", code == "LimitExceeded.DailyLimit",
		code == "FailedOperation.InsufficientBalanceInSmsPackage":
		e.Kind, e.RetryAfter = notify.Throttled, time.Minute
		if !strings.HasPrefix(code, "RequestLimitExceeded") {
			e.RetryAfter = time.Hour
		}
	case code == "LimitExceeded.PhoneNumberThirtySecondLimit":
		e.Kind, e.RetryAfter = notify.Temporary, 30*time.Second
	case code == "LimitExceeded.PhoneNumberOneHourLimit":
		e.Kind, e.RetryAfter = notify.Temporary, time.Hour
	case strings.HasPrefix(code, "LimitExceeded.PhoneNumber"):
		e.Kind, e.RetryAfter = notify.Temporary, 12*time.Hour
	case strings.HasPrefix(code, "InternalError"), code == "FailedOperation.JsonParseFail":
		e.Kind = notify.Temporary
	}
	return e
}

func (c *Client) tencentSend(ctx context.Context, to, template string, ps []param) (string, error) {
	vals := make([]string, len(ps))
	for i, p := range ps {
		vals[i] = p.value
	}
	a, err := c.tencentCall(ctx, "SendSms", map[string]any{"PhoneNumberSet": []string{"+86" + to}, "SmsSdkAppId": c.cfg.SdkAppID,
		"SignName": c.cfg.SignName, "TemplateId": template, "TemplateParamSet": vals})
	if err != nil {
		return "", err
	}
	if len(a.Response.SendStatusSet) != 1 {
		return "", &notify.SendError{Kind: notify.Temporary, Msg: "tencent: no send status in the answer"}
	}
	st := a.Response.SendStatusSet[0]
	if !strings.EqualFold(st.Code, "Ok") {
		return "", tencentError(st.Code, st.Message)
	}
	return st.SerialNo, nil
}

// tencentReceipts pulls the receipts Tencent holds for the application
// (PullSmsSendStatus: each is returned once; they are matched to messages
// by SerialNo, whichever replica pulls them).
func (c *Client) tencentReceipts(ctx context.Context) ([]notify.Receipt, error) {
	a, err := c.tencentCall(ctx, "PullSmsSendStatus", map[string]any{"Limit": 100, "SmsSdkAppId": c.cfg.SdkAppID})
	if err != nil {
		return nil, err
	}
	var out []notify.Receipt
	for _, r := range a.Response.PullSmsSendStatusSet {
		out = append(out, notify.Receipt{ProviderID: r.SerialNo, Delivered: r.ReportStatus == "SUCCESS", At: chinaTime(r.UserReceiveTime), Code: scrub(r.Description)})
	}
	return out, nil
}
