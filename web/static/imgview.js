// countycare: the image viewer. The server renders each frame to PNG with
// the rescale slope/intercept (modality LUT) and the window applied
// (GET /api/v1/imaging/instances/{id}/frames/{n}?center=C&width=W), so a
// cheap phone never handles 16-bit data; one request is in flight per
// pane and the latest window wins. Each pane keeps its own window:
// dragging in the window tool changes the pane dragged (horizontal:
// width, vertical: level); buttons and presets change the pane last used.
// The measurement tools (length, angle, ellipse, rectangle) draw on the
// image by mouse or touch and ask the server for the number
// (GET /api/v1/imaging/instances/{id}/measure), so a measurement reads the
// same on every device. Over the image: the orientation letters, a scale
// bar from the pixel spacing, the patient and study lines. A cine plays at
// the file's frame time, fetching frames ahead; with "link" on, scrolling
// the frames of one study scrolls the other to the same relative place.
// Every tool has keys on the focused image and visible buttons
// (docs/viewers.md); the state after a key or button is announced in
// #img-status.
(function () {
  "use strict";
  var box = document.getElementById("img-viewer");
  if (!box) { return; }
  var presetSel = document.getElementById("img-preset");
  var linkBox = document.getElementById("img-link");
  var list = document.getElementById("img-measures");
  var toolBtns = Array.prototype.slice.call(box.querySelectorAll("[data-tool]"));
  var tool = toolBtns.length && box.querySelector("[data-tool=wl]") ? "wl" : "pan";
  var tx = box.dataset;

  function num(v, d) { var f = parseFloat(v); return isNaN(f) ? d : f; }
  var panes = Array.prototype.map.call(box.querySelectorAll(".pane"), function (fig) {
    var d = fig.dataset;
    var p = {
      fig: fig, canvas: fig.querySelector("canvas"), id: d.instance,
      frames: parseInt(d.frames, 10) || 1, frame: 0, img: null, wl: null,
      zoom: 1, px: 0, py: 0, loading: false, dirty: false, loads: 0,
      grey: d.greyscale === "true", rowMM: num(d.rowMm, 0), colMM: num(d.colMm, 0),
      cineMS: num(d.cineMs, 100), measures: [], draft: null, cache: {}
    };
    p.base = (function () {
      if (d.center && d.width) { return { c: num(d.center, 0), w: num(d.width, 1) }; }
      if (d.rangeCenter && d.rangeWidth) { return { c: num(d.rangeCenter, 0), w: num(d.rangeWidth, 1) }; }
      var bits = parseInt(d.bits, 10) || 8, slope = num(d.slope, 1) || 1, icpt = num(d.intercept, 0);
      var lo = d.signed === "true" ? -Math.pow(2, bits - 1) : 0, hi = lo + Math.pow(2, bits) - 1;
      lo = lo * slope + icpt; hi = hi * slope + icpt;
      return { c: (lo + hi) / 2, w: Math.max(1, Math.abs(hi - lo)) };
    }());
    p.ctx = p.canvas.getContext("2d");
    return p;
  });
  if (!panes.length) { return; }
  var active = panes[0];
  window.countycareImage = {
    panes: panes, window: function () { return panes[0].wl; },
    toImage: toImage, toScreen: toScreen
  };

  function url(p, f) {
    var u = "/api/v1/imaging/instances/" + p.id + "/frames/" + f;
    if (p.wl) { u += "?center=" + encodeURIComponent(p.wl.c.toFixed(1)) + "&width=" + encodeURIComponent(p.wl.w.toFixed(1)); }
    return u;
  }

  function load(p) {
    if (p.loading) { p.dirty = true; return; }
    var want = url(p, p.frame);
    var hit = p.cache[want];
    if (hit && hit.complete && hit.naturalWidth) { shown(p, hit, want); return; }
    p.loading = true; p.dirty = false;
    var im = hit || new Image();
    im.onload = function () {
      p.loading = false;
      shown(p, im, want);
      if (p.dirty) { load(p); }
    };
    im.onerror = function () {
      p.loading = false;
      var cap = p.fig.querySelector(".wl");
      if (cap) { cap.textContent = tx.tFailed; }
      if (p.dirty) { load(p); }
    };
    if (!hit) { im.src = want; } else if (hit.complete) { im.onload(); }
  }
  function shown(p, im, want) {
    p.img = im; p.loads++;
    p.fig.dataset.loads = String(p.loads);
    p.fig.dataset.src = want;
    size(p); draw(p);
  }
  // prefetch fetches the frames after the current one (a cine's loop), a
  // few at a time, into the pane's cache for the current window.
  function prefetch(p) {
    if (p.frames < 2) { return; }
    var n = 0;
    for (var i = 1; i < p.frames && n < 4; i++) {
      var u = url(p, (p.frame + i) % p.frames);
      if (!p.cache[u]) { var im = new Image(); im.src = u; p.cache[u] = im; n++; }
    }
  }

  function size(p) {
    var w = p.fig.clientWidth || 300;
    var ratio = p.img ? p.img.naturalHeight / Math.max(1, p.img.naturalWidth) : 1;
    var h = Math.min(Math.round(w * ratio), Math.round(window.innerHeight * 0.7));
    var dpr = window.devicePixelRatio || 1;
    if (p.canvas.width !== Math.round(w * dpr) || p.canvas.height !== Math.round(h * dpr)) {
      p.canvas.style.width = w + "px";
      p.canvas.style.height = h + "px";
      p.canvas.width = Math.round(w * dpr);
      p.canvas.height = Math.round(h * dpr);
    }
    p.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // geometry gives the image's scale and offset on the canvas (CSS px).
  function geometry(p) {
    var w = p.canvas.clientWidth, h = p.canvas.clientHeight;
    var iw = p.img ? p.img.naturalWidth : 1, ih = p.img ? p.img.naturalHeight : 1;
    var s = Math.min(w / iw, h / ih) * p.zoom;
    return { s: s, x: (w - iw * s) / 2 + p.px, y: (h - ih * s) / 2 + p.py, iw: iw, ih: ih };
  }
  function toImage(p, cx, cy) {
    var g = geometry(p), r = p.canvas.getBoundingClientRect();
    return { x: Math.max(0, Math.min(g.iw, (cx - r.left - g.x) / g.s)), y: Math.max(0, Math.min(g.ih, (cy - r.top - g.y) / g.s)) };
  }
  function toScreen(p, pt) {
    var g = geometry(p), r = p.canvas.getBoundingClientRect();
    return { x: r.left + g.x + pt.x * g.s, y: r.top + g.y + pt.y * g.s };
  }

  function draw(p) {
    var w = p.canvas.clientWidth, h = p.canvas.clientHeight, c = p.ctx;
    c.fillStyle = "#000";
    c.fillRect(0, 0, w, h);
    if (!p.img) { return; }
    var g = geometry(p);
    c.imageSmoothingEnabled = g.s < 2;
    c.drawImage(p.img, g.x, g.y, g.iw * g.s, g.ih * g.s);
    drawScale(p, g, w, h);
    p.measures.forEach(function (m) { if (m.frame === p.frame) { drawMeasure(p, g, m, "#ffd54f"); } });
    if (p.draft) { drawMeasure(p, g, p.draft, "#4fc3f7"); }
    var cap = p.fig.querySelector(".wl");
    if (cap && p.grey) {
      var cur = p.wl || p.base;
      cap.textContent = tx.tWl.replace("%s", cur.w.toFixed(0)).replace("%s", cur.c.toFixed(0));
    }
    p.fig.dataset.wl = p.wl ? p.wl.c.toFixed(1) + "/" + p.wl.w.toFixed(1) : "file";
  }

  // drawScale draws a bar of 1, 2, 5 or 10 cm (the longest under a
  // quarter of the canvas) at the bottom right, from the column spacing.
  function drawScale(p, g, w, h) {
    if (!(p.colMM > 0)) { return; }
    var pxPerCm = 10 / p.colMM * g.s, cm = 0;
    [1, 2, 5, 10].forEach(function (n) { if (n * pxPerCm <= w / 4) { cm = n; } });
    if (!cm) { return; }
    var len = cm * pxPerCm, x1 = w - 12, x0 = x1 - len, y = h - 14, c = p.ctx;
    c.strokeStyle = "#fff"; c.lineWidth = 2;
    c.beginPath(); c.moveTo(x0, y - 5); c.lineTo(x0, y); c.lineTo(x1, y); c.lineTo(x1, y - 5); c.stroke();
    c.fillStyle = "#fff"; c.font = "12px sans-serif"; c.textAlign = "right";
    c.fillText((tx.tCm || "%s cm").replace("%s", cm), x1, y - 7);
    c.textAlign = "left";
    p.fig.dataset.scaleCm = String(cm);
  }

  function drawMeasure(p, g, m, colour) {
    var c = p.ctx, pts = m.points.map(function (q) { return { x: g.x + q.x * g.s, y: g.y + q.y * g.s }; });
    c.strokeStyle = colour; c.fillStyle = colour; c.lineWidth = 2;
    c.beginPath();
    if (m.kind === "length" || m.kind === "angle") {
      pts.forEach(function (q, i) { if (i) { c.lineTo(q.x, q.y); } else { c.moveTo(q.x, q.y); } });
    } else if (pts.length === 2) {
      var x0 = Math.min(pts[0].x, pts[1].x), y0 = Math.min(pts[0].y, pts[1].y);
      var ww = Math.abs(pts[1].x - pts[0].x), hh = Math.abs(pts[1].y - pts[0].y);
      if (m.kind === "rectangle") { c.rect(x0, y0, ww, hh); } else { c.ellipse(x0 + ww / 2, y0 + hh / 2, ww / 2, hh / 2, 0, 0, 2 * Math.PI); }
    }
    c.stroke();
    pts.forEach(function (q) { c.fillRect(q.x - 3, q.y - 3, 6, 6); });
    if (m.text) {
      var last = pts[pts.length - 1];
      c.font = "13px sans-serif";
      c.lineWidth = 3; c.strokeStyle = "#000";
      c.strokeText(m.label, last.x + 6, last.y - 6);
      c.fillText(m.label, last.x + 6, last.y - 6);
    }
  }

  function setWindow(p, c, w) {
    p.wl = { c: c, w: Math.max(1, w) };
    p.cache = {};
    if (p.grey) { load(p); }
  }

  var status = document.getElementById("img-status");
  function announce(p) {
    if (!status) { return; }
    var cur = p.wl || p.base;
    var parts = [];
    if (p.grey) { parts.push(tx.tWl.replace("%s", cur.w.toFixed(0)).replace("%s", cur.c.toFixed(0))); }
    parts.push((tx.tZoom || "%s×").replace("%s", p.zoom.toFixed(2)));
    if (p.frames > 1) { parts.push((tx.tFrame || "") + " " + (p.frame + 1) + "/" + p.frames); }
    status.textContent = parts.join(" · ");
  }
  function zoomBy(p, f) { p.zoom = Math.min(16, Math.max(0.5, p.zoom * f)); draw(p); }
  function panBy(p, dx, dy) { p.px += dx; p.py += dy; draw(p); }
  function windowBy(p, dw, dc) {
    var cur = p.wl || p.base, k = Math.max(p.base.w, 1) / 20;
    setWindow(p, cur.c + dc * k, cur.w + dw * k);
  }

  // measure asks the server for a finished drawing's number and lists it.
  function measure(p, m) {
    var q = m.points.map(function (pt) { return pt.x.toFixed(2) + "," + pt.y.toFixed(2); }).join(",");
    m.text = tx.tMeasuring || "…"; m.label = m.text;
    p.measures.push(m);
    draw(p);
    fetch("/api/v1/imaging/instances/" + p.id + "/measure?kind=" + m.kind + "&frame=" + m.frame + "&points=" + q, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { throw new Error((res.j && res.j.error && res.j.error.message) || tx.tFailed); }
        m.result = res.j.measurement; m.text = res.j.text; m.cal = res.j.calibration_text;
        m.label = m.kind === "length" || m.kind === "angle" ? m.text : String(p.measures.indexOf(m) + 1);
        listMeasures();
        draw(p);
      })
      .catch(function (e) {
        p.measures.splice(p.measures.indexOf(m), 1);
        if (status) { status.textContent = e.message || tx.tFailed; }
        listMeasures();
        draw(p);
      });
  }
  function listMeasures() {
    var p = panes[0];
    if (list) {
      list.textContent = "";
      p.measures.forEach(function (m, i) {
        if (!m.result) { return; }
        var li = document.createElement("li");
        li.textContent = m.text;
        li.dataset.value = String(m.result.value);
        li.dataset.kind = m.kind;
        list.appendChild(li);
      });
      if (p.measures.length) { list.dataset.count = String(p.measures.filter(function (m) { return m.result; }).length); }
    }
    var cal = document.getElementById("img-calibration-measured");
    var lastDone = p.measures.filter(function (m) { return m.cal; }).pop();
    if (cal && lastDone) { cal.textContent = lastDone.cal; }
    var field = document.getElementById("ki-measurements");
    if (field) {
      field.value = JSON.stringify(p.measures.filter(function (m) { return m.result && m.frame === p.frame; }).map(function (m) {
        return { kind: m.kind, points: m.points };
      }));
    }
  }

  function setTool(name) {
    tool = name;
    toolBtns.forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.tool === name ? "true" : "false"); });
    box.dataset.activeTool = name;
  }

  function setFrameLinked(p, f) {
    p.setFrame(f);
    if (!linkBox || !linkBox.checked) { return; }
    panes.forEach(function (o) {
      if (o === p || o.frames < 2) { return; }
      o.setFrame(p.frames > 1 ? Math.round(p.frame * (o.frames - 1) / (p.frames - 1)) : 0);
    });
  }

  panes.forEach(function (p) {
    var pointers = {}, drag = null, pinch = null;
    p.canvas.addEventListener("pointerdown", function (ev) {
      active = p;
      pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      p.canvas.setPointerCapture(ev.pointerId);
      var ids = Object.keys(pointers);
      if (ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, zoom: p.zoom };
        drag = null; p.draft = null;
        return;
      }
      var cur = p.wl || p.base;
      drag = { x: ev.clientX, y: ev.clientY, px: p.px, py: p.py, c: cur.c, w: cur.w };
      if (tool === "length" || tool === "ellipse" || tool === "rectangle" || tool === "angle") {
        var at = toImage(p, ev.clientX, ev.clientY);
        if (tool === "angle" && p.draft && p.draft.kind === "angle" && p.draft.points.length === 3) {
          p.draft.points[2] = at; // the second ray: from the vertex to here
        } else {
          p.draft = { kind: tool, frame: p.frame, points: [at, { x: at.x, y: at.y }] };
        }
        draw(p);
      }
    });
    p.canvas.addEventListener("pointermove", function (ev) {
      if (!pointers[ev.pointerId]) { return; }
      pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      var ids = Object.keys(pointers);
      if (pinch && ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        p.zoom = Math.min(16, Math.max(0.5, pinch.zoom * Math.hypot(a.x - b.x, a.y - b.y) / pinch.d));
        draw(p);
        return;
      }
      if (!drag) { return; }
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (p.draft) {
        p.draft.points[p.draft.points.length - 1] = toImage(p, ev.clientX, ev.clientY);
        draw(p);
      } else if (tool === "wl" && p.grey) {
        var k = Math.max(p.base.w, 1) / 300; // a 300-px drag spans the base width
        setWindow(p, drag.c + dy * k, drag.w + dx * k);
      } else if (tool === "pan" || tool === "wl") {
        p.px = drag.px + dx; p.py = drag.py + dy;
        draw(p);
      }
    });
    function up(ev) {
      delete pointers[ev.pointerId];
      if (Object.keys(pointers).length < 2) { pinch = null; }
      var d = p.draft;
      if (d && drag && ev.type === "pointerup") {
        var a = toScreen(p, d.points[0]), b = toScreen(p, d.points[d.points.length - 1]);
        var moved = Math.hypot(a.x - b.x, a.y - b.y) >= 4;
        if (d.kind === "angle" && d.points.length === 2 && moved) {
          d.points.push({ x: d.points[1].x, y: d.points[1].y }); // wait for the second ray
        } else if (moved) {
          p.draft = null;
          measure(p, d);
        } else if (d.kind !== "angle" || d.points.length !== 3) {
          p.draft = null;
        }
        draw(p);
      }
      drag = null;
    }
    p.canvas.addEventListener("pointerup", up);
    p.canvas.addEventListener("pointercancel", up);
    p.canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      active = p;
      if (p.frames > 1 && !ev.ctrlKey) {
        setFrameLinked(p, p.frame + (ev.deltaY > 0 ? 1 : -1));
        return;
      }
      p.zoom = Math.min(16, Math.max(0.5, p.zoom * (ev.deltaY < 0 ? 1.1 : 1 / 1.1)));
      draw(p);
    }, { passive: false });
    var slider = p.fig.querySelector("input.frame");
    var out = p.fig.querySelector(".frame-out");
    p.setFrame = function (f) {
      p.frame = ((f % p.frames) + p.frames) % p.frames;
      if (slider) { slider.value = String(p.frame + 1); }
      if (out) { out.textContent = (p.frame + 1) + "/" + p.frames; }
      var kf = document.getElementById("ki-frame");
      if (kf && p === panes[0]) { kf.value = String(p.frame); listMeasures(); }
      load(p);
      prefetch(p);
    };
    p.canvas.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      active = p;
      var big = ev.shiftKey ? 5 : 1, d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
      if (d && tool === "wl" && p.grey) {
        windowBy(p, d[0] * big, -d[1] * big); // → wider, ↑ higher level
      } else if (d) {
        panBy(p, d[0] * 20 * big, d[1] * 20 * big);
      } else if (ev.key === "+" || ev.key === "=") {
        zoomBy(p, 1.25);
      } else if (ev.key === "-" || ev.key === "_") {
        zoomBy(p, 1 / 1.25);
      } else if (ev.key === "0") {
        act("reset");
      } else if (ev.key === "m" || ev.key === "M") {
        act("mode");
      } else if (ev.key === "Escape") {
        p.draft = null; draw(p);
      } else if ((ev.key === "PageDown" || ev.key === "PageUp") && p.frames > 1) {
        setFrameLinked(p, p.frame + (ev.key === "PageDown" ? 1 : -1));
      } else {
        return;
      }
      ev.preventDefault();
      announce(p);
    });
    p.fig.addEventListener("click", function (ev) {
      var b = ev.target.closest && ev.target.closest("[data-act=frame-prev],[data-act=frame-next]");
      if (b) { active = p; setFrameLinked(p, p.frame + (b.dataset.act === "frame-next" ? 1 : -1)); announce(p); }
    });
    if (slider) { slider.addEventListener("input", function () { active = p; setFrameLinked(p, (parseInt(slider.value, 10) || 1) - 1); }); }
    var play = p.fig.querySelector("[data-act=play]");
    if (play) {
      var timer = null;
      play.addEventListener("click", function () {
        if (timer) {
          clearInterval(timer); timer = null;
          play.setAttribute("aria-pressed", "false");
          play.textContent = tx.tPlay || play.textContent;
          return;
        }
        play.setAttribute("aria-pressed", "true");
        play.textContent = tx.tPause || play.textContent;
        // At the file's frame time; a frame not yet fetched holds the loop.
        timer = setInterval(function () { if (!p.loading) { setFrameLinked(p, p.frame + 1); } }, Math.max(20, p.cineMS));
      });
    }
  });

  function act(name) {
    var p = active;
    switch (name) {
    case "mode": setTool(tool === "wl" ? "pan" : "wl"); break;
    case "zoom-in": panes.forEach(function (q) { zoomBy(q, 1.25); }); break;
    case "zoom-out": panes.forEach(function (q) { zoomBy(q, 1 / 1.25); }); break;
    case "width-down": windowBy(p, -1, 0); break;
    case "width-up": windowBy(p, 1, 0); break;
    case "level-down": windowBy(p, 0, -1); break;
    case "level-up": windowBy(p, 0, 1); break;
    case "pan-left": panes.forEach(function (q) { panBy(q, -20, 0); }); break;
    case "pan-right": panes.forEach(function (q) { panBy(q, 20, 0); }); break;
    case "pan-up": panes.forEach(function (q) { panBy(q, 0, -20); }); break;
    case "pan-down": panes.forEach(function (q) { panBy(q, 0, 20); }); break;
    case "clear":
      panes.forEach(function (q) { q.measures = []; q.draft = null; draw(q); });
      listMeasures();
      break;
    case "reset":
      if (presetSel) { presetSel.selectedIndex = 0; }
      panes.forEach(function (q) { q.wl = null; q.cache = {}; q.zoom = 1; q.px = 0; q.py = 0; load(q); });
      break;
    default:
      return false;
    }
    return true;
  }
  box.addEventListener("click", function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-tool]");
    if (t) { setTool(t.dataset.tool); return; }
    var b = ev.target.closest && ev.target.closest("[data-act]");
    if (b && act(b.dataset.act)) { announce(active); }
  });
  if (presetSel) {
    presetSel.addEventListener("change", function () {
      var v = presetSel.value.split("/"), p = active.grey ? active : panes[0];
      if (v.length === 2) { setWindow(p, parseFloat(v[0]), parseFloat(v[1])); } else { p.wl = null; p.cache = {}; load(p); }
      announce(p);
    });
  }
  // The key image form takes the current pane's frame, window and drawings.
  var kiForm = document.getElementById("key-image-form");
  if (kiForm) {
    kiForm.addEventListener("submit", function () {
      var p = panes[0];
      document.getElementById("ki-frame").value = String(p.frame);
      document.getElementById("ki-center").value = p.wl ? p.wl.c.toFixed(1) : "";
      document.getElementById("ki-width").value = p.wl ? p.wl.w.toFixed(1) : "";
      listMeasures();
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { panes.forEach(function (p) { size(p); draw(p); }); }, 100);
  });
  setTool(tool);
  panes.forEach(function (p) { load(p); prefetch(p); });
}());
