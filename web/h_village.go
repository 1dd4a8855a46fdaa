package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"countycare/chronic"
	"countycare/family"
)

// The offline village doctor app (docs/village-app.md): one page whose
// script (static/village.js) keeps the village's data and a queue of
// records in IndexedDB, a service worker that keeps the app shell, and a
// web app manifest so the phone can install it.

// villageMsgPrefixes are the catalogue messages the app's script shows;
// the page hands them over in the reader's language.
var villageMsgPrefixes = []string{"village.", "chronic.disease.", "chronic.tier.", "chronic.urgent.", "chronic.symptom.", "chronic.call.", "sex.", "family.kind.",
	"resident.record_number", "resident.id_number", "resident.sex", "resident.birth_date", "resident.phone", "resident.address",
	"field.required", "field.number", "family.service.future", "chronic.date.future", "chronic.value.range", "chronic.bp.both", "chronic.bp.order", "chronic.next_visit",
	"chronic.date.invalid", "chronic.already_registered", "screening.disease.", "screening.min_age", "screening.date_future", "screening.date_outside",
	"screening.sbp_range", "screening.dbp_range", "screening.bp_pair", "screening.dbp_above_sbp", "screening.glucose_range", "screening.meal_hours_range",
	"screening.cough_days_range", "screening.nothing_measured"}

func (s *Server) villageMsgs(lang string) string {
	m := map[string]any{}
	for k, v := range s.msgs.msgs[lang] {
		for _, p := range villageMsgPrefixes {
			if strings.HasPrefix(k, p) {
				m[k] = v
				break
			}
		}
	}
	m["callOutcomes"] = chronic.CallOutcomes
	b, _ := json.Marshal(m)
	return string(b)
}

func (s *Server) villageApp(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	syms := make([]string, len(allSymptoms))
	for i, sy := range allSymptoms {
		syms[i] = string(sy)
	}
	kinds := make([]string, len(family.Kinds))
	for i, k := range family.Kinds {
		kinds[i] = string(k)
	}
	w.Header().Set("Cache-Control", "no-cache")
	s.render(w, r, rc, http.StatusOK, "village_app", pageData{Title: s.msgs.T(rc.Lang, "village.title"),
		Data: map[string]any{"Msgs": s.villageMsgs(rc.Lang), "Symptoms": syms, "ServiceKinds": kinds, "Diseases": chronic.Diseases,
			"Sources": []string{chronic.SourceDiagnosis, chronic.SourceScreening, chronic.SourceReferral}}})
	return nil
}

// villageShell lists what the service worker keeps for offline start.
func (s *Server) villageShell() []string {
	return []string{"/village/app", s.static.URL("app.css"), s.static.URL("app.js"), s.static.URL("village.css"), s.static.URL("village.js"),
		s.static.URL("favicon.svg"), "/village/manifest.webmanifest"}
}

// villageSW is the service worker: the app shell from the network when
// there is one (kept for next time), from the cache when not; hashed
// static files from the cache first; the API never cached (the data is in
// IndexedDB, owned by the page).
func (s *Server) villageSW(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	shell := s.villageShell()
	sort.Strings(shell[1:])
	sum := sha256.Sum256([]byte(strings.Join(shell, "\n")))
	list, _ := json.Marshal(shell)
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprintf(w, swTemplate, hex.EncodeToString(sum[:6]), list)
	return nil
}

const swTemplate = `// countycare village app service worker (docs/village-app.md).
"use strict";
var CACHE = "village-shell-%s";
var SHELL = %s;
self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) {
    return Promise.all(SHELL.map(function (u) {
      return fetch(u, { credentials: "same-origin" }).then(function (r) { if (r.ok && !r.redirected) { return c.put(u, r); } });
    }));
  }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (ks) {
    return Promise.all(ks.filter(function (k) { return k.indexOf("village-shell-") === 0 && k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
function fromNetwork(req, key) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("slow")); }, 4000);
    fetch(req).then(function (r) {
      clearTimeout(timer);
      if (r.ok && !r.redirected) {
        var copy = r.clone();
        caches.open(CACHE).then(function (c) { c.put(key, copy); });
      }
      resolve(r);
    }, function (err) { clearTimeout(timer); reject(err); });
  });
}
self.addEventListener("fetch", function (e) {
  var u = new URL(e.request.url);
  if (e.request.method !== "GET" || u.origin !== location.origin) { return; }
  if (u.pathname === "/village/app" || u.pathname === "/village/manifest.webmanifest") {
    e.respondWith(fromNetwork(e.request, u.pathname).catch(function () {
      return caches.match(u.pathname).then(function (r) { return r || Response.error(); });
    }));
    return;
  }
  if (u.pathname.indexOf("/static/") === 0) {
    e.respondWith(caches.match(e.request).then(function (r) { return r || fetch(e.request); }));
  }
});
`

// villageManifest is the web app manifest: installed from the browser's
// menu, it opens the app on its own, in the reader's language.
func (s *Server) villageManifest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	m := map[string]any{
		"name": s.msgs.T(rc.Lang, "village.title"), "short_name": s.msgs.T(rc.Lang, "village.short_name"),
		"start_url": "/village/app", "scope": "/village/", "display": "standalone", "lang": rc.Lang,
		"background_color": "#ffffff", "theme_color": "#0b5cad",
		"icons": []map[string]string{{"src": s.static.URL("favicon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}},
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "no-cache")
	return json.NewEncoder(w).Encode(m)
}
