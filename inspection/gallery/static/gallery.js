/* clip2point gallery: filters and search (index, class pages) and the point turntable (object
 * pages). Plain JavaScript, no library, nothing fetched: the pages work from file://, where a
 * page may include scripts and images but not fetch files, so the data come as scripts that set
 * window.GALLERY_DATA (index) and window.GALLERY_POINTS (object page). */
(function () {
  "use strict";

  var MAX_MATCHES = 200;

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  /* The filter values; a select marked data-nav jumps to another page instead of filtering. */
  function readFilters(form) {
    var values = {};
    all("select, input", form).forEach(function (el) {
      if (el.name && !el.hasAttribute("data-nav")) { values[el.name] = el.value.trim(); }
    });
    return values;
  }

  function isActive(filters) {
    return Object.keys(filters).some(function (k) { return filters[k] !== ""; });
  }

  /* rec: {id, class, status, texture, verify} (a card's dataset or a row of GALLERY_DATA). */
  function matches(filters, rec) {
    if (filters["class"] && rec["class"] !== filters["class"]) { return false; }
    if (filters.status && rec.status !== filters.status) { return false; }
    if (filters.texture && rec.texture !== filters.texture) { return false; }
    if (filters.verify && rec.verify !== filters.verify) { return false; }
    if (filters.q && rec.id.toLowerCase().indexOf(filters.q.toLowerCase()) < 0) { return false; }
    return true;
  }

  /* apply(filters) runs when a filter value changes, not on every event: typing in the search
   * box fires "input" and, when the box loses focus (a click on a result), "change"; redrawing
   * the results then would swap the link under the click. */
  function bindForm(form, apply) {
    var last = null;
    function update() {
      var filters = readFilters(form), key = JSON.stringify(filters);
      if (key === last) { return; }
      last = key;
      apply(filters);
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    all("select[data-nav]", form).forEach(function (select) {
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        if (option && option.getAttribute("data-href")) { window.location.href = option.getAttribute("data-href"); }
      });
    });
    update();
  }

  function classPage() {
    var form = document.getElementById("filters");
    var cards = all("#cards .card");
    var count = document.getElementById("count");
    bindForm(form, function (filters) {
      var shown = 0;
      cards.forEach(function (card) {
        var ok = matches(filters, card.dataset);
        card.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " of " + cards.length + " objects shown";
    });
  }

  function records() {
    var data = window.GALLERY_DATA || {objects: []};
    return data.objects.map(function (row) {
      return {id: row[0], "class": row[1], status: row[2], texture: row[3],
              verify: row[4] ? "flagged" : "clean", lost: row[5], page: row[6]};
    });
  }

  function indexPage() {
    var form = document.getElementById("filters");
    var rows = all("#classes tbody tr");
    var count = document.getElementById("count");
    var list = document.getElementById("matches");
    var title = document.getElementById("matches-title");
    var recs = records();
    bindForm(form, function (filters) {
      var perClass = {}, found = [];
      recs.forEach(function (rec) {
        if (!matches(filters, rec)) { return; }
        var c = perClass[rec["class"]] || (perClass[rec["class"]] = {total: 0, "texture-lost": 0});
        c[rec.status] = (c[rec.status] || 0) + 1;
        c.total += 1;
        if (rec.lost) { c["texture-lost"] += 1; }
        found.push(rec);
      });
      rows.forEach(function (row) {
        var c = perClass[row.getAttribute("data-class")] || {total: 0};
        all("td[data-count]", row).forEach(function (cell) {
          cell.textContent = String(c[cell.getAttribute("data-count")] || 0);
        });
        row.hidden = c.total === 0 && isActive(filters);
      });
      count.textContent = found.length + " of " + recs.length + " objects match";
      list.textContent = "";
      title.hidden = !isActive(filters);
      if (!isActive(filters)) { return; }
      found.slice(0, MAX_MATCHES).forEach(function (rec) {
        var item = document.createElement("li"), link = document.createElement("a");
        link.href = rec.page;
        link.textContent = rec.id;
        item.appendChild(link);
        item.appendChild(document.createTextNode(" · " + rec["class"] + " · " + rec.status +
          (rec.texture !== "none recorded" ? " · texture " + rec.texture : "")));
        list.appendChild(item);
      });
      if (found.length > MAX_MATCHES) {
        var more = document.createElement("li");
        more.className = "muted";
        more.textContent = (found.length - MAX_MATCHES) + " more: narrow the search";
        list.appendChild(more);
      }
    });
  }

  function failuresPage() {
    /* Nothing to filter: the page lists every failure. Kept so each page type has a hook. */
  }

  /* Decode GALLERY_POINTS (int8 triples, base64) to floats in [-1, 1]. */
  function decodePoints(preview) {
    var raw = window.atob(preview.data), out = new Float32Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      var b = raw.charCodeAt(i);
      out[i] = (b > 127 ? b - 256 : b) / 127;
    }
    return out;
  }

  /* A turntable: the points turn about the vertical axis; drag to turn and tilt by hand
   * (the automatic turn stops), double-click to start it again. Near points are drawn last
   * and darker, so the shape reads without any lighting. */
  function turntable(canvas, xyz) {
    var ctx = canvas.getContext("2d"), n = xyz.length / 3, order = new Array(n);
    var yaw = 0.6, pitch = 0.35, spinning = true, drag = null;
    var sx = new Float32Array(n), sy = new Float32Array(n), sz = new Float32Array(n);
    for (var k = 0; k < n; k += 1) { order[k] = k; }

    function draw() {
      var w = canvas.width, h = canvas.height, scale = Math.min(w, h) * 0.45;
      var cy = Math.cos(yaw), sny = Math.sin(yaw), cp = Math.cos(pitch), snp = Math.sin(pitch);
      for (var i = 0; i < n; i += 1) {
        var x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
        var x1 = x * cy + z * sny, z1 = -x * sny + z * cy;
        sx[i] = w / 2 + x1 * scale;
        sy[i] = h / 2 - (y * cp - z1 * snp) * scale;
        sz[i] = y * snp + z1 * cp;
      }
      order.sort(function (a, b) { return sz[a] - sz[b]; });
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, w, h);
      for (var j = 0; j < n; j += 1) {
        var p = order[j], shade = Math.round(40 + 150 * (1 - (sz[p] + 1) / 2));
        ctx.fillStyle = "rgb(" + Math.round(shade * 0.55) + "," + Math.round(shade * 0.75) + "," + shade + ")";
        ctx.fillRect(sx[p] - 1, sy[p] - 1, 2.2, 2.2);
      }
    }

    function frame() {
      if (spinning) { yaw += 0.012; draw(); }
      window.requestAnimationFrame(frame);
    }

    canvas.addEventListener("pointerdown", function (event) {
      spinning = false;
      drag = {x: event.clientX, y: event.clientY};
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      yaw += (event.clientX - drag.x) * 0.01;
      pitch = Math.max(-1.5, Math.min(1.5, pitch + (event.clientY - drag.y) * 0.01));
      drag = {x: event.clientX, y: event.clientY};
      draw();
    });
    canvas.addEventListener("pointerup", function () { drag = null; });
    canvas.addEventListener("dblclick", function () { spinning = true; });
    draw();
    window.requestAnimationFrame(frame);
  }

  function objectPage() {
    var canvas = document.getElementById("points");
    if (!canvas) { return; }
    if (!window.GALLERY_POINTS || !window.GALLERY_POINTS.count) {
      document.getElementById("points-note").textContent = "no point preview for this object";
      return;
    }
    turntable(canvas, decodePoints(window.GALLERY_POINTS));
    canvas.setAttribute("data-drawn", String(window.GALLERY_POINTS.count));
  }

  var pages = {index: indexPage, "class": classPage, object: objectPage, failures: failuresPage};
  document.addEventListener("DOMContentLoaded", function () {
    var setup = pages[document.body.getAttribute("data-page")];
    if (setup) { setup(); }
  });
}());
