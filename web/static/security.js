// Credentials and consent for the page (issue 15).  Loaded before app.js; no build step.
//
// - Host token: when the server has a secret, the host's backend mints a short-lived token and hands it
//   to the page, either in the URL fragment (https://agent.example/#token=...; fragments never reach a
//   server or its logs, and the page removes it from the address bar), as window.EMOTION_AGENT_TOKEN
//   before this script runs, or by postMessage({type: "emotion-agent-token", token}) from the parent
//   frame.  It goes out as "Authorization: Bearer" (websockets: the subprotocol "bearer.<token>").
// - Session token: returned when a session is created; sent as X-Session-Token (websockets: the
//   subprotocol "token.<token>") to reach that session again.
// - Consent: the notice says emotion recognition is running and on what; the camera and microphone
//   toggles switch face / voice analysis off (the server stops reading those frames too).
"use strict";

(function () {
  const fragment = new URLSearchParams(location.hash.slice(1));
  let hostToken = fragment.get("token") || window.EMOTION_AGENT_TOKEN || null;
  if (fragment.has("token")) history.replaceState(null, "", location.pathname + location.search);

  window.addEventListener("message", (e) => {
    if (e.source === window.parent && e.data && e.data.type === "emotion-agent-token" && typeof e.data.token === "string") {
      hostToken = e.data.token;
    }
  });

  const auth = (window.EmotionAgentAuth = {
    consent: { face: true, voice: true },
    get hostToken() { return hostToken; },
    setHostToken(token) { hostToken = token; },
    /** Headers for a request that may open a session (or needs the host's permission). */
    headers(extra) {
      const h = Object.assign({}, extra || {});
      if (hostToken) h.Authorization = `Bearer ${hostToken}`;
      return h;
    },
    /** Headers for a request about one session. */
    sessionHeaders(sessionToken, extra) {
      const h = Object.assign({}, extra || {});
      if (sessionToken) h["X-Session-Token"] = sessionToken;
      return h;
    },
    /** Websocket subprotocols: the app's own, plus the session token (attach) or the host token (new). */
    wsProtocols(sessionToken) {
      const p = ["emotion-agent"];
      if (sessionToken) p.push(`token.${sessionToken}`);
      else if (hostToken) p.push(`bearer.${hostToken}`);
      return p;
    },
  });

  // ---------------------------------------------------------------- the notice and the toggles
  const $ = (id) => document.getElementById(id);
  const NAMES = { face: "your face (camera)", voice: "your voice (microphone)", text: "your typed words" };

  function current() {
    const app = window.__app || {};
    const live = app.state === "live" || app.state === "connecting";
    const stream = app.stream;
    const has = (kind) => !!(stream && stream.getTracks().some((t) => t.kind === kind && t.readyState === "live"));
    return {
      live,
      face: auth.consent.face && (!live || has("video")),
      voice: auth.consent.voice && (!live || has("audio")),
    };
  }

  function render() {
    const box = $("privacy-state");
    if (!box) return;
    const c = current();
    const on = ["face", "voice"].filter((m) => c[m]).map((m) => NAMES[m]);
    on.push(NAMES.text);
    const notice = $("privacy-notice");
    if (c.live) {
      box.textContent = `Emotion recognition is running on ${on.join(", ")}.`;
      notice.classList.add("running");
    } else {
      box.textContent = `Emotion recognition starts when you press Start or send a message, on ${on.join(", ")}.`;
      notice.classList.remove("running");
    }
    notice.dataset.modalities = ["face", "voice"].filter((m) => c[m]).concat(["text"]).join(" ");
  }

  async function toggled(modality, on) {
    auth.consent[modality] = on;
    const app = window.__app || {};
    if (app.stream) {  // stop sending it as well: black frames / silence instead
      const kind = modality === "face" ? "video" : "audio";
      app.stream.getTracks().filter((t) => t.kind === kind).forEach((t) => { t.enabled = on; });
    }
    render();
    if (app.sessionId && app.sessionToken) {
      try {
        await fetch(`/api/sessions/${encodeURIComponent(app.sessionId)}/consent`, {
          method: "POST", headers: auth.sessionHeaders(app.sessionToken, { "Content-Type": "application/json" }),
          body: JSON.stringify({ [modality]: on }),
        });
      } catch (err) { console.error("consent", err); }
    }
  }

  window.EmotionAgentPrivacy = { render };
  document.addEventListener("DOMContentLoaded", () => {
    for (const m of ["face", "voice"]) {
      const box = $(`consent-${m}`);
      if (!box) continue;
      auth.consent[m] = box.checked;
      box.addEventListener("change", () => toggled(m, box.checked));
    }
    render();
  });
})();
