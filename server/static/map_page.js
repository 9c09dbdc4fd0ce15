// Starts the map of map.html: its settings come from the page's JSON block (no inline script, so the
// Content-Security-Policy can forbid it), MapLibre from the URL those settings give. On a phone the filters and
// the legend are a panel over the map, opened by a button; the sheet of a tapped feature closes with its ✕.
import { startMap } from "./map.js";

const layout = document.querySelector(".map-layout");
const toggle = document.querySelector(".panel-toggle");
function setPanel(open) {
  layout.classList.toggle("panel-open", open);
  toggle.setAttribute("aria-expanded", String(open));
}
toggle.addEventListener("click", () => setPanel(!layout.classList.contains("panel-open")));
document.querySelector(".panel-close").addEventListener("click", () => setPanel(false));
document.querySelector(".sheet-close").addEventListener("click", () => {
  document.getElementById("map-sheet").hidden = true;
});

const config = JSON.parse(document.getElementById("map-config").textContent);
const maplibregl = await import(config.library);
window.knnMap = startMap(maplibregl, config);
