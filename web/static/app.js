// countycare: small progressive enhancements; every page works without it.
(function () {
  "use strict";
  // Ask before actions that cannot be undone (merging records, disabling accounts).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.action && /\/(merge|disable|end)$/.test(f.action) && !window.confirm(document.documentElement.lang === "en" ? "Are you sure?" : "确定要执行此操作吗？")) {
      e.preventDefault();
    }
  });
  // Signing out wipes what the village app keeps on this device (its
  // residents, its queue, its cached shell: docs/village-app.md), from
  // whichever page the doctor signs out.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.action || !/\/logout$/.test(f.action)) { return; }
    if (window.indexedDB) { window.indexedDB.deleteDatabase("countycare-village"); }
    if (window.caches) {
      caches.keys().then(function (ks) { ks.forEach(function (k) { if (k.indexOf("village-") === 0) { caches.delete(k); } }); });
    }
  });
  // A form that came back with errors: move focus to the summary at the top
  // (role="alert", tabindex="-1"), so keyboard and screen-reader users start
  // there; each field's message is tied to its input by aria-describedby.
  var summary = document.getElementById("form-error");
  if (summary) { summary.focus(); }
  // Normalise an ID number as it is typed: upper-case X, no spaces.
  var id = document.getElementById("id_number");
  if (id) {
    id.addEventListener("change", function () { id.value = id.value.replace(/\s+/g, "").toUpperCase(); });
  }
  // Countdowns to a consultation's response deadline (the queue on
  // /consult): ticking every second from the server's deadline (RFC 3339,
  // Beijing time), corrected by the skew between the server's clock (the
  // page's data-now) and this device's.
  var skew = 0;
  var tick = function () {
    var sec = document.getElementById("queue-section");
    if (!sec) { return; }
    var now = Date.now() + skew;
    var els = sec.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < els.length; i++) {
      var ms = Date.parse(els[i].getAttribute("data-deadline")) - now;
      var s = Math.floor(Math.abs(ms) / 1000);
      var t = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      var late = ms < 0;
      els[i].textContent = (late ? sec.getAttribute("data-over") : sec.getAttribute("data-left")).replace("{t}", t);
      els[i].classList.toggle("late", late);
    }
  };
  var setSkew = function (sec) {
    var n = sec && Date.parse(sec.getAttribute("data-now"));
    if (n) { skew = n - Date.now(); }
  };
  setSkew(document.getElementById("queue-section"));
  tick();
  window.setInterval(tick, 1000);
  // Re-read the queue after a live event:
  // new rows appear without a reload, rendered and masked by the server.
  var refreshQueue = function () {
    var old = document.getElementById("queue-section");
    if (!old || !window.fetch || !window.DOMParser) { return; }
    var t0 = Date.now();
    fetch("/consult", { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("queue-section"), cur = document.getElementById("queue-section");
      if (!fresh || !cur) { return; }
      var seen = {};
      cur.querySelectorAll("li[data-id]").forEach(function (li) { seen[li.getAttribute("data-id")] = true; });
      fresh.querySelectorAll("li[data-id]").forEach(function (li) { if (!seen[li.getAttribute("data-id")]) { li.classList.add("arrived"); } });
      cur.replaceWith(document.importNode(fresh, true));
      var n = Date.parse(document.getElementById("queue-section").getAttribute("data-now"));
      if (n) { skew = n - (t0 + Date.now()) / 2; }
      tick();
    }).catch(function () { /* the banner still links the case */ });
  };
  // Live events (new consultations, escalations, messages, critical
  // values): a banner that stays within the screen, a short tone and the
  // tab title, without reloading. Only for clinicians (the banner's
  // element is on their pages, its texts from the message catalogue).
  var bar = document.getElementById("live-banner");
  if (bar && window.EventSource) {
    var es = new EventSource("/events");
    window.countycareEvents = es; // shared with video.js (one stream per page)
    var title = document.title;
    var labels = {};
    try { labels = JSON.parse(bar.getAttribute("data-labels")); } catch (x) { /* kinds shown as they are */ }
    document.getElementById("live-close").addEventListener("click", function () {
      bar.hidden = true;
      document.title = title;
    });
    var onEvent = function (e) {
      var d = {};
      try { d = JSON.parse(e.data); } catch (x) { return; }
      var link = document.getElementById("live-link");
      link.textContent = (labels[e.type] || e.type) + " #" + d.id + (d.text ? " · " + d.text : "");
      link.href = e.type.indexOf("critical.") === 0 ? "/critical" : e.type.indexOf("consult.") === 0 ? "/consult/" + d.id : "/";
      bar.setAttribute("data-kind", e.type);
      bar.hidden = false;
      document.title = "● " + title;
      if (e.type.indexOf("consult.") === 0) { refreshQueue(); }
      try {
        var ctx = new (window.AudioContext || window.webkitAudioContext)();
        var o = ctx.createOscillator();
        o.frequency.value = 880;
        o.connect(ctx.destination);
        o.start();
        o.stop(ctx.currentTime + 0.25);
      } catch (x) { /* no audio: the banner is enough */ }
    };
    Object.keys(labels).forEach(function (k) { es.addEventListener(k, onEvent); });
    // The server's link to the other replicas was lost and is back: events
    // may have been missed, so the queue is re-read from the database.
    es.addEventListener("resync", refreshQueue);
  }
})();
