package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"countycare/account"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

// demoResident returns the demo resident's account and record.
func demoResident(t *testing.T, e *env) (*account.Account, *resident.Resident) {
	t.Helper()
	ctx := context.Background()
	acc, err := e.st.AccountByUsername(ctx, e.users[care.RoleResident])
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.st.Resident(ctx, acc.ResidentID)
	if err != nil {
		t.Fatal(err)
	}
	return acc, res
}

// codeFor returns the newest one-time code queued for phone ("" if none).
func codeFor(t *testing.T, e *env, phone string) string {
	t.Helper()
	msgs, err := e.st.PendingMessages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, m := range msgs {
		if m.Purpose == account.CodePurpose && m.Recipient == phone {
			code = m.Params["code"]
		}
	}
	return code
}

// loginToken returns the client's double-submit sign-in token.
func (c *client) loginToken() string {
	for _, k := range c.hc.Jar.Cookies(mustURL(c.e.ts.URL)) {
		if k.Name == "cc_login_csrf" {
			return k.Value
		}
	}
	return ""
}

// codeLogin asks for a code for phone and returns the client and the code queued.
func codeLogin(t *testing.T, e *env, phone string) (*client, string) {
	t.Helper()
	c := e.anon()
	if r := c.get("/login/code"); r.code != 200 || !strings.Contains(r.body, `id="send-code"`) {
		t.Fatalf("phone form: %d", r.code)
	}
	r := c.postForm("/login/code", url.Values{"csrf": {c.loginToken()}, "phone": {phone}}, false)
	if r.code != 200 || !strings.Contains(r.body, `id="code-sent"`) {
		t.Fatalf("asking for a code: %d %s", r.code, r.body)
	}
	return c, codeFor(t, e, phone)
}

func (c *client) verifyCode(phone, code string) response {
	return c.postForm("/login/code/verify", url.Values{"csrf": {c.loginToken()}, "phone": {phone}, "code": {code}}, false)
}

// TestSigninByCode: a resident signs in with the phone on their record and
// a code sent through the outbox; the code is stored hashed, a wrong code
// says how many tries are left, a used code is refused by name, asking
// again at once is refused with the wait, and a number nobody has gets
// the same answer as a known one and no message.
func TestSigninByCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		_, res := demoResident(t, e)
		if res.Phone == "" {
			t.Fatalf("demo resident %d without phone", res.ID)
		}
		c, code := codeLogin(t, e, res.Phone)
		if len(code) != account.CodeDigits {
			t.Fatalf("code queued %q, want %d digits", code, account.CodeDigits)
		}
		if sc, err := e.st.LatestSigninCode(ctx, res.Phone); err != nil || strings.Contains(sc.CodeHash+sc.Salt, code) || len(sc.CodeHash) != 64 {
			t.Fatalf("stored code %+v (%v): want only a salted hash", sc, err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if r := c.verifyCode(res.Phone, wrong); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "还可以再试 4 次") {
			t.Fatalf("wrong code: %d, want 401 with the tries left", r.code)
		}
		if r := c.verifyCode(res.Phone, "12a"); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "6 位数字验证码") {
			t.Fatalf("malformed code: %d, want 422 naming the format", r.code)
		}
		if r := c.verifyCode(res.Phone, code); r.code != http.StatusSeeOther || r.header.Get("Location") != "/me" {
			t.Fatalf("right code: %d %s", r.code, r.header.Get("Location"))
		}
		if r := c.get("/me"); r.code != 200 || !strings.Contains(r.body, res.Name) {
			t.Fatalf("/me after sign-in by code: %d", r.code)
		}
		other := e.anon()
		other.get("/login/code")
		if r := other.verifyCode(res.Phone, code); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "已经使用过") {
			t.Fatalf("reused code: %d, want 401 saying it was used", r.code)
		}
		if r := other.postForm("/login/code", url.Values{"csrf": {other.loginToken()}, "phone": {res.Phone}}, false); r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "秒后再试") {
			t.Fatalf("second code at once: %d, want 429 with the wait", r.code)
		}
		// A number on no record: the same page, nothing queued.
		nobody := "13900000017"
		if _, code := codeLogin(t, e, nobody); code != "" {
			t.Fatalf("a code was queued for a number on no record")
		}
		if r := other.postForm("/login/code", url.Values{"csrf": {other.loginToken()}, "phone": {"12345"}}, false); r.code != http.StatusUnprocessableEntity {
			t.Fatalf("not a mobile number: %d, want 422", r.code)
		}
		// Without the login token the form is refused.
		if r := e.anon().postForm("/login/code", url.Values{"phone": {res.Phone}}, false); r.code != http.StatusForbidden {
			t.Fatalf("without the login token: %d, want 403", r.code)
		}
	})
}
