// The status page's scripts: the tag filter. The page is complete without them.
"use strict";

function filterTags(input) {
  const words = input.value.trim().toLowerCase();
  for (const row of document.querySelectorAll("#tags tbody tr")) {
    const text = row.textContent.toLowerCase();
    row.classList.toggle("hidden", words !== "" && !text.includes(words));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("filter");
  if (input) {
    input.hidden = false;
    input.addEventListener("input", () => filterTags(input));
  }
});
