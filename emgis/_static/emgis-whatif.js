/* emgis what-if siting: switch candidate sites on and off and existing units off, and see
   the cover change at once, in the baseline or any scenario; offline, no server. The times
   come from the page's JSON data block (data.whatif): per scenario, every source's minutes to
   the villages within a cutoff (CSR arrays, base64). Each village takes its nearest active
   source. Every text shown is escaped or set as text; nothing is evaluated. */
(function () {
  "use strict";
  function b64(s, Type) {
    var bin = atob(s), n = bin.length, buf = new Uint8Array(n);
    for (var i = 0; i < n; i++) { buf[i] = bin.charCodeAt(i); }
    return new Type(buf.buffer);
  }
  function text(el, s) { el.textContent = String(s); return el; }
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined ? m : String(values[k]);
    });
  }
  function fmt(n) { return Math.round(n).toLocaleString("en-US"); }

  function run() {
    var node = document.getElementById("emgis-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    var W = data.whatif;
    var map = window[data.map];
    if (!W || !map) { return; }
    var T = W.texts, V = data.villages, nV = V.x.length, nU = W.units.x.length;
    var nC = W.cands.x.length, nS = nU + nC;
    var pop = W.pop, noroad = W.noroad, target = W.target;
    var COL = W.colours;
    var scen = W.scenarios.map(function (s) {
      var ptr = b64(s.ptr, Uint32Array);
      var vil = b64(s.vil, W.wide ? Uint32Array : Uint16Array);
      var t = b64(s.t, Uint16Array);
      return { name: s.key, label: s.label, ptr: ptr, vil: vil, t: t, inv: null,
               zones: s.zones || [], zoneLayer: null };
    });
    function inverse(S) {  /* village -> (source, tenths) pairs */
      if (S.inv) { return S.inv; }
      var cnt = new Uint32Array(nV + 1), i, k;
      for (i = 0; i < S.vil.length; i++) { cnt[S.vil[i] + 1]++; }
      for (i = 0; i < nV; i++) { cnt[i + 1] += cnt[i]; }
      var pos = cnt.slice(0, nV), src = new Uint32Array(S.vil.length),
          tt = new Uint16Array(S.vil.length);
      for (var s = 0; s < nS; s++) {
        for (k = S.ptr[s]; k < S.ptr[s + 1]; k++) {
          var v = S.vil[k], p = pos[v]++;
          src[p] = s; tt[p] = S.t[k];
        }
      }
      S.inv = { ptr: cnt, src: src, t: tt };
      return S.inv;
    }
    var on = new Uint8Array(nS), start = new Uint8Array(nS), i;
    for (i = 0; i < nU; i++) { on[i] = 1; }
    for (i = 0; i < nC; i++) { on[nU + i] = W.cands.on[i] ? 1 : 0; }
    start.set(on);
    var cur = 0, best = new Float64Array(nV);
    var BIG = 1e9;

    function village(v) {  /* recompute one village from its incoming pairs */
      var inv = inverse(scen[cur]), b = BIG;
      if (!noroad[v]) {
        for (var k = inv.ptr[v]; k < inv.ptr[v + 1]; k++) {
          if (on[inv.src[k]] && inv.t[k] < b) { b = inv.t[k]; }
        }
      }
      best[v] = b;
    }
    function all() { for (var v = 0; v < nV; v++) { village(v); } }
    function cls(v) {
      if (noroad[v]) { return "no_road_access"; }
      var b = best[v] / 10;
      if (best[v] >= BIG) { return W.cutoff >= 2 * target ? "far_over" : "over_target"; }
      return b <= target + 1e-9 ? "covered" : (b <= 2 * target ? "over_target" : "far_over");
    }
    function coveredPersons(mask) {
      var S = scen[cur], b = new Float64Array(nV).fill(BIG), s, k, total = 0;
      for (s = 0; s < nS; s++) {
        if (!mask[s]) { continue; }
        for (k = S.ptr[s]; k < S.ptr[s + 1]; k++) {
          if (S.t[k] < b[S.vil[k]]) { b[S.vil[k]] = S.t[k]; }
        }
      }
      for (var v = 0; v < nV; v++) {
        if (!noroad[v] && b[v] / 10 <= target + 1e-9) { total += pop[v]; }
      }
      return total;
    }

    /* layers: villages, candidates (small squares), existing units (pins) */
    var pane = map.createPane("emgisWhatIf");
    pane.style.zIndex = 430;
    var vMarks = [], cMarks = [], uMarks = [];
    for (var v = 0; v < nV; v++) {
      vMarks.push(L.circleMarker([V.y[v], V.x[v]], {
        radius: 8, fillOpacity: 0.9, weight: 1, color: "#000", pane: "emgisWhatIf",
        className: "emgis-wi-village" }).addTo(map));
      vMarks[v].bindTooltip((function (k) { return function () {
        var b = best[k] >= BIG ? "–" : (best[k] / 10).toFixed(1);
        return esc(V.label[k] + " · " + fmt(pop[k]) + " · " + b + " " + T.min);
      }; })(v));
    }
    function candStyle(c) {
      var isOn = on[nU + c];
      return { radius: isOn ? 6 : 3, fillColor: isOn ? COL.chosen : "#ffffff",
               color: isOn ? "#ffffff" : COL.chosen, weight: isOn ? 2 : 1,
               fillOpacity: isOn ? 1 : 0.9 };
    }
    function esc(s) {
      return String(s).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    }
    for (var c = 0; c < nC; c++) {
      var m = L.circleMarker([W.cands.y[c], W.cands.x[c]], Object.assign(candStyle(c), {
        pane: "emgisWhatIf", className: "emgis-cand emgis-cand-" + c }));
      m.bindTooltip(esc(T.candidate + ": " + W.cands.name[c]));
      m.on("click", (function (k) { return function () { toggle(nU + k); }; })(c));
      m.addTo(map);
      cMarks.push(m);
    }
    function unitStyle(u) {
      return on[u] ? { radius: 10, fillColor: COL.unit, color: "#000", weight: 2,
                       fillOpacity: 0.95, dashArray: null }
        : { radius: 10, fillColor: "#bdbdbd", color: "#000", weight: 2, fillOpacity: 0.6,
            dashArray: "3 3" };
    }
    for (var u = 0; u < nU; u++) {
      var um = L.circleMarker([W.units.y[u], W.units.x[u]], Object.assign(unitStyle(u), {
        pane: "emgisWhatIf", className: "emgis-unit-wi emgis-unit-wi-" + u }));
      um.bindTooltip(esc(T.existing + ": " + W.units.name[u]));
      um.on("click", (function (k) { return function () { toggle(k); }; })(u));
      um.addTo(map);
      uMarks.push(um);
    }

    /* the panel */
    var box = L.DomUtil.create("div", "");
    box.id = "emgis-whatif";
    box.style.cssText = "background:rgba(255,255,255,.96);border:1px solid #888;" +
      "border-radius:4px;padding:6px 8px;font:12px sans-serif;max-width:300px;" +
      "max-height:calc(100vh - 160px);overflow:auto";
    var Panel = L.Control.extend({ options: { position: "topleft" },
                                   onAdd: function () { return box; } });
    new Panel().addTo(map);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    var h = document.createElement("b");
    box.appendChild(text(h, T.title));
    var hint = document.createElement("div");
    hint.style.color = "#555";
    box.appendChild(text(hint, T.hint));
    var sel = document.createElement("select");
    sel.id = "emgis-wi-scenario";
    scen.forEach(function (s, k) {
      var o = document.createElement("option");
      o.value = String(k);
      box.appendChild(sel);
      sel.appendChild(text(o, s.label));
    });
    /* the chosen scenario's hazard zones, drawn under the roads while it is chosen */
    function zoneLayer(S) {
      if (S.zoneLayer) { return S.zoneLayer; }
      var g = L.featureGroup(), zp = map.getPane("emgisAreas") ? "emgisAreas" : "overlayPane";
      S.zones.forEach(function (f) {
        var c = typeof f.c === "string" && /^#[0-9a-fA-F]{3,8}$/.test(f.c) ? f.c : "#b2182b";
        var layer = L.geoJSON({ type: f.g.type, coordinates: f.g.coordinates }, {
          pane: zp, style: function () {
            return { color: c, weight: 1.5, fillColor: c, fillOpacity: 0.3, opacity: 0.9,
                     className: "emgis-wi-zone", pane: zp };
          } });
        if (f.tip !== undefined && f.tip !== null) { layer.bindTooltip(esc(f.tip)); }
        layer.addTo(g);
      });
      S.zoneLayer = g;
      return g;
    }
    function showZones() {
      scen.forEach(function (S, k) {
        if (!S.zones.length) { return; }
        var g = zoneLayer(S);
        if (k === cur && !map.hasLayer(g)) { g.addTo(map); }
        if (k !== cur && map.hasLayer(g)) { map.removeLayer(g); }
      });
      box.setAttribute("data-zones", String(scen[cur].zones.length));
    }
    sel.addEventListener("change", function () {
      cur = +sel.value; showZones(); all(); show();
    });
    var fig = document.createElement("div");
    fig.style.margin = "6px 0";
    var covEl = document.createElement("span");
    covEl.id = "emgis-wi-covered";
    var dEl = document.createElement("span");
    dEl.id = "emgis-wi-change";
    fig.appendChild(text(document.createElement("span"), T.covered + ": "));
    fig.appendChild(covEl);
    fig.appendChild(document.createElement("br"));
    fig.appendChild(text(document.createElement("span"), T.change + ": "));
    fig.appendChild(dEl);
    /* what the chosen candidates cost (the sum of their costs; unknown costs left out) */
    var costEl = document.createElement("span");
    costEl.id = "emgis-wi-cost";
    fig.appendChild(document.createElement("br"));
    fig.appendChild(text(document.createElement("span"), T.cost + ": "));
    fig.appendChild(costEl);
    box.appendChild(fig);
    var rankH = text(document.createElement("div"), T.ranked);
    rankH.style.fontWeight = "bold";
    box.appendChild(rankH);
    var rankL = document.createElement("ol");
    rankL.id = "emgis-wi-ranked";
    rankL.style.cssText = "margin:2px 0 6px 18px;padding:0";
    box.appendChild(rankL);
    var gapH = text(document.createElement("div"), T.gaps);
    gapH.style.fontWeight = "bold";
    box.appendChild(gapH);
    var gapL = document.createElement("ol");
    gapL.id = "emgis-wi-gaps";
    gapL.style.cssText = "margin:2px 0 6px 18px;padding:0";
    box.appendChild(gapL);
    function button(label, fn) {
      var b = document.createElement("button");
      b.type = "button";
      b.style.marginRight = "4px";
      b.addEventListener("click", fn);
      box.appendChild(text(b, label));
      return b;
    }
    var exportEl = document.createElement("pre");
    exportEl.id = "emgis-wi-export";
    exportEl.hidden = true;
    box.appendChild(exportEl);
    var geoEl = document.createElement("pre");
    geoEl.id = "emgis-wi-export-geojson";
    geoEl.hidden = true;
    box.appendChild(geoEl);
    var msEl = document.createElement("span");
    msEl.id = "emgis-wi-ms";
    msEl.hidden = true;
    box.appendChild(msEl);

    function csvCell(s) {  /* text as a CSV cell, inert in spreadsheets */
      s = String(s);
      if (/^[=+\-@\t\r]/.test(s)) { s = "'" + s; }
      return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    }
    function planRows() {
      var rows = [], k;
      for (k = 0; k < nC; k++) {
        if (on[nU + k]) { rows.push([W.cands.id[k], W.cands.name[k], "add", W.cands.lon[k],
                                     W.cands.lat[k]]); }
      }
      for (k = 0; k < nU; k++) {
        if (!on[k]) { rows.push([W.units.id[k], W.units.name[k], "remove", W.units.lon[k],
                                 W.units.lat[k]]); }
      }
      return rows;
    }
    function exports() {
      var rows = planRows();
      var csv = "id,name,kind,action,lon,lat\n" + rows.map(function (r) {
        return [csvCell(r[0]), csvCell(r[1]), W.kind, r[2], r[3], r[4]].join(",");
      }).join("\n") + (rows.length ? "\n" : "");
      var gj = JSON.stringify({ type: "FeatureCollection", features: rows.map(function (r) {
        return { type: "Feature", properties: { id: r[0], name: r[1], kind: W.kind,
                                                action: r[2] },
                 geometry: { type: "Point", coordinates: [r[3], r[4]] } };
      }) });
      exportEl.textContent = csv;
      geoEl.textContent = gj;
      return { csv: csv, geojson: gj };
    }
    function download(name, body, type) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([body], { type: type }));
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    }
    button(T.reset, function () { on.set(start); all(); show(); });
    button(T.export_csv, function () { download("plan_" + W.kind + ".csv", exports().csv,
                                                 "text/csv"); });
    button(T.export_geojson, function () {
      download("plan_" + W.kind + ".geojson", exports().geojson, "application/geo+json");
    });

    var startCovered = {}, shownCls = new Array(nV), shownSrc = new Int8Array(nS).fill(-1);
    function rank() {  /* the chosen sites ranked by what each adds after the ones before it */
      var S = scen[cur], k, v, covered = new Uint8Array(nV), chosen = [], gains = [];
      for (k = 0; k < nU; k++) {
        if (!on[k]) { continue; }
        for (var j = S.ptr[k]; j < S.ptr[k + 1]; j++) {
          if (S.t[j] / 10 <= target + 1e-9) { covered[S.vil[j]] = 1; }
        }
      }
      for (v = 0; v < nV; v++) { if (noroad[v]) { covered[v] = 1; } }
      for (k = 0; k < nC; k++) { if (on[nU + k]) { chosen.push(k); } }
      function gain(c) {  /* persons a candidate adds to those covered */
        var g = 0, s = nU + c;
        for (var q = S.ptr[s]; q < S.ptr[s + 1]; q++) {
          var w = S.vil[q];
          if (!covered[w] && S.t[q] / 10 <= target + 1e-9) { g += pop[w]; covered[w] = 2; }
        }
        for (q = S.ptr[s]; q < S.ptr[s + 1]; q++) {
          if (covered[S.vil[q]] === 2) { covered[S.vil[q]] = 0; }
        }
        return g;
      }
      while (chosen.length) {
        var bestI = 0, bestG = -1;
        for (var i2 = 0; i2 < chosen.length; i2++) {
          var g2 = gain(chosen[i2]);
          if (g2 > bestG) { bestG = g2; bestI = i2; }
        }
        var c = chosen[bestI], s2 = nU + c;
        for (var q2 = S.ptr[s2]; q2 < S.ptr[s2 + 1]; q2++) {
          if (S.t[q2] / 10 <= target + 1e-9) { covered[S.vil[q2]] = 1; }
        }
        gains.push([c, bestG]);
        chosen.splice(bestI, 1);
      }
      return gains;
    }
    function show() {
      var total = 0, v, k;
      for (v = 0; v < nV; v++) {
        var c = cls(v);
        if (c === "covered") { total += pop[v]; }
        if (shownCls[v] !== c) { vMarks[v].setStyle({ fillColor: COL[c] }); shownCls[v] = c; }
      }
      if (startCovered[cur] === undefined) { startCovered[cur] = coveredPersons(start); }
      covEl.setAttribute("data-persons", String(total));
      text(covEl, fmt(total));
      var d = total - startCovered[cur];
      dEl.setAttribute("data-persons", String(d));
      text(dEl, (d >= 0 ? "+" : "") + fmt(d));
      var yuan = 0, nOn = 0, unknown = 0, costs = W.cands.cost || [];
      for (k = 0; k < nC; k++) {
        if (!on[nU + k]) { continue; }
        nOn++;
        if (typeof costs[k] === "number" && isFinite(costs[k])) { yuan += costs[k]; }
        else { unknown++; }
      }
      costEl.setAttribute("data-yuan", String(yuan));
      costEl.setAttribute("data-unknown", String(unknown));
      text(costEl, (unknown && !(nOn - unknown) ? "–" : fmt(yuan) + " " + T.yuan) +
           (unknown && nOn - unknown ? " + ?" : "") +
           (typeof W.yearly === "number" && nOn ?
            " (" + fill(T.yearly, { yuan: fmt(W.yearly * nOn) }) + ")" : ""));
      for (k = 0; k < nC; k++) {
        if (shownSrc[nU + k] !== on[nU + k]) { cMarks[k].setStyle(candStyle(k));
                                                shownSrc[nU + k] = on[nU + k]; }
      }
      for (k = 0; k < nU; k++) {
        if (shownSrc[k] !== on[k]) { uMarks[k].setStyle(unitStyle(k)); shownSrc[k] = on[k]; }
      }
      while (rankL.firstChild) { rankL.removeChild(rankL.firstChild); }
      rank().forEach(function (cg) {
        rankL.appendChild(text(document.createElement("li"),
                               W.cands.name[cg[0]] + " (+" + fmt(cg[1]) + ")"));
      });
      /* gaps: villages outside target, most people first */
      var gaps = [];
      for (v = 0; v < nV; v++) { if (shownCls[v] !== "covered") { gaps.push(v); } }
      gaps.sort(function (a, b) { return pop[b] - pop[a] || a - b; });
      while (gapL.firstChild) { gapL.removeChild(gapL.firstChild); }
      gaps.slice(0, 12).forEach(function (g) {
        var b = best[g] >= BIG ? "–" : (best[g] / 10).toFixed(1);
        gapL.appendChild(text(document.createElement("li"),
                              V.label[g] + " · " + fmt(pop[g]) + " · " + b + " " + T.min));
      });
      if (gaps.length > 12) {
        gapL.appendChild(text(document.createElement("li"),
                              fill(T.more, { n: gaps.length - 12 })));
      }
      exports();
    }
    function toggle(s) {
      var t0 = performance.now();
      on[s] = on[s] ? 0 : 1;
      var S = scen[cur], k;
      if (on[s]) {
        for (k = S.ptr[s]; k < S.ptr[s + 1]; k++) {
          if (S.t[k] < best[S.vil[k]] && !noroad[S.vil[k]]) { best[S.vil[k]] = S.t[k]; }
        }
      } else {
        for (k = S.ptr[s]; k < S.ptr[s + 1]; k++) { village(S.vil[k]); }
      }
      show();
      var ms = performance.now() - t0;
      msEl.setAttribute("data-ms", ms.toFixed(2));
      msEl.setAttribute("data-clicks", String((+msEl.getAttribute("data-clicks") || 0) + 1));
      var worst = +msEl.getAttribute("data-max-ms") || 0;
      msEl.setAttribute("data-max-ms", Math.max(worst, ms).toFixed(2));
    }
    all();
    show();

    /* a link may carry clicks: #click=c:ID,u:ID&scenario=NAME (ids looked up in the data,
       then the markers clicked as a planner would) */
    function replay() {
      var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
      var parts = {};
      hash.split("&").forEach(function (p) {
        var eq = p.indexOf("=");
        if (eq > 0) { parts[p.slice(0, eq)] = p.slice(eq + 1); }
      });
      if (parts.scenario !== undefined) {
        scen.forEach(function (s, k) {
          if (s.name === parts.scenario) { sel.value = String(k); sel.dispatchEvent(
            new Event("change")); }
        });
      }
      (parts.click ? parts.click.split(",") : []).forEach(function (item) {
        var kind = item.slice(0, 2), id = item.slice(2), k, el = null;
        if (kind === "c:") {
          k = W.cands.id.indexOf(id);
          if (k >= 0) { el = document.querySelector(".emgis-cand-" + k); }
        } else if (kind === "u:") {
          k = W.units.id.indexOf(id);
          if (k >= 0) { el = document.querySelector(".emgis-unit-wi-" + k); }
        }
        if (el) { el.dispatchEvent(new MouseEvent("click", { bubbles: true })); }
      });
    }
    replay();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
