/* emgis workbench: the hazard page's map. Draws the project's townships, villages and
   hazards (fetched as JSON, names set as text), and a small drawing tool: click the map to
   add the corners of a zone, then save it as a hazard of the project. Offline: no tiles. */
(function () {
  "use strict";
  var W = window.emgisWorkbench;
  var el = document.getElementById("hazard-map");
  if (!el || !window.L || !W) { return; }
  var d = W.data(), words = d.words || {};
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.25 });
  map.setView([30, 110], 5);
  function label(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  fetch(d.context, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (ctx) {
      if (!ctx.ok) { return; }
      var towns = L.geoJSON(ctx.townships, {
        style: { color: "#555", weight: 1.5, fill: true, fillColor: "#f4f1e8", fillOpacity: 0.6 },
        onEachFeature: function (f, layer) {
          if (f.properties && f.properties.name != null) { layer.bindTooltip(label(f.properties.name), { sticky: true }); }
        }
      }).addTo(map);
      L.geoJSON(ctx.hazards, {
        style: function (f) {
          var slowed = f.properties && f.properties.effect === "slowed";
          return { color: slowed ? "#e08a00" : "#c62828", weight: 2, fillOpacity: 0.25 };
        },
        onEachFeature: function (f, layer) {
          var p = f.properties || {};
          layer.bindTooltip(label((p.name || "") + " (" + (p.id || "") + ")"), { sticky: true });
        }
      }).addTo(map);
      L.geoJSON(ctx.villages, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, { radius: 4, color: "#1f5fa8", weight: 1, fillOpacity: 0.8 });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties || {};
          layer.bindTooltip(label(p.name != null ? p.name : p.id));
        }
      }).addTo(map);
      var b = towns.getBounds();
      if (b.isValid()) { map.fitBounds(b, { padding: [10, 10] }); }
      el.setAttribute("data-ready", "1");
    });

  var drawing = false, pts = [], line = null, dots = L.layerGroup().addTo(map), area = null;
  var count = document.getElementById("draw-count");
  function redraw() {
    dots.clearLayers();
    if (line) { map.removeLayer(line); line = null; }
    if (area) { map.removeLayer(area); area = null; }
    pts.forEach(function (p) { L.circleMarker(p, { radius: 5, color: "#6a1b9a", weight: 2 }).addTo(dots); });
    if (pts.length >= 3) {
      area = L.polygon(pts, { color: "#6a1b9a", weight: 3, dashArray: "6 4", fillColor: "#9c4dcc", fillOpacity: 0.3 }).addTo(map);
    } else if (pts.length === 2) {
      line = L.polyline(pts, { color: "#6a1b9a", weight: 3, dashArray: "6 4" }).addTo(map);
    }
    count.textContent = String(words.draw_points || "{n}").replace("{n}", String(pts.length));
    el.setAttribute("data-points", String(pts.length));
  }
  map.on("click", function (e) {
    if (!drawing) { return; }
    pts.push([e.latlng.lat, e.latlng.lng]);
    redraw();
  });
  var start = document.getElementById("draw-start");
  start.addEventListener("click", function () {
    drawing = true;
    map.doubleClickZoom.disable();
    el.classList.add("drawing");
    start.classList.add("on");
    redraw();
  });
  document.getElementById("draw-undo").addEventListener("click", function () { pts.pop(); redraw(); });
  document.getElementById("draw-clear").addEventListener("click", function () { pts = []; redraw(); });

  var effect = document.getElementById("hazard-effect");
  var factor = document.getElementById("hazard-factor");
  function syncFactor() { factor.disabled = effect.value !== "slowed"; }
  effect.addEventListener("change", syncFactor);
  syncFactor();
  var form = document.getElementById("hazard-form");
  var msg = document.getElementById("hazard-message");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (pts.length < 3) { msg.textContent = words.draw_need3 || ""; msg.className = "error"; return; }
    var ring = pts.map(function (p) { return [p[1], p[0]]; });
    ring.push(ring[0]);
    var body = { name: form.elements.name.value, kind: form.elements.kind.value,
                 effect: effect.value, speed_factor: factor.value,
                 geometry: { type: "Polygon", coordinates: [ring] } };
    document.getElementById("hazard-save").disabled = true;
    W.postJSON(d.save, body).then(function (j) {
      document.getElementById("hazard-save").disabled = false;
      if (j.ok) {
        msg.textContent = j.message; msg.className = "ok";
        drawing = false; pts = []; redraw();
        window.setTimeout(function () { window.location.reload(); }, 700);
      } else {
        msg.textContent = words.hazard_failed || ""; msg.className = "error";
      }
    });
  });
})();
