// Emotion-aware agent: the live page.  Plain browser APIs, no build step, nothing fetched from elsewhere.
// Events arrive as JSON on the WebRTC data channel "events" (a websocket when WebRTC fails); every
// event is also appended to window.__events so tests can read what the page received.
"use strict";

(function () {
  const LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];
  const MODALITIES = ["face", "voice", "text"];
  const ICE_TIMEOUT_MS = 5000;
  const CHANNEL_OPEN_TIMEOUT_MS = 15000;

  window.__events = [];
  const app = (window.__app = {
    state: "idle", sessionId: null, sessionToken: null, chatSessionId: null, chatSessionToken: null,
    pc: null, dc: null, ws: null, stream: null,
    t0: null, mood: [], points: [], bubbles: {}, config: { ice_servers: [] },
  });

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const pct = (x) => `${Math.round((x || 0) * 100)}%`;
  const auth = window.EmotionAgentAuth;  // security.js: host token, session tokens, consent
  const privacyRender = () => { if (window.EmotionAgentPrivacy) window.EmotionAgentPrivacy.render(); };

  // ---------------------------------------------------------------- banners and status
  function banner(kind, text, key) {
    if (key) {
      const old = document.querySelector(`[data-key="${key}"]`);
      if (old) old.remove();
    }
    const b = el("div", `banner ${kind}`);
    if (key) b.dataset.key = key;
    b.appendChild(el("span", "", text));
    const x = el("button", "close", "×");
    x.type = "button";
    x.title = "dismiss";
    x.onclick = () => b.remove();
    b.appendChild(x);
    $("banners").appendChild(b);
    return b;
  }
  function clearBanner(key) {
    const old = document.querySelector(`[data-key="${key}"]`);
    if (old) old.remove();
  }
  function setStatus(state, text) {
    app.state = state;
    const s = $("status");
    s.textContent = text || state;
    s.className = `pill ${state === "live" ? "live" : state === "failed" ? "failed" :
      state === "connecting" ? "connecting" : "idle"}`;
    privacyRender();
  }

  // ---------------------------------------------------------------- bars
  function barRow(parent, name) {
    const row = el("div", "row");
    row.appendChild(el("span", "", name));
    const bar = el("div", "bar");
    const fill = el("i");
    bar.appendChild(fill);
    row.appendChild(bar);
    const num = el("span", "num", "—");
    row.appendChild(num);
    parent.appendChild(row);
    return { fill, num };
  }
  function setBar(b, value, color) {
    b.fill.style.width = pct(value);
    if (color) b.fill.style.background = color;
    b.num.textContent = value === null || value === undefined ? "—" : pct(value);
  }
  const labelColor = (l) => getComputedStyle(document.documentElement).getPropertyValue(`--${l}`) || "#2f6fed";

  const experts = {};
  for (const m of MODALITIES) {
    const box = el("div", "expert stale");
    const head = el("div", "head");
    head.appendChild(el("span", "", m));
    const top = el("span", "label", "no data");
    head.appendChild(top);
    box.appendChild(head);
    const bars = el("div", "bars");
    const rows = {};
    for (const l of LABELS) rows[l] = barRow(bars, l);
    box.appendChild(bars);
    $("experts").appendChild(box);
    experts[m] = { box, top, rows };
  }
  const alpha = {};
  for (const m of MODALITIES) alpha[m] = barRow($("alpha-bars"), m);

  // ---------------------------------------------------------------- event handling
  function onEvent(ev) {
    window.__events.push(ev);
    if (window.__speech) window.__speech.onEvent(ev);  // speech.js: the agent's voice
    const h = handlers[ev.type];
    if (h) {
      try { h(ev); } catch (err) { console.error("handler", ev.type, err); }
    }
  }
  const handlers = {
    speech(ev) {
      const s = $("speaking");
      s.textContent = ev.state === "started" ? "speaking…" : "silent";
      s.className = `pill ${ev.state === "started" ? "on" : "off"}`;
    },
    transcript(ev) {
      if (!ev.is_final) { $("partial").textContent = ev.text; return; }
      $("partial").textContent = "";
      const li = el("li");
      li.appendChild(el("span", "t", `${ev.start.toFixed(1)}–${ev.end.toFixed(1)} s`));
      li.appendChild(document.createTextNode(ev.text || "(no words)"));
      $("finals").appendChild(li);
      li.scrollIntoView({ block: "nearest" });
    },
    expert_scores(ev) {
      const x = experts[ev.modality];
      if (!x) return;
      x.box.classList.remove("stale");
      x.top.textContent = `${ev.label} ${pct(ev.confidence)}`;
      for (const l of LABELS) setBar(x.rows[l], ev.probs[l] || 0, labelColor(l));
    },
    emotion(ev) {
      const f = $("fused-label");
      f.textContent = ev.label;
      f.className = "big" + (ev.provisional ? " provisional" : "") + (ev.uncertain ? " uncertain" : "");
      f.style.color = labelColor(ev.label);
      $("fused-meta").textContent = `confidence ${pct(ev.confidence)} · valence ${ev.valence.toFixed(2)}` +
        ` · arousal ${ev.arousal.toFixed(2)} · ${ev.fuser}${ev.provisional ? " · provisional" : ""}`;
      $("fused-explanation").textContent = ev.explanation || "";
      for (const m of MODALITIES) setBar(alpha[m], ev.weights[m] ?? 0);
      if (!ev.provisional) {
        // Dim the experts that did not take part in this turn (their bars show an older turn).
        for (const m of MODALITIES) experts[m].box.classList.toggle("stale", !(ev.weights[m] > 0));
        app.points.push({ t: now(), v: ev.valence, a: ev.arousal, label: ev.label });
        drawMood();
      }
    },
    mood(ev) {
      app.mood.push({ t: now(), v: ev.valence, a: ev.arousal });
      $("mood-trend").textContent = `trend: ${ev.trend}`;
      drawMood();
    },
    mood_shift(ev) { systemMsg(`mood shifted: ${ev.from} → ${ev.to}`); },
    trend_report(ev) { systemMsg(ev.text); },
    escalation(ev) {
      banner("escalation", `⚠ ${ev.message}`, "escalation");
      systemMsg(`escalation (${ev.kind})`);
    },
    handoff(ev) { banner("warn", `Handing over to a human: ${ev.message} (${ev.reason})`, "handoff"); },
    reply_delta(ev) {
      const b = botBubble(ev.turn);
      b.text.textContent += ev.text;
      scrollChat();
    },
    reply(ev) {
      const b = botBubble(ev.turn);
      b.text.textContent = ev.text;
      b.box.classList.remove("streaming");
      b.who.textContent = `agent · ${ev.responder}${ev.fallback_reason ? " (fallback)" : ""}`;
      delete app.bubbles[ev.turn ?? 0];
      scrollChat();
    },
    face(ev) { drawFace(ev.box); },
    metrics(ev) { showMetrics(ev); },
    error(ev) { banner("warn", `Agent error${ev.where ? ` (${ev.where})` : ""}: ${ev.message}`, `err-${ev.where}`); },
    summary(ev) {
      systemMsg(`session over: ${ev.turns} turns, trend ${ev.trend}, ${ev.escalations} escalations`);
    },
  };
  const now = () => (app.t0 === null ? (app.t0 = performance.now(), 0) : (performance.now() - app.t0) / 1000);

  // ---------------------------------------------------------------- chat
  function addMsg(cls, text, who) {
    const box = el("div", `msg ${cls}`);
    const w = el("span", "who", who || "");
    if (who !== undefined) box.appendChild(w);
    const t = el("span", "", text);
    box.appendChild(t);
    $("chat-log").appendChild(box);
    scrollChat();
    return { box, text: t, who: w };
  }
  const systemMsg = (text) => addMsg("system", text);
  const scrollChat = () => { const c = $("chat-log"); c.scrollTop = c.scrollHeight; };
  function botBubble(turn) {
    const key = turn ?? 0;
    if (!app.bubbles[key]) {
      app.bubbles[key] = addMsg("bot streaming", "", "agent");
    }
    return app.bubbles[key];
  }

  async function sendChat(text) {
    addMsg("user", text, "you");
    const msg = JSON.stringify({ type: "chat", text });
    if (app.dc && app.dc.readyState === "open") { app.dc.send(msg); return; }
    if (app.ws && app.ws.readyState === WebSocket.OPEN) { app.ws.send(msg); return; }
    try {
      const r = await fetch("/api/chat", {
        method: "POST",
        headers: app.chatSessionId ? auth.sessionHeaders(app.chatSessionToken, { "Content-Type": "application/json" })
          : auth.headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ text, session_id: app.chatSessionId, profile: $("profile").value }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.status === 404 && app.chatSessionId) { app.chatSessionId = null; return sendChatRetry(text); }
      if (!r.ok) { banner("error", `Chat failed (${r.status}): ${detail(body)}`, "chat"); return; }
      app.chatSessionId = body.session_id;
      if (body.session_token) app.chatSessionToken = body.session_token;
      for (const ev of body.events) onEvent(ev);
    } catch (err) {
      banner("error", `Chat failed: the server cannot be reached (${err.message}).`, "chat");
    }
  }
  function sendChatRetry(text) { $("chat-log").lastChild.remove(); return sendChat(text); }
  const detail = (body) => (typeof body.detail === "string" ? body.detail
    : Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : JSON.stringify(body.detail || body));

  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendChat(text);
  });

  // ---------------------------------------------------------------- media + WebRTC
  async function getMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      banner("error", "Camera and microphone need a secure page: open it via http://localhost or https. " +
        "Chat still works.", "media");
      return null;
    }
    // Echo cancellation on; noise suppression and gain control off: they reshape the prosody the
    // voice expert reads.
    const audio = { echoCancellation: true, noiseSuppression: false, autoGainControl: false, channelCount: 1 };
    const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } };
    const want = auth.consent;  // a sensor switched off in the privacy notice is not even opened
    const attempts = [{ audio, video }, { audio }, { video }]
      .map((c) => ({ audio: want.voice ? c.audio : undefined, video: want.face ? c.video : undefined }))
      .filter((c) => c.audio || c.video);
    if (!attempts.length) return null;
    let lastErr = null;
    for (const c of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(c);
        if (!c.video) banner("warn", "No camera available: continuing with the microphone only.", "media");
        if (!c.audio) banner("warn", "No microphone available: continuing with the camera only.", "media");
        return stream;
      } catch (err) {
        lastErr = err;
        if (err.name === "NotAllowedError" || err.name === "SecurityError") break;  // denial covers all
      }
    }
    const why = lastErr && (lastErr.name === "NotAllowedError" || lastErr.name === "SecurityError")
      ? "Camera/microphone permission was denied. Allow them in the browser's site settings and press " +
        "Start again."
      : `No camera or microphone could be opened (${lastErr ? lastErr.name + ": " + lastErr.message : "unknown"}).`;
    banner("error", `${why} You can still chat by typing.`, "media");
    return null;
  }

  function waitIce(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, ICE_TIMEOUT_MS);  // send what we have: host candidates come first
    });
  }

  async function start() {
    $("start").disabled = true;
    $("stop").disabled = false;
    setStatus("connecting", "requesting camera & microphone");
    ["media", "connection", "escalation", "handoff"].forEach(clearBanner);
    app.t0 = null; app.mood = []; app.points = []; drawMood();
    const stream = await getMedia();
    app.stream = stream;
    const preview = $("preview");
    const hasVideo = !!(stream && stream.getVideoTracks().length);
    preview.srcObject = hasVideo ? stream : null;
    $("no-video").hidden = hasVideo;
    $("media-status").textContent = stream
      ? stream.getTracks().map((t) => `${t.kind}: ${t.label || "on"}`).join(" · ")
      : "no camera/microphone: text chat only";
    setStatus("connecting", "connecting");
    const iceServers = app.config.ice_servers.map((u) => ({ urls: u })).concat(app.config.turn_servers || []);
    const pc = (app.pc = new RTCPeerConnection({ iceServers }));
    if (stream) for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    if (window.__speech) window.__speech.onPeer(pc, stream);  // speech.js: server voice track, speaker default
    const dc = (app.dc = pc.createDataChannel("events"));
    dc.onmessage = (e) => { try { onEvent(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    dc.onopen = () => { setStatus("live", stream ? "live" : "live (text only)"); clearBanner("connection"); };
    dc.onclose = () => { if (app.pc === pc && app.state === "live") setStatus("idle", "disconnected"); };
    pc.onconnectionstatechange = () => {
      if (app.pc !== pc) return;
      if (pc.connectionState === "failed") connectionFailed("the WebRTC connection failed (ICE/DTLS)");
      if (pc.connectionState === "disconnected") banner("warn", "Connection interrupted; trying to recover…", "connection");
      if (pc.connectionState === "connected") clearBanner("connection");
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitIce(pc);
      const r = await fetch("/offer", {
        method: "POST", headers: auth.headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, profile: $("profile").value,
          consent: { face: auth.consent.face, voice: auth.consent.voice } }),
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(r.status === 503 ? `server busy: ${detail(body)}` : `${r.status}: ${detail(body)}`);
      app.sessionId = body.session_id;
      app.sessionToken = body.session_token;
      await pc.setRemoteDescription({ sdp: body.sdp, type: body.type });
    } catch (err) {
      connectionFailed(err.message);
      return;
    }
    setTimeout(() => {
      if (app.pc === pc && dc.readyState !== "open") connectionFailed("the data channel did not open in time");
    }, CHANNEL_OPEN_TIMEOUT_MS);
  }

  function connectionFailed(why) {
    setStatus("failed", "connection failed");
    banner("error", `Connection failed: ${why}. Live audio/video analysis is off; typed chat goes over ` +
      "a websocket instead.", "connection");
    const pc = app.pc;
    app.pc = null; app.dc = null;
    if (pc) pc.close();
    openWebsocket();
  }

  function openWebsocket() {
    if (app.ws && app.ws.readyState <= WebSocket.OPEN) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = (app.ws = new WebSocket(`${proto}://${location.host}/ws?profile=${encodeURIComponent($("profile").value)}`,
      auth.wsProtocols()));
    ws.onmessage = (e) => { try { onEvent(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    ws.onclose = (e) => { if (e.code !== 1000 && e.code !== 1005 && app.ws === ws) banner("error", `Websocket closed: ${e.reason || e.code}`, "ws"); };
  }

  function stop() {
    if (app.sessionId && app.sessionToken) {  // end it on the server and drop its state (DELETE)
      fetch(`/api/sessions/${encodeURIComponent(app.sessionId)}`, {
        method: "DELETE", keepalive: true, headers: auth.sessionHeaders(app.sessionToken),
      }).catch(() => {});
    }
    app.sessionId = null; app.sessionToken = null;
    const pc = app.pc;
    app.pc = null; app.dc = null;
    if (pc) pc.close();
    if (app.ws) { const ws = app.ws; app.ws = null; ws.close(1000); }
    if (app.stream) app.stream.getTracks().forEach((t) => t.stop());
    app.stream = null;
    $("preview").srcObject = null;
    $("no-video").hidden = false;
    clearFace();
    setStatus("idle", "stopped");
    $("start").disabled = false;
    $("stop").disabled = true;
  }

  $("start").addEventListener("click", () => { start().catch((err) => connectionFailed(err.message)); });
  $("stop").addEventListener("click", stop);
  window.addEventListener("beforeunload", stop);

  // ---------------------------------------------------------------- face box
  let faceTimer = null;
  function drawFace(box) {
    const v = $("preview"), c = $("face-overlay");
    if (!v.videoWidth) return;
    const rect = c.getBoundingClientRect();
    c.width = rect.width; c.height = rect.height;
    const scale = Math.min(rect.width / v.videoWidth, rect.height / v.videoHeight);
    const ox = (rect.width - v.videoWidth * scale) / 2, oy = (rect.height - v.videoHeight * scale) / 2;
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.strokeStyle = "#34d399"; ctx.lineWidth = 2;
    ctx.strokeRect(ox + box[0] * scale, oy + box[1] * scale, box[2] * scale, box[3] * scale);
    clearTimeout(faceTimer);
    faceTimer = setTimeout(clearFace, 2000);
  }
  function clearFace() { const c = $("face-overlay"); c.getContext("2d").clearRect(0, 0, c.width, c.height); }

  // ---------------------------------------------------------------- mood timeline
  function drawMood() {
    const c = $("mood-canvas");
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 600, h = c.clientHeight || 180;
    c.width = w * dpr; c.height = h * dpr;
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 34, r: 10, t: 8, b: 20 };
    const tMax = Math.max(30, ...app.mood.map((p) => p.t), ...app.points.map((p) => p.t));
    const x = (t) => pad.l + (t / tMax) * (w - pad.l - pad.r);
    const y = (v) => pad.t + ((1 - v) / 2) * (h - pad.t - pad.b);
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#6b7280"; ctx.strokeStyle = "#e3e6eb";
    for (const v of [-1, -0.5, 0, 0.5, 1]) {
      ctx.beginPath(); ctx.moveTo(pad.l, y(v)); ctx.lineTo(w - pad.r, y(v)); ctx.stroke();
      ctx.fillText(v.toFixed(1), 2, y(v) + 4);
    }
    ctx.fillText("0 s", pad.l, h - 5);
    ctx.fillText(`${Math.round(tMax)} s`, w - pad.r - 30, h - 5);
    const css = getComputedStyle(document.documentElement);
    for (const [key, color] of [["v", css.getPropertyValue("--valence")], ["a", css.getPropertyValue("--arousal")]]) {
      ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2;
      if (app.mood.length) {
        ctx.beginPath();
        app.mood.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p[key])) : ctx.moveTo(x(p.t), y(p[key]))));
        ctx.stroke();
      }
      for (const p of app.points) { ctx.beginPath(); ctx.arc(x(p.t), y(p[key]), 3, 0, 2 * Math.PI); ctx.fill(); }
    }
  }
  window.addEventListener("resize", drawMood);
  drawMood();

  // ---------------------------------------------------------------- metrics
  function showMetrics(ev) {
    const stages = Object.entries(ev.stage_ms || {})
      .filter(([k]) => !k.endsWith("_rtf"))
      .map(([k, s]) => `${k} p50 ${Math.round(s.p50)} / p95 ${Math.round(s.p95)} ms`).join(" · ");
    $("metrics").textContent = `audio lag ${ev.audio_lag_s.toFixed(2)} s · audio ${Math.round(ev.audio_seconds)} s · ` +
      `frames ${ev.video_frames_seen} (dropped ${ev.video_frames_dropped}, paused ${ev.video_frames_paused || 0})` +
      `${stages ? " · " + stages : ""}`;
  }

  // ---------------------------------------------------------------- clip upload
  const fmt = (s) => (s ? `<span class="lab">${esc(s.label)}</span> ${pct(s.confidence)}` : "—");
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("upload-file").files[0];
    const status = $("upload-status");
    if (!file) { status.textContent = "choose an audio or video file first"; return; }
    const maxMb = app.config.max_upload_mb || 50;
    if (file.size > maxMb * 1e6) { status.textContent = `file is over the ${maxMb} MB limit`; return; }
    status.textContent = `analyzing ${file.name}…`;
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const r = await fetch("/api/analyze", { method: "POST", body: form, headers: auth.headers() });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { status.textContent = `could not analyze (${r.status}): ${detail(body)}`; return; }
      renderAnalysis(body);
      status.textContent = `${file.name}: ${body.utterances.length} utterance(s), ${body.duration ?? "?"} s`;
    } catch (err) {
      status.textContent = `upload failed: ${err.message}`;
    }
  });
  function renderAnalysis(result) {
    const table = $("upload-table"), tbody = table.querySelector("tbody");
    tbody.innerHTML = "";
    result.utterances.forEach((u, i) => {
      const tr = document.createElement("tr");
      const w = (u.fused && u.fused.weights) || {};
      tr.innerHTML = `<td>${i + 1}</td><td>${u.start.toFixed(2)}</td><td>${u.end.toFixed(2)}</td>` +
        `<td>${esc(u.transcript || "")}</td><td>${fmt(u.experts.face)}</td><td>${fmt(u.experts.voice)}</td>` +
        `<td>${fmt(u.experts.text)}</td><td>${fmt(u.fused)}</td>` +
        `<td>${MODALITIES.map((m) => (w[m] === undefined ? "—" : w[m].toFixed(2))).join(" / ")}</td>`;
      tbody.appendChild(tr);
    });
    table.hidden = false;
  }

  // ---------------------------------------------------------------- config
  fetch("/api/config", { headers: auth.headers() }).then((r) => (r.ok ? r.json() : null)).then((c) => { if (c) app.config = c; }).catch(() => {});
  app.onEvent = onEvent;
})();
