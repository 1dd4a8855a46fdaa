// countycare: the ECG viewer. The waveform is drawn on a calibrated grid:
// 25 mm/s and 10 mm/mV by default, 1 mm minor and 5 mm major lines, where
// a millimetre is a CSS millimetre (96/25.4 CSS px, the CSS reference) or
// the user's own calibration (kept in localStorage), and the canvas has
// devicePixelRatio device pixels per CSS pixel so lines stay sharp. The
// samples come in segments from GET /api/v1/ecg/studies/{id}/samples (ADC
// units, gain and baseline per lead, the detected beats). Pan by dragging
// (pointer events: mouse, pen, touch), zoom with the buttons, a pinch or
// ctrl+wheel; in calipers mode a drag measures time (ms, bpm) and
// amplitude (mV) on the lead under the pointer. Everything also works from
// the keyboard on the focused waveform (docs/viewers.md): arrows pan, + and
// − zoom; in calipers mode the arrows move a marker on the trace, ↑/↓ pick
// the lead, Enter sets the first then the second marker, Esc clears, and
// the measurement is announced in the caliper line (a polite live region).
(function () {
  "use strict";
  var box = document.getElementById("ecg-viewer");
  if (!box || !window.fetch) { return; }
  var canvas = document.getElementById("ecg-canvas");
  var ctx = canvas.getContext("2d");
  var posInput = document.getElementById("ecg-pos");
  var posOut = document.getElementById("ecg-pos-out");
  var scaleOut = document.getElementById("ecg-scale");
  var calOut = document.getElementById("ecg-caliper");
  var modeBtn = document.getElementById("ecg-mode");
  var gainSel = document.getElementById("ecg-gain");
  var speedSel = document.getElementById("ecg-speed");
  var pxmmInput = document.getElementById("ecg-pxmm");
  var calibBar = document.getElementById("ecg-calib-bar");
  var study = box.dataset.study;
  var duration = parseFloat(box.dataset.seconds) || 0;
  var SEG = 20; // seconds per request
  var CSS_PX_PER_MM = 96 / 25.4;
  var TOP = 16; // CSS px above the leads for the beat marks

  var st = {
    pxPerMm: CSS_PX_PER_MM, speed: 25, gain: 10, zoom: 1, offset: 0, mode: "pan",
    leads: null, fs: 0, frames: 0, segs: {}, caliper: null
  };
  try {
    var saved = parseFloat(window.localStorage.getItem("countycare.ecg.pxPerMm"));
    if (saved >= 1 && saved <= 40) { st.pxPerMm = saved; }
  } catch (x) { /* storage may be off */ }

  function pxPerSecond() { return st.speed * st.pxPerMm * st.zoom; }
  function pxPerMv() { return st.gain * st.pxPerMm * st.zoom; }
  function rowHeight() { return 3 * pxPerMv(); } // 3 mV per lead
  function visibleSeconds() { return canvas.clientWidth / pxPerSecond(); }

  // The figures a test or a curious reader can check.
  window.countycareECG = {
    pxPerMm: function () { return st.pxPerMm * st.zoom; },
    pxPerSecond: pxPerSecond, pxPerMv: pxPerMv,
    state: st
  };

  function say(text) { calOut.textContent = text; }
  function fmt(s, args) {
    var i = 0;
    return s.replace(/%[sd]/g, function () { return String(args[i++]); });
  }

  function segment(i) {
    var s = st.segs[i];
    if (s) { return s.data ? s : null; }
    st.segs[i] = {};
    fetch("/api/v1/ecg/studies/" + study + "/samples?start=" + (i * SEG) + "&seconds=" + SEG, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (d) {
        st.segs[i].data = d;
        if (!st.leads) {
          st.leads = d.leads.map(function (l) { return l.name; });
          st.fs = d.fs; st.frames = d.frames;
          duration = d.frames / d.fs;
          posInput.max = String(Math.max(0, duration - 1).toFixed(1));
          layout();
        }
        box.dataset.loaded = String((parseInt(box.dataset.loaded || "0", 10)) + 1);
        draw();
      })
      .catch(function () {
        delete st.segs[i];
        say(box.dataset.tFailed);
      });
    return null;
  }

  function layout() {
    var w = canvas.parentNode.clientWidth;
    var n = st.leads ? st.leads.length : 1;
    var h = Math.round(TOP + n * rowHeight());
    var dpr = window.devicePixelRatio || 1;
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    canvas.dataset.pxPerSecond = pxPerSecond().toFixed(4);
    canvas.dataset.pxPerMm = (st.pxPerMm * st.zoom).toFixed(4);
    scaleOut.textContent = (st.speed * st.zoom).toFixed(1) + " mm/s · " + (st.gain * st.zoom).toFixed(0) + " mm/mV";
    if (calibBar) { calibBar.style.width = (50 * st.pxPerMm) + "px"; }
    if (pxmmInput && document.activeElement !== pxmmInput) { pxmmInput.value = st.pxPerMm.toFixed(2); }
    clamp();
    draw();
  }

  function clamp() {
    var maxOff = Math.max(0, duration - visibleSeconds());
    st.offset = Math.min(Math.max(0, st.offset), maxOff);
    posInput.value = String(st.offset.toFixed(1));
    posOut.textContent = st.offset.toFixed(1) + " s";
  }

  function grid(w, h) {
    var mm = st.pxPerMm * st.zoom;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    // Vertical lines follow the record's time so they scroll with it.
    var secPerMm = 1 / st.speed;
    var first = Math.floor(st.offset / secPerMm);
    var k, x, y;
    for (var pass = 0; pass < 2; pass++) {
      if (pass === 0 && mm < 2) { continue; } // minor lines too dense to see
      ctx.beginPath();
      ctx.strokeStyle = pass === 0 ? "#f6c8c8" : "#e08a8a";
      ctx.lineWidth = pass === 0 ? 0.5 : 1;
      for (k = first; ; k++) {
        x = (k * secPerMm - st.offset) * pxPerSecond();
        if (x > w) { break; }
        if ((k % 5 === 0) !== (pass === 1)) { continue; }
        ctx.moveTo(Math.round(x) + 0.5, TOP);
        ctx.lineTo(Math.round(x) + 0.5, h);
      }
      for (k = 0; ; k++) {
        y = TOP + k * mm;
        if (y > h) { break; }
        if ((k % 5 === 0) !== (pass === 1)) { continue; }
        ctx.moveTo(0, Math.round(y) + 0.5);
        ctx.lineTo(w, Math.round(y) + 0.5);
      }
      ctx.stroke();
    }
  }

  function draw() {
    var w = canvas.clientWidth, h = canvas.clientHeight;
    grid(w, h);
    if (!st.leads) { return; }
    var t0 = st.offset, t1 = st.offset + visibleSeconds();
    var pps = pxPerSecond(), ppm = pxPerMv(), rh = rowHeight();
    var missing = false, beats = 0;
    ctx.lineWidth = 1.2;
    ctx.strokeStyle = "#111";
    for (var si = Math.floor(t0 / SEG); si * SEG < Math.min(t1, duration); si++) {
      var s = segment(si);
      if (!s) { missing = true; continue; }
      var d = s.data;
      var segStart = d.start / d.fs;
      d.leads.forEach(function (l, li) {
        var mid = TOP + li * rh + rh / 2;
        var i0 = Math.max(0, Math.floor((t0 - segStart) * l.fs) - 1);
        var i1 = Math.min(l.samples.length, Math.ceil((t1 - segStart) * l.fs) + 1);
        ctx.beginPath();
        for (var i = i0; i < i1; i++) {
          var x = (segStart + i / l.fs - t0) * pps;
          var y = mid - (l.samples[i] - l.baseline) / l.gain * ppm;
          if (i === i0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
        }
        ctx.stroke();
      });
      // Beat marks of the pre-read's QRS detector, with the RR in ms.
      ctx.fillStyle = "#b42318";
      ctx.font = "10px sans-serif";
      var prev = null;
      d.beats.forEach(function (b) {
        var t = b / d.beats_fs;
        if (t < t0 - 2 || t > t1 + 2) { prev = t; return; }
        var x = (t - t0) * pps;
        ctx.beginPath();
        ctx.moveTo(x - 4, 2); ctx.lineTo(x + 4, 2); ctx.lineTo(x, TOP - 4); ctx.closePath();
        ctx.fill();
        if (prev !== null && (t - prev) * pps > 40) {
          ctx.fillText(String(Math.round((t - prev) * 1000)), (prev - t0) * pps + 6, 11);
        }
        if (t >= t0 && t <= t1) { beats++; }
        prev = t;
      });
    }
    // Lead labels.
    ctx.font = "bold 12px sans-serif";
    ctx.fillStyle = "#1f2937";
    st.leads.forEach(function (name, li) { ctx.fillText(name, 4, TOP + li * rh + 14); });
    canvas.dataset.beats = String(beats);
    if (!missing) { canvas.dataset.drawn = "1"; }
    if (st.caliper) { drawCaliper(); }
  }

  function drawCaliper() {
    var c = st.caliper, pps = pxPerSecond(), ppm = pxPerMv(), rh = rowHeight();
    var xa = (c.ta - st.offset) * pps, xb = (c.tb - st.offset) * pps;
    var mid = TOP + c.lead * rh + rh / 2;
    var ya = mid - c.va * ppm, yb = mid - c.vb * ppm;
    ctx.strokeStyle = "#175cd3";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(xa, TOP); ctx.lineTo(xa, canvas.clientHeight);
    ctx.moveTo(xb, TOP); ctx.lineTo(xb, canvas.clientHeight);
    ctx.moveTo(Math.min(xa, xb) - 10, ya); ctx.lineTo(Math.max(xa, xb) + 10, ya);
    ctx.moveTo(Math.min(xa, xb) - 10, yb); ctx.lineTo(Math.max(xa, xb) + 10, yb);
    ctx.stroke();
  }

  // at converts a pointer position to record time, lead and millivolts.
  function at(ev) {
    var r = canvas.getBoundingClientRect();
    var x = ev.clientX - r.left, y = ev.clientY - r.top;
    var n = st.leads ? st.leads.length : 1;
    var lead = Math.min(n - 1, Math.max(0, Math.floor((y - TOP) / rowHeight())));
    var mid = TOP + lead * rowHeight() + rowHeight() / 2;
    return { t: st.offset + x / pxPerSecond(), lead: lead, v: (mid - y) / pxPerMv() };
  }

  function showCaliper() {
    var c = st.caliper;
    var ms = Math.abs(c.tb - c.ta) * 1000;
    var bpm = ms > 0 ? 60000 / ms : 0;
    var mv = Math.abs(c.vb - c.va);
    say(fmt(box.dataset.tCaliper, [Math.round(ms), bpm ? Math.round(bpm) : "–", mv.toFixed(2)]));
    box.dataset.caliperMs = String(Math.round(ms));
  }

  // valueAt is the trace's amplitude (mV) on a lead at record time t, or
  // null when that segment has not arrived.
  function valueAt(lead, t) {
    var s = st.segs[Math.floor(t / SEG)];
    if (!s || !s.data) { return null; }
    var l = s.data.leads[lead];
    var i = Math.round((t - s.data.start / s.data.fs) * l.fs);
    if (i < 0 || i >= l.samples.length) { return null; }
    return (l.samples[i] - l.baseline) / l.gain;
  }

  // Keyboard calipers: kb.phase is "a" while the first marker moves (both
  // markers together), "b" while the second moves, "done" once both are set.
  var kb = null;
  function kbMove(dt) {
    var c = st.caliper;
    var t = Math.min(Math.max(0, (kb.phase === "a" ? c.ta : c.tb) + dt), Math.max(0, duration - 0.001));
    var v = valueAt(c.lead, t);
    if (kb.phase === "a") { c.ta = c.tb = t; c.va = c.vb = v === null ? 0 : v; } else { c.tb = t; c.vb = v === null ? c.vb : v; }
    // Keep the moving marker in view.
    if (t < st.offset || t > st.offset + visibleSeconds()) { st.offset = t - visibleSeconds() / 2; clamp(); }
  }
  function kbAnnounce() {
    var c = st.caliper;
    if (kb.phase === "a") {
      say(fmt(box.dataset.tCaliperA, [c.ta.toFixed(3), st.leads[c.lead]]));
    } else {
      showCaliper();
      if (kb.phase === "b") { calOut.textContent += " · " + box.dataset.tCaliperB; }
    }
  }
  function caliperKey(ev) {
    var step = ev.shiftKey ? 0.1 : 0.01; // seconds
    var n = st.leads.length;
    if (!st.caliper || !kb || (kb.phase === "done" && /^Arrow(Left|Right)$/.test(ev.key))) {
      if (!/^(Arrow(Left|Right|Up|Down)|Enter)$/.test(ev.key)) { return false; }
      var t0 = st.offset + visibleSeconds() / 2;
      st.caliper = { ta: t0, tb: t0, va: 0, vb: 0, lead: st.caliper ? st.caliper.lead : 0 };
      kb = { phase: "a" };
      kbMove(0);
      if (ev.key !== "Enter") { kbAnnounce(); draw(); return true; }
    }
    var c = st.caliper;
    switch (ev.key) {
    case "ArrowLeft": kbMove(-step); break;
    case "ArrowRight": kbMove(step); break;
    case "ArrowUp": case "ArrowDown":
      c.lead = (c.lead + (ev.key === "ArrowUp" ? n - 1 : 1)) % n;
      var va = valueAt(c.lead, c.ta), vb = valueAt(c.lead, c.tb);
      c.va = va === null ? 0 : va; c.vb = vb === null ? 0 : vb;
      break;
    case "Enter":
      if (kb.phase === "a") { kb.phase = "b"; } else if (kb.phase === "b") { kb.phase = "done"; } else { return true; }
      break;
    case "Escape":
      st.caliper = null; kb = null;
      say(box.dataset.tCaliperHint);
      draw();
      return true;
    default:
      return false;
    }
    kbAnnounce();
    draw();
    return true;
  }
  canvas.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || !st.leads) { return; }
    var handled = true;
    if (ev.key === "c" || ev.key === "C") {
      setMode(st.mode === "caliper" ? "pan" : "caliper");
    } else if (ev.key === "+" || ev.key === "=") {
      zoomTo(st.zoom * 1.25);
    } else if (ev.key === "-" || ev.key === "_") {
      zoomTo(st.zoom / 1.25);
    } else if (st.mode === "caliper") {
      handled = caliperKey(ev);
    } else if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
      st.offset += (ev.key === "ArrowLeft" ? -1 : 1) * (ev.shiftKey ? visibleSeconds() : 0.2);
      clamp(); draw();
    } else if (ev.key === "Home" || ev.key === "End") {
      st.offset = ev.key === "Home" ? 0 : duration;
      clamp(); draw();
    } else {
      handled = false;
    }
    if (handled) { ev.preventDefault(); }
  });

  var pointers = {}, drag = null, pinch = null;
  function setMode(m) {
    st.mode = m;
    kb = null;
    modeBtn.setAttribute("aria-pressed", m === "caliper" ? "true" : "false");
    canvas.classList.toggle("caliper-mode", m === "caliper");
    if (m === "caliper") { say(box.dataset.tCaliperHint); }
  }
  canvas.addEventListener("pointerdown", function (ev) {
    pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
    canvas.setPointerCapture(ev.pointerId);
    var ids = Object.keys(pointers);
    if (ids.length === 2) {
      var a = pointers[ids[0]], b = pointers[ids[1]];
      pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, zoom: st.zoom };
      drag = null;
      return;
    }
    if (st.mode === "caliper" && st.leads) {
      var p = at(ev);
      st.caliper = { ta: p.t, tb: p.t, va: p.v, vb: p.v, lead: p.lead };
      kb = null;
      drag = { caliper: true };
      draw();
    } else {
      drag = { x: ev.clientX, offset: st.offset };
    }
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!pointers[ev.pointerId]) { return; }
    pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
    var ids = Object.keys(pointers);
    if (pinch && ids.length === 2) {
      var a = pointers[ids[0]], b = pointers[ids[1]];
      zoomTo(pinch.zoom * Math.hypot(a.x - b.x, a.y - b.y) / pinch.d);
      return;
    }
    if (!drag) { return; }
    if (drag.caliper) {
      var p = at(ev);
      st.caliper.tb = p.t;
      var mid = TOP + st.caliper.lead * rowHeight() + rowHeight() / 2;
      st.caliper.vb = (mid - (ev.clientY - canvas.getBoundingClientRect().top)) / pxPerMv();
      showCaliper();
      draw();
    } else {
      st.offset = drag.offset - (ev.clientX - drag.x) / pxPerSecond();
      clamp();
      draw();
    }
  });
  function up(ev) {
    delete pointers[ev.pointerId];
    if (Object.keys(pointers).length < 2) { pinch = null; }
    if (drag && drag.caliper && st.caliper) { showCaliper(); }
    drag = null;
  }
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("wheel", function (ev) {
    if (ev.ctrlKey) {
      ev.preventDefault();
      zoomTo(st.zoom * (ev.deltaY < 0 ? 1.1 : 1 / 1.1));
    } else if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY) || ev.shiftKey) {
      ev.preventDefault();
      st.offset += (ev.shiftKey ? ev.deltaY : ev.deltaX) / pxPerSecond();
      clamp();
      draw();
    }
  }, { passive: false });

  function zoomTo(z) {
    st.zoom = Math.min(4, Math.max(0.25, z));
    layout();
  }
  box.addEventListener("click", function (ev) {
    var act = ev.target.closest && ev.target.closest("[data-act]");
    if (!act) { return; }
    switch (act.dataset.act) {
    case "zoom-in": zoomTo(st.zoom * 1.25); break;
    case "zoom-out": zoomTo(st.zoom / 1.25); break;
    case "mode": setMode(st.mode === "caliper" ? "pan" : "caliper"); break;
    case "calib-reset":
      st.pxPerMm = CSS_PX_PER_MM;
      try { window.localStorage.removeItem("countycare.ecg.pxPerMm"); } catch (x) { /* off */ }
      layout();
      break;
    }
  });
  gainSel.addEventListener("change", function () { st.gain = parseFloat(gainSel.value) || 10; layout(); });
  speedSel.addEventListener("change", function () { st.speed = parseFloat(speedSel.value) || 25; layout(); });
  posInput.addEventListener("input", function () { st.offset = parseFloat(posInput.value) || 0; clamp(); draw(); });
  if (pxmmInput) {
    pxmmInput.addEventListener("change", function () {
      var v = parseFloat(pxmmInput.value);
      if (v >= 1 && v <= 40) {
        st.pxPerMm = v;
        try { window.localStorage.setItem("countycare.ecg.pxPerMm", String(v)); } catch (x) { /* off */ }
        layout();
      }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(layout, 100);
  });
  layout();
  segment(0);
}());
