// The agent's voice on the page (docs/VOICE.md).  Loaded after app.js; app.js calls
// window.__speech.onEvent(ev) for every event and window.__speech.onPeer(pc, stream) before its offer.
//
// EMOTION_AGENT_TTS=browser (default): reply_delta text is cut into sentences as it streams (the rule
// of agent/speech.py's SentenceChunker) and each sentence is spoken with speechSynthesis, its rate,
// pitch and volume looked up in the server's prosody table (GET /api/voice: by profile and the
// user's fused emotion for the turn; uncertain → neutral).  The page reports to the server when it
// starts and stops speaking ({"type": "speech_out", ...} on the data channel) so the server's echo
// guard and barge-in know; the server answers with speech_out_started / speech_out_stopped events,
// and a speech_out_stopped "interrupted" (the user spoke over the agent) cancels the speech here.
// EMOTION_AGENT_TTS=server: the page receives the agent's voice as a WebRTC audio track (a recvonly
// audio transceiver added to the offer) and plays it; the speaker toggle mutes it and tells the
// server to stop synthesising.  Off: no controls.
"use strict";

(function () {
  const SENTENCE_END = /(?<!\d)[.!?…]+["'”’)\]]*(?=\s|$)|(?<=\d)[.!?…]+["'”’)\]]*(?=\s)/g;
  const ABBREVIATIONS = new Set(["mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "no."]);
  const MAX_SENTENCE_CHARS = 240;
  const NEUTRAL = { rate: 1, pitch: 1, volume: 0.9 };

  const S = (window.__speech = {
    mode: "browser", table: null, uncertainLabel: "neutral", profile: null,
    speakerOn: false, speakerTouched: false,
    speaking: false, turn: 0, queue: [], spoken: [], ended: {}, cut: {}, bufs: {}, deltas: {}, emotion: {}, lastEmotion: null,
    remote: null, sentFor: null, noVoice: null,
  });
  const app = () => window.__app || {};
  const synth = () => window.speechSynthesis;  // looked up at each use (tests may wrap it)
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ controls
  // Styles are set through the CSSOM: the page's CSP (style-src 'self') blocks <style> elements.
  const header = document.querySelector("header");
  const speaker = document.createElement("button");
  speaker.id = "speaker"; speaker.type = "button"; speaker.hidden = true;
  speaker.title = "Speak the agent's replies (on by default for live voice, off for typed chat)";
  const indicator = document.createElement("span");
  indicator.id = "agent-voice"; indicator.className = "pill off"; indicator.hidden = true;
  const stopBtn = document.createElement("button");
  stopBtn.id = "speech-stop"; stopBtn.type = "button"; stopBtn.textContent = "Stop speaking";
  stopBtn.disabled = true; stopBtn.hidden = true;
  const audio = document.createElement("audio");
  audio.id = "agent-audio"; audio.autoplay = true; audio.hidden = true;
  header.append(speaker, indicator, stopBtn, audio);

  function render() {
    speaker.textContent = S.speakerOn ? "Voice: on" : "Voice: off";
    speaker.setAttribute("aria-pressed", String(S.speakerOn));
    Object.assign(speaker.style, S.speakerOn ? { background: "#2f6fed", color: "#fff", borderColor: "#2f6fed" }
      : { background: "", color: "", borderColor: "" });
    const talking = S.speaking || !!S.remote;
    indicator.className = `pill ${talking ? "on" : "off"}`;
    Object.assign(indicator.style, talking ? { background: "#7c3aed", color: "#fff" } : { background: "", color: "" });
    const p = S.speaking ? S.current : S.remote && S.remote.prosody;
    indicator.textContent = talking ? "agent speaking" : S.noVoice ? "no browser voice" : "agent quiet";
    indicator.title = talking && p ? `rate ${p.rate} · pitch ${p.pitch ?? "—"} · volume ${p.volume}` :
      S.noVoice ? `speechSynthesis failed: ${S.noVoice}` : "the agent's voice";
    stopBtn.disabled = !talking;
  }

  function setSpeaker(on, tellServer = true) {
    if (S.speakerOn && !on) stopSpeaking();
    S.speakerOn = on;
    audio.muted = !on;
    if (tellServer) send({ type: "voice", speaker: on });
    render();
  }
  speaker.addEventListener("click", () => { S.speakerTouched = true; setSpeaker(!S.speakerOn); });
  stopBtn.addEventListener("click", stopSpeaking);
  const sessionStop = $("stop");
  if (sessionStop) sessionStop.addEventListener("click", () => { cancelLocal(); S.remote = null; render(); });

  // ------------------------------------------------------------------ server link
  function send(msg) {
    const a = app(), text = JSON.stringify(msg);
    if (a.dc && a.dc.readyState === "open") { a.dc.send(text); return true; }
    if (a.ws && a.ws.readyState === WebSocket.OPEN) { a.ws.send(text); return true; }
    return false;
  }
  function report(state, fields) {
    const msg = { type: "speech_out", state, ...fields };
    if (!send(msg) && app().onEvent) {
      // No channel (REST chat): log the event locally, in the shape the server would send.
      const ev = state === "started"
        ? { type: "speech_out_started", turn: fields.turn, source: "browser", prosody: fields.prosody, t: performance.now() / 1000 }
        : { type: "speech_out_stopped", turn: fields.turn, source: "browser", reason: fields.reason, barge_in_ms: null, t: performance.now() / 1000 };
      app().onEvent(ev);
    }
  }

  // ------------------------------------------------------------------ prosody
  function prosodyFor(turn) {
    const ev = S.emotion[turn] || S.lastEmotion;
    const profile = S.profile || ($("profile") ? $("profile").value : "default");
    const rows = S.table && (S.table[profile] || S.table.default);
    if (!rows) return NEUTRAL;
    const label = !ev || ev.uncertain ? S.uncertainLabel : ev.label;
    return rows[label] || rows[S.uncertainLabel] || NEUTRAL;
  }

  // ------------------------------------------------------------------ sentences (agent/speech.py's rule)
  function takeSentences(turn, text) {
    let buf = (S.bufs[turn] || "") + text;
    const out = [];
    let start = 0, m;
    SENTENCE_END.lastIndex = 0;
    while ((m = SENTENCE_END.exec(buf)) !== null) {
      const end = m.index + m[0].length;
      const words = buf.slice(start, end).trim().split(/\s+/);
      if (ABBREVIATIONS.has(words[words.length - 1].toLowerCase())) continue;
      out.push(buf.slice(start, end).trim());
      start = end;
    }
    buf = buf.slice(start);
    while (buf.length > MAX_SENTENCE_CHARS) {
      const head = buf.slice(0, MAX_SENTENCE_CHARS);
      let cut = Math.max(head.lastIndexOf(", "), head.lastIndexOf("; "));
      cut = cut > 0 ? cut + 1 : head.lastIndexOf(" ");
      if (cut <= 0) cut = MAX_SENTENCE_CHARS;
      out.push(buf.slice(0, cut).trim());
      buf = buf.slice(cut);
    }
    S.bufs[turn] = buf;
    return out.filter((s) => /[\p{L}\p{N}]/u.test(s));
  }

  // ------------------------------------------------------------------ speaking
  const estimateMs = (text, rate) => (text.length / 14) * 1000 / Math.max(rate || 1, 0.1);

  function speak(turn, text) {
    const engine = synth();
    if (!engine || typeof SpeechSynthesisUtterance === "undefined") { S.noVoice = "not supported"; render(); return; }
    const p = prosodyFor(turn);
    const u = new SpeechSynthesisUtterance(text);
    u.rate = p.rate; u.pitch = p.pitch; u.volume = p.volume; u.lang = "en-US";
    const item = { u, turn, text, prosody: p, started: false, done: false };
    u.onstart = () => started(item);
    u.onend = () => finished(item, null);
    u.onerror = (e) => finished(item, e.error || "error");
    item.watchdog = setTimeout(() => finished(item, "timeout"), estimateMs(text, p.rate) * 3 + 3000);
    S.queue.push(item);
    engine.speak(u);
  }

  function started(item) {
    if (item.done || item.started) return;
    item.started = true;
    if (S.speaking && S.turn !== item.turn) finishTurn(S.turn);
    if (!S.speaking) {
      S.speaking = true; S.turn = item.turn; S.spoken = []; S.current = item.prosody;
      const { rate, pitch, volume } = item.prosody;
      report("started", { turn: item.turn, prosody: { rate, pitch, volume } });
    }
    S.spoken.push(item.text);
    render();
  }

  function finished(item, error) {
    if (item.done) return;
    item.done = true;
    clearTimeout(item.watchdog);
    S.queue = S.queue.filter((x) => x !== item);
    if (error && !item.started && error !== "interrupted" && error !== "canceled") S.noVoice = error;
    maybeDone(item.turn);
    render();
  }

  function maybeDone(turn) {
    if (S.speaking && S.turn === turn && S.ended[turn] && !S.queue.some((x) => x.turn === turn)) finishTurn(turn);
  }

  function finishTurn(turn) {
    S.speaking = false;
    report("stopped", { turn, reason: "done" });
  }

  /** Stop at once, tell nobody; returns whether anything was speaking or queued. */
  function cancelLocal() {
    const busy = S.speaking || S.queue.length > 0;
    for (const item of S.queue) { item.done = true; clearTimeout(item.watchdog); }
    S.queue = [];
    if (synth()) synth().cancel();
    if (S.speaking) S.cut[S.turn] = true;
    for (const t of Object.keys(S.bufs)) S.cut[t] = true;
    S.bufs = {};
    S.speaking = false;
    render();
    return busy;
  }

  /** The Stop control (and speaker off): stop speaking here and on the server, cut the reply. */
  function stopSpeaking() {
    const turn = S.turn, spoken = S.spoken.join(" ");
    const wasSpeaking = S.speaking;
    cancelLocal();
    if (wasSpeaking) report("stopped", { turn, reason: "interrupted", spoken });
    if (S.remote) send({ type: "speech_out", state: "stopped", reason: "interrupted", turn: S.remote.turn });
  }

  // ------------------------------------------------------------------ events from app.js
  const handlers = {
    emotion(ev) { if (!ev.provisional) { S.emotion[ev.turn ?? 0] = ev; S.lastEmotion = ev; } },
    reply_delta(ev) {
      const t = ev.turn ?? 0;
      if (S.mode !== "browser" || !S.speakerOn || S.cut[t]) return;
      S.deltas[t] = true;
      for (const sentence of takeSentences(t, ev.text)) speak(t, sentence);
    },
    reply(ev) {
      const t = ev.turn ?? 0;
      S.ended[t] = true;
      const rest = (S.bufs[t] || "").trim();
      delete S.bufs[t];
      if (S.mode === "browser" && S.speakerOn && !S.cut[t] && !ev.interrupted) {
        // What is left after the last whole sentence; the whole reply if no deltas came (REST chat does send them).
        const text = S.deltas[t] ? rest : (ev.text || "");
        if (text && /[\p{L}\p{N}]/u.test(text)) speak(t, text);
      }
      delete S.deltas[t];
      maybeDone(t);
    },
    speech_out_started(ev) {
      if (ev.source !== "browser") { S.remote = ev; render(); }
    },
    speech_out_stopped(ev) {
      if (ev.source === "browser" && ev.reason === "interrupted") cancelLocal();  // barge-in (server decided)
      if (ev.source !== "browser") { S.remote = null; render(); }
    },
  };

  S.onEvent = function (ev) {
    const a = app();
    if (a.dc && a.dc !== S.sentFor && a.dc.readyState === "open") {  // tell a new channel the speaker state
      S.sentFor = a.dc;
      send({ type: "voice", speaker: S.speakerOn });
    }
    const h = handlers[ev.type];
    if (h) { try { h(ev); } catch (err) { console.error("speech", ev.type, err); } }
  };

  S.onPeer = function (pc, stream) {
    S.profile = $("profile") ? $("profile").value : "default";
    S.emotion = {}; S.ended = {}; S.cut = {}; S.bufs = {}; S.deltas = {}; S.lastEmotion = null; S.sentFor = null;
    if (S.mode === "server") {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addEventListener("track", (e) => {
        if (e.track.kind === "audio") { audio.srcObject = new MediaStream([e.track]); audio.muted = !S.speakerOn; }
      });
    }
    // Live voice: the speaker comes on (unless the user chose); typed chat keeps it off.
    const live = !!(stream && stream.getAudioTracks().length);
    if (S.mode !== "off" && !S.speakerTouched) setSpeaker(live, false);
  };

  S.prosodyFor = prosodyFor;
  S.stop = stopSpeaking;
  S.setSpeaker = setSpeaker;

  fetch("/api/voice").then((r) => (r.ok ? r.json() : null)).then((c) => {
    if (!c) return;
    S.mode = c.mode; S.table = c.prosody; S.uncertainLabel = c.uncertain_label || "neutral";
    const on = S.mode !== "off";
    speaker.hidden = indicator.hidden = stopBtn.hidden = !on;
    render();
  }).catch(() => {});
  render();
})();
