/* emgis workbench: the behaviour of its pages. No inline script anywhere: page data comes
   from <script type="application/json" id="wb-data"> blocks; every text from the server or
   the input is set as text (textContent), never as markup. */
(function () {
  "use strict";
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function data() {
    var el = document.getElementById("wb-data");
    return el ? JSON.parse(el.textContent) : {};
  }
  function csrf() {
    var el = $("input[name=csrf]");
    return el ? el.value : "";
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(),
                 "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        j.httpStatus = r.status; return j;
      });
    });
  }
  window.emgisWorkbench = { data: data, csrf: csrf, postJSON: postJSON };

  /* a button that says it is busy once its form is sent (uploads take a while) */
  $all("button[data-busy]").forEach(function (b) {
    var form = b.form;
    if (!form) { return; }
    form.addEventListener("submit", function () {
      b.disabled = true;
      b.textContent = b.getAttribute("data-busy");
    });
  });

  /* the run form: the options of the chosen kind */
  var runForm = document.getElementById("run-form");
  if (runForm) {
    var subs = $all(".sub", runForm);
    var sync = function () {
      var chosen = $("input[name=kind]:checked", runForm);
      subs.forEach(function (s) {
        s.hidden = !chosen || s.getAttribute("data-for") !== chosen.value;
      });
    };
    $all("input[name=kind]", runForm).forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }

  /* the run page: progress as server-sent events, then the results */
  var card = document.getElementById("progress-card");
  function show(doc) {
    var st = document.getElementById("run-status");
    if (st) { st.textContent = doc.word; st.className = "status s-" + doc.status; }
    var pct = Math.round((doc.progress || 0) * 100);
    var fill = document.getElementById("bar-fill");
    if (fill) { fill.style.width = pct + "%"; }
    var bar = document.getElementById("bar");
    if (bar) { bar.setAttribute("aria-valuenow", String(pct)); }
    var p = document.getElementById("bar-pct");
    if (p) { p.textContent = pct + "%"; }
    var step = document.getElementById("run-step");
    if (step) { step.textContent = doc.step || ""; }
    if (doc.status !== "queued") {
      var q = document.getElementById("queue-note");
      if (q) { q.hidden = true; }
    }
  }
  if (card && card.getAttribute("data-finished") === "false") {
    var bar0 = document.getElementById("bar");
    var fill0 = document.getElementById("bar-fill");
    if (bar0 && fill0) { fill0.style.width = (bar0.getAttribute("aria-valuenow") || "0") + "%"; }
    var url = card.getAttribute("data-events");
    var done = false;
    var finish = function () {
      if (done) { return; }
      done = true;
      window.setTimeout(function () { window.location.reload(); }, 300);
    };
    if (window.EventSource) {
      var es = new EventSource(url);
      es.onmessage = function (ev) {
        var doc = JSON.parse(ev.data);
        show(doc);
        if (doc.finished) { es.close(); finish(); }
      };
      es.onerror = function () {  /* the stream ended or broke: ask once more */
        es.close();
        window.setTimeout(function () {
          fetch(url.replace(/events$/, "status"), { credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (doc) { show(doc); if (doc.finished) { finish(); } else { window.location.reload(); } });
        }, 1500);
      };
    }
  }

  /* output pages in frames: as tall as their content */
  $all("iframe.report").forEach(function (f) {
    f.addEventListener("load", function () {
      try {
        var h = f.contentDocument.documentElement.scrollHeight;
        f.style.height = Math.min(Math.max(h + 20, 400), 20000) + "px";
      } catch (e) { /* another origin: keep the default height */ }
    });
  });

  /* the what-if page: save the plan the planner clicked, then run with it */
  var save = document.getElementById("save-plan");
  if (save) {
    var msg = document.getElementById("plan-message");
    save.addEventListener("click", function () {
      var d = data();
      var frame = document.getElementById("whatif-frame");
      var pre = frame && frame.contentDocument &&
        frame.contentDocument.getElementById("emgis-wi-export");
      if (!pre) { msg.textContent = "…"; return; }
      save.disabled = true;
      postJSON(d.plans, { kind: d.kind, csv: pre.textContent, run: d.run }).then(function (j) {
        save.disabled = false;
        if (j.ok) {
          msg.textContent = j.message;
          msg.className = "ok";
          document.getElementById("run-plan-name").value = j.name;
          document.getElementById("run-plan-form").hidden = false;
        } else {
          msg.textContent = (j.errors || [j.error || ""]).join(" ");
          msg.className = "error";
        }
      });
    });
  }
})();
