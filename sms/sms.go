package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"countycare/notify"
)

// Client sends through the configured provider: a notify.Sender and a
// notify.ReceiptSource.
type Client struct {
	cfg   *Config
	HTTP  *http.Client
	Now   func() time.Time
	Nonce func() string // Alibaba's SignatureNonce (default: 16 random bytes, hex)
}

// New returns a client for cfg (from Load or Parse).
func New(cfg *Config) *Client {
	return &Client{cfg: cfg, HTTP: &http.Client{Timeout: time.Duration(cfg.Timeout) * time.Second}, Now: time.Now, Nonce: randomNonce}
}

func randomNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// param is one filled template variable.
type param struct{ name, value string }

// fill fills t from the message's parameters. Errors: a parameter the
// message lacks.
func fill(t Template, have map[string]string) ([]param, error) {
	out := make([]param, 0, len(t.Params))
	for _, s := range t.Params {
		v, name := splitParam(s)
		val, ok := have[name]
		if !ok || strings.TrimSpace(val) == "" {
			return nil, fmt.Errorf("the message has no parameter %s for template %s", name, t.Code)
		}
		out = append(out, param{v, val})
	}
	return out, nil
}

// Send sends m as its purpose's template. Errors are *notify.SendError:
// Permanent for a purpose without a template, a missing parameter, a
// number that is not a mainland mobile, or what the provider refuses for
// good; Throttled when the provider asks to slow down; Temporary for a
// 5xx, a timeout or a network fault.
func (c *Client) Send(ctx context.Context, m *notify.Message) error {
	t, ok := c.cfg.Templates[m.Purpose]
	if !ok {
		return &notify.SendError{Kind: notify.Permanent, Msg: "no template is configured for the purpose " + m.Purpose}
	}
	ps, err := fill(t, m.Params)
	if err != nil {
		return &notify.SendError{Kind: notify.Permanent, Msg: err.Error()}
	}
	if !mobile.MatchString(m.Recipient) {
		return &notify.SendError{Kind: notify.Permanent, Msg: "not a mainland mobile number: " + notify.MaskRecipient(m.Recipient)}
	}
	var id string
	switch c.cfg.Provider {
	case Aliyun:
		id, err = c.aliyunSend(ctx, m.Recipient, t.Code, ps)
	default:
		id, err = c.tencentSend(ctx, m.Recipient, t.Code, ps)
	}
	if err != nil {
		return err
	}
	m.Provider, m.ProviderID = c.cfg.Provider, id
	return nil
}

// Receipts fetches the delivery receipts of awaiting messages.
func (c *Client) Receipts(ctx context.Context, awaiting []notify.Message) ([]notify.Receipt, error) {
	if c.cfg.Provider == Aliyun {
		return c.aliyunReceipts(ctx, awaiting)
	}
	return c.tencentReceipts(ctx)
}

// maxResponse bounds what is read of a provider's answer.
const maxResponse = 1 << 20

// post sends req and returns the status and body; a network fault or a
// timeout is a Temporary SendError (its text holds neither the secret,
// which is never in a URL, nor a number).
func (c *Client) post(req *http.Request) (int, []byte, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		msg := "network error"
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out"
		}
		return 0, nil, &notify.SendError{Kind: notify.Temporary, Msg: c.cfg.Provider + ": " + msg}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, &notify.SendError{Kind: notify.Temporary, Msg: c.cfg.Provider + ": reading the answer: connection lost"}
	}
	return resp.StatusCode, b, nil
}

// digits are runs long enough to be a phone number.
var digits = regexp.MustCompile(`[0-9]{7,}`)

// scrub makes a provider's message safe to log and store: numbers masked,
// at most 160 characters.
func scrub(s string) string {
	s = digits.ReplaceAllStringFunc(s, notify.MaskRecipient)
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160])
	}
	return s
}

// chinaTime parses a provider's "2006-01-02 15:04:05" China time.
func chinaTime(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, shanghai)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

var shanghai = time.FixedZone("CST", 8*3600)
