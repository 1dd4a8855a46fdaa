// countycare village app (docs/village-app.md): the village doctor's daily
// work with no network for days. The village's data and the queue of
// records waiting to sync live in IndexedDB; the service worker
// (/village/sw.js) keeps the app shell. Every record carries a UUID made
// here, so a retried sync never creates it twice; the server answers each
// record (accepted, refused with a message the doctor can act on,
// conflicted with the server's version, or retry).
(function () {
  "use strict";
  var root = document.getElementById("village");
  if (!root || !window.indexedDB) { return; }
  var M = JSON.parse(root.getAttribute("data-msgs"));
  var DBNAME = "countycare-village";
  var db = null;
  var state = { meta: {}, residents: [], regs: [], visits: [], overdue: [], outbox: [], current: null, syncing: false, signedOut: false };

  // t is the catalogue message key with %d/%s/%.1f arguments filled in.
  function t(key) {
    var s = M[key] || key, args = Array.prototype.slice.call(arguments, 1), i = 0;
    return s.replace(/%(\.(\d))?[dsf]/g, function (m, p, n) { var a = args[i++]; return n ? Number(a).toFixed(Number(n)) : String(a); });
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "data") { e.setAttribute("translate", "no"); e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (kids || []).forEach(function (c) { if (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return e;
  }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; }
  function today() { return new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }); }
  function beijing(iso) { return new Date(iso).toLocaleString("sv-SE", { timeZone: "Asia/Shanghai" }).slice(0, 16); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // IndexedDB: one object store per kind of data, and the outbox.
  function open() {
    return new Promise(function (resolve, reject) {
      var rq = indexedDB.open(DBNAME, 1);
      rq.onupgradeneeded = function () {
        var d = rq.result;
        d.createObjectStore("meta");
        d.createObjectStore("residents", { keyPath: "i" });
        d.createObjectStore("regs", { keyPath: "i" });
        d.createObjectStore("visits", { keyPath: "i" });
        d.createObjectStore("overdue", { keyPath: "g" });
        d.createObjectStore("outbox", { keyPath: "id" });
      };
      rq.onsuccess = function () { resolve(rq.result); };
      rq.onerror = function () { reject(rq.error); };
    });
  }
  function tx(stores, mode, fn) {
    return new Promise(function (resolve, reject) {
      var x = db.transaction(stores, mode);
      var out = fn(x);
      x.oncomplete = function () { resolve(out); };
      x.onerror = x.onabort = function () { reject(x.error); };
    });
  }
  function all(store) {
    return new Promise(function (resolve, reject) {
      var rq = db.transaction(store).objectStore(store).getAll();
      rq.onsuccess = function () { resolve(rq.result); };
      rq.onerror = function () { reject(rq.error); };
    });
  }
  function load() {
    return Promise.all(["residents", "regs", "visits", "overdue", "outbox"].map(all)).then(function (r) {
      state.residents = r[0]; state.regs = r[1]; state.visits = r[2]; state.overdue = r[3]; state.outbox = r[4];
      return new Promise(function (resolve) {
        var rq = db.transaction("meta").objectStore("meta").get("meta");
        rq.onsuccess = function () { state.meta = rq.result || {}; resolve(); };
      });
    });
  }
  function saveMeta() { return tx(["meta"], "readwrite", function (x) { x.objectStore("meta").put(state.meta, "meta"); }); }
  // wipe deletes everything the phone holds: the data, the queue and the cached shell.
  function wipe() {
    if (db) { db.close(); db = null; }
    var caches_ = window.caches ? caches.keys().then(function (ks) { return Promise.all(ks.filter(function (k) { return k.indexOf("village-") === 0; }).map(function (k) { return caches.delete(k); })); }) : Promise.resolve();
    return Promise.all([caches_, new Promise(function (resolve) { var rq = indexedDB.deleteDatabase(DBNAME); rq.onsuccess = rq.onerror = rq.onblocked = function () { resolve(); }; })]);
  }

  // The status bar: online or not, what waits to sync, the last contact.
  function status(msg) {
    var queued = state.outbox.filter(function (o) { return o.st === "queued"; }).length;
    var problems = state.outbox.length - queued;
    $("net").textContent = navigator.onLine ? t("village.online") : t("village.offline");
    $("net").className = navigator.onLine ? "badge on" : "badge off";
    $("pending").textContent = t("village.pending", queued);
    $("pending").setAttribute("data-n", String(queued));
    $("problems-n").textContent = problems ? " (" + problems + ")" : "";
    $("last-sync").textContent = state.meta.lastContact ? t("village.synced_at", beijing(state.meta.lastContact)) : t("village.never_synced");
    if (msg !== undefined) { $("sync-msg").textContent = msg; $("sync-msg").hidden = !msg; }
  }

  // Tabs.
  function show(tab) {
    ["residents", "today", "screening", "register", "outbox", "resident"].forEach(function (n) { $("v-" + n).hidden = n !== tab; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (b) { b.setAttribute("aria-pressed", b.getAttribute("data-tab") === tab ? "true" : "false"); });
    if (tab === "residents") { renderSearch(); }
    if (tab === "today") { renderToday(); }
    if (tab === "screening") { renderScreening(); }
    if (tab === "outbox") { renderOutbox(); }
  }

  function residentOf(id) { for (var i = 0; i < state.residents.length; i++) { if (state.residents[i].i === id) { return state.residents[i]; } } return null; }
  // Records made offline carry their client UUID as id (a string) until
  // the server's copy replaces them; a form's value is always a string.
  function regOf(id) { for (var i = 0; i < state.regs.length; i++) { if (String(state.regs[i].i) === String(id)) { return state.regs[i]; } } return null; }
  function pendingRef(x) { return typeof x.i === "string"; }
  function disease(d) { return t("chronic.disease." + d); }

  function renderSearch() {
    var q = $("q").value.trim().toLowerCase(), list = clear($("results")), n = 0;
    $("res-count").textContent = t("village.count", state.residents.filter(function (r) { return !r.s; }).length);
    state.residents.forEach(function (r) {
      if (n >= 50 || r.s) { return; }
      if (q && (r.n || "").toLowerCase().indexOf(q) < 0 && (r.p || "").indexOf(q) < 0 && (r.rn || "").indexOf(q) < 0) { return; }
      n++;
      var b = el("button", { type: "button", "class": "res link", "data-id": String(r.i) }, [el("span", { data: r.n }), " ", el("span", { "class": "muted", data: r.id || "" }),
        r.pending ? el("span", { "class": "muted", text: " · " + t("village.pending_resident") }) : null]);
      b.addEventListener("click", function () { openResident(r.i); });
      list.appendChild(el("li", {}, [b]));
    });
    if (!n) { list.appendChild(el("li", { text: state.residents.length ? t("village.no_results") : t("village.first_sync") })); }
  }

  function openResident(id, campaign) {
    var r = residentOf(id);
    if (!r) { return; }
    state.current = id;
    $("res-name").textContent = r.n;
    var facts = clear($("res-facts"));
    [["resident.record_number", r.rn || t("village.register_hint")], ["resident.id_number", r.id || ""], ["resident.sex", r.x ? t("sex." + r.x) : ""],
      ["resident.birth_date", r.b], ["resident.phone", r.p || ""], ["resident.address", r.a || ""]].forEach(function (f) {
      facts.appendChild(el("dt", { text: t(f[0]) }));
      facts.appendChild(el("dd", f[0] === "resident.sex" ? { text: f[1] } : { data: f[1] }));
    });
    $("contact-phone").value = r.p || ""; $("contact-address").value = r.a || "";
    var regs = clear($("res-regs")), sel = clear($("fu-reg"));
    var mine = state.regs.filter(function (g) { return g.r === id; });
    mine.forEach(function (g) {
      var last = state.visits.filter(function (v) { return v.g === g.i; }).sort(function (a, b) { return a.d < b.d ? 1 : -1; })[0];
      regs.appendChild(el("li", {}, [el("strong", { text: disease(g.d) }), " · " + (g.pending ? t("village.pending_registration") : t("chronic.tier." + g.t)) + " · " + t("chronic.next_visit") + " ",
        el("span", { data: g.nv }), last ? " · " : "", last ? el("span", { data: last.d + (last.s ? " " + last.s + "/" + last.b : "") + (last.pending ? " …" : "") }) : null]));
      sel.appendChild(el("option", { value: String(g.i), text: disease(g.d) }));
    });
    $("fu-form").hidden = !mine.length;
    $("no-reg").hidden = !!mine.length;
    $("fu-form").elements.date.value = today();
    $("svc-form").elements.date.value = today();
    $("enrol-form").elements.enrolled_on.value = today();
    $("enrol-msg").textContent = "";
    $("svc-msg").textContent = ""; $("contact-msg").textContent = "";
    $("urgent-alert").hidden = true;
    $("fu-msg").textContent = "";
    screeningForm(campaign);
    show("resident");
  }

  // The urgent-transfer rule (规范第三版), applied the moment a follow-up
  // is saved, with the thresholds and symptom lists the server sent
  // (chronic.UrgentHypertension, chronic.UrgentDiabetes).
  function urgentReasons(reg, v) {
    var u = state.meta.urgent || {}, out = [];
    if (!u.sbp) { return out; }
    if (v.sbp >= u.sbp || v.dbp >= u.dbp) { out.push(t("chronic.urgent.bp")); }
    var diab = reg && reg.d === "diabetes";
    if (diab || !reg || reg.d === "hypertension") {
      if (v.fpg > 0 && (v.fpg >= u.gh || v.fpg <= u.gl)) { out.push(t("chronic.urgent.glucose")); }
      if (diab && v.hr > u.hr) { out.push(t("chronic.urgent.heart_rate")); }
      var signs = diab ? u.ds : u.hs;
      (v.symptoms || []).forEach(function (s) { if (signs.indexOf(s) >= 0) { out.push(t("chronic.symptom." + s)); } });
    }
    return out;
  }

  function num(f, name) { var s = (f.elements[name].value || "").trim(); return s === "" ? 0 : Number(s); }
  function tenths(f, name) { var s = (f.elements[name].value || "").trim(); return s === "" ? 0 : Math.round(Number(s) * 10); }

  function queue(kind, data, label, urgent) {
    var o = { id: uuid(), k: kind, d: data, at: new Date().toISOString(), st: "queued", label: label, urgent: !!urgent };
    return tx(["outbox"], "readwrite", function (x) { x.objectStore("outbox").put(o); }).then(function () { state.outbox.push(o); status(); syncSoon(); return o; });
  }

  function fieldErrors(form, errs) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (e) { e.parentNode.removeChild(e); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (e) { e.removeAttribute("aria-invalid"); });
    errs.forEach(function (e) {
      var input = form.elements[e[0]];
      var msg = el("p", { "class": "field-error", id: form.id + "-" + e[0] + "-error", text: e[1] });
      if (input && input.parentNode) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", msg.id); input.parentNode.appendChild(msg); } else { form.insertBefore(msg, form.firstChild); }
    });
    return errs.length === 0;
  }

  function onFollowUp(e) {
    e.preventDefault();
    var f = e.target, reg = regOf(f.elements.reg.value), lim = (state.meta.urgent || {}).lim || {};
    var symptoms = Array.prototype.filter.call(f.querySelectorAll("input[name=symptoms]:checked"), function () { return true; }).map(function (c) { return c.value; });
    var v = { date: f.elements.date.value, mode: f.elements.mode.value, sbp: num(f, "sbp"), dbp: num(f, "dbp"), hr: num(f, "heart_rate"), fpg: tenths(f, "fpg"), symptoms: symptoms };
    var errs = [];
    if (!v.date) { errs.push(["date", t("field.required")]); } else if (v.date > today()) { errs.push(["date", t("chronic.date.future")]); }
    [["sbp", v.sbp], ["dbp", v.dbp], ["heart_rate", v.hr], ["fpg", v.fpg]].forEach(function (x) {
      var r = lim[x[0]];
      if (isNaN(x[1])) { errs.push([x[0], t("field.number")]); } else if (r && x[1] !== 0 && (x[1] < r[0] || x[1] > r[1])) { errs.push([x[0], x[0] === "fpg" ? t("chronic.value.range", r[0] / 10, r[1] / 10) : t("chronic.value.range", r[0], r[1])]); }
    });
    if ((v.sbp === 0) !== (v.dbp === 0)) { errs.push(["dbp", t("chronic.bp.both")]); } else if (v.sbp && v.sbp <= v.dbp) { errs.push(["sbp", t("chronic.bp.order")]); }
    if (!fieldErrors(f, errs)) { return; }
    var reasons = urgentReasons(reg, v);
    var data = { visit: { date: v.date, mode: v.mode, symptoms: symptoms, adherence: f.elements.adherence.value, confirm: f.elements.confirm.checked } };
    ["sbp", "dbp", "heart_rate"].forEach(function (k) { if (f.elements[k].value.trim()) { data.visit[k] = Number(f.elements[k].value); } });
    if (f.elements.fpg.value.trim()) { data.visit.fpg = Number(f.elements.fpg.value); }
    if (pendingRef(reg)) { data.registration_ref = reg.i; } else { data.registration_id = reg.i; }
    var r = residentOf(reg.r);
    queue("followup", data, { n: r ? r.n : "", what: disease(reg.d) + " " + v.date }, reasons.length).then(function (o) {
      var pendingVisit = { i: o.id, g: reg.i, d: v.date, s: v.sbp, b: v.dbp, pending: true };
      state.visits.push(pendingVisit);
      reg.done = v.date;
      return tx(["visits", "regs"], "readwrite", function (x) { x.objectStore("visits").put(pendingVisit); x.objectStore("regs").put(reg); });
    }).then(function () {
      var alert = $("urgent-alert"), list = clear($("urgent-reasons"));
      reasons.forEach(function (s) { list.appendChild(el("li", { text: s })); });
      alert.hidden = !reasons.length;
      if (reasons.length) { alert.focus(); }
      $("fu-msg").textContent = t("village.saved") + (reasons.length ? " " + t("village.urgent_queued") : "");
      f.reset();
      f.elements.date.value = today();
    });
  }

  function onContact(e) {
    e.preventDefault();
    var r = residentOf(state.current), f = e.target;
    if (!r) { return; }
    var d = { resident_id: r.i, phone: f.elements.phone.value.trim(), address: f.elements.address.value.trim(), base_phone: r.p || "", base_address: r.a || "" };
    if (pendingRef(r)) {
      // Registered offline: the registration still waiting carries the new values.
      var o = state.outbox.filter(function (z) { return z.id === r.i && z.st === "queued"; })[0];
      r.p = d.phone; r.a = d.address;
      if (o) { o.d.phone = d.phone; o.d.address = d.address; }
      tx(["residents", "outbox"], "readwrite", function (x) { x.objectStore("residents").put(r); if (o) { x.objectStore("outbox").put(o); } }).then(function () { $("contact-msg").textContent = t("village.saved"); });
      return;
    }
    queue("contact", d, { n: r.n, what: t("village.kind.contact") }).then(function () {
      r.p = d.phone; r.a = d.address;
      return tx(["residents"], "readwrite", function (x) { x.objectStore("residents").put(r); });
    }).then(function () { $("contact-msg").textContent = t("village.saved"); });
  }

  function onService(e) {
    e.preventDefault();
    var r = residentOf(state.current), f = e.target;
    if (!r) { return; }
    var d = { kind: f.elements.kind.value, date: f.elements.date.value, note: f.elements.note.value.trim() };
    if (pendingRef(r)) { d.resident_ref = r.i; } else { d.resident_id = r.i; }
    var errs = [];
    if (!d.date) { errs.push(["date", t("field.required")]); } else if (d.date > today()) { errs.push(["date", t("family.service.future")]); }
    if (!fieldErrors(f, errs)) { return; }
    queue("service", d, { n: r.n, what: t("family.kind." + d.kind) + " " + d.date }).then(function () {
      $("svc-msg").textContent = t("village.saved");
      f.elements.note.value = "";
    });
  }

  function onRegister(e) {
    e.preventDefault();
    var f = e.target, d = {}, errs = [];
    ["name", "id_number", "sex", "birth_date", "phone", "address"].forEach(function (k) { d[k] = f.elements[k].value.trim(); });
    d.id_number = d.id_number.replace(/\s+/g, "").toUpperCase();
    if (!d.name) { errs.push(["name", t("field.required")]); }
    if (!d.id_number && (!d.sex || !d.birth_date)) { errs.push(["id_number", t("village.id_or_birth")]); }
    if (!fieldErrors(f, errs)) { return; }
    queue("register", d, { n: d.name, what: t("village.kind.register") }).then(function (o) {
      // On the phone at once (the ID number masked as the server sends it),
      // so that the doctor can enrol and follow them up before any sync.
      var id = d.id_number, pr = { i: o.id, n: d.name, id: id ? id.slice(0, 6) + "********" + id.slice(-4) : "", p: d.phone, a: d.address, pending: true,
        x: d.sex || (id.length === 18 ? (Number(id.charAt(16)) % 2 ? "M" : "F") : ""),
        b: d.birth_date || (id.length === 18 ? id.slice(6, 10) + "-" + id.slice(10, 12) + "-" + id.slice(12, 14) : "") };
      state.residents.push(pr);
      return tx(["residents"], "readwrite", function (x) { x.objectStore("residents").put(pr); });
    }).then(function () {
      $("reg-msg").textContent = t("village.saved");
      f.reset();
      renderSearch();
    });
  }

  // onEnrol enrols the open resident in a chronic registry: one the phone
  // pulled, or one registered offline (named by its client UUID, which
  // the server resolves). The registration is on the phone at once, with
  // its first follow-up due on the enrolment day, as the server sets it.
  function onEnrol(e) {
    e.preventDefault();
    var r = residentOf(state.current), f = e.target;
    if (!r) { return; }
    var d = { disease: f.elements.disease.value, source: f.elements.source.value, enrolled_on: f.elements.enrolled_on.value }, errs = [];
    if (!d.enrolled_on || d.enrolled_on > today() || (r.b && d.enrolled_on < r.b)) { errs.push(["enrolled_on", t("chronic.date.invalid")]); }
    if (state.regs.some(function (g) { return g.r === r.i && g.d === d.disease; })) { errs.push(["disease", t("chronic.already_registered")]); }
    if (!fieldErrors(f, errs)) { return; }
    if (pendingRef(r)) { d.resident_ref = r.i; } else { d.resident_id = r.i; }
    queue("enrol", d, { n: r.n, what: disease(d.disease) }).then(function (o) {
      var g = { i: o.id, r: r.i, d: d.disease, nv: d.enrolled_on, pending: true };
      state.regs.push(g);
      return tx(["regs"], "readwrite", function (x) { x.objectStore("regs").put(g); });
    }).then(function () {
      openResident(r.i);
      $("enrol-msg").textContent = t("village.saved");
    });
  }

  // Screening campaigns (issue 17): the campaigns open over the village as
  // the last pull sent them (meta.sc), each with the residents still to
  // screen; a screening queued on the phone takes its resident off at once.
  function campaigns() { return state.meta.sc || []; }
  function campaignOf(id) { return campaigns().filter(function (c) { return String(c.i) === String(id); })[0] || null; }
  function screenedHere(cid) {
    return state.outbox.filter(function (o) { return o.k === "screening" && o.d.campaign_id === cid; }).map(function (o) { return o.d.resident_id || o.d.resident_ref; });
  }
  // ageOn is the age in whole years on day of someone born on birth (both YYYY-MM-DD).
  function ageOn(birth, day) {
    if (!birth) { return 0; }
    var a = Number(day.slice(0, 4)) - Number(birth.slice(0, 4));
    return day.slice(5) < birth.slice(5) ? a - 1 : a;
  }
  function renderScreening() {
    var box = clear($("campaigns")), day = today();
    if (!campaigns().length) { box.appendChild(el("p", { "class": "muted", text: t("village.screening_none") })); }
    campaigns().forEach(function (c) {
      var done = screenedHere(c.i), left = [];
      c.td.forEach(function (id) { var r = residentOf(id); if (r && !r.s && done.indexOf(id) < 0) { left.push(r); } });
      // Residents registered offline are not on the server's list yet.
      state.residents.forEach(function (r) { if (r.pending && done.indexOf(r.i) < 0 && ageOn(r.b, day) >= c.a) { left.push(r); } });
      var list = el("ul", { "class": "plain" });
      left.slice(0, 100).forEach(function (r) {
        var b = el("button", { type: "button", "class": "res link", "data-id": String(r.i) }, [el("span", { data: r.n }), " ", el("span", { "class": "muted", data: r.b || "" }),
          r.pending ? el("span", { "class": "muted", text: " · " + t("village.pending_resident") }) : null]);
        b.addEventListener("click", function () { openResident(r.i, c.i); });
        list.appendChild(el("li", {}, [b]));
      });
      if (left.length > 100) { list.appendChild(el("li", { text: t("village.more_n", left.length - 100) })); }
      box.appendChild(el("section", { "class": "campaign", "data-id": String(c.i) }, [el("h3", {}, [el("span", { data: c.n })]),
        el("p", { "class": "muted" }, [c.d.map(function (d) { return t("screening.disease." + d); }).join(", ") + " · ", el("span", { data: c.s + " – " + c.e }), " · " + t("screening.min_age", c.a)]),
        el("p", { "class": "left", "data-n": String(left.length), text: left.length ? t("village.screening_left", left.length) : t("village.screening_all_done") }), list]));
    });
    var routed = clear($("routed"));
    (state.meta.routed || []).forEach(function (x) {
      routed.appendChild(el("li", {}, [el("span", { data: x.n }), " · " + t("village.suspected_routed", t("screening.disease." + x.d), x.due)]));
    });
    if (!routed.children.length) { routed.appendChild(el("li", { "class": "muted", text: t("village.screening_none_routed") })); }
  }
  // screeningForm sets the resident's screening form up for the open
  // campaigns (campaign preselected), showing the measurements it screens for.
  function screeningForm(campaign) {
    var f = $("scr-form"), sel = clear(f.elements.campaign);
    campaigns().forEach(function (c) { sel.appendChild(el("option", { value: String(c.i), text: c.n })); });
    f.hidden = !campaigns().length;
    if (campaign) { sel.value = String(campaign); }
    f.elements.date.value = today();
    $("scr-msg").textContent = "";
    fieldErrors(f, []);
    screeningFields();
  }
  function screeningFields() {
    var c = campaignOf($("scr-form").elements.campaign.value);
    Array.prototype.forEach.call($("scr-form").querySelectorAll("[data-d]"), function (x) {
      x.hidden = !c || c.d.indexOf(x.getAttribute("data-d")) < 0;
      // What the campaign does not screen for is not sent.
      if (x.hidden) { Array.prototype.forEach.call(x.querySelectorAll("input"), function (i) { i.value = i.type === "checkbox" ? i.value : ""; i.checked = false; }); }
    });
  }
  // onScreen queues a screening. The limits are the server's
  // (screening's constants, sent with the pull), so the doctor hears of an
  // impossible value at once; the server applies the campaign's rules.
  function onScreen(e) {
    e.preventDefault();
    var r = residentOf(state.current), f = e.target, c = campaignOf(f.elements.campaign.value), lim = (state.meta.sr || {}).lim || {}, errs = [];
    if (!r || !c) { return; }
    var v = { date: f.elements.date.value, glucose: tenths(f, "glucose") };
    ["sbp1", "dbp1", "sbp2", "dbp2", "meal_hours", "cough_days"].forEach(function (k) { v[k] = num(f, k); });
    if (!v.date) { errs.push(["date", t("field.required")]); } else if (v.date > today()) { errs.push(["date", t("screening.date_future")]); } else if (v.date < c.s || v.date > c.e) { errs.push(["date", t("screening.date_outside", c.s, c.e)]); }
    ["sbp1", "dbp1", "sbp2", "dbp2", "glucose", "meal_hours", "cough_days"].forEach(function (k) { if (isNaN(v[k])) { errs.push([k, t("field.number")]); } });
    function outside(k, x) { return lim[k] && (x < lim[k][0] || x > lim[k][1]); }
    var bp = v.sbp1 || v.dbp1 || v.sbp2 || v.dbp2;
    if (bp) {
      [1, 2].forEach(function (n) {
        var sb = v["sbp" + n], db = v["dbp" + n];
        if (!sb || !db) { errs.push(["sbp" + n, t("screening.bp_pair")]); } else if (outside("sbp", sb)) { errs.push(["sbp" + n, t("screening.sbp_range", lim.sbp[0], lim.sbp[1])]); } else if (outside("dbp", db)) { errs.push(["dbp" + n, t("screening.dbp_range", lim.dbp[0], lim.dbp[1])]); } else if (db >= sb) { errs.push(["dbp" + n, t("screening.dbp_above_sbp")]); }
      });
    }
    if (v.glucose) {
      if (outside("glucose", v.glucose)) { errs.push(["glucose", t("screening.glucose_range", lim.glucose[0] / 10, lim.glucose[1] / 10)]); }
      if (outside("meal_hours", v.meal_hours)) { errs.push(["meal_hours", t("screening.meal_hours_range", lim.meal_hours[1])]); }
    }
    if (outside("cough_days", v.cough_days)) { errs.push(["cough_days", t("screening.cough_days_range", lim.cough_days[1])]); }
    if (!bp && !v.glucose && c.d.indexOf("tb") < 0) { errs.push(["sbp1", t("screening.nothing_measured")]); }
    if (!fieldErrors(f, errs)) { return; }
    var d = { campaign_id: c.i, date: v.date };
    ["sbp1", "dbp1", "sbp2", "dbp2", "glucose", "meal_hours", "cough_days"].forEach(function (k) { if (v[k]) { d[k] = v[k]; } });
    if (f.elements.haemoptysis.checked) { d.haemoptysis = true; }
    if (pendingRef(r)) { d.resident_ref = r.i; } else { d.resident_id = r.i; }
    queue("screening", d, { n: r.n, what: c.n + " " + v.date }).then(function () {
      f.reset();
      screeningForm(c.i);
      $("scr-msg").textContent = t("village.saved");
    });
  }

  function renderToday() {
    var due = clear($("due")), od = clear($("overdue-list")), day = today(), n = 0;
    state.regs.filter(function (g) { return g.nv === day && g.done !== day; }).forEach(function (g) {
      var r = residentOf(g.r);
      if (!r) { return; }
      n++;
      var b = el("button", { type: "button", "class": "link" }, [el("span", { data: r.n })]);
      b.addEventListener("click", function () { openResident(r.i); });
      due.appendChild(el("li", {}, [b, " · " + disease(g.d)]));
    });
    if (!n) { due.appendChild(el("li", { text: t("village.none_due") })); }
    var m = 0;
    state.overdue.forEach(function (o) {
      var g = regOf(o.g), r = g && residentOf(g.r);
      if (!r || g.done || g.called) { return; }
      m++;
      var sel = el("select", { name: "outcome", "aria-label": t("village.call_outcome") }, (M.callOutcomes || []).map(function (c) { return el("option", { value: c, text: t("chronic.call." + c) }); }));
      var form = el("form", { "class": "inline call" }, [sel, el("button", { type: "submit", text: t("village.save_call") })]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        queue("call", { registration_id: g.i, outcome: sel.value }, { n: r.n, what: t("chronic.call." + sel.value) }).then(function () {
          g.called = true;
          return tx(["regs"], "readwrite", function (x) { x.objectStore("regs").put(g); });
        }).then(renderToday);
      });
      var b = el("button", { type: "button", "class": "link" }, [el("span", { data: r.n })]);
      b.addEventListener("click", function () { openResident(r.i); });
      var phone = r.p ? el("a", { href: "tel:" + r.p }, [el("span", { data: r.p })]) : null;
      od.appendChild(el("li", {}, [b, " · " + disease(g.d) + " · " + t("village.days_overdue", o.n) + " ", phone, form]));
    });
    if (!m) { od.appendChild(el("li", { text: t("village.none_overdue") })); }
  }

  function renderOutbox() {
    var list = clear($("problems")), n = 0;
    state.outbox.forEach(function (o) {
      if (o.st === "queued") { return; }
      n++;
      var kids = [el("strong", { text: o.st === "refused" ? t("village.refused") : t("village.conflicted") }), " · " + t("village.kind." + o.k) + " · ",
        el("span", { data: (o.label && o.label.n) || "" }), " ", el("span", { data: (o.label && o.label.what) || "" }), el("p", { "class": "msg", text: o.msg || "" })];
      (o.fields || []).forEach(function (f) { kids.push(el("p", { "class": "field-error", text: f.m })); });
      if (o.server) { kids.push(el("p", {}, [t("village.server_copy") + " ", el("span", { data: [o.server.n, o.server.p, o.server.a].filter(Boolean).join(" · ") })])); }
      var again = el("button", { type: "button", text: t("village.fix") });
      again.addEventListener("click", function () { resend(o); });
      var drop = el("button", { type: "button", "class": "link", text: t("village.discard") });
      drop.addEventListener("click", function () { discard(o); });
      kids.push(el("p", {}, [o.k === "followup" || o.k === "screening" ? again : null, " ", drop]));
      list.appendChild(el("li", { "class": "problem", "data-id": o.id }, kids));
    });
    if (!n) { list.appendChild(el("li", { text: t("village.no_problems") })); }
  }

  function removeOutbox(id) {
    state.outbox = state.outbox.filter(function (o) { return o.id !== id; });
    state.visits = state.visits.filter(function (v) { return v.i !== id; });
    dropPending(id);
    return tx(["outbox", "visits", "residents", "regs"], "readwrite", function (x) {
      ["outbox", "visits", "residents", "regs"].forEach(function (n) { x.objectStore(n).delete(id); });
    });
  }
  // dropPending forgets the phone's copy of a resident or registration
  // made offline (id is its client UUID) once the server's has come, or
  // the record was discarded.
  function dropPending(id) {
    state.residents = state.residents.filter(function (r) { return r.i !== id; });
    state.regs = state.regs.filter(function (g) { return g.i !== id; });
  }
  function discard(o) { removeOutbox(o.id).then(function () { status(); renderOutbox(); }); }
  // resend opens a refused follow-up in the form, with what the doctor
  // entered, to correct it; saving makes a new record (a new UUID).
  function resend(o) {
    if (o.k === "screening") { return resendScreening(o); }
    var g = regOf(o.d.registration_id || o.d.registration_ref);
    removeOutbox(o.id).then(function () {
      status();
      if (!g) { return; }
      openResident(g.r);
      var f = $("fu-form"), v = o.d.visit;
      f.elements.reg.value = String(g.i);
      ["date", "mode", "sbp", "dbp", "heart_rate", "fpg", "adherence"].forEach(function (k) { if (v[k] !== undefined && f.elements[k]) { f.elements[k].value = v[k]; } });
      f.elements.confirm.checked = !!v.confirm;
      fieldErrors(f, (o.fields || []).map(function (x) { return [x.f, x.m]; }));
    });
  }

  function resendScreening(o) {
    removeOutbox(o.id).then(function () {
      status();
      var r = residentOf(o.d.resident_id || o.d.resident_ref);
      if (!r) { return; }
      openResident(r.i, o.d.campaign_id);
      var f = $("scr-form");
      ["date", "sbp1", "dbp1", "sbp2", "dbp2", "meal_hours", "cough_days"].forEach(function (k) { if (o.d[k] !== undefined) { f.elements[k].value = o.d[k]; } });
      if (o.d.glucose) { f.elements.glucose.value = (o.d.glucose / 10).toFixed(1); }
      f.elements.haemoptysis.checked = !!o.d.haemoptysis;
      fieldErrors(f, (o.fields || []).map(function (x) { return [x.f, x.m]; }));
    });
  }

  // Sync: push the queue (urgent first), then pull from the cursor.
  var timer = null;
  function syncSoon() { if (timer) { clearTimeout(timer); } timer = setTimeout(sync, 300); }
  function api(method, path, body) {
    var h = { "Accept": "application/json" };
    if (body) { h["Content-Type"] = "application/json"; h["X-CSRF-Token"] = state.csrf || ""; }
    return fetch(path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { var e = new Error("signed out"); e.unauthorized = true; throw e; }
      return r.json().then(function (j) { if (!r.ok) { var e = new Error(j.message || String(r.status)); e.body = j; throw e; } return j; });
    });
  }
  function sync() {
    if (state.syncing || !navigator.onLine || !db) { return Promise.resolve(); }
    state.syncing = true;
    status(t("village.syncing"));
    return api("GET", "/api/v1/me").then(function (me) {
      state.csrf = me.csrf_token;
      if (state.meta.account && state.meta.account !== me.account_id) {
        // Another doctor signed in on this phone: nothing of the first stays.
        return wipe().then(open).then(function (d) { db = d; state.meta = {}; return load(); }).then(function () { state.meta.account = me.account_id; });
      }
      state.meta.account = me.account_id;
    }).then(push).then(pull).then(function () {
      state.syncing = false;
      status("");
      // When the last sync ended (ms after navigation start): the Fast 3G benchmark reads it.
      root.setAttribute("data-synced", String(Math.round(performance.now())));
      if (!$("v-resident").hidden) { openResident(state.current); } else { show(currentTab()); }
    }).catch(function (e) {
      state.syncing = false;
      status(e.unauthorized ? t("village.signin_again") : t("village.sync_failed"));
      $("signin").hidden = !e.unauthorized;
    });
  }
  function currentTab() {
    var b = document.querySelector("[data-tab][aria-pressed=true]");
    return b ? b.getAttribute("data-tab") : "residents";
  }
  function push() {
    var q = state.outbox.filter(function (o) { return o.st === "queued"; });
    if (!q.length) { return Promise.resolve(); }
    q.sort(function (a, b) { return (b.urgent ? 1 : 0) - (a.urgent ? 1 : 0) || (a.at < b.at ? -1 : 1); });
    var batch = q.slice(0, 200);
    return api("POST", "/api/v1/sync/push", { now: new Date().toISOString().slice(0, 19) + "Z", changes: batch.map(function (o) { return { id: o.id, k: o.k, d: o.d }; }) }).then(function (res) {
      var byId = {};
      batch.forEach(function (o) { byId[o.id] = o; });
      return tx(["outbox", "visits", "residents", "regs"], "readwrite", function (x) {
        res.results.forEach(function (r) {
          var o = byId[r.id];
          if (!o) { return; }
          if (r.r) { x.objectStore("residents").put(r.r); }
          if ((o.k === "register" || o.k === "enrol") && (r.s === "accepted" || (r.s === "conflicted" && (r.r || r.sid)))) {
            x.objectStore(o.k === "register" ? "residents" : "regs").delete(o.id);
            dropPending(o.id);
          }
          if (r.s === "accepted" && r.sus) {
            // Suspected cases the screening routed to the township: kept for the doctor to see.
            state.meta.routed = r.sus.map(function (c) { return { n: (o.label && o.label.n) || "", d: c.d, due: c.due }; }).concat(state.meta.routed || []).slice(0, 50);
          }
          if (r.s === "accepted") {
            x.objectStore("outbox").delete(o.id); x.objectStore("visits").delete(o.id);
            state.outbox = state.outbox.filter(function (z) { return z.id !== o.id; });
          } else if (r.s === "refused" || r.s === "conflicted") {
            o.st = r.s; o.msg = r.m; o.fields = r.fields || []; o.why = r.why; o.server = r.r || null;
            if (r.s === "conflicted" && r.why === "duplicate" && o.k === "followup") { x.objectStore("visits").delete(o.id); }
            x.objectStore("outbox").put(o);
          }
        });
      });
    }).then(function () { return q.length > 200 ? push() : null; });
  }
  function pull() {
    var since = state.meta.cursor || "";
    return api("GET", "/api/v1/sync/pull?since=" + encodeURIComponent(since) + "&now=" + encodeURIComponent(new Date().toISOString().slice(0, 19) + "Z")).then(function (p) {
      return tx(["residents", "regs", "visits", "overdue", "meta"], "readwrite", function (x) {
        var rs = x.objectStore("residents"), gs = x.objectStore("regs"), vs = x.objectStore("visits"), os = x.objectStore("overdue");
        if (p.f) {
          rs.clear(); vs.clear();
          state.residents.forEach(function (r) { if (r.pending) { rs.put(r); } });
        }
        p.r.forEach(function (r) {
          // A record merged on the server: the device's copy goes; the survivor comes in the same pull.
          if (r.m || r.s === "merged") { rs.delete(r.i); } else { rs.put(r); }
        });
        if (p.ids) {
          var keep = {};
          p.ids.forEach(function (i) { keep[i] = true; });
          state.residents.forEach(function (r) { if (!keep[r.i] && !r.pending) { rs.delete(r.i); } });
        }
        gs.clear();
        p.g.forEach(function (g) { gs.put(g); });
        state.regs.forEach(function (g) { if (g.pending) { gs.put(g); } });
        p.v.forEach(function (v) { vs.put(v); });
        os.clear();
        p.o.forEach(function (o) { os.put(o); });
        state.meta.cursor = p.c; state.meta.lastContact = new Date().toISOString(); state.meta.today = p.t;
        state.meta.wipeAfter = p.w; state.meta.urgent = p.u; state.meta.skew = p.sk || 0;
        state.meta.sc = p.sc || []; state.meta.sr = p.sr || null;
        x.objectStore("meta").put(state.meta, "meta");
      });
    }).then(load).then(function () {
      $("skew").hidden = !state.meta.skew;
      if (state.meta.skew) { $("skew").textContent = t("village.clock_skew", Math.round(Math.abs(state.meta.skew) / 60)); }
    });
  }

  function signOut() {
    var queued = state.outbox.filter(function (o) { return o.st === "queued"; }).length;
    if (queued && !window.confirm(t("village.signout_unsent", queued))) { return; }
    wipe().then(function () { $("logout-form").submit(); });
  }

  function start() {
    open().then(function (d) { db = d; return load(); }).then(function () {
      var wipeAfter = state.meta.wipeAfter;
      if (state.meta.lastContact && wipeAfter && Date.now() - Date.parse(state.meta.lastContact) > wipeAfter * 1000) {
        // Too long without contact: what the phone holds goes.
        var days = Math.round(wipeAfter / 86400);
        return wipe().then(open).then(function (d) { db = d; state.meta = {}; return load(); }).then(function () { status(t("village.wiped", days)); });
      }
    }).then(function () {
      status();
      show("residents");
      root.setAttribute("data-ready", String(Math.round(performance.now())));
      return sync();
    });
    if (navigator.serviceWorker && root.getAttribute("data-sw")) {
      navigator.serviceWorker.register(root.getAttribute("data-sw"), { scope: "/village/" }).catch(function () {});
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (b) { b.addEventListener("click", function () { show(b.getAttribute("data-tab")); }); });
  $("q").addEventListener("input", renderSearch);
  $("fu-form").addEventListener("submit", onFollowUp);
  $("contact-form").addEventListener("submit", onContact);
  $("svc-form").addEventListener("submit", onService);
  $("enrol-form").addEventListener("submit", onEnrol);
  $("scr-form").addEventListener("submit", onScreen);
  $("scr-campaign").addEventListener("change", screeningFields);
  $("reg-form").addEventListener("submit", onRegister);
  $("sync-now").addEventListener("click", sync);
  $("back").addEventListener("click", function () { show("residents"); });
  $("signout").addEventListener("click", signOut);
  window.addEventListener("online", function () { status(); sync(); });
  window.addEventListener("offline", function () { status(); });
  setInterval(function () { if (state.outbox.some(function (o) { return o.st === "queued"; })) { sync(); } }, 60000);
  start();
}());
