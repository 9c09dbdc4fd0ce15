// The supervisors' map (server/templates/map.html): plots coloured by their check status, submissions' points,
// traces and shapes, both as vector tiles of the app (storage/tiles.py), clustered when zoomed out.
// A tap on a plot or a submission opens a sheet with the summary of each (the plot and a submission in it) and a
// link to its page (/plots/<uuid>,
// /submissions/<id>); a tap on a cluster zooms in. "My location" is MapLibre's control over the browser's
// geolocation (https or localhost only).

const STATUS_COLOURS = ["match", ["get", "status"], "problems", "#d2452f", "ok", "#2f8f4e", "#9aa39c"];
const FLAG_COLOURS = ["case", [">", ["get", "flags"], 0], "#e08a00", "#1f5fbf"];
const SUBMISSION_LAYERS = ["submission-points", "submission-lines", "submission-shapes"];
const PLOT_LAYERS = ["plot-fill"];
const CLUSTER_LAYERS = ["submission-clusters", "plot-clusters"];

function clusterRadius(property) {
  return ["interpolate", ["linear"], ["sqrt", ["get", property]], 1, 5, 10, 16, 60, 34];
}

export function style(config) {
  const absolute = (template) => window.location.origin + template; // tiles are fetched by a worker
  const sources = {
    plots: { type: "vector", tiles: [absolute(config.plotTiles)], minzoom: 0, maxzoom: 16 },
    submissions: { type: "vector", tiles: [absolute(config.submissionTiles)], minzoom: 0, maxzoom: 16 },
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1ec" } }];
  if (config.basemapUrl) {
    sources.basemap = { type: "raster", tiles: [config.basemapUrl], tileSize: 256, attribution: config.basemapAttribution };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  layers.push(
    { id: "plot-fill", type: "fill", source: "plots", "source-layer": "plots",
      paint: { "fill-color": STATUS_COLOURS, "fill-opacity": 0.45 } },
    { id: "plot-outline", type: "line", source: "plots", "source-layer": "plots",
      paint: { "line-color": STATUS_COLOURS, "line-width": 1.5 } },
    { id: "plot-clusters", type: "circle", source: "plots", "source-layer": "plot_clusters",
      paint: { "circle-color": STATUS_COLOURS, "circle-opacity": 0.55, "circle-radius": clusterRadius("count"),
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } },
    { id: "submission-shapes", type: "line", source: "submissions", "source-layer": "submissions",
      filter: ["==", ["get", "geo_type"], "geoshape"],
      paint: { "line-color": FLAG_COLOURS, "line-width": 1.5, "line-dasharray": [2, 1] } },
    { id: "submission-lines", type: "line", source: "submissions", "source-layer": "submissions",
      filter: ["==", ["get", "geo_type"], "geotrace"], paint: { "line-color": FLAG_COLOURS, "line-width": 2.5 } },
    { id: "submission-points", type: "circle", source: "submissions", "source-layer": "submissions",
      filter: ["==", ["get", "geo_type"], "geopoint"],
      paint: { "circle-color": FLAG_COLOURS, "circle-radius": 5, "circle-stroke-color": "#ffffff",
               "circle-stroke-width": 1.5 } },
    { id: "submission-clusters", type: "circle", source: "submissions", "source-layer": "submission_clusters",
      paint: { "circle-color": ["case", [">", ["get", "flagged"], 0], "#e08a00", "#1f5fbf"], "circle-opacity": 0.7,
               "circle-radius": clusterRadius("count"), "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } },
  );
  return { version: 8, sources, layers };
}

//: MapLibre's own control labels, Thai first.
const LOCALE = {
  "GeolocateControl.FindMyLocation": "ตำแหน่งของฉัน · My location",
  "GeolocateControl.LocationNotAvailable": "ไม่ทราบตำแหน่ง · Location not available",
  "NavigationControl.ZoomIn": "ซูมเข้า · Zoom in",
  "NavigationControl.ZoomOut": "ซูมออก · Zoom out",
  "NavigationControl.ResetBearing": "หันทิศเหนือขึ้น · North up",
};

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function words(table, code) {
  const found = table && table[code];
  return found ? `${found[0]} · ${found[1]}` : String(code ?? "");
}

// The summary of a tapped plot or submission, built as DOM nodes (tile properties are never parsed as HTML).
export function summary(feature, config) {
  const p = feature.properties;
  const nodes = [];
  if (feature.layer.id.startsWith("plot")) {
    nodes.push(element("h2", p.label || "แปลง"));
    nodes.push(element("p", `สถานะการตรวจแปลง · checks: ${words(config.words.plotStatus, p.status)}`));
    if (p.problems) nodes.push(element("p", `ปัญหาที่พบ · problems: ${p.problems}`));
    if (p.size_class) nodes.push(element("p", `ขนาด · size class: ${p.size_class} ไร่ rai`));
    nodes.push(element("a", "ดูรายละเอียดแปลง › Plot details", {
      class: "detail", href: `/plots/${encodeURIComponent(p.uuid)}` }));
  } else {
    nodes.push(element("h2", `รายการ #${p.id} · ${p.form}`));
    nodes.push(element("p", `สถานะ · review: ${words(config.words.reviewStates, p.review_state)}`));
    nodes.push(element("p", p.flags ? `มีข้อสังเกต ${p.flags} ข้อ · ${p.flags} flag(s)` : "ไม่มีข้อสังเกต · no flags"));
    nodes.push(element("a", "ดูรายการ › Submission details", {
      class: "detail", href: `/submissions/${encodeURIComponent(p.id)}` }));
  }
  return nodes;
}

function showSheet(features, config) {
  const sheet = document.getElementById("map-sheet");
  if (!sheet) return;
  const parts = features.map((feature) => {
    const part = element("div", null, { class: "sheet-item" });
    part.replaceChildren(...summary(feature, config));
    return part;
  });
  sheet.querySelector(".sheet-body").replaceChildren(...parts);
  sheet.hidden = false;
}

export function startMap(maplibregl, config) {
  const map = new maplibregl.Map({
    container: "map",
    style: style(config),
    bounds: config.bounds,
    fitBoundsOptions: { padding: 40, maxZoom: 16 },
    maxZoom: 20,
    locale: LOCALE,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.GeolocateControl({
    positionOptions: { enableHighAccuracy: true },
    fitBoundsOptions: { maxZoom: 16 },
    showAccuracyCircle: true,
  }));
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }));

  const clickable = [...SUBMISSION_LAYERS, ...PLOT_LAYERS, ...CLUSTER_LAYERS];
  map.on("click", (event) => {
    const found = map.queryRenderedFeatures(event.point, { layers: clickable });
    const submission = found.find((f) => SUBMISSION_LAYERS.includes(f.layer.id));
    const plot = found.find((f) => PLOT_LAYERS.includes(f.layer.id));
    const cluster = found.find((f) => CLUSTER_LAYERS.includes(f.layer.id));
    if (submission || plot) {
      showSheet([plot, submission].filter(Boolean), config);
    } else if (cluster) {
      map.easeTo({ center: event.lngLat, zoom: Math.min(map.getZoom() + 3, config.detailMinZoom + 1) });
    }
  });
  for (const layer of clickable) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  return map;
}
