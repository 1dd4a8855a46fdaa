// Package sms sends the outbox's text messages through the SMS platforms
// Chinese health services use — Alibaba Cloud SMS (dysmsapi SendSms, RPC
// signature HMAC-SHA1) and Tencent Cloud SMS (SendSms 2021-01-11,
// TC3-HMAC-SHA256) — as pre-approved templates with parameters, and
// fetches their delivery receipts (QuerySendDetails polling;
// PullSmsSendStatus). It is an adapter of notify: a notify.Sender and a
// notify.ReceiptSource, configured by file (docs/sms.md). It needs no
// vendor SDK: each signature is a few dozen lines, tested against the
// vendors' published examples and a local fake of each API.
package sms

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/notify"
)

// Providers.
const (
	Aliyun  = "aliyun"
	Tencent = "tencent"
)

// Config is the county's SMS configuration (serve --sms-config FILE, JSON).
type Config struct {
	Provider string `json:"provider"` // aliyun or tencent
	Endpoint string `json:"endpoint"` // default https://dysmsapi.aliyuncs.com/ or https://sms.tencentcloudapi.com/
	Region   string `json:"region"`   // default cn-hangzhou / ap-guangzhou
	KeyID    string `json:"key_id"`   // AccessKey ID / SecretId
	// The AccessKey secret / SecretKey: exactly one of the secret itself,
	// the name of an environment variable holding it, or a file holding it.
	Secret     Secret `json:"secret"`
	SecretEnv  string `json:"secret_env"`
	SecretFile string `json:"secret_file"`
	SignName   string `json:"sign_name"`       // the approved signature (签名), e.g. 平舆县医共体
	SdkAppID   string `json:"sdk_app_id"`      // Tencent: SmsSdkAppId
	Timeout    int    `json:"timeout_seconds"` // per request (default 10)
	// Templates maps each outbox purpose to its approved template.
	Templates map[string]Template `json:"templates"`
	// RateLimits are per-number limits held in the database.
	RateLimits []RateLimit `json:"rate_limits"`
	Retry      struct {
		Attempts     int `json:"attempts"`      // default 5
		FirstSeconds int `json:"first_seconds"` // default 30
		MaxSeconds   int `json:"max_seconds"`   // default 3600
	} `json:"retry"`
	Receipts struct {
		EverySeconds int `json:"every_seconds"` // default 60
		WindowHours  int `json:"window_hours"`  // default 72
	} `json:"receipts"`
	// DutyPhones are each institution's duty phones (by institution ID),
	// texted when a message to one of its people cannot be delivered and
	// the responsible doctor is not connected.
	DutyPhones map[string][]string `json:"duty_phones"`
}

// Secret is a secret string that never prints.
type Secret string

func (Secret) String() string   { return "[secret]" }
func (Secret) GoString() string { return "[secret]" }

// MarshalJSON keeps a secret out of any JSON the config is written to.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[secret]"`), nil }

// Template is an approved template (模板) and how it is filled: Params
// lists the message parameters in order, each "name" (the template's
// variable of that name takes the message's parameter of that name) or
// "variable=name". Tencent templates are filled by position ({1}, {2} …),
// Alibaba ones by variable name (${name}).
type Template struct {
	Code   string   `json:"code"`
	Params []string `json:"params"`
	Label  string   `json:"label"` // what the message is, as a duty message names it: 危急值通知
}

// RateLimit is at most Max messages to one number per window.
type RateLimit struct {
	Minutes int `json:"minutes"`
	Max     int `json:"max"`
}

var (
	varName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
	mobile  = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// Purposes maps each outbox purpose to the message parameters its
// messages offer a template.
type Purposes map[string][]string

// Load reads and checks the configuration file at path: every purpose in
// purposes must have a template, using only the parameters the purpose
// offers. The secret is resolved (environment or file) now, so a missing
// one stops the start. Errors name the field.
func Load(path string, purposes Purposes) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sms: config: %w", err)
	}
	return Parse(b, purposes, os.Getenv)
}

// Parse parses and checks a configuration (see Load).
func Parse(b []byte, purposes Purposes, getenv func(string) string) (*Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("sms: config: %w", err)
	}
	if err := c.resolve(getenv); err != nil {
		return nil, err
	}
	if err := c.validate(purposes); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) resolve(getenv func(string) string) error {
	n := 0
	for _, s := range []string{string(c.Secret), c.SecretEnv, c.SecretFile} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("sms: config: give exactly one of secret, secret_env, secret_file")
	}
	switch {
	case c.SecretEnv != "":
		c.Secret = Secret(getenv(c.SecretEnv))
		if c.Secret == "" {
			return fmt.Errorf("sms: config: secret_env: the environment variable %s is empty or not set", c.SecretEnv)
		}
	case c.SecretFile != "":
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return fmt.Errorf("sms: config: secret_file: %w", err)
		}
		c.Secret = Secret(strings.TrimSpace(string(b)))
		if c.Secret == "" {
			return fmt.Errorf("sms: config: secret_file: %s is empty", c.SecretFile)
		}
	}
	return nil
}

func (c *Config) validate(purposes Purposes) error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	switch c.Provider {
	case Aliyun:
		if c.Endpoint == "" {
			c.Endpoint = "https://dysmsapi.aliyuncs.com/"
		}
		if c.Region == "" {
			c.Region = "cn-hangzhou"
		}
	case Tencent:
		if c.Endpoint == "" {
			c.Endpoint = "https://sms.tencentcloudapi.com/"
		}
		if c.Region == "" {
			c.Region = "ap-guangzhou"
		}
		if c.SdkAppID == "" {
			bad("sdk_app_id: required for tencent (the SmsSdkAppId)")
		}
	default:
		bad("provider: %q is not aliyun or tencent", c.Provider)
	}
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("endpoint: %q is not an http(s) URL", c.Endpoint)
	}
	if c.KeyID == "" {
		bad("key_id: required")
	}
	if strings.TrimSpace(c.SignName) == "" {
		bad("sign_name: required (the approved signature)")
	}
	if c.Timeout == 0 {
		c.Timeout = 10
	}
	if c.Timeout < 1 || c.Timeout > 120 {
		bad("timeout_seconds: %d is not between 1 and 120", c.Timeout)
	}
	for _, p := range sortedKeys(purposes) {
		if _, ok := c.Templates[p]; !ok {
			bad("templates: no template for the purpose %s", p)
		}
	}
	for _, p := range sortedKeys(c.Templates) {
		t := c.Templates[p]
		if strings.TrimSpace(t.Code) == "" {
			bad("templates.%s.code: required", p)
		}
		offered, known := purposes[p]
		for _, s := range t.Params {
			v, name := splitParam(s)
			switch {
			case !varName.MatchString(v) || !varName.MatchString(name):
				bad("templates.%s.params: %q is not name or variable=name", p, s)
			case known && !slices.Contains(offered, name):
				bad("templates.%s.params: %s messages have no parameter %s (they offer %s)", p, p, name, strings.Join(offered, ", "))
			}
		}
	}
	for i, l := range c.RateLimits {
		if l.Minutes < 1 || l.Minutes > 7*24*60 || l.Max < 1 {
			bad("rate_limits[%d]: minutes must be 1–10080 and max at least 1", i)
		}
	}
	r := &c.Retry
	if r.Attempts == 0 {
		r.Attempts = notify.MaxAttempts
	}
	if r.FirstSeconds == 0 {
		r.FirstSeconds = 30
	}
	if r.MaxSeconds == 0 {
		r.MaxSeconds = 3600
	}
	if r.Attempts < 1 || r.Attempts > 20 || r.FirstSeconds < 1 || r.MaxSeconds < r.FirstSeconds {
		bad("retry: attempts must be 1–20, first_seconds at least 1 and max_seconds at least first_seconds")
	}
	if c.Receipts.EverySeconds == 0 {
		c.Receipts.EverySeconds = 60
	}
	if c.Receipts.WindowHours == 0 {
		c.Receipts.WindowHours = 72
	}
	if c.Receipts.EverySeconds < 5 || c.Receipts.WindowHours < 1 {
		bad("receipts: every_seconds must be at least 5 and window_hours at least 1")
	}
	for _, k := range sortedKeys(c.DutyPhones) {
		if id, err := strconv.ParseInt(k, 10, 64); err != nil || id <= 0 {
			bad("duty_phones: %q is not an institution ID", k)
		}
		for _, p := range c.DutyPhones[k] {
			if !mobile.MatchString(p) {
				bad("duty_phones.%s: %s is not a mainland mobile number", k, notify.MaskRecipient(p))
			}
		}
	}
	if len(errs) > 0 {
		return errors.New("sms: config: " + strings.Join(errs, "; "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// splitParam splits "variable=name" (or "name": both the same).
func splitParam(s string) (variable, name string) {
	if v, n, ok := strings.Cut(s, "="); ok {
		return v, n
	}
	return s, s
}

// Limits are the per-number limits for notify.Dispatcher.
func (c *Config) Limits() []notify.Limit {
	out := make([]notify.Limit, len(c.RateLimits))
	for i, l := range c.RateLimits {
		out[i] = notify.Limit{Per: time.Duration(l.Minutes) * time.Minute, Max: l.Max}
	}
	return out
}

// RetrySchedule is the retry schedule for notify.Dispatcher.
func (c *Config) RetrySchedule() notify.Retry {
	return notify.Retry{Attempts: c.Retry.Attempts, First: time.Duration(c.Retry.FirstSeconds) * time.Second, Max: time.Duration(c.Retry.MaxSeconds) * time.Second}
}

// Duty returns the duty phones by institution ID.
func (c *Config) Duty() map[int64][]string {
	out := map[int64][]string{}
	for k, ps := range c.DutyPhones {
		id, _ := strconv.ParseInt(k, 10, 64)
		out[id] = ps
	}
	return out
}

// Labels returns each purpose's label for duty messages.
func (c *Config) Labels() map[string]string {
	out := map[string]string{}
	for p, t := range c.Templates {
		if t.Label != "" {
			out[p] = t.Label
		}
	}
	return out
}
