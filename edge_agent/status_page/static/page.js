// The status page's scripts: the tag filter and live values over server-sent events.
// The page is complete without them; they only keep it current.
"use strict";

function filterTags(input) {
  const words = input.value.trim().toLowerCase();
  for (const row of document.querySelectorAll("#tags tbody tr")) {
    const text = row.textContent.toLowerCase();
    row.classList.toggle("hidden", words !== "" && !text.includes(words));
  }
}

const SEVERITIES = ["good", "uncertain", "bad"];

function severityOf(quality) {
  if (quality.startsWith("Good")) {
    return "good";
  }
  return quality.startsWith("Uncertain") ? "uncertain" : "bad";
}

function setSeverity(element, severity) {
  element.classList.remove(...SEVERITIES);
  element.classList.add(severity);
}

// Each tag's elements (its table row, a model's output), found once: updates come many times a second.
const elementsOf = new Map();

function indexTags() {
  for (const element of document.querySelectorAll("[data-tag]")) {
    const found = elementsOf.get(element.dataset.tag) || [];
    found.push(element);
    elementsOf.set(element.dataset.tag, found);
  }
}

function showTag(update) {
  for (const element of elementsOf.get(update.name) || []) {
    const value = element.querySelector(".value");
    if (value) {
      value.textContent = update.value;
    }
    const quality = element.querySelector(".quality");
    if (quality) {
      quality.textContent = update.quality;
      setSeverity(quality, update.severity);
    } else {
      setSeverity(element, update.severity);
    }
    const time = element.querySelector(".time");
    if (time) {
      time.textContent = update.time;
    }
    const form = element.querySelector("form.write[data-type='bool']");
    if (form) {
      showSwitch(form, update.value === "true");
    }
  }
}

// Plots: each tag's last 10 minutes, from the history on first sight of its row, then from live updates.
const WINDOW_MS = 10 * 60 * 1000;
const COLOURS = { line: "#1f5fa8", threshold: "#b3261e", bad: "#b3261e", axis: "#6b7280" };
const series = new Map();
let chartTag = null;

async function loadSeries(tag) {
  const url = `${document.body.dataset.history}/${encodeURIComponent(tag)}`;
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    return;
  }
  const history = await response.json();
  const known = series.get(tag);
  const live = known ? known.points : [];
  const points = history.points.concat(live.filter((point) => point[0] > history.end_ms));
  series.set(tag, { points, threshold: history.threshold, loaded: true });
  drawTag(tag);
}

function addPoint(update) {
  const known = series.get(update.name);
  if (!known || update.time_ms === null) {
    return;
  }
  known.points.push([update.time_ms, update.number, update.severity]);
  const oldest = update.time_ms - WINDOW_MS;
  while (known.points.length && known.points[0][0] < oldest) {
    known.points.shift();
  }
  drawTag(update.name);
}

function drawTag(tag) {
  const known = series.get(tag);
  if (!known) {
    return;
  }
  for (const element of elementsOf.get(tag) || []) {
    const canvas = element.querySelector("canvas");
    if (canvas) {
      drawPlot(canvas, known, false);
    }
  }
  if (chartTag === tag) {
    drawPlot(document.getElementById("chart-canvas"), known, true);
  }
}

function drawPlot(canvas, data, withAxes) {
  const context = canvas.getContext("2d");
  const width = canvas.width;
  const height = canvas.height;
  const pad = withAxes ? 40 : 2;
  context.clearRect(0, 0, width, height);
  const values = data.points.map((point) => point[1]).filter((value) => value !== null);
  if (data.threshold !== null && data.threshold !== undefined) {
    values.push(data.threshold);
  }
  if (!values.length) {
    return;
  }
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    high += 1;
    low -= 1;
  }
  // Values hold until they change: the line runs on to now. The plot spans what it has, up to 10 minutes.
  const end = Math.max(Date.now(), data.points.length ? data.points[data.points.length - 1][0] : 0);
  const first = data.points.length ? data.points[0][0] : end;
  const start = Math.max(end - WINDOW_MS, Math.min(first, end - 1000));
  const x = (time) => pad + ((time - start) / (end - start)) * (width - 2 * pad);
  const y = (value) => height - pad - ((value - low) / (high - low)) * (height - 2 * pad);
  if (data.threshold !== null && data.threshold !== undefined) {
    context.strokeStyle = COLOURS.threshold;
    context.setLineDash([4, 3]);
    context.beginPath();
    context.moveTo(pad, y(data.threshold));
    context.lineTo(width - pad, y(data.threshold));
    context.stroke();
    context.setLineDash([]);
  }
  context.strokeStyle = COLOURS.line;
  context.lineWidth = withAxes ? 2 : 1;
  context.beginPath();
  // A value holds until the next one (by-exception data): steps, not slopes; a Bad reading is a gap.
  let previous = null;
  for (const [time, value] of data.points) {
    if (value === null) {
      previous = null;
      continue;
    }
    if (previous === null) {
      context.moveTo(x(time), y(value));
    } else {
      context.lineTo(x(time), y(previous));
      context.lineTo(x(time), y(value));
    }
    previous = value;
  }
  const last = data.points[data.points.length - 1];
  if (last && last[1] !== null) {
    context.lineTo(x(end), y(last[1]));
  }
  context.stroke();
  if (withAxes) {
    context.fillStyle = COLOURS.axis;
    context.font = "12px sans-serif";
    context.fillText(String(Number(high.toPrecision(4))), 2, pad);
    context.fillText(String(Number(low.toPrecision(4))), 2, height - pad);
    const span = (end - start) / 1000;
    context.fillText(span < 120 ? `-${Math.round(span)} s` : `-${Math.round(span / 60)} min`, pad, height - 8);
    context.fillText("now", width - pad - 20, height - 8);
  }
}

function openChart(tag) {
  const dialog = document.getElementById("chart");
  if (!dialog || !dialog.showModal) {
    return;
  }
  chartTag = tag;
  document.getElementById("chart-title").textContent = tag;
  const known = series.get(tag);
  const threshold = known && known.threshold !== null ? `; alarm above ${known.threshold}` : "";
  document.getElementById("chart-range").textContent = `last 10 minutes${threshold}`;
  dialog.showModal();
  drawTag(tag);
}

function watchPlots() {
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const tag = entry.target.closest("[data-tag]").dataset.tag;
      if (entry.isIntersecting && !series.has(tag)) {
        const row = entry.target.closest("tr");
        const seed = row.dataset.time ? [[Number(row.dataset.time), Number(row.dataset.number), "good"]] : [];
        series.set(tag, { points: seed, threshold: null, loaded: false });
        drawTag(tag);
        loadSeries(tag);
      }
    }
  });
  for (const canvas of document.querySelectorAll("#tags canvas")) {
    seen.observe(canvas);
    canvas.addEventListener("click", () => openChart(canvas.closest("[data-tag]").dataset.tag));
  }
  const dialog = document.getElementById("chart");
  if (dialog) {
    dialog.addEventListener("close", () => {
      chartTag = null;
    });
  }
}

// Switches: a boolean's button offers the other state; its label follows the live value.
function showSwitch(form, on) {
  form.querySelector("input[name='value']").value = on ? "false" : "true";
  form.querySelector("button").textContent = on ? "switch off" : "switch on";
}

async function submitWrite(form) {
  const result = form.querySelector(".result");
  result.textContent = "…";
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({ quality: response.statusText }));
    result.textContent = answer.quality === "Good" ? "" : ` ${answer.quality || response.status}`;
    setSeverity(result, answer.quality === "Good" ? "good" : "bad");
  } catch (error) {
    result.textContent = " not sent";
    setSeverity(result, "bad");
  }
}

function watchWrites() {
  for (const form of document.querySelectorAll("form.write")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitWrite(form);
    });
  }
}

function setCells(row, values) {
  // values: [cell index, text, severity or null]
  for (const [index, text, severity] of values) {
    const cell = row.cells[index];
    if (cell) {
      cell.textContent = text;
      if (severity) {
        setSeverity(cell, severity);
      }
    }
  }
}

function count(value) {
  return value === null ? "" : value.toLocaleString("en");
}

function showStatus(health) {
  const line = document.getElementById("status");
  if (line) {
    line.textContent = health.status;
  }
  let healthy = true;
  for (const [name, up, good, bad, lastGood, cycles, failed] of health.sources) {
    healthy = healthy && up;
    const row = document.querySelector(`tr[data-source="${CSS.escape(name)}"]`);
    if (row) {
      setCells(row, [
        [2, up ? "up" : "down", up ? "good" : "bad"],
        [4, String(good)],
        [5, String(bad)],
        [7, lastGood],
        [8, count(cycles)],
        [9, count(failed)],
      ]);
    }
  }
  for (const [name, state, inferences, p99, overruns, failures] of health.models) {
    healthy = healthy && state === "loaded";
    const row = document.querySelector(`tr[data-model="${CSS.escape(name)}"]`);
    if (row) {
      setCells(row, [
        [3, String(inferences)],
        [4, p99 === null ? "" : `${p99.toFixed(2)} ms`],
        [5, String(overruns)],
        [6, String(failures)],
      ]);
    }
  }
  const header = document.querySelector("header");
  if (header) {
    header.classList.toggle("healthy", healthy);
    header.classList.toggle("unhealthy", !healthy);
  }
}

function listen() {
  const url = document.body.dataset.events;
  if (!url || !window.EventSource) {
    return;
  }
  const events = new EventSource(url);
  events.addEventListener("tags", (event) => {
    // Each tag as [name, value text, quality name, source time (ms), value as plotted]: compact, as a
    // thousand tags four times a second would otherwise be half a megabyte a second.
    for (const [name, value, quality, time_ms, number] of JSON.parse(event.data)) {
      const update = { name, value, quality, time_ms, number, severity: severityOf(quality) };
      update.time = time_ms === null ? "" : new Date(time_ms).toISOString();
      showTag(update);
      addPoint(update);
    }
  });
  events.addEventListener("status", (event) => showStatus(JSON.parse(event.data)));
  events.addEventListener("error", () => document.body.classList.add("offline"));
  events.addEventListener("open", () => document.body.classList.remove("offline"));
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("filter");
  if (input) {
    input.hidden = false;
    input.addEventListener("input", () => filterTags(input));
  }
  indexTags();
  watchPlots();
  watchWrites();
  listen();
});
