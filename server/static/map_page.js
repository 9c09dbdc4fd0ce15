// Starts the map of map.html: its settings come from the page's JSON block (no inline script, so the
// Content-Security-Policy can forbid it), MapLibre from the URL those settings give.
import { startMap } from "./map.js";

const config = JSON.parse(document.getElementById("map-config").textContent);
const maplibregl = await import(config.library);
window.knnMap = startMap(maplibregl, config);
