package web

import "net/http"

// SetDecodeHook installs a hook that sees every value a handler decodes a
// JSON body into; the returned function removes it.
func SetDecodeHook(f func(r *http.Request, v any)) (restore func()) {
	decodeHook.Store(&f)
	return func() { decodeHook.Store(nil) }
}

// StandbyRoutes returns the routes whose reads may come from the standby.
func StandbyRoutes() []string {
	out := make([]string, 0, len(standbyRoutes))
	for p := range standbyRoutes {
		out = append(out, p)
	}
	return out
}
