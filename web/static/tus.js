// countycare: resumable uploads (tus 1.0) for the ECG and imaging upload
// forms (form[data-tus]). Each file is created at /api/v1/uploads with its
// metadata — checked by the server before any byte is sent — then sent in
// chunks with PATCH. A dropped connection, a sleeping phone or a pause
// resumes from the offset HEAD reports, with backoff between attempts; the
// upload's URL is kept in localStorage under the file's name, size and
// modification time, so a reloaded page continues it too. Without this
// script the form posts the files in one request, as before.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-tus]");
  if (!forms.length || !window.XMLHttpRequest || !window.FileReader || !window.Blob || !Blob.prototype.slice) { return; }
  var ENDPOINT = "/api/v1/uploads";
  var CHUNK = 4 << 20; // bytes per PATCH; a cut loses at most the server's 1 MiB piece
  var HEAD = 64 << 10; // the first PATCH (upload.HeadBytes)
  var MAX_DELAY = 30000; // longest wait between attempts, ms
  var STALL = 30000; // a request with no progress for this long is given up and retried, ms
  for (var i = 0; i < forms.length; i++) { setup(forms[i]); }

  function setup(form) {
    var d = form.dataset;
    var box = form.querySelector(".tus-box");
    var bar = box.querySelector(".tus-bar");
    var stateEl = box.querySelector(".tus-state");
    var pauseBtn = box.querySelector(".tus-pause");
    var resumeBtn = box.querySelector(".tus-resume");
    var results = box.querySelector(".tus-results");
    var submit = form.querySelector("button[type=submit]");
    var current = null; // the upload being sent

    function t(key, args) {
      var s = box.dataset[key] || "";
      (args || []).forEach(function (a, i) { s = s.split("{" + i + "}").join(String(a)); });
      return s;
    }
    function say(text) { stateEl.textContent = text; }
    function mb(n) { return (n / 1048576).toFixed(1) + " MB"; }

    pauseBtn.addEventListener("click", function () {
      if (!current) { return; }
      current.pause();
      pauseBtn.hidden = true; resumeBtn.hidden = false;
      say(t("tPaused"));
    });
    resumeBtn.addEventListener("click", function () {
      if (!current) { return; }
      resumeBtn.hidden = true; pauseBtn.hidden = false;
      current.resume();
    });

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var jobs = files();
      if (!jobs.length) { form.reportValidity && form.reportValidity(); return; }
      box.hidden = false; submit.disabled = true; results.textContent = "";
      pauseBtn.hidden = false; resumeBtn.hidden = true;
      readHeader(function (header) {
        var k = 0;
        (function next() {
          if (k >= jobs.length) { submit.disabled = false; pauseBtn.hidden = true; current = null; return; }
          var f = jobs[k++];
          var label = jobs.length > 1 ? t("tFile", [k, jobs.length, f.name]) + " · " : "";
          var center = form.querySelector("[name=center_id]");
          var key = ["tus", d.tus, d.resident, center ? center.value : "", f.name, f.size, f.lastModified].join(":");
          current = new Upload(f, metadata(f, header), key, {
            csrf: d.csrf,
            progress: function (sent, total) {
              bar.value = total ? Math.floor(sent * 100 / total) : 100;
              say(label + t("tProgress", [mb(sent), mb(total), bar.value + "%"]));
            },
            state: function (text) { say(label + text); },
            t: t,
            done: function (result) { report(f.name, true, result); next(); },
            failed: function (message) { report(f.name, false, message); next(); }
          });
          current.start();
        })();
      });
    });

    function files() {
      var out = [];
      var inputs = form.querySelectorAll("input[type=file]:not([name=header])");
      for (var i = 0; i < inputs.length; i++) {
        for (var j = 0; j < inputs[i].files.length; j++) { out.push(inputs[i].files[j]); }
      }
      return out;
    }

    // readHeader passes the WFDB header's name and bytes (ECG), or null.
    function readHeader(cb) {
      var input = form.querySelector("input[name=header]");
      if (!input || !input.files.length) { cb(null); return; }
      var f = input.files[0], r = new FileReader();
      r.onload = function () { cb({ name: f.name, bytes: new Uint8Array(r.result) }); };
      r.onerror = function () { cb(null); };
      r.readAsArrayBuffer(f);
    }

    function metadata(f, header) {
      var m = { kind: d.tus, resident_id: d.resident, filename: f.name };
      var center = form.querySelector("[name=center_id]");
      if (center) { m.center_id = center.value; }
      var urgent = form.querySelector("[name=urgent]");
      if (urgent && urgent.checked) { m.urgent = "1"; }
      var confirm = form.querySelector("[name=confirm_mismatch]");
      if (confirm && confirm.checked) { m.confirm_mismatch = "1"; }
      var parts = [];
      Object.keys(m).forEach(function (k) { parts.push(k + " " + b64text(m[k])); });
      if (header) { parts.push("header_name " + b64text(header.name), "header " + b64bytes(header.bytes)); }
      return parts.join(",");
    }

    function report(name, ok, detail) {
      var li = document.createElement("li");
      var n = document.createElement("span");
      n.setAttribute("translate", "no");
      n.textContent = name + ": ";
      li.appendChild(n);
      if (ok) {
        li.appendChild(document.createTextNode(t("tDone") + " "));
        if (detail) {
          var a = document.createElement("a");
          a.href = detail; a.textContent = t("tView");
          li.appendChild(a);
        }
        bar.value = 100;
      } else {
        var e = document.createElement("span");
        e.className = "field-error";
        e.textContent = t("tFailed", [detail]);
        li.appendChild(e);
      }
      results.appendChild(li);
      say("");
    }
  }

  function b64text(s) { return b64bytes(new TextEncoder().encode(String(s))); }
  function b64bytes(b) {
    var s = "";
    for (var i = 0; i < b.length; i += 0x8000) { s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000)); }
    return btoa(s);
  }

  // Upload sends one file: create (or find the stored URL), then PATCH
  // chunk after chunk; on a network failure wait (1 s, 2 s, … 30 s, or
  // until the browser is online or the page visible again) and resume
  // from HEAD's offset.
  // key is where its URL is remembered: the form's kind, resident and
  // center and the file's name, size and modification time.
  function Upload(file, meta, key, o) {
    this.file = file; this.meta = meta; this.o = o; this.key = key;
    this.url = null; this.offset = 0; this.paused = false; this.xhr = null; this.timer = null; this.attempt = 0; this.finished = false;
    var self = this;
    this.wake = function () { if (self.timer) { clearTimeout(self.timer); self.timer = null; self.go(); } };
    window.addEventListener("online", this.wake);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { self.wake(); } });
  }
  Upload.prototype.start = function () {
    try { this.url = localStorage.getItem(this.key); } catch (x) { this.url = null; }
    this.o.state(this.o.t("tChecking"));
    this.go();
  };
  Upload.prototype.pause = function () {
    this.paused = true;
    if (this.xhr) { this.xhr.abort(); }
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  };
  Upload.prototype.resume = function () { this.paused = false; this.attempt = 0; this.go(); };
  Upload.prototype.go = function () {
    if (this.paused || this.finished) { return; }
    if (this.url) { this.head(); } else { this.create(); }
  };
  Upload.prototype.request = function (method, url, headers, body, onload) {
    var self = this, x = new XMLHttpRequest();
    this.xhr = x;
    x.open(method, url);
    x.setRequestHeader("Tus-Resumable", "1.0.0");
    x.setRequestHeader("X-CSRF-Token", this.o.csrf);
    Object.keys(headers).forEach(function (k) { x.setRequestHeader(k, headers[k]); });
    x.onload = function () { self.xhr = null; onload(x); };
    x.onerror = x.ontimeout = function () { self.xhr = null; self.retry(); };
    x.onabort = function () { self.xhr = null; };
    if (method === "PATCH") {
      // A link that goes silent (a phone asleep, a dead mobile cell) never
      // errors: a chunk with no progress for STALL ms is abandoned and retried.
      var base = this.offset, watch = null;
      var stalled = function () { if (self.xhr === x) { x.abort(); self.retry(); } };
      var kick = function () { clearTimeout(watch); watch = setTimeout(stalled, STALL); };
      x.upload.onprogress = function (e) { kick(); self.o.progress(base + e.loaded, self.file.size); };
      // The chunk is out: the last one's answer waits for the import, which may take a while.
      x.upload.onload = function () { clearTimeout(watch); watch = setTimeout(stalled, 4 * STALL); };
      x.addEventListener("loadend", function () { clearTimeout(watch); });
      kick();
    } else {
      x.timeout = STALL;
    }
    x.send(body);
  };
  // retry waits with exponential backoff; coming online or back to the page wakes it at once.
  Upload.prototype.retry = function () {
    if (this.paused || this.finished) { return; }
    var wait = Math.min(MAX_DELAY, 1000 * Math.pow(2, this.attempt++));
    this.o.state(navigator.onLine === false ? this.o.t("tOffline") : this.o.t("tRetrying", [Math.round(wait / 1000)]));
    var self = this;
    this.timer = setTimeout(function () { self.timer = null; self.go(); }, wait);
  };
  Upload.prototype.fail = function (x) {
    var msg = x.statusText || String(x.status);
    try { msg = JSON.parse(x.responseText).error.message || msg; } catch (e) { /* not our JSON */ }
    this.finish();
    this.o.failed(msg);
  };
  Upload.prototype.finish = function () {
    this.finished = true;
    window.removeEventListener("online", this.wake);
    try { localStorage.removeItem(this.key); } catch (x) { /* private mode */ }
  };
  // answer handles what every request can answer; true when handled.
  Upload.prototype.answer = function (x) {
    if (x.status === 0 || x.status >= 500 || x.status === 423 || x.status === 429) { this.retry(); return true; }
    var result = x.getResponseHeader("Upload-Result");
    if (result) { this.finish(); this.o.done(result); return true; }
    return false;
  };
  Upload.prototype.create = function () {
    var self = this;
    this.request("POST", ENDPOINT, { "Upload-Length": String(this.file.size), "Upload-Metadata": this.meta }, null, function (x) {
      if (self.answer(x)) { return; }
      if (x.status !== 201) { self.fail(x); return; }
      self.url = x.getResponseHeader("Location");
      try { localStorage.setItem(self.key, self.url); } catch (e) { /* still resumable within this page */ }
      self.offset = 0; self.attempt = 0;
      self.patch();
    });
  };
  Upload.prototype.head = function () {
    var self = this;
    this.request("HEAD", this.url, {}, null, function (x) {
      if (self.answer(x)) { return; }
      if (x.status === 404 || x.status === 410) { self.url = null; self.create(); return; } // expired: start again
      if (x.status !== 200) { self.fail(x); return; }
      var off = parseInt(x.getResponseHeader("Upload-Offset"), 10) || 0;
      if (off > 0) { self.o.state(self.o.t("tResumed", [(off / 1048576).toFixed(1) + " MB"])); }
      self.offset = off;
      self.patch();
    });
  };
  Upload.prototype.patch = function () {
    if (this.paused || this.finished) { return; }
    // The first chunk is small: the server checks a DICOM file's patient
    // in it, so a file of another patient is refused before the rest goes.
    var self = this, end = Math.min(this.offset < HEAD ? HEAD : this.offset + CHUNK, this.file.size);
    this.o.progress(this.offset, this.file.size);
    this.request("PATCH", this.url, { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(this.offset) },
      this.file.slice(this.offset, end), function (x) {
        if (self.answer(x)) { return; }
        if (x.status === 409) { self.retry(); return; } // an earlier attempt still writing, or the import running: ask HEAD again shortly
        if (x.status === 404 && /"key":"upload\./.test(x.responseText)) { self.head(); return; } // expired meanwhile: HEAD says so and it starts again
        if (x.status !== 204) {
          // The server refused the file (the one-shot upload's reasons): drop the upload.
          var url = self.url;
          self.fail(x);
          var del = new XMLHttpRequest();
          del.open("DELETE", url);
          del.setRequestHeader("Tus-Resumable", "1.0.0");
          del.setRequestHeader("X-CSRF-Token", self.o.csrf);
          del.send();
          return;
        }
        self.attempt = 0;
        self.offset = parseInt(x.getResponseHeader("Upload-Offset"), 10) || end;
        self.patch();
      });
  };
})();
