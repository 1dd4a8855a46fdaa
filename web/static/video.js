// countycare: the video call of a consultation or an online visit (WebRTC, one peer connection
// per other participant, at most 4 in a call). Signalling goes through
// countycare: POST /consult/{id}/signal out, "consult.signal" events in on
// the page's event stream. The newcomer offers to everyone already in the
// call; the others answer — so two sides never offer to each other at once.
(function () {
  "use strict";
  var box = document.getElementById("video");
  if (!box) { return; }
  var joinBtn = document.getElementById("video-join");
  var leaveBtn = document.getElementById("video-leave");
  var stateEl = document.getElementById("video-state");
  var local = document.getElementById("video-local");
  var slots = Array.prototype.slice.call(box.querySelectorAll("figure.peer"));
  // An online visit's page names its own signal URL, event stream and event.
  var url = box.dataset.signalUrl || "/consult/" + box.dataset.caseId + "/signal";
  var signalEvent = box.dataset.signalEvent || "consult.signal";
  var csrf = box.dataset.csrf;
  var ice = [];
  try { ice = JSON.parse(box.dataset.ice || "[]"); } catch (x) { ice = []; }
  var stream = null, joined = false, peers = {}; // practitioner ID -> peer
  var retries = {}; // practitioner ID -> connections made again after failing

  function say(key, text) {
    stateEl.textContent = text || box.dataset[key] || "";
    box.dataset.status = key;
  }
  if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch) {
    say("nocam");
    return;
  }

  // Signals leave in order (an answer before its candidates).
  var queue = Promise.resolve();
  function send(type, to, payload) {
    var body = new URLSearchParams();
    body.set("type", type);
    body.set("to", String(to || 0));
    if (payload !== undefined) { body.set("payload", JSON.stringify(payload)); }
    var p = queue.then(function () {
      return fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf }, body: body, credentials: "same-origin" });
    });
    queue = p.catch(function () {});
    return p;
  }

  function overall() {
    if (!joined) { return; }
    var ids = Object.keys(peers);
    var up = ids.some(function (id) { return peers[id].pc && peers[id].pc.connectionState === "connected"; });
    say(up ? "inCall" : "waiting");
  }

  function showState(p) {
    var st = p.pc ? p.pc.connectionState : "new";
    p.slot.dataset.state = st;
    p.slot.querySelector(".peer-state").textContent = box.dataset["state" + st.charAt(0).toUpperCase() + st.slice(1)] || st;
    overall();
  }

  function drop(id) {
    var p = peers[id];
    if (!p) { return; }
    delete peers[id];
    if (p.pc) { p.pc.close(); }
    var v = p.slot.querySelector("video");
    v.srcObject = null;
    p.slot.hidden = true;
    p.slot.dataset.state = "closed";
    p.slot.dataset.peer = "";
    overall();
  }

  function peer(id, name) {
    if (peers[id]) { return peers[id]; }
    var used = {};
    Object.keys(peers).forEach(function (k) { used[slots.indexOf(peers[k].slot)] = true; });
    var slot = null;
    for (var i = 0; i < slots.length; i++) { if (!used[i]) { slot = slots[i]; break; } }
    if (!slot) { return null; } // the server keeps a call to 4
    var pc = new RTCPeerConnection({ iceServers: ice });
    var p = { id: id, pc: pc, slot: slot, pending: [], remote: false };
    peers[id] = p;
    slot.hidden = false;
    slot.dataset.peer = String(id);
    slot.querySelector(".peer-name").textContent = name || "";
    stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
    pc.onicecandidate = function (e) {
      if (e.candidate && peers[id] === p) { send("candidate", id, e.candidate.toJSON()); }
    };
    pc.ontrack = function (e) {
      var v = slot.querySelector("video");
      if (v.srcObject !== e.streams[0]) {
        v.srcObject = e.streams[0] || new MediaStream([e.track]);
        var pl = v.play();
        if (pl && pl.catch) { pl.catch(function () {}); }
      }
    };
    pc.onconnectionstatechange = function () {
      if (peers[id] !== p) { return; }
      showState(p);
      if (pc.connectionState === "connected") { retries[id] = 0; }
      // A failed connection is made again, a few times, by the side that offered.
      if (pc.connectionState === "failed" && p.offerer && (retries[id] || 0) < 3) {
        retries[id] = (retries[id] || 0) + 1;
        setTimeout(function () {
          if (joined && peers[id] === p && pc.connectionState === "failed") { drop(id); offerTo(id, name); }
        }, 1000);
      }
    };
    showState(p);
    return p;
  }

  function remoteSet(p) {
    p.remote = true;
    var c = p.pending;
    p.pending = [];
    return c.reduce(function (acc, cand) {
      return acc.then(function () { return p.pc.addIceCandidate(cand); }).catch(function () {});
    }, Promise.resolve());
  }

  function offerTo(id, name) {
    var p = peer(id, name);
    if (!p) { return; }
    p.offerer = true;
    p.pc.createOffer().then(function (o) { return p.pc.setLocalDescription(o); }).then(function () {
      return send("offer", id, p.pc.localDescription.toJSON());
    }).catch(function () { showState(p); });
  }

  function onSignal(e) {
    var m;
    try { m = JSON.parse(e.data); } catch (x) { return; }
    if (!joined || String(m.id) !== box.dataset.caseId) { return; }
    var p = peers[m.from];
    switch (m.type) {
      case "join": // they (re)joined: an old connection is stale; their offer follows
        drop(m.from);
        break;
      case "leave":
        drop(m.from);
        break;
      case "offer":
        if (p && p.remote) { drop(m.from); p = null; }
        p = p || peer(m.from, m.name);
        if (!p) { return; }
        p.pc.setRemoteDescription(m.payload).then(function () { return remoteSet(p); })
          .then(function () { return p.pc.createAnswer(); })
          .then(function (a) { return p.pc.setLocalDescription(a); })
          .then(function () { return send("answer", m.from, p.pc.localDescription.toJSON()); })
          .catch(function () { showState(p); });
        break;
      case "answer":
        if (p) { p.pc.setRemoteDescription(m.payload).then(function () { return remoteSet(p); }).catch(function () { showState(p); }); }
        break;
      case "candidate":
        if (!p) { p = peer(m.from, m.name); if (!p) { return; } }
        if (p.remote) { p.pc.addIceCandidate(m.payload).catch(function () {}); } else { p.pending.push(m.payload); }
        break;
    }
  }

  function join() {
    joinBtn.disabled = true;
    say("starting");
    navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(function (s) {
      stream = s;
      local.srcObject = s;
      var pl = local.play();
      if (pl && pl.catch) { pl.catch(function () {}); }
      joined = true;
      return send("join", 0);
    }, function (err) {
      say("nocam");
      joinBtn.disabled = false;
      throw err;
    }).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) {
          var msg = d && d.error && d.error.message;
          hangUp(false);
          say(r.status === 409 ? "full" : "failed", msg);
          return;
        }
        leaveBtn.hidden = false;
        joinBtn.hidden = true;
        say("waiting");
        (d.peers || []).forEach(function (x) { offerTo(x.id, x.name); });
      });
    }).catch(function () {
      if (joined) { hangUp(false); say("failed"); }
    });
  }

  function hangUp(tell) {
    if (joined && tell) { send("leave", 0); }
    joined = false;
    retries = {};
    Object.keys(peers).forEach(drop);
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    local.srcObject = null;
    leaveBtn.hidden = true;
    joinBtn.hidden = false;
    joinBtn.disabled = !ready();
    say("idle");
  }

  // Join only once the event stream is open: offers and answers arrive on it.
  var es = window.countycareEvents;
  if (!es && window.EventSource) { es = new EventSource(box.dataset.events || "/events"); }
  function ready() { return !!es && es.readyState === 1; }
  if (es) {
    es.addEventListener(signalEvent, onSignal);
    es.addEventListener("open", function () { if (!joined) { joinBtn.disabled = false; } });
    if (ready()) { joinBtn.disabled = false; }
  }
  joinBtn.addEventListener("click", join);
  leaveBtn.addEventListener("click", function () { hangUp(true); });
  window.addEventListener("pagehide", function () {
    if (!joined) { return; }
    var b = new URLSearchParams();
    b.set("csrf", csrf);
    b.set("type", "leave");
    b.set("to", "0");
    navigator.sendBeacon(url, b);
    joined = false;
  });
})();
