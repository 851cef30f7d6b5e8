// treadwalk's second screen. No build step, no library: one WebSocket, plain DOM, an SVG chart.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("t") || "";
  const $ = (id) => document.getElementById(id);
  const STALE_MS = 5000;
  const KM_PER_MI = 1.609344;
  const UNITS = ["metric", "imperial", "pace"];
  const tw = (window.__tw = { paints: [], events: [], state: null, plan: null, control: false, open: false });

  let units = localStorage.getItem("treadwalk.units") || null;
  let ws = null, backoff = 500, lastHeard = 0, replyTimer = 0, lostAt = 0;
  const LOST_SHOWN_MS = 5000; // a control lost and regained at once still stays in view this long

  // ---------------------------------------------------------------- formatting
  const dur = (s) => {
    if (s == null) return "–";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  };
  const imperial = () => units === "imperial" || units === "pace_imperial";
  function speedText(kmh) {
    if (kmh == null) return "–";
    if (units === "pace") return kmh > 0.3 ? dur(3600 / kmh) : "–";
    return (imperial() ? kmh / KM_PER_MI : kmh).toFixed(1);
  }
  const speedUnit = () => (units === "pace" ? "/km" : imperial() ? "mph" : "km/h");
  const distText = (m) =>
    m == null ? "–" : imperial() ? (m / 1000 / KM_PER_MI).toFixed(2) + " mi" : (m / 1000).toFixed(2) + " km";
  const upText = (m) => (m == null ? "–" : imperial() ? Math.round(m * 3.28084) + " ft" : Math.round(m) + " m");

  // ---------------------------------------------------------------- the page
  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function render() {
    const s = tw.state;
    if (!s) return;
    setText("phase", s.phase === "paused" && s.paused_by === "machine" ? "paused by the treadmill" : s.phase);
    $("phase").className = "pill " + s.phase;
    setText("speed-label", units === "pace" ? "pace" : "speed");
    setText("speed", speedText(s.speed_kmh));
    setText("speed-unit", speedUnit());
    setText("speed-target", s.target_speed_kmh == null ? "–" : speedText(s.target_speed_kmh) + " " + speedUnit());
    setText("incline", s.incline_pct == null ? "–" : s.incline_pct.toFixed(1));
    setText("incline-target", s.target_incline_pct == null ? "–" : s.target_incline_pct.toFixed(1) + " %");
    let left = "–";
    if (s.phase === "countdown" && s.countdown_s != null) left = String(s.countdown_s);
    else if (s.segment_remaining_m != null) left = distText(s.segment_remaining_m);
    else if (s.segment_remaining_s != null) left = dur(s.segment_remaining_s);
    setText("seg-left", left);
    setText("seg-name", s.segment_name ? s.segment_name + (s.segment_kind ? " · " + s.segment_kind : "") : s.phase);
    setText("seg-count", s.segment_index == null ? "" : s.segment_index + 1 + "/" + s.segment_count);
    setText("seg-title", s.segment_name || (s.phase === "ready" ? "ready: start on the treadwalk keys" : ""));
    const paused = s.paused_by != null;
    let line = s.cue || s.message || "";
    if (s.paused_by === "machine") line = "Paused by the treadmill: go on at its console.";
    else if (s.paused_by) line = "Paused: go on with the treadwalk keys (never from this page).";
    setText("cue", line);
    let next = "";
    if (s.next_name) next = "next: " + s.next_name + (s.segment_remaining_s != null ? " in " + dur(s.segment_remaining_s) : "");
    else if (s.segment_index != null && s.phase !== "finished") next = "last segment";
    setText("next", next);
    setText("elapsed", dur(s.elapsed_s));
    setText("to-go", dur(s.remaining_s));
    setText("distance", distText(s.distance_m));
    setText("ascent", upText(s.ascent_m));
    $("hr-box").hidden = s.heart_rate_bpm == null && s.hr_reason == null;
    let hr = s.heart_rate_bpm == null ? (s.hr_reason ? s.hr_reason.replace("_", " ") : "–") : s.heart_rate_bpm + " bpm";
    if (s.heart_rate_bpm != null && s.hr_zone) hr += " · Z" + s.hr_zone;
    if (s.hr_low_bpm != null && s.hr_high_bpm != null) hr += " (" + s.hr_low_bpm + "–" + s.hr_high_bpm + ")";
    setText("hr", hr);
    setText("pause", paused ? "paused" : "pause");
    $("pause").title = paused ? "resume on the treadwalk keys (never from this page)" : "pause the belt";
    $("pause").disabled = paused;
    banner(s);
    connection();
    chartHere();
    const speed = s.speed_kmh;
    requestAnimationFrame(() => tw.paints.push({ speed, at: performance.timeOrigin + performance.now() }));
    if (tw.paints.length > 2000) tw.paints.splice(0, 1000);
  }

  function banner(s) {
    const b = $("banner");
    let text = "", warn = false;
    if (s.connection === "control_lost") text = "CONTROL LOST: another app or the console took over";
    else if (s.connection === "reconnecting") { text = "treadmill link lost: reconnecting…"; warn = true; }
    else if (Date.now() - lostAt < LOST_SHOWN_MS) { text = "CONTROL LOST for a moment: treadwalk took it back"; }
    else if (s.phase === "paused" && s.paused_by === "machine") { text = "paused by the treadmill"; warn = true; }
    else if (s.phase === "finished" || s.phase === "aborted") { text = "session over" + (s.stop_reason ? ": " + s.stop_reason : ""); warn = true; }
    b.hidden = !text;
    b.className = warn ? "warn" : "";
    if (b.textContent !== text) b.textContent = text;
  }

  function connection() {
    const stale = !tw.open || Date.now() - lastHeard > STALE_MS;
    document.body.classList.toggle("stale", stale);
    const s = tw.state;
    let text, cls;
    if (!tw.open) { text = s && (s.phase === "finished" || s.phase === "aborted") ? "offline" : "reconnecting"; cls = "offline"; }
    else if (stale) { text = "stale"; cls = "stale"; }
    else if (s) { text = s.connection.replace("_", " "); cls = s.connection; }
    else { text = "connected"; cls = "connected"; }
    setText("conn", text);
    $("conn").className = "pill " + cls;
    const at = lastHeard ? new Date(lastHeard).toLocaleTimeString() : "";
    setText("heard", !at ? "" : stale ? "not live: these values are from " + at : "updated " + at);
  }

  // ---------------------------------------------------------------- the plan chart
  function drawPlan() {
    const plan = tw.plan, svg = $("chart");
    if (!plan || !plan.segments.length) return;
    setText("profile", plan.name);
    const total = plan.duration_s || 1;
    let top = 1, lo = 0, hi = 1;
    for (const g of plan.segments) {
      top = Math.max(top, g.speed_kmh, g.end_speed_kmh);
      lo = Math.min(lo, g.incline_pct, g.end_incline_pct);
      hi = Math.max(hi, g.incline_pct, g.end_incline_pct);
    }
    const x = (t) => (t / total) * 1000, y = (v) => 200 - (v / top) * 190;
    const yi = (p) => 195 - ((p - lo) / (hi - lo || 1)) * 150;
    let html = "", line = "";
    plan.segments.forEach((g, i) => {
      const x0 = x(g.start_s), x1 = x(g.start_s + g.duration_s);
      html += `<polygon class="seg ${g.kind}" data-i="${i}" points="${x0},200 ${x0},${y(g.speed_kmh)} ${x1},${y(g.end_speed_kmh)} ${x1},200"/>`;
      line += `${i ? "L" : "M"}${x0},${yi(g.incline_pct)} L${x1},${yi(g.end_incline_pct)} `;
    });
    html += `<path class="incline" d="${line}"/><line class="here" id="here" x1="0" x2="0" y1="0" y2="200"/>`;
    svg.innerHTML = html;
    chartHere();
  }

  function chartHere() {
    const plan = tw.plan, s = tw.state, here = $("here");
    if (!plan || !s || !here) return;
    let t = 0;
    if (s.segment_index != null && plan.segments[s.segment_index]) {
      const g = plan.segments[s.segment_index];
      t = g.start_s + g.duration_s * Math.min(1, s.segment_progress || 0);
    } else if (s.phase === "finished" || s.phase === "cooldown") t = plan.duration_s;
    const px = String((t / (plan.duration_s || 1)) * 1000);
    if (here.getAttribute("x1") !== px) { here.setAttribute("x1", px); here.setAttribute("x2", px); }
    $("chart").querySelectorAll(".seg").forEach((el) => el.classList.toggle("done", Number(el.dataset.i) < (s.segment_index ?? 0)));
  }

  // ---------------------------------------------------------------- the connection
  function toast(text, refused) {
    const el = $("toast");
    el.textContent = text;
    el.className = refused ? "refused" : "";
    clearTimeout(replyTimer);
    replyTimer = setTimeout(() => (el.textContent = ""), 6000);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws?t=${encodeURIComponent(token)}`);
    ws.onopen = () => { tw.open = true; backoff = 500; lastHeard = Date.now(); connection(); };
    ws.onmessage = (e) => {
      lastHeard = Date.now();
      const m = JSON.parse(e.data);
      if (m.type === "hello") {
        tw.control = m.control;
        $("controls").hidden = !m.control;
        if (!units) units = m.units === "imperial" ? "imperial" : "metric";
        if (m.plan) { tw.plan = m.plan; drawPlan(); }
        unitsButton();
      } else if (m.type === "plan") {
        tw.plan = m.plan;
        drawPlan();
      } else if (m.type === "state") {
        tw.state = m;
        render();
      } else if (m.type === "event") {
        tw.events.push(m);
        if (m.kind === "control_lost" && !m.message.startsWith("Control regained")) { lostAt = Date.now(); if (tw.state) banner(tw.state); }
        if (tw.events.length > 100) tw.events.shift();
        if (["warning", "override", "clamped", "pause", "resume", "console", "control_lost", "stop", "command"].includes(m.kind)) toast(m.message, m.kind === "warning");
      } else if (m.type === "reply") {
        if (!m.ok) toast("refused: " + m.reason, true);
      }
      connection();
    };
    ws.onclose = () => {
      tw.open = false;
      connection();
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    };
  }

  function send(command) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "command", command }));
    else toast("not connected: the command was not sent", true);
  }
  tw.send = (raw) => ws && ws.readyState === WebSocket.OPEN && ws.send(raw);

  document.querySelectorAll("#controls button").forEach((b) => b.addEventListener("click", () => send(b.dataset.command)));

  function unitsButton() { setText("units", units === "pace" ? "pace" : imperial() ? "mph" : "km/h"); }
  $("units").addEventListener("click", () => {
    units = UNITS[(UNITS.indexOf(units) + 1) % UNITS.length];
    localStorage.setItem("treadwalk.units", units);
    unitsButton();
    render();
  });

  // ---------------------------------------------------------------- keep the screen on
  let lock = null;
  async function wake() {
    if (!("wakeLock" in navigator)) { setText("wake", "· keep the screen on in the phone's settings"); return; }
    try {
      lock = await navigator.wakeLock.request("screen");
      setText("wake", "· screen kept on");
      lock.addEventListener("release", () => setText("wake", ""));
    } catch (err) { setText("wake", "· screen lock: " + err.name); }
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") wake(); });

  setInterval(() => { connection(); if (tw.state) banner(tw.state); }, 1000);
  wake();
  connect();
})();
