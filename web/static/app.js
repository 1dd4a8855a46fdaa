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
  // Live events (new consultations, escalations, messages): a banner, a
  // short tone and the tab title, without reloading. Only for clinicians.
  var nav = document.getElementById("nav-consult");
  if (nav && window.EventSource) {
    var es = new EventSource("/events");
    window.countycareEvents = es; // shared with video.js (one stream per page)
    var title = document.title;
    var onEvent = function (e) {
      var d = {};
      try { d = JSON.parse(e.data); } catch (x) { return; }
      var bar = document.getElementById("live-banner");
      if (!bar) {
        bar = document.createElement("a");
        bar.id = "live-banner";
        bar.className = "alert urgent live";
        bar.setAttribute("role", "alert");
        document.body.insertBefore(bar, document.body.firstChild);
      }
      var en = document.documentElement.lang === "en";
      var label = { "consult.new": en ? "New consultation" : "新的会诊请求", "consult.escalated": en ? "Consultation escalated to you" : "会诊已升级给您",
        "consult.message": en ? "New message" : "会诊新留言", "consult.accepted": en ? "Consultation accepted" : "会诊已被接收",
        "consult.answered": en ? "Opinion signed" : "会诊意见已签署", "consult.declined": en ? "Consultation declined" : "会诊被退回",
        "consult.video": en ? "Video call waiting for you" : "对方已发起视频会诊，请加入",
        "critical.raised": en ? "Critical value: acknowledge now" : "危急值：请立即处理并读回确认",
        "critical.escalated": en ? "Critical value escalated to you" : "危急值超时未确认，已升级给您" }[e.type] || e.type;
      bar.textContent = label + " #" + d.id + (d.text ? " · " + d.text : "");
      bar.href = e.type.indexOf("critical.") === 0 ? "/critical" : "/consult/" + d.id;
      document.title = "● " + title;
      try {
        var ctx = new (window.AudioContext || window.webkitAudioContext)();
        var o = ctx.createOscillator();
        o.frequency.value = 880;
        o.connect(ctx.destination);
        o.start();
        o.stop(ctx.currentTime + 0.25);
      } catch (x) { /* no audio: the banner is enough */ }
    };
    ["consult.new", "consult.escalated", "consult.message", "consult.accepted", "consult.answered", "consult.declined", "consult.closed", "consult.cancelled", "consult.video"].forEach(function (k) {
      es.addEventListener(k, onEvent);
    });
    ["critical.raised", "critical.escalated"].forEach(function (k) { es.addEventListener(k, onEvent); });
  }
})();
