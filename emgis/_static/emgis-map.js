/* emgis map: draws the page's JSON data block (#emgis-data) on the Leaflet map folium made:
   background tiles, layers in panes (areas under roads under lines under villages under
   markers), a grouped layer panel, villages clustered at low zoom, township names, and
   village names from a zoom level on (from the opening zoom in a small district), most
   populous first, a name that would overlap one already placed left out. Every text that comes from the input is escaped here before it reaches the page;
   nothing in the data is ever evaluated as code or as a template. */
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
  function fill(template, values) {  /* a catalogue text with {fields} filled, as text */
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined ? m : String(values[k]);
    });
  }
  function popupHtml(p) {
    if (!p) { return null; }
    var h = "<b>" + esc(p.title) + "</b>";
    (p.lines || []).forEach(function (l) { h += "<br>" + esc(l); });
    if (p.head) {
      h += '<table class="emgis-pop" style="font-size:11px;border-collapse:collapse"><tr>';
      p.head.forEach(function (c) { h += '<th style="text-align:left;padding-right:6px">' +
        esc(c) + "</th>"; });
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
  function glyphHtml(glyph, c, size, badge, bc) {
    /* a badge (a unit out of action, cut off) sits on the glyph's top right corner */
    var mark = badge === undefined || badge === null ? "" :
      '<span class="emgis-badge" style="position:absolute;top:-7px;right:-7px;width:13px;' +
      "height:13px;line-height:13px;border-radius:7px;border:1px solid #fff;background:" +
      colour(bc, "#d73027") + ';color:#fff;font:bold 11px sans-serif;text-align:center">' +
      esc(badge) + "</span>";
    return '<div style="position:relative;width:' + size + "px;height:" + size +
      "px;line-height:" + size + "px;background:" + colour(c, "#555") + ";color:#fff;" +
      "border:2px solid #fff;border-radius:4px;box-shadow:0 0 2px #000;text-align:center;" +
      "font:bold " + Math.round(size * 0.6) + 'px sans-serif">' + esc(glyph) + mark + "</div>";
  }
  function pinIcon(glyph, c, size, cls, badge, bc, dx) {
    var box = size + 4;  /* dx: pixels to the right (pins at one place side by side) */
    var tip = '<div style="width:0;height:0;margin:0 auto;border-left:6px solid transparent;' +
      "border-right:6px solid transparent;border-top:8px solid " + colour(c, "#555") +
      '"></div>';
    return L.divIcon({ html: glyphHtml(glyph, c, size, badge, bc) + tip, className: cls,
                       iconSize: [box, box + 8],
                       iconAnchor: [Math.floor(box / 2) - (dx || 0), box + 8] });
  }
  function bind(layer, f) {
    if (f.tip !== undefined && f.tip !== null) { layer.bindTooltip(esc(f.tip)); }
    var p = popupHtml(f.pop);
    if (p) { layer.bindPopup(p, { maxWidth: 460 }); }
  }

  function run() {
    var node = document.getElementById("emgis-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    var map = window[data.map];
    if (!map) { return; }
    var V = data.villages;
    [["emgisAreas", 350], ["emgisRoads", 360], ["emgisLines", 390],
     ["emgisVillages", 420]].forEach(function (p) {
      map.createPane(p[0]).style.zIndex = p[1];
    });

    /* background tiles: attribution is text (escaped), the Tianditu key a URL field */
    var tiles = L.layerGroup();
    (data.tiles || []).forEach(function (t) {
      var opts = { maxZoom: num(t.max, 18), attribution: esc(t.attr) };
      if (t.sub) { opts.subdomains = String(t.sub); }
      if (t.tk) { opts.tk = encodeURIComponent(String(t.tk)); }
      L.tileLayer(String(t.url), opts).addTo(tiles);
    });

    function drawVector(spec, group) {
      var t = spec.type;
      spec.features.forEach(function (f) {
        var style = {
          color: colour(f.c, colour(spec.color, "#333")),
          weight: num(f.w, num(spec.weight, 2)),
          opacity: num(spec.opacity, 0.9),
          dashArray: spec.dashArray || null,
          fill: t === "areas" && spec.fill !== false,
          fillColor: colour(f.fc, colour(spec.fillColor, colour(f.c, "#888"))),
          fillOpacity: num(f.fo, num(spec.fillOpacity, 0.2)),
          interactive: f.tip !== undefined || f.pop !== undefined,
          pane: spec.pane || "overlayPane"
        };
        var geom = { type: f.g.type, coordinates: f.g.coordinates };
        var layer = L.geoJSON(geom, { style: function () { return style; },
                                      pane: spec.pane || "overlayPane" });
        bind(layer, f);
        layer.addTo(group);
      });
    }
    function drawPoints(spec, group) {
      spec.features.forEach(function (f) {
        var m = L.circleMarker([f.y, f.x], {
          radius: num(f.r, num(spec.radius, 7)), fill: true, fillOpacity: 0.9,
          fillColor: colour(f.c, "#999"), color: colour(f.o, "#000"),
          weight: num(f.w, 1), pane: spec.pane || "overlayPane"
        });
        bind(m, f);
        m.addTo(group);
      });
    }
    function drawPins(spec, group) {
      spec.features.forEach(function (f) {
        var m = L.marker([f.y, f.x], { icon: pinIcon(f.glyph, f.c, num(f.size, 22),
                                                     spec.className || "", f.badge, f.bc,
                                                     num(f.dx, 0)),
                                       zIndexOffset: num(spec.zIndex, 0) });
        bind(m, f);
        m.addTo(group);
      });
    }
    function villageMarker(spec, i) {
      var o = spec.o ? spec.o[i] : 0;
      var m = L.circleMarker([V.y[i], V.x[i]], {
        radius: num(spec.radius, 7), fill: true, fillOpacity: 0.9,
        fillColor: colour(spec.palette[spec.c[i]], "#999"),
        color: colour(spec.edges ? spec.edges[o] : "#000", "#000"),
        weight: o ? 3 : 1, pane: "emgisVillages"
      });
      if (spec.tips) { m.bindTooltip(esc(spec.tips[i])); }
      else { m.bindTooltip(esc(V.label[i])); }
      if (V.pop && V.pop[i]) {
        m.bindPopup(function () { return popupHtml(V.pop[i]); }, { maxWidth: 460 });
      }
      return m;
    }
    /* villages: one circle each, or above clusterAbove villages and below labelZoom, a
       circle per 60-pixel cell with the number of villages and a pie of their classes */
    function drawVillages(spec, group) {
      group.clearLayers();
      var n = V.x.length, i;
      var clustered = n > V.clusterAbove && map.getZoom() < V.labelZoom;
      if (!clustered) {
        for (i = 0; i < n; i++) { villageMarker(spec, i).addTo(group); }
        return;
      }
      var z = map.getZoom(), size = 60, cells = {}, keys = [];
      for (i = 0; i < n; i++) {
        var p = map.project([V.y[i], V.x[i]], z);
        var k = Math.floor(p.x / size) + ":" + Math.floor(p.y / size);
        if (!cells[k]) { cells[k] = []; keys.push(k); }
        cells[k].push(i);
      }
      keys.forEach(function (k) {
        var members = cells[k];
        if (members.length === 1) { villageMarker(spec, members[0]).addTo(group); return; }
        var counts = spec.palette.map(function () { return 0; });
        var lat = 0, lon = 0;
        members.forEach(function (j) { counts[spec.c[j]] += 1; lat += V.y[j]; lon += V.x[j]; });
        var stops = [], acc = 0, parts = [];
        counts.forEach(function (cnt, ci) {
          if (!cnt) { return; }
          var a = acc / members.length * 100, b = (acc + cnt) / members.length * 100;
          stops.push(colour(spec.palette[ci], "#999") + " " + a.toFixed(1) + "% " +
                     b.toFixed(1) + "%");
          parts.push(spec.names[ci] + " " + cnt);
          acc += cnt;
        });
        var d = Math.round(22 + 6 * Math.log(members.length));
        var icon = L.divIcon({
          html: '<div class="emgis-cluster" style="width:' + d + "px;height:" + d +
            "px;line-height:" + d + "px;background:conic-gradient(" + stops.join(",") +
            ')">' + members.length + "</div>",
          className: "", iconSize: [d, d], iconAnchor: [d / 2, d / 2] });
        var c = [lat / members.length, lon / members.length];
        var m = L.marker(c, { icon: icon, pane: "markerPane" });
        m.bindTooltip(esc(fill(data.texts.cluster,
                                { n: members.length, parts: parts.join(" · ") })));
        m.on("click", function () { map.setView(c, Math.min(z + 2, V.labelZoom)); });
        m.addTo(group);
      });
    }
    /* names: placed in screen space, a name left out where it would overlap one placed
       before it (township names first, then villages, most populous first) */
    var FONT = 'Arial,"Liberation Sans","DejaVu Sans","Noto Sans CJK SC","Microsoft YaHei",' +
      '"PingFang SC",sans-serif';  /* as LABEL_FONTS in mappage.py */
    var ctx = document.createElement("canvas").getContext("2d");
    function textWidth(s, font, spacing) {
      if (!ctx) { return String(s).length * 12; }
      ctx.font = font;
      return ctx.measureText(String(s)).width + spacing * String(s).length;
    }
    var openZoom = map.getZoom();
    /* a small district is named from the zoom the map opens at, a larger from labelZoom */
    var labelFrom = V ? (V.labelAll ? Math.min(V.labelZoom, openZoom) : V.labelZoom) : 99;
    var townBoxes = [], widths = [];
    function Placer(boxes) {
      var cell = 80, grid = {};
      function keys(b) {
        var out = [];
        for (var gx = Math.floor(b[0] / cell); gx <= Math.floor(b[2] / cell); gx++) {
          for (var gy = Math.floor(b[1] / cell); gy <= Math.floor(b[3] / cell); gy++) {
            out.push(gx + ":" + gy);
          }
        }
        return out;
      }
      function free(b) {
        return keys(b).every(function (k) {
          return !(grid[k] || []).some(function (o) {
            return b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3];
          });
        });
      }
      function take(b) {
        keys(b).forEach(function (k) { (grid[k] = grid[k] || []).push(b); });
      }
      (boxes || []).forEach(take);
      return { free: free, take: take,
               place: function (b) { if (!free(b)) { return false; } take(b); return true; } };
    }
    function pinBoxes() {  /* names keep clear of the pins shown */
      var out = [], size = map.getSize();
      Object.keys(groups).forEach(function (id) {
        var spec = data.layers[id];
        if (!spec || spec.type !== "pins" || !map.hasLayer(groups[id])) { return; }
        spec.features.forEach(function (f) {
          var q = map.latLngToContainerPoint([f.y, f.x]), s = num(f.size, 22) + 4;
          if (q.x < -60 || q.y < -60 || q.x > size.x + 60 || q.y > size.y + 60) { return; }
          var dx = num(f.dx, 0);
          out.push([q.x + dx - s / 2, q.y - s - 8, q.x + dx + s / 2, q.y]);
        });
      });
      return out;
    }
    function drawTownNames(spec, group) {
      group.clearLayers();
      townBoxes = [];
      var placer = Placer(), pins = Placer(pinBoxes()), size = map.getSize();
      spec.features.forEach(function (f) {
        var w = textWidth(f.label, "bold 15px " + FONT, 2), h = 18;
        var p = map.latLngToContainerPoint([f.y, f.x]), at = null, first = null;
        /* at its point, else a line above or below it to keep clear of pins; a township
           is named even where it cannot */
        [0, -h, h, -2 * h, 2 * h].forEach(function (dy) {
          if (at !== null) { return; }
          var b = [p.x - w / 2 - 3, p.y + dy - h / 2 - 2, p.x + w / 2 + 3, p.y + dy + h / 2 + 2];
          if (b[2] < 0 || b[3] < 0 || b[0] > size.x || b[1] > size.y) { return; }
          if (!placer.free(b)) { return; }
          if (first === null) { first = [dy, b]; }
          if (pins.free(b)) { at = [dy, b]; }
        });
        at = at || first;
        if (!at) { return; }
        placer.take(at[1]);
        townBoxes.push(at[1]);
        L.marker([f.y, f.x], {
          icon: L.divIcon({ className: "emgis-town-label", html: esc(f.label), iconSize: null,
                            iconAnchor: [Math.round(w / 2), Math.round(h / 2 - at[0])] }),
          interactive: false, keyboard: false, pane: "markerPane" }).addTo(group);
      });
    }
    function drawLabels(group) {
      group.clearLayers();
      var z = map.getZoom();
      if (!V || z < labelFrom) { return; }
      if (V.x.length > V.clusterAbove && z < V.labelZoom) { return; }  /* clusters shown */
      var size = map.getSize(), shown = 0;
      var avoid = groups.townnames && map.hasLayer(groups.townnames) ? townBoxes.slice() : [];
      var placer = Placer(avoid.concat(pinBoxes()));
      var order = V.order || V.x.map(function (x, i) { return i; });
      for (var k = 0; k < order.length && shown < 2000; k++) {
        var i = order[k];
        var p = map.latLngToContainerPoint([V.y[i], V.x[i]]);
        if (p.x > size.x || p.y < -8 || p.y > size.y + 8) { continue; }
        if (widths[i] === undefined) { widths[i] = textWidth(V.label[i], "11px " + FONT, 0); }
        var w = widths[i], at = null;
        /* right of the circle, else left of it, else under it */
        [[[p.x + 8, p.y - 8, p.x + 11 + w, p.y + 6], [-9, 7]],
         [[p.x - 11 - w, p.y - 8, p.x - 8, p.y + 6], [Math.round(w) + 9, 7]],
         [[p.x - w / 2 - 2, p.y + 8, p.x + w / 2 + 2, p.y + 22], [Math.round(w / 2), -9]]
        ].some(function (c) {
          var b = c[0];
          if (b[2] < 0 || b[3] < 0 || b[0] > size.x || b[1] > size.y) { return false; }
          if (placer.place(b)) { at = c[1]; return true; }
          return false;
        });
        if (!at) { continue; }
        L.marker([V.y[i], V.x[i]], {
          icon: L.divIcon({ className: "emgis-label", html: esc(V.label[i]),
                            iconSize: null, iconAnchor: at }),
          interactive: false, keyboard: false, pane: "markerPane" }).addTo(group);
        shown += 1;
      }
    }

    var groups = {}, dynamic = {};
    function groupOf(id) {
      if (groups[id]) { return groups[id]; }
      var spec = data.layers[id], g = L.featureGroup();
      groups[id] = g;
      if (!spec) { return g; }
      if (spec.type === "lines" || spec.type === "areas") { drawVector(spec, g); }
      else if (spec.type === "points") { drawPoints(spec, g); }
      else if (spec.type === "pins") { drawPins(spec, g); }
      else if (spec.type === "villages") {
        dynamic[id] = function () { drawVillages(spec, g); };
        dynamic[id]();
      } else if (spec.type === "labels") {
        dynamic[id] = function () { drawLabels(g); };
        dynamic[id]();
      } else if (spec.type === "townnames") {
        dynamic[id] = function () { drawTownNames(spec, g); };
        dynamic[id]();
      }
      return g;
    }
    function names() {  /* township names first: village names keep clear of them */
      ["townnames", "labels"].forEach(function (id) {
        if (dynamic[id] && groups[id] && map.hasLayer(groups[id])) { dynamic[id](); }
      });
    }
    map.on("zoomend", function () {
      Object.keys(dynamic).forEach(function (id) {
        if (id !== "townnames" && id !== "labels" && map.hasLayer(groups[id])) { dynamic[id](); }
      });
    });
    map.on("moveend", names);

    /* the layer panel: sections of check boxes and radio groups; a radio's sub-items show
       under it while it is chosen */
    var state = [];
    function wanted() {
      var ids = {}, useTiles = false;
      state.forEach(function (it) {
        if (!it.input.checked || (it.parent && !it.parent.input.checked)) { return; }
        if (it.spec.tiles) { useTiles = true; }
        (it.spec.layers || []).forEach(function (id) { ids[id] = true; });
      });
      return { ids: ids, tiles: useTiles };
    }
    function refresh() {
      var w = wanted();
      Object.keys(data.layers).forEach(function (id) {
        var on = !!w.ids[id];
        if (on && !(groups[id] && map.hasLayer(groups[id]))) {
          groupOf(id).addTo(map);
          if (dynamic[id]) { dynamic[id](); }
        } else if (!on && groups[id] && map.hasLayer(groups[id])) {
          map.removeLayer(groups[id]);
        }
      });
      names();
      if (w.tiles && !map.hasLayer(tiles)) { tiles.addTo(map); }
      if (!w.tiles && map.hasLayer(tiles)) { map.removeLayer(tiles); }
      state.forEach(function (it) {
        if (it.subBox) { it.subBox.style.display = it.input.checked ? "" : "none"; }
      });
    }
    var serial = 0;
    function item(spec, parent, box) {
      var lab = document.createElement("label");
      var input = document.createElement("input");
      input.type = spec.type === "radio" ? "radio" : "checkbox";
      if (spec.type === "radio") { input.name = "emgis-" + String(spec.group); }
      input.checked = !!spec.on;
      input.defaultChecked = !!spec.on;  /* also as the attribute: printed and saved pages */
      input.id = "emgis-item-" + (serial += 1);
      input.addEventListener("change", refresh);
      lab.appendChild(input);
      lab.appendChild(document.createTextNode(" " + String(spec.label)));
      box.appendChild(lab);
      var it = { spec: spec, input: input, parent: parent };
      state.push(it);
      if (spec.sub && spec.sub.length) {
        var sub = document.createElement("div");
        sub.className = "sub";
        box.appendChild(sub);
        it.subBox = sub;
        spec.sub.forEach(function (s) { item(s, it, sub); });
      }
    }
    var Panel = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "");
        div.id = "emgis-panel";
        var head = document.createElement("div");
        head.className = "head";
        head.appendChild(document.createTextNode("☰ " + String(data.texts.layers)));
        var body = document.createElement("div");
        body.className = "body";
        head.addEventListener("click", function () {
          body.style.display = body.style.display === "none" ? "" : "none";
        });
        div.appendChild(head);
        div.appendChild(body);
        (data.panel || []).forEach(function (sec) {
          var h = document.createElement("div");
          h.className = "sec";
          h.appendChild(document.createTextNode(String(sec.title)));
          body.appendChild(h);
          sec.items.forEach(function (s) { item(s, null, body); });
        });
        if (window.innerWidth < 700) { body.style.display = "none"; }
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    new Panel().addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    refresh();
    window.addEventListener("beforeprint", function () { map.invalidateSize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
