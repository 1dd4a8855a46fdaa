package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
)

//go:embed locales/*.json
var localeFS embed.FS

// Languages offered; the first is the default.
var Languages = []string{"zh", "en"}

// catalogue holds every user-visible message by language and key. Keys
// are the codes of care.Error and care.FieldError and the labels used in
// templates ({{t "key"}}); a test checks both languages have every key
// the code and templates use.
type catalogue struct {
	msgs map[string]map[string]string
}

func loadCatalogue() (*catalogue, error) {
	c := &catalogue{msgs: map[string]map[string]string{}}
	for _, l := range Languages {
		b, err := localeFS.ReadFile("locales/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: missing catalogue %s: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", l, err)
		}
		c.msgs[l] = m
	}
	return c, nil
}

// T returns the message key in lang with args; an unknown key shows as
// itself (and fails the catalogue test).
func (c *catalogue) T(lang, key string, args ...any) string {
	m, ok := c.msgs[lang][key]
	if !ok {
		m, ok = c.msgs[Languages[0]][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Has reports whether key is in lang's catalogue.
func (c *catalogue) Has(lang, key string) bool { _, ok := c.msgs[lang][key]; return ok }

// langOf returns the user's language: the cookie, else Chinese.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range Languages {
			if c.Value == l {
				return l
			}
		}
	}
	return Languages[0]
}
