/* emgis map layers: draws the features of the page's JSON data block (#emgis-data) into the
   layer groups folium created. Every text that comes from the input is escaped here before it
   reaches the page; nothing in the data is ever evaluated as code or as a template. */
(function () {
  "use strict";
  var ENT = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return ENT[c];
    });
  }
  function colour(c, fallback) {
    return typeof c === "string" && /^#[0-9a-fA-F]{3,8}$/.test(c) ? c : fallback;
  }
  function num(v, fallback) {
    return typeof v === "number" && isFinite(v) ? v : fallback;
  }
  function popupHtml(p) {
    if (!p) { return null; }
    var h = "<b>" + esc(p.title) + "</b>";
    (p.lines || []).forEach(function (l) { h += "<br>" + esc(l); });
    if (p.head) {
      h += '<table class="emgis-pop" style="font-size:11px;border-collapse:collapse"><tr>';
      p.head.forEach(function (c) { h += "<th>" + esc(c) + "</th>"; });
      h += "</tr>";
      (p.rows || []).forEach(function (r) {
        h += "<tr>";
        r.cells.forEach(function (c, i) {
          var st = (r.colour && i === r.cells.length - 1)
            ? ' style="color:' + colour(r.colour, "#000") + '"' : "";
          h += "<td" + st + ">" + esc(c) + "</td>";
        });
        h += "</tr>";
      });
      h += "</table>";
    }
    return h;
  }
  function glyphHtml(glyph, c, size) {
    return '<div style="width:' + size + "px;height:" + size + "px;line-height:" + size +
      "px;background:" + colour(c, "#555") + ";color:#fff;border:2px solid #fff;" +
      "border-radius:4px;box-shadow:0 0 2px #000;text-align:center;font:bold " +
      Math.round(size * 0.6) + 'px sans-serif">' + esc(glyph) + "</div>";
  }
  function pinIcon(glyph, c, size, cls) {
    var box = size + 4;
    var tip = '<div style="width:0;height:0;margin:0 auto;border-left:6px solid transparent;' +
      "border-right:6px solid transparent;border-top:8px solid " + colour(c, "#555") +
      '"></div>';
    return L.divIcon({ html: glyphHtml(glyph, c, size) + tip, className: cls,
                       iconSize: [box, box + 8], iconAnchor: [Math.floor(box / 2), box + 8] });
  }
  function bind(layer, f) {
    if (f.tip !== undefined && f.tip !== null) { layer.bindTooltip(esc(f.tip)); }
    var p = popupHtml(f.pop);
    if (p) { layer.bindPopup(p, { maxWidth: 420 }); }
  }
  function draw(spec, group) {
    var t = spec.type;
    if (t === "points") {
      spec.features.forEach(function (f) {
        var m = L.circleMarker([f.y, f.x], {
          radius: num(f.r, num(spec.radius, 7)), fill: true, fillOpacity: 0.9,
          fillColor: colour(f.c, "#999"), color: colour(f.o, "#000"),
          weight: num(f.w, 1), className: spec.className || ""
        });
        bind(m, f);
        m.addTo(group);
      });
    } else if (t === "pins") {
      spec.features.forEach(function (f) {
        var m = L.marker([f.y, f.x], { icon: pinIcon(f.glyph, f.c, num(f.size, 22),
                                                     spec.className || "") });
        bind(m, f);
        m.addTo(group);
      });
    } else if (t === "lines" || t === "areas") {
      spec.features.forEach(function (f) {
        var style = {
          color: colour(f.c, colour(spec.color, "#333")),
          weight: num(f.w, num(spec.weight, 2)),
          opacity: num(spec.opacity, 0.9),
          dashArray: spec.dashArray || null,
          fill: t === "areas" && spec.fill !== false,
          fillColor: colour(f.fc, colour(spec.fillColor, colour(f.c, "#888"))),
          fillOpacity: num(f.fo, num(spec.fillOpacity, 0.2)),
          interactive: f.tip !== undefined || f.pop !== undefined
        };
        var geom = { type: f.g.type, coordinates: f.g.coordinates };
        var layer = L.geoJSON(geom, { style: function () { return style; } });
        bind(layer, f);
        layer.addTo(group);
      });
    }
  }
  function run() {
    var node = document.getElementById("emgis-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    data.layers.forEach(function (spec) {
      var group = window[spec.target];
      if (group) { draw(spec, group); }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
