// countycare: the image viewer. The server renders each frame to PNG with
// the rescale slope/intercept (modality LUT) and the window applied
// (GET /api/v1/imaging/instances/{id}/frames/{n}?center=C&width=W), so a
// cheap phone never handles 16-bit data; one request is in flight per
// pane and the latest window wins. Dragging changes window/level
// (horizontal: width, vertical: level) or pans, a pinch or the wheel
// zooms, the slider or play steps through the frames of a cine. The
// previous study of the same modality sits beside the current one with
// the same window. Every tool also has keys on the focused image and
// visible buttons (window width/level, pan, zoom, frames; docs/viewers.md),
// and the state after a key or button is announced in #img-status.
(function () {
  "use strict";
  var box = document.getElementById("img-viewer");
  if (!box) { return; }
  var modeBtn = document.getElementById("img-mode");
  var presetSel = document.getElementById("img-preset");
  var mode = modeBtn ? "wl" : "pan";
  var panes = Array.prototype.map.call(box.querySelectorAll(".pane"), function (fig) {
    var p = {
      fig: fig, canvas: fig.querySelector("canvas"), id: fig.dataset.instance,
      frames: parseInt(fig.dataset.frames, 10) || 1, frame: 0, img: null,
      zoom: 1, px: 0, py: 0, loading: false, dirty: false, loads: 0
    };
    p.ctx = p.canvas.getContext("2d");
    return p;
  });
  if (!panes.length) { return; }
  var main = panes[0].fig.dataset;
  // The window shared by the panes: null is the file's own (or the frame's range).
  var wl = null;
  var base = (function () {
    if (main.center && main.width) { return { c: parseFloat(main.center), w: parseFloat(main.width) }; }
    if (main.rangeCenter && main.rangeWidth) { return { c: parseFloat(main.rangeCenter), w: parseFloat(main.rangeWidth) }; }
    var bits = parseInt(main.bits, 10) || 8, slope = parseFloat(main.slope) || 1, icpt = parseFloat(main.intercept) || 0;
    var lo = main.signed === "true" ? -Math.pow(2, bits - 1) : 0, hi = lo + Math.pow(2, bits) - 1;
    lo = lo * slope + icpt; hi = hi * slope + icpt;
    return { c: (lo + hi) / 2, w: Math.max(1, Math.abs(hi - lo)) };
  }());
  window.countycareImage = { panes: panes, window: function () { return wl; } };

  function url(p) {
    var u = "/api/v1/imaging/instances/" + p.id + "/frames/" + p.frame;
    if (wl) { u += "?center=" + encodeURIComponent(wl.c.toFixed(1)) + "&width=" + encodeURIComponent(wl.w.toFixed(1)); }
    return u;
  }

  function load(p) {
    if (p.loading) { p.dirty = true; return; }
    p.loading = true; p.dirty = false;
    var im = new Image();
    var want = url(p);
    im.onload = function () {
      p.img = im; p.loading = false; p.loads++;
      p.fig.dataset.loads = String(p.loads);
      p.fig.dataset.src = want;
      size(p); draw(p);
      if (p.dirty) { load(p); }
    };
    im.onerror = function () {
      p.loading = false;
      var cap = p.fig.querySelector(".wl");
      if (cap) { cap.textContent = box.dataset.tFailed; }
      if (p.dirty) { load(p); }
    };
    im.src = want;
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

  function draw(p) {
    var w = p.canvas.clientWidth, h = p.canvas.clientHeight;
    p.ctx.fillStyle = "#000";
    p.ctx.fillRect(0, 0, w, h);
    if (!p.img) { return; }
    var iw = p.img.naturalWidth, ih = p.img.naturalHeight;
    var s = Math.min(w / iw, h / ih) * p.zoom;
    p.ctx.imageSmoothingEnabled = s < 2;
    p.ctx.drawImage(p.img, (w - iw * s) / 2 + p.px, (h - ih * s) / 2 + p.py, iw * s, ih * s);
    var cap = p.fig.querySelector(".wl");
    if (cap) {
      var cur = wl || (main.center ? base : null);
      cap.textContent = cur ? box.dataset.tWl.replace("%s", cur.w.toFixed(0)).replace("%s", cur.c.toFixed(0)) : "";
    }
    p.fig.dataset.wl = wl ? wl.c.toFixed(1) + "/" + wl.w.toFixed(1) : "file";
  }

  function setWindow(c, w) {
    wl = { c: c, w: Math.max(1, w) };
    panes.forEach(function (p) { if (p.fig.dataset.greyscale === "true") { load(p); } });
  }

  // announce puts the current window, zoom and frame into the polite live
  // region, after a key or a button (not during a drag).
  var status = document.getElementById("img-status");
  function announce(p) {
    if (!status) { return; }
    var cur = wl || base;
    var parts = [];
    if (p.fig.dataset.greyscale === "true") { parts.push(box.dataset.tWl.replace("%s", cur.w.toFixed(0)).replace("%s", cur.c.toFixed(0))); }
    parts.push((box.dataset.tZoom || "%s×").replace("%s", p.zoom.toFixed(2)));
    if (p.frames > 1) { parts.push((box.dataset.tFrame || "") + " " + (p.frame + 1) + "/" + p.frames); }
    status.textContent = parts.join(" · ");
  }
  function zoomBy(p, f) { p.zoom = Math.min(16, Math.max(0.5, p.zoom * f)); draw(p); }
  function panBy(p, dx, dy) { p.px += dx; p.py += dy; draw(p); }
  // windowBy changes the width by dw and the level by dc steps of 1/20 of
  // the image's base width.
  function windowBy(dw, dc) {
    var cur = wl || base, k = Math.max(base.w, 1) / 20;
    setWindow(cur.c + dc * k, cur.w + dw * k);
  }

  panes.forEach(function (p) {
    var pointers = {}, drag = null, pinch = null;
    p.canvas.addEventListener("pointerdown", function (ev) {
      pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      p.canvas.setPointerCapture(ev.pointerId);
      var ids = Object.keys(pointers);
      if (ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, zoom: p.zoom };
        drag = null;
        return;
      }
      var cur = wl || base;
      drag = { x: ev.clientX, y: ev.clientY, px: p.px, py: p.py, c: cur.c, w: cur.w };
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
      if (mode === "wl" && p.fig.dataset.greyscale === "true") {
        var k = Math.max(base.w, 1) / 300; // a 300-px drag spans the base width
        setWindow(drag.c + dy * k, drag.w + dx * k);
      } else {
        p.px = drag.px + dx; p.py = drag.py + dy;
        draw(p);
      }
    });
    function up(ev) {
      delete pointers[ev.pointerId];
      if (Object.keys(pointers).length < 2) { pinch = null; }
      drag = null;
    }
    p.canvas.addEventListener("pointerup", up);
    p.canvas.addEventListener("pointercancel", up);
    p.canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      p.zoom = Math.min(16, Math.max(0.5, p.zoom * (ev.deltaY < 0 ? 1.1 : 1 / 1.1)));
      draw(p);
    }, { passive: false });
    var slider = p.fig.querySelector("input.frame");
    var out = p.fig.querySelector(".frame-out");
    function setFrame(f) {
      p.frame = ((f % p.frames) + p.frames) % p.frames;
      if (slider) { slider.value = String(p.frame + 1); }
      if (out) { out.textContent = (p.frame + 1) + "/" + p.frames; }
      load(p);
    }
    p.setFrame = setFrame;
    p.canvas.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      var big = ev.shiftKey ? 5 : 1, d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
      if (d && mode === "wl" && p.fig.dataset.greyscale === "true") {
        windowBy(d[0] * big, -d[1] * big); // → wider, ↑ higher level
      } else if (d) {
        panBy(p, d[0] * 20 * big, d[1] * 20 * big);
      } else if (ev.key === "+" || ev.key === "=") {
        zoomBy(p, 1.25);
      } else if (ev.key === "-" || ev.key === "_") {
        zoomBy(p, 1 / 1.25);
      } else if (ev.key === "0") {
        act("reset");
      } else if ((ev.key === "m" || ev.key === "M") && modeBtn) {
        act("mode");
      } else if ((ev.key === "PageDown" || ev.key === "PageUp") && p.frames > 1) {
        setFrame(p.frame + (ev.key === "PageDown" ? 1 : -1));
      } else {
        return;
      }
      ev.preventDefault();
      announce(p);
    });
    p.fig.addEventListener("click", function (ev) {
      var b = ev.target.closest && ev.target.closest("[data-act=frame-prev],[data-act=frame-next]");
      if (b) { setFrame(p.frame + (b.dataset.act === "frame-next" ? 1 : -1)); announce(p); }
    });
    if (slider) { slider.addEventListener("input", function () { setFrame((parseInt(slider.value, 10) || 1) - 1); }); }
    var play = p.fig.querySelector("[data-act=play]");
    if (play) {
      var timer = null;
      play.addEventListener("click", function () {
        if (timer) {
          clearInterval(timer); timer = null;
          play.setAttribute("aria-pressed", "false");
          return;
        }
        play.setAttribute("aria-pressed", "true");
        timer = setInterval(function () { if (!p.loading) { setFrame(p.frame + 1); } }, 100);
      });
    }
  });

  function act(name) {
    switch (name) {
    case "mode":
      mode = mode === "wl" ? "pan" : "wl";
      modeBtn.setAttribute("aria-pressed", mode === "wl" ? "true" : "false");
      modeBtn.textContent = mode === "wl" ? box.dataset.tModeWl || modeBtn.textContent : box.dataset.tModePan || modeBtn.textContent;
      break;
    case "zoom-in": panes.forEach(function (p) { zoomBy(p, 1.25); }); break;
    case "zoom-out": panes.forEach(function (p) { zoomBy(p, 1 / 1.25); }); break;
    case "width-down": windowBy(-1, 0); break;
    case "width-up": windowBy(1, 0); break;
    case "level-down": windowBy(0, -1); break;
    case "level-up": windowBy(0, 1); break;
    case "pan-left": panes.forEach(function (p) { panBy(p, -20, 0); }); break;
    case "pan-right": panes.forEach(function (p) { panBy(p, 20, 0); }); break;
    case "pan-up": panes.forEach(function (p) { panBy(p, 0, -20); }); break;
    case "pan-down": panes.forEach(function (p) { panBy(p, 0, 20); }); break;
    case "reset":
      wl = null;
      if (presetSel) { presetSel.selectedIndex = 0; }
      panes.forEach(function (p) { p.zoom = 1; p.px = 0; p.py = 0; load(p); });
      break;
    default:
      return false;
    }
    return true;
  }
  box.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-act]");
    if (b && act(b.dataset.act)) { announce(panes[0]); }
  });
  if (presetSel) {
    presetSel.addEventListener("change", function () {
      var v = presetSel.value.split("/");
      if (v.length === 2) { setWindow(parseFloat(v[0]), parseFloat(v[1])); } else { wl = null; panes.forEach(load); }
      announce(panes[0]);
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { panes.forEach(function (p) { size(p); draw(p); }); }, 100);
  });
  panes.forEach(load);
}());
