// chicane's live viewer page: builds the streams from /status, polls
// /status and /metrics, draws the charts with uPlot, and POSTs /stop.
// `window.chicaneViewer` exposes what was drawn (for scripts and tests).
"use strict";

const viewer = (window.chicaneViewer = {
  status: null,
  episodes: 0,
  iterations: 0,
  laps: 0,
  charts: {},
  connected: false,
});

const $ = (id) => document.getElementById(id);
const fmt = (x, digits) => (x === null || x === undefined ? "-" : Number(x).toFixed(digits));

function figure(parent, src, cls, caption) {
  const fig = document.createElement("figure");
  const img = document.createElement("img");
  img.src = src;
  img.className = cls;
  img.alt = caption;
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(img, cap);
  parent.append(fig);
}

// one chart: x = episode (or lap), one y series
function chart(key, title, yLabel, points) {
  const div = document.createElement("div");
  div.className = "chart";
  div.id = "chart-" + key;
  $("charts").append(div);
  const series = {
    label: yLabel,
    stroke: "#1565c0",
    width: 1.5,
    points: { show: points, size: 8, fill: "#1565c0" },
  };
  if (points) series.paths = () => null;
  const opts = {
    title,
    width: 420,
    height: 240,
    scales: { x: { time: false } },
    series: [{ label: viewer.status.kind === "evaluation" ? "lap" : "episode" }, series],
    axes: [{}, { label: yLabel }],
  };
  const data = [[], []];
  viewer.charts[key] = { plot: new uPlot(opts, data, div), data };
}

function build(s) {
  document.title = "chicane: " + s.title;
  $("title").textContent = s.title;
  const cams = $("cameras");
  if (s.note) {
    cams.textContent = s.note;
  } else if (s.camera_channels > 0) {
    for (let i = 0; i < s.num_envs; i++) {
      figure(cams, "/stream/camera/" + i, "camera", "env " + i);
    }
  } else {
    cams.textContent = "no camera (lidar only)";
  }
  s.tracks.forEach((name, k) => figure($("top-downs"), "/stream/top_down/" + k, "top-down", name));
  if (s.kind === "evaluation") {
    chart("progress", "Progress per lap", "progress %", true);
    chart("lap_time", "Lap time", "lap time (s)", true);
  } else {
    chart("reward", "Episode reward", "reward", false);
    chart("progress", "Episode progress", "progress %", false);
    chart("lap_time", "Training lap time", "lap time (s)", true);
  }
  $("stop").disabled = !s.can_stop;
  if (!s.can_stop) $("stop").title = "an evaluation runs its laps to the end";
}

function showStatus(s) {
  const st = $("state");
  st.textContent = s.state === "finished" ? "finished: " + (s.stop_reason || "") : s.state;
  st.className = s.state;
  if (s.state !== "running") $("stop").disabled = true;
  const parts =
    s.kind === "evaluation"
      ? [`lap ${s.trial}`, `${s.episodes} driven`, `${s.laps} completed`, `best ${fmt(s.best_lap_s, 2)} s`]
      : [
          `iteration ${s.iteration}`,
          `${s.episodes} episodes`,
          `${s.total_steps} steps`,
          `${fmt(s.steps_per_s, 0)} steps/s`,
          `reward ${fmt(s.mean_reward, 1)}`,
          `progress ${fmt(s.mean_progress, 1)} %`,
          `best lap ${fmt(s.best_lap_s, 2)} s`,
        ];
  $("numbers").textContent = parts.join(" | ") + ` | up ${fmt(s.uptime_s, 0)} s`;
}

function push(key, x, y) {
  const c = viewer.charts[key];
  if (!c) return;
  c.data[0].push(x);
  c.data[1].push(y === undefined ? null : y);
}

function redraw() {
  for (const c of Object.values(viewer.charts)) c.plot.setData(c.data);
}

async function pollStatus() {
  try {
    const r = await fetch("/status", { cache: "no-store" });
    const s = await r.json();
    const first = !viewer.status;
    viewer.status = s;
    if (first) build(s);
    viewer.connected = true;
    showStatus(s);
  } catch (e) {
    viewer.connected = false;
    const st = $("state");
    st.textContent = viewer.status && viewer.status.state !== "running" ? "run ended" : "disconnected";
    st.className = "disconnected";
    $("stop").disabled = true;
  }
}

async function pollMetrics() {
  if (!viewer.status) return;
  try {
    const q = `episodes_from=${viewer.episodes}&iterations_from=${viewer.iterations}&laps_from=${viewer.laps}`;
    const m = await (await fetch("/metrics?" + q, { cache: "no-store" })).json();
    for (const e of m.episodes) {
      push("reward", e.episode, e.reward);
      push("progress", e.episode, e.progress);
      push("lap_time", e.episode, e.lap_time);
    }
    m.laps.forEach((l, i) => {
      const n = viewer.laps + i + 1;
      push("progress", n, l.progress);
      push("lap_time", n, l.lap_time_s);
    });
    viewer.episodes += m.episodes.length;
    viewer.iterations += m.iterations.length;
    viewer.laps += m.laps.length;
    if (m.episodes.length || m.laps.length) redraw();
  } catch (e) {
    // the status poll shows the disconnection
  }
}

$("stop").addEventListener("click", async () => {
  $("stop").disabled = true;
  try {
    const r = await fetch("/stop", { method: "POST" });
    if (r.ok) {
      $("state").textContent = "stopping: writing the checkpoint";
      $("state").className = "stopping";
    }
  } catch (e) {
    // the status poll shows the disconnection
  }
});

pollStatus().then(pollMetrics);
setInterval(pollStatus, 1000);
setInterval(pollMetrics, 2000);
