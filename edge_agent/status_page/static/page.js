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
  }
}

function showStatus(status) {
  const line = document.getElementById("status");
  if (line) {
    line.textContent = status;
  }
}

function listen() {
  const url = document.body.dataset.events;
  if (!url || !window.EventSource) {
    return;
  }
  const events = new EventSource(url);
  events.addEventListener("tags", (event) => {
    for (const update of JSON.parse(event.data)) {
      showTag(update);
    }
  });
  events.addEventListener("status", (event) => showStatus(JSON.parse(event.data).status));
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
  listen();
});
