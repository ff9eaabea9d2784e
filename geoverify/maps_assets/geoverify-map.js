/* geoverify offline map: builds every layer in the browser from the JSON block #gv-data.
 * Plain ES5 (no template literals). User data is only ever put into the page with
 * textContent / DOM nodes, never innerHTML. __MAP__ is replaced by the Leaflet map variable.
 *
 * Targets are drawn by one canvas layer: each target as a shaped marker when few are in
 * view, else (district size, zoomed out) as screen-space grid cells with their count, so a
 * redraw costs one pass over typed arrays whatever the number of targets. */
(function () {
  "use strict";
  var map = __MAP__;
  var D = JSON.parse(document.getElementById("gv-data").textContent);
  var CATS = D.cats;
  var T = D.t;
  var N = T.id.length;
  /** Targets drawn one by one up to this many in view; more are gathered into grid cells. */
  var MAX_MARKERS = 4000;
  var CELL_PX = 44;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== null && text !== undefined) { e.textContent = String(text); }
    return e;
  }

  // ---- column decoding (see geoverify.maps._encode_column) ---------------------------------
  function decode(c, i) {
    if (!c) { return null; }
    if (Object.prototype.toString.call(c) === "[object Array]") {
      return c[i] === undefined ? null : c[i];
    }
    if (c.k) { var k = c.k[i]; return k < 0 ? null : c.d[k]; }
    if (c.i) {
      var lo = 0, hi = c.i.length - 1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (c.i[mid] === i) { return c.v[mid]; }
        if (c.i[mid] < i) { lo = mid + 1; } else { hi = mid - 1; }
      }
    }
    return null;
  }
  function col(name, i) { return decode(T[name], i); }
  function tid(i) { return T.idp + T.id[i]; }
  var SCALE = 1e6;
  function xInt(i) { return T.x0 + T.x[i]; }
  function yInt(i) { return T.y0 + T.y[i]; }
  function lon(i) { return xInt(i) / SCALE; }
  function lat(i) { return yInt(i) / SCALE; }

  // ---- text with identifiers that never break ----------------------------------------------
  var ID_RE = /[A-Za-z0-9][A-Za-z0-9_.\/\-]*[0-9][A-Za-z0-9_.\/\-]*/g;
  function withIds(parent, text) {
    text = String(text);
    var last = 0, m;
    ID_RE.lastIndex = 0;
    while ((m = ID_RE.exec(text)) !== null) {
      if (m[0].length < 6) { continue; }
      if (m.index > last) { parent.appendChild(document.createTextNode(text.slice(last, m.index))); }
      parent.appendChild(el("span", "gv-id", m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) { parent.appendChild(document.createTextNode(text.slice(last))); }
    return parent;
  }

  // ---- marker shapes drawn on a canvas -------------------------------------------------------
  var POLYS = {
    triangle: [[0, -1.3], [1.15, 0.75], [-1.15, 0.75]],
    tridown: [[0, 1.3], [1.15, -0.75], [-1.15, -0.75]],
    diamond: [[0, -1.35], [1.35, 0], [0, 1.35], [-1.35, 0]],
    hexagon: [],
    cross: []
  };
  (function () {
    var k, w = 0.38, l = 1.25, plus = [[w, -l], [w, -w], [l, -w], [l, w], [w, w], [w, l],
      [-w, l], [-w, w], [-l, w], [-l, -w], [-w, -w], [-w, -l]];
    var c = Math.SQRT1_2;
    for (k = 0; k < plus.length; k++) {
      POLYS.cross.push([(plus[k][0] - plus[k][1]) * c, (plus[k][0] + plus[k][1]) * c]);
    }
    for (k = 0; k < 6; k++) {
      var a = Math.PI / 6 + k * Math.PI / 3;
      POLYS.hexagon.push([Math.cos(a) * 1.15, Math.sin(a) * 1.15]);
    }
  })();

  function shapePath(ctx, shape, x, y, r) {
    var i, pts;
    if (shape === "circle") { ctx.arc(x, y, r, 0, Math.PI * 2, false); return; }
    if (shape === "square") { ctx.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8); return; }
    if (shape === "star") {
      for (i = 0; i < 10; i++) {
        var a = -Math.PI / 2 + i * Math.PI / 5, rr = (i % 2) ? r * 0.6 : r * 1.45;
        if (i) { ctx.lineTo(x + Math.cos(a) * rr, y + Math.sin(a) * rr); }
        else { ctx.moveTo(x + Math.cos(a) * rr, y + Math.sin(a) * rr); }
      }
      ctx.closePath();
      return;
    }
    pts = POLYS[shape] || POLYS.diamond;
    for (i = 0; i < pts.length; i++) {
      if (i) { ctx.lineTo(x + pts[i][0] * r, y + pts[i][1] * r); }
      else { ctx.moveTo(x + pts[i][0] * r, y + pts[i][1] * r); }
    }
    ctx.closePath();
  }
  function drawRings(ctx, rings, x, y, r) {
    for (var i = 0; i < rings.length; i++) {
      ctx.beginPath();
      ctx.arc(x, y, r * 1.45 + 3 + 4 * i, 0, Math.PI * 2, false);
      ctx.globalAlpha = 1;
      ctx.lineWidth = rings[i].w;
      ctx.strokeStyle = rings[i].color;
      if (ctx.setLineDash) { ctx.setLineDash(rings[i].dash || []); }
      ctx.stroke();
    }
    if (ctx.setLineDash) { ctx.setLineDash([]); }
  }
  var RINGS = {
    threshold: { color: "#000000", w: 3 },
    repeat: { color: "#1f4e9c", w: 2, dash: [4, 3] }
  };
  function ringsFor(flags) {
    var out = [];
    if (flags & 2) { out.push(RINGS.threshold); }
    if (flags & 1) { out.push(RINGS.repeat); }
    return out;
  }
  function iconCanvas(shape, color, rings) {
    var c = el("canvas", "gv-icon");
    c.width = 26; c.height = 26;
    var ctx = c.getContext("2d");
    if (shape) {
      ctx.beginPath();
      shapePath(ctx, shape, 13, 13, 5);
      ctx.fillStyle = color; ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = "#222222"; ctx.stroke();
    }
    drawRings(ctx, rings || [], 13, 13, 3);
    return c;
  }

  // ---- coverage colours -----------------------------------------------------------------
  function covClass(p) {
    if (p === null || p === undefined) { return -1; }
    for (var i = 0; i < D.cov.length; i++) {
      if (p >= D.cov[i][0]) { return i; }
    }
    return D.cov.length - 1;
  }
  function covColor(p) {
    var k = covClass(p);
    return k < 0 ? D.covNone : D.cov[k][1];
  }

  var canvas = L.canvas({ padding: 0.3, tolerance: 3 });
  /** Set while a click is taken by a target, so the village under it opens no popup. */
  var clickTaken = false;

  // ---- base layers (tiles are requested only when the user picks one) -------------------
  var bases = {};
  var baseNone = L.layerGroup();
  bases["无底图"] = baseNone;
  var baseByKey = { none: baseNone };
  D.tiles.forEach(function (b) {
    var layers = b.layers.map(function (t) {
      return L.tileLayer(t.url, {
        subdomains: t.subdomains || "abc", maxZoom: 18, attribution: t.attribution,
        tk: D.tk || ""
      });
    });
    var g = L.layerGroup(layers);
    bases[b.label] = g;
    baseByKey[b.key] = g;
    // Tiles come from the Internet: offline (the usual case in the field) none loads, and the
    // map would be blank under its outlines without a word. Say so until a tile loads.
    var loaded = 0;
    layers.forEach(function (layer) {
      layer.on("tileload", function () { loaded += 1; tileNote(null); });
      layer.on("tileerror", function () {
        if (!loaded && map.hasLayer(g)) {
          tileNote("底图“" + b.label + "”无法加载（未联网，或底图服务不可用）；村界、靶标等照常显示，" +
            "也可在图层中改选“无底图”");
        }
      });
    });
  });
  /** The note that the chosen base map cannot load (null: none). */
  var tileNoteEl = null;
  function tileNote(text) {
    if (!text) {
      if (tileNoteEl) { tileNoteEl.remove(); tileNoteEl = null; }
      return;
    }
    if (tileNoteEl) { return; }
    tileNoteEl = L.DomUtil.create("div", "gv-tile-note", map.getContainer());
    tileNoteEl.setAttribute("role", "status");
    tileNoteEl.setAttribute("data-testid", "tile-note");
    tileNoteEl.textContent = text;
  }
  map.on("baselayerchange", function () { tileNote(null); });
  (baseByKey[D.basemap] || baseNone).addTo(map);

  // ---- popups: inside the map, never under the controls ------------------------------------
  var layerControl = null;
  var legendBox = null;
  /** Room (px) a popup keeps from the map's edges and controls. */
  var POPUP_GAP = 8;
  /** The narrowest text column (px) worth setting a popup in beside the map's top controls;
   * narrower, the popup takes the map's whole width below them. */
  var MIN_POPUP_TEXT = 280;
  /** A small map (a phone, or the web app's frame on one) shows an open popup on its own: the
   * legend and the note, which would cover its text, are hidden while it is open. */
  function compactMap() {
    var size = map.getSize();
    return size.x < 600 || size.y < 560;
  }
  /** What a popup adds around its content (Leaflet's margins, padding, borders), in px. */
  function popupChrome() {
    var probe = el("div", "leaflet-popup gv-popup-wrap");
    probe.style.visibility = "hidden";
    var wrap = el("div", "leaflet-popup-content-wrapper");
    var body = el("div", "leaflet-popup-content");
    body.style.width = "100px";
    body.style.height = "100px";
    wrap.appendChild(body);
    probe.appendChild(wrap);
    map.getPane("popupPane").appendChild(probe);
    var out = { x: wrap.offsetWidth - 100, y: wrap.offsetHeight - 100 };
    L.DomUtil.remove(probe);
    return out;
  }
  /** The box (map container px) of the controls shown in a corner of the map, or null. */
  function cornerBox(v, h) {
    var box = map.getContainer();
    var corner = box.querySelector(".leaflet-" + v + ".leaflet-" + h);
    if (!corner) { return null; }
    var base = box.getBoundingClientRect(), out = null;
    for (var i = 0; i < corner.children.length; i++) {
      var c = corner.children[i];
      if (!c.offsetWidth || !c.offsetHeight) { continue; }
      var r = c.getBoundingClientRect();
      var b = { l: r.left - base.left, t: r.top - base.top, r: r.right - base.left,
        b: r.bottom - base.top };
      out = out ? { l: Math.min(out.l, b.l), t: Math.min(out.t, b.t), r: Math.max(out.r, b.r),
        b: Math.max(out.b, b.b) } : b;
    }
    return out;
  }
  /** Popup options for the map as it is now: as wide as the room between (or, on a phone,
   * below) the top controls allows, as tall as the map allows, and auto-panned clear of them. */
  function popupOptions(maxWidth) {
    var box = map.getContainer(), size = map.getSize(), gap = POPUP_GAP;
    var compact = compactMap();
    if (compact) { L.DomUtil.addClass(box, "gv-compact"); }
    else { L.DomUtil.removeClass(box, "gv-compact"); }
    L.DomUtil.addClass(box, "gv-popup-open");  // measured without what an open popup hides
    var chrome = popupChrome();
    var titleBottom = 0;
    var title = box.querySelector(".gv-title");
    if (title && title.offsetHeight) {
      titleBottom = title.getBoundingClientRect().bottom - box.getBoundingClientRect().top;
    }
    var tl = cornerBox("top", "left"), tr = cornerBox("top", "right");
    var left = tl ? tl.r : 0, right = tr ? size.x - tr.l : 0;
    var padL, padR, top;
    if (size.x - left - right - 2 * gap - chrome.x - 1 >= Math.min(maxWidth, MIN_POPUP_TEXT)) {
      // beside the controls, below the title
      padL = left + gap; padR = right + gap; top = titleBottom + gap;
    } else {
      // the map's whole width, below the title and the controls
      padL = gap; padR = gap;
      top = Math.max(titleBottom, tl ? tl.b : 0, tr ? tr.b : 0) + gap;
    }
    var bl = cornerBox("bottom", "left"), br = cornerBox("bottom", "right");
    var bottom = Math.max(bl ? size.y - bl.t : 0, br ? size.y - br.t : 0) + gap;
    // the popup's box as Leaflet pans it ends 7 px below the point, its frame 20 px above it
    var room = size.y - top - (compact ? bottom : gap) - 20;
    return {
      maxWidth: Math.max(120, Math.min(maxWidth, size.x - padL - padR - chrome.x - 1)),
      maxHeight: Math.max(120, room - chrome.y),
      autoPanPaddingTopLeft: [padL, top], autoPanPaddingBottomRight: [padR, bottom],
      className: "gv-popup-wrap"
    };
  }
  var currentPopup = null;
  function openPopup(latlng, content, maxWidth) {
    if (compactMap() && layerControl && layerControl.options.collapsed) {
      layerControl.collapse();
    }
    var p = L.popup(popupOptions(maxWidth || 380)).setLatLng(latlng).setContent(content);
    p.gvMaxWidth = maxWidth || 380;
    currentPopup = p;
    p.openOn(map);
    return p;
  }
  map.on("popupopen", function (e) {
    L.DomUtil.addClass(map.getContainer(), "gv-popup-open");
    var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) {
      close.title = "关闭";
      close.setAttribute("aria-label", "关闭");
    }
  });
  map.on("popupclose", function () {
    L.DomUtil.removeClass(map.getContainer(), "gv-popup-open");
  });
  map.on("resize", function () {  // a phone turned round: the open popup is fitted again
    if (currentPopup && map.hasLayer(currentPopup)) {
      L.setOptions(currentPopup, popupOptions(currentPopup.gvMaxWidth));
      currentPopup.update();
    }
  });

  function fillTable(tb, rows) {
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", null, r[0]));
      var td = el("td");
      withIds(td, r[1]);
      tr.appendChild(td);
      tb.appendChild(tr);
    });
  }

  // ---- villages ---------------------------------------------------------------------------
  var villageIndex = {};
  var villages = L.geoJSON(D.v, {
    renderer: canvas,
    style: function (f) {
      var p = f.properties.p;
      return { color: "#3a3a3a", weight: 1.6, fillColor: covColor(p), fillOpacity: 0.45 };
    },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "villages";
      villageIndex[f.properties.i] = layer;
      layer.bindTooltip(function () { return el("span", null, f.properties.n); },
        { permanent: true, direction: "center", className: "gv-vlabel" });
      layer.on("click", function (e) {
        if (clickTaken) { return; }
        openPopup(e.latlng, villagePopup(f.properties), 320);
      });
    }
  }).addTo(map);

  // ---- groups (组): only drawn at high zoom while their overlay is switched on ---------------
  var gPane = map.createPane("gvGroups");
  gPane.style.zIndex = 390;
  gPane.style.pointerEvents = "none";
  var groupsInner = L.geoJSON(D.g, {
    pane: "gvGroups", renderer: L.svg({ pane: "gvGroups" }), interactive: false,
    style: function () { return { color: "#5b5b5b", weight: 1, dashArray: "5 4", fill: false }; },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "groups";
      layer.bindTooltip(function () { return el("span", null, f.properties.n); },
        { permanent: true, direction: "center", className: "gv-glabel", interactive: false });
    }
  });
  var groupsToggle = L.layerGroup();
  function syncGroups() {
    var want = map.hasLayer(groupsToggle) && map.getZoom() >= D.groupZoom;
    if (want && !map.hasLayer(groupsInner)) { map.addLayer(groupsInner); }
    if (!want && map.hasLayer(groupsInner)) { map.removeLayer(groupsInner); }
  }
  map.on("zoomend overlayadd overlayremove", syncGroups);
  if (D.g.features.length) { groupsToggle.addTo(map); }

  // ---- unsurveyed areas (hatched; a click tells their rank and priority) --------------------
  var uPane = map.createPane("gvUnsurveyed");
  uPane.style.zIndex = 405;
  var unsurveyed = L.geoJSON(D.u, {
    pane: "gvUnsurveyed", renderer: L.svg({ pane: "gvUnsurveyed" }),
    style: function () {
      return { color: "#b03060", weight: 1, fillOpacity: 1, className: "gv-hatch" };
    },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "unsurveyed";
      layer.on("click", function (e) {
        if (clickTaken) { return; }
        L.DomEvent.stopPropagation(e);
        openPopup(e.latlng, unsurveyedPopup(f.properties), 300);
      });
    }
  });
  if (D.u.features.length) { unsurveyed.addTo(map); }

  // ---- patrol tracks ---------------------------------------------------------------------
  var tracks = L.geoJSON(D.tr, {
    renderer: canvas,
    style: function () { return { color: "#0a64d8", weight: 2.5, opacity: 0.85 }; },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "tracks";
      if (f.properties.n) {
        layer.bindTooltip(function () { return el("span", null, f.properties.n); },
          { sticky: true });
      }
    }
  });
  if (D.tr.features.length) { tracks.addTo(map); }

  // ---- polygon targets (图斑) as outlines in their category colour ------------------------
  var outlines = L.geoJSON(D.to, {
    renderer: canvas, interactive: false,
    style: function (f) {
      var color = CATS[f.properties.c].color;
      return { color: color, weight: 1.5, opacity: 0.9, fillColor: color, fillOpacity: 0.15 };
    },
    onEachFeature: function (f, layer) { layer.options.gvKind = "outlines"; }
  });
  if (D.to.features.length) { outlines.addTo(map); }

  // ---- targets: one canvas layer ------------------------------------------------------------
  var catCount = CATS.map(function () { return 0; });
  var catOn = CATS.map(function () { return true; });
  var WX = new Float64Array(N), WY = new Float64Array(N);
  var k;
  for (k = 0; k < N; k++) {
    catCount[T.c[k]] += 1;
    var la = lat(k) * Math.PI / 180;
    WX[k] = (lon(k) + 180) / 360;
    WY[k] = (1 - Math.log(Math.tan(la) + 1 / Math.cos(la)) / Math.PI) / 2;
  }
  /** Which category wins a grid cell's colour (the most urgent first). */
  var URGENCY = ["overdue", "confirmed", "dispatched", "issued", "outside", "eradicated",
    "not_found", "excluded"].map(function (key) {
    for (var j = 0; j < CATS.length; j++) { if (CATS[j].key === key) { return j; } }
    return -1;
  }).filter(function (j) { return j >= 0; });
  var RANK = CATS.map(function (c, j) { return URGENCY.indexOf(j); });

  var TargetLayer = L.Layer.extend({
    options: { pane: "gvTargets", pad: 0.4 },
    onAdd: function (m) {
      this._canvas = L.DomUtil.create("canvas", "gv-targets leaflet-zoom-hide");
      this.getPane().appendChild(this._canvas);
      this._drawn = [];
      this._visible = 0;
      this._mode = "markers";
      m.on("moveend zoomend resize viewreset", this.redraw, this);
      this.redraw();
    },
    onRemove: function (m) {
      m.off("moveend zoomend resize viewreset", this.redraw, this);
      L.DomUtil.remove(this._canvas);
      this._drawn = [];
      this._visible = 0;
    },
    redraw: function () {
      if (!this._map) { return; }
      var m = this._map, size = m.getSize(), pad = this.options.pad;
      var w = Math.round(size.x * (1 + 2 * pad)), h = Math.round(size.y * (1 + 2 * pad));
      var c = this._canvas, ratio = window.devicePixelRatio || 1;
      var topLeft = m.containerPointToLayerPoint([-size.x * pad, -size.y * pad]).round();
      L.DomUtil.setPosition(c, topLeft);
      c.width = w * ratio; c.height = h * ratio;
      c.style.width = w + "px"; c.style.height = h + "px";
      var ctx = c.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, w, h);
      var scale = 256 * Math.pow(2, m.getZoom());
      var origin = m.getPixelOrigin();
      var ox = origin.x + topLeft.x, oy = origin.y + topLeft.y;
      // one pass: which targets are in view (with a margin), their canvas position
      var idx = new Int32Array(N), px = new Float32Array(N), py = new Float32Array(N);
      var n = 0, i, x, y;
      for (i = 0; i < N; i++) {
        if (!catOn[T.c[i]]) { continue; }
        x = WX[i] * scale - ox; y = WY[i] * scale - oy;
        if (x < -20 || y < -20 || x > w + 20 || y > h + 20) { continue; }
        idx[n] = i; px[n] = x; py[n] = y; n++;
      }
      this._visible = n;
      this._offset = [topLeft.x, topLeft.y];
      this._drawn = [];
      if (n > MAX_MARKERS) {
        this._mode = "grid";
        this._drawGrid(ctx, idx, px, py, n, w, h);
      } else {
        this._mode = "markers";
        this._drawMarkers(ctx, idx, px, py, n);
      }
    },
    _drawMarkers: function (ctx, idx, px, py, n) {
      var r = 6;
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#222222";
      for (var j = 0; j < n; j++) {
        var i = idx[j], cat = CATS[T.c[i]];
        ctx.beginPath();
        shapePath(ctx, cat.shape, px[j], py[j], r);
        ctx.globalAlpha = 0.95;
        ctx.fillStyle = cat.color;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#222222";
        ctx.stroke();
        if (T.f[i]) { drawRings(ctx, ringsFor(T.f[i]), px[j], py[j], r); }
        this._drawn.push([i, px[j], py[j]]);
      }
    },
    _drawGrid: function (ctx, idx, px, py, n, w, h) {
      var nx = Math.ceil(w / CELL_PX) + 1, ny = Math.ceil(h / CELL_PX) + 1;
      var cells = nx * ny;
      var cnt = new Int32Array(cells), best = new Int16Array(cells), flag = new Uint8Array(cells);
      var sx = new Float64Array(cells), sy = new Float64Array(cells);
      best.fill(99);
      for (var j = 0; j < n; j++) {
        var cx = Math.floor((px[j] + 20) / CELL_PX), cy = Math.floor((py[j] + 20) / CELL_PX);
        var cell = cy * nx + cx, i = idx[j], rk = RANK[T.c[i]];
        cnt[cell] += 1; sx[cell] += px[j]; sy[cell] += py[j];
        if (rk >= 0 && rk < best[cell]) { best[cell] = rk; }
        flag[cell] |= T.f[i];
      }
      ctx.font = "bold 11px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (var q = 0; q < cells; q++) {
        if (!cnt[q]) { continue; }
        var x = sx[q] / cnt[q], y = sy[q] / cnt[q];
        var r = 6 + 4 * Math.log(cnt[q] + 1) / Math.LN10;
        var cat = CATS[URGENCY[best[q]] === undefined ? 0 : URGENCY[best[q]]];
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2, false);
        ctx.globalAlpha = 0.85;
        ctx.fillStyle = cat.color;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.lineWidth = flag[q] & 2 ? 3 : 1.5;
        ctx.strokeStyle = flag[q] & 2 ? "#000000" : "#ffffff";
        ctx.stroke();
        ctx.fillStyle = "#ffffff";
        ctx.fillText(String(cnt[q]), x, y);
        this._drawn.push([-1, x, y, r, cnt[q]]);
      }
    },
    /** The target (or grid cell) at a container point, or null. */
    hit: function (point) {
      if (!this._map || !this._drawn.length) { return null; }
      var size = this._map.getSize(), pad = this.options.pad;
      var x = point.x + size.x * pad, y = point.y + size.y * pad;
      var bestD = 1e9, found = null;
      for (var j = 0; j < this._drawn.length; j++) {
        var d = this._drawn[j], dx = d[1] - x, dy = d[2] - y, dist = dx * dx + dy * dy;
        var tol = d[0] < 0 ? d[3] + 2 : 11;
        if (dist <= tol * tol && dist < bestD) { bestD = dist; found = d; }
      }
      return found;
    }
  });
  map.createPane("gvTargets").style.zIndex = 450;
  map.getPane("gvTargets").style.pointerEvents = "none";
  var points = new TargetLayer();
  points.addTo(map);

  /** One switch per category in the layer control (the canvas layer draws what is on). */
  var CatSwitch = L.Layer.extend({
    initialize: function (k) { this._k = k; },
    onAdd: function () { catOn[this._k] = true; points.redraw(); },
    onRemove: function () { catOn[this._k] = false; points.redraw(); }
  });
  var catSwitches = CATS.map(function (c, j) { return new CatSwitch(j); });
  catSwitches.forEach(function (s) { s.addTo(map); });

  map.on("preclick", function (e) {
    clickTaken = false;
    var h = points.hit(e.containerPoint);
    if (!h) { return; }
    clickTaken = true;
    if (h[0] >= 0) {
      openPopup(L.latLng(lat(h[0]), lon(h[0])), targetPopup(h[0]), 380);
    } else {
      var ll = map.containerPointToLatLng([h[1] - map.getSize().x * points.options.pad,
        h[2] - map.getSize().y * points.options.pad]);
      map.setView(ll, Math.min(map.getZoom() + 2, map.getMaxZoom()));
    }
  });
  map.on("mousemove", function (e) {
    map.getContainer().style.cursor = points.hit(e.containerPoint) ? "pointer" : "";
  });

  // ---- popups ----------------------------------------------------------------------------
  function fmtNum(v, unit) {
    return v === null || v === undefined ? null : String(v) + (unit || "");
  }
  function quote(text) {  // the same bytes as Python's urllib.parse.quote(text, safe="")
    return encodeURIComponent(text).replace(/[!'()*]/g, function (ch) {
      return "%" + ch.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function fixed6(n) {  // an integer of micro-degrees as a 6-decimal number
    return (n / SCALE).toFixed(6);
  }
  function navUrl(tpl, i, name) {
    var x = xInt(i), y = yInt(i);
    var vals = {
      x: x, y: y, gx: x + T.gx[i], gy: y + T.gy[i], bx: x + T.bx[i], by: y + T.by[i]
    };
    return tpl.replace(/\{(\w+)\}/g, function (m, key) {
      if (key === "name") { return quote(String(name)); }
      if (!Object.prototype.hasOwnProperty.call(vals, key)) { return ""; }
      return fixed6(vals[key]);
    });
  }
  function targetPopup(i) {
    var box = el("div", "gv-popup");
    var cat = CATS[T.c[i]];
    var head = el("div", "gv-ptitle");
    head.appendChild(iconCanvas(cat.shape, cat.color, ringsFor(T.f[i])));
    var name = el("span", null, "靶标 ");
    name.appendChild(el("span", "gv-id", tid(i)));
    head.appendChild(name);
    box.appendChild(head);
    var stKey = col("s", i);
    var st = D.statusLabels[stKey] || stKey;
    var res = col("r", i);
    var resLabel = res ? (D.resultLabels[res] || res) : null;
    var status = st + (resLabel ? "，" + resLabel : "");
    if (cat.label !== st && cat.label !== resLabel) { status += "（" + cat.label + "）"; }
    var vi = T.v[i];
    var flags = [];
    if (T.f[i] & 2) { flags.push("株数达刑事立案标准（≥500株）"); }
    var rep = col("repeat_of", i);
    if (rep) { flags.push("重复点位，前次靶标 " + rep); }
    var tb = el("table", "gv-ptable");
    fillTable(tb, [
      ["村（社区）", vi >= 0 ? D.vn[vi] : "镇外"],
      ["组", col("g", i)],
      ["归属", D.assignLabels[col("assignment", i)] || col("assignment", i)],
      ["相邻村", col("neighbours", i)],
      ["跨入村", col("split_into", i)],
      ["状态", status],
      ["提示", flags.join("；")],
      ["批次", col("b", i)],
      ["来源", D.sourceLabels[col("source", i)] || col("source", i)],
      ["重新下发自批次", col("reissue_of", i)],
      ["影像日期", col("image_date", i)],
      ["下发日期", col("issued_on", i)],
      ["反馈期限", col("due_on", i)],
      ["核查日期", col("verified_on", i)],
      ["核查人", col("verified_by", i)],
      ["株数", fmtNum(col("plants", i), " 株")],
      ["图斑面积", fmtNum(col("area_m2", i), " 平方米")],
      ["铲除面积", fmtNum(col("eradicated_area_m2", i), " 平方米")],
      ["铲除日期", col("eradicated_on", i)],
      ["案件编号", col("case_no", i)],
      ["备注", col("remarks", i)],
      ["坐标（CGCS2000）", lon(i).toFixed(6) + ", " + lat(i).toFixed(6)]
    ]);
    box.appendChild(tb);

    var given = [];
    (T.dk || []).forEach(function (key, j) {
      var v = decode(T.dv[j], i);
      if (v !== null && v !== undefined && v !== "") { given.push([key, v]); }
    });
    if (given.length) {
      box.appendChild(el("div", "gv-psub", "区禁毒办原表信息"));
      var dt = el("table", "gv-ptable");
      fillTable(dt, given);
      box.appendChild(dt);
    }

    var nav = el("div", "gv-nav");
    nav.appendChild(el("span", null, "导航："));
    var label = "靶标 " + tid(i);
    D.nav.forEach(function (n) {
      var a = el("a", null, n.label);
      a.href = navUrl(n.url, i, label);
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      nav.appendChild(a);
    });
    box.appendChild(nav);

    var hist = D.h[String(i)];
    if (hist && hist.length) {
      box.appendChild(el("div", "gv-psub", "处理记录"));
      var ol = el("ol", "gv-hist");
      hist.forEach(function (e) {
        var li = el("li");
        li.appendChild(el("span", "gv-when", e[0]));
        li.appendChild(document.createTextNode(" " + e[2] + (e[1] ? "（" + e[1] + "）" : "")));
        if (e[3]) { li.appendChild(withIds(el("div", "gv-payload"), e[3])); }
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    var photos = D.ph[String(i)];
    if (photos && photos.length) {
      box.appendChild(el("div", "gv-psub", "现场照片"));
      var row = el("div", "gv-photos");
      photos.forEach(function (b64, n) {
        var img = el("img");
        img.src = "data:image/jpeg;base64," + b64;
        img.alt = "现场照片 " + (n + 1);
        row.appendChild(img);
      });
      box.appendChild(row);
    }
    return box;
  }
  var villageCounts = null;
  function villagePopup(p) {
    if (!villageCounts) {
      villageCounts = {};
      for (var j = 0; j < N; j++) {
        var key = T.v[j] + ":" + T.c[j];
        villageCounts[key] = (villageCounts[key] || 0) + 1;
      }
    }
    var box = el("div", "gv-popup");
    box.appendChild(el("div", "gv-ptitle", p.n));
    var tb = el("table", "gv-ptable");
    var rows = [
      ["类型", p.k], ["编码", p.c],
      ["面积", p.a === null || p.a === undefined ? null : p.a.toFixed(2) + " 平方公里"],
      ["踏查覆盖率", p.p === null || p.p === undefined ? "无数据" : p.p.toFixed(1) + "%"]
    ];
    CATS.forEach(function (cat, j) {
      var n = villageCounts[p.i + ":" + j];
      if (n) { rows.push([cat.label, n + " 处"]); }
    });
    fillTable(tb, rows);
    box.appendChild(tb);
    return box;
  }
  function unsurveyedPopup(p) {
    var box = el("div", "gv-popup");
    box.appendChild(el("div", "gv-ptitle",
      "未踏查区域" + (p.r ? "（全镇第 " + p.r + " 位）" : "")));
    var tb = el("table", "gv-ptable");
    fillTable(tb, [
      ["村（社区）", p.v],
      ["优先排序", p.r ? "第 " + p.r + " 位（共 " + D.u.features.length + " 块）" : null],
      ["面积", p.a === null || p.a === undefined ? null : p.a.toFixed(2) + " 公顷"],
      ["优先度", p.s === null || p.s === undefined ? null : p.s.toFixed(2)]
    ]);
    box.appendChild(tb);
    box.appendChild(el("div", "gv-pnote",
      "按土地覆盖加权（地头、房前屋后、林区优先）；请安排踏查。"));
    return box;
  }

  // ---- controls --------------------------------------------------------------------------
  var overlays = {};
  overlays["村（社区）界线"] = villages;
  if (D.g.features.length) {
    overlays["村民小组界线（放大至" + D.groupZoom + "级显示）"] = groupsToggle;
  }
  if (D.u.features.length) { overlays["未踏查区域"] = unsurveyed; }
  if (D.tr.features.length) { overlays["踏查轨迹"] = tracks; }
  if (D.to.features.length) { overlays["靶标图斑轮廓"] = outlines; }
  CATS.forEach(function (cat, j) {
    if (catCount[j]) { overlays["靶标：" + cat.label + "（" + catCount[j] + "）"] = catSwitches[j]; }
  });
  var narrow = window.innerWidth < 800 || window.innerHeight < 560;
  // Leaflet's own controls in Chinese (its tooltips are English): zoom, layers, attribution
  if (map.zoomControl) {
    map.zoomControl.remove();
    map.zoomControl = L.control.zoom({
      position: "topleft", zoomInTitle: "放大", zoomOutTitle: "缩小"
    }).addTo(map);
  }
  layerControl = L.control.layers(bases, overlays, { collapsed: narrow, position: "topright" })
    .addTo(map);
  (function () {
    var toggle = layerControl.getContainer().querySelector(".leaflet-control-layers-toggle");
    if (toggle) {
      toggle.title = "图层";
      toggle.setAttribute("aria-label", "图层（底图、显示内容）");
    }
    if (map.attributionControl) {
      var prefix = String(map.attributionControl.options.prefix || "");
      map.attributionControl.setPrefix(prefix.replace(
        "A JavaScript library for interactive maps", "Leaflet 交互地图库"));
    }
  })();

  // maxWidth 150: the shortest bar (half of it) still holds its label in a CJK font.
  L.control.scale({ imperial: false, position: "bottomleft", maxWidth: 150 }).addTo(map);
  new L.Control.FullScreen({
    position: "topleft", title: "全屏显示", titleCancel: "退出全屏", forceSeparateButton: true
  }).addTo(map);

  // A finger has no pointer to move over the map: on a touch screen the readout asks for a
  // tap, and any click or tap (also one that opens a popup) shows where it landed.
  var coarse = !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
  var Readout = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = el("div", "gv-box gv-readout", coarse ? "点击地图查看坐标" : "移动鼠标查看坐标");
      function show(e) {
        // not the ground under a control (a finger on a layer box, the mouse over the legend)
        var target = e.originalEvent && e.originalEvent.target;
        if (target && target.closest && target.closest(".leaflet-control")) { return; }
        box.textContent = "";
        box.appendChild(el("span", null, "经度 " + e.latlng.lng.toFixed(6) + "°"));
        box.appendChild(document.createTextNode("  "));
        box.appendChild(el("span", null, "纬度 " + e.latlng.lat.toFixed(6) + "°"));
        box.appendChild(el("span", "gv-crs", "（CGCS2000）"));
      }
      map.on("mousemove", show);
      map.on("preclick", show);
      return box;
    }
  });
  new Readout().addTo(map);

  // On a wide map the legend sits bottom left (above the coordinate readout): the right-hand
  // side is the layer switcher's, which is as tall as the legend with every kind of layer. On a
  // narrow one (folded at first) it stays bottom right, clear of the scale bar.
  var Legend = L.Control.extend({
    options: { position: narrow ? "bottomright" : "bottomleft" },
    onAdd: function () {
      var box = el("div", "gv-box gv-legend");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var toggle = el("button", "gv-ltoggle", "图例");
      toggle.type = "button";
      box.appendChild(toggle);
      var body = el("div", "gv-lbody");
      box.appendChild(body);
      function setOpen(open) {
        if (open) { L.DomUtil.addClass(box, "gv-open"); }
        else { L.DomUtil.removeClass(box, "gv-open"); }
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        toggle.textContent = open ? "图例 ▾" : "图例 ▸";
      }
      L.DomEvent.on(toggle, "click", function () {
        setOpen(!L.DomUtil.hasClass(box, "gv-open"));
        fitControls();
      });
      function item(icon, text) {
        var r = el("div", "gv-litem");
        r.appendChild(icon);
        r.appendChild(el("span", null, text));
        body.appendChild(r);
      }
      function swatch(cls, style) {
        var s = el("span", "gv-swatch " + (cls || ""));
        if (style) { s.style.background = style; }
        return s;
      }
      if (N) {
        body.appendChild(el("div", "gv-lsub", "靶标状态（统计截至 " + D.today + "）"));
        CATS.forEach(function (cat, j) {
          if (catCount[j]) {
            item(iconCanvas(cat.shape, cat.color), cat.label + "（" + catCount[j] + "）");
          }
        });
        var anyRepeat = false, anyThreshold = false;
        for (var j = 0; j < N; j++) {
          if (T.f[j] & 1) { anyRepeat = true; }
          if (T.f[j] & 2) { anyThreshold = true; }
        }
        if (anyRepeat) { item(iconCanvas(null, null, [RINGS.repeat]), "重复点位（30米内曾有靶标）"); }
        if (anyThreshold) {
          item(iconCanvas(null, null, [RINGS.threshold]), "种植≥500株（刑事立案标准）");
        }
        if (N > MAX_MARKERS) { item(swatch("gv-cell-swatch"), "缩小时靶标按格汇总，数字为个数"); }
        if (D.to.features.length) { item(swatch(null, "#ffffff"), "靶标图斑轮廓（颜色同状态）"); }
      }
      body.appendChild(el("div", "gv-lsub", "村（社区）踏查覆盖率"));
      var present = {}, none = false;
      D.v.features.forEach(function (f) {
        var c = covClass(f.properties.p);
        if (c < 0) { none = true; } else { present[c] = true; }
      });
      D.cov.forEach(function (c, j) { if (present[j]) { item(swatch(null, c[1]), c[2]); } });
      if (none) { item(swatch(null, D.covNone), "无覆盖数据"); }
      if (D.u.features.length) { item(swatch("gv-hatch-swatch"), "未踏查区域（点击看排序）"); }
      if (D.tr.features.length) { item(swatch("gv-track-swatch"), "踏查轨迹"); }
      if (D.g.features.length) { item(swatch("gv-group-swatch"), "村民小组界线"); }
      setOpen(!narrow);
      legendBox = box;
      return box;
    }
  });
  new Legend().addTo(map);

  if (D.illustrative) {
    var Note = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () { return el("div", "gv-box gv-note", "示意边界，非官方数据"); }
    });
    new Note().addTo(map);
  }
  var title = el("div", "gv-title", D.title);
  if (D.subtitle) {
    // Each part of the subtitle (批次 …, 统计截至 2024-03-25) wraps whole, never inside a date.
    var sub = el("div", "gv-subtitle");
    String(D.subtitle).split(" · ").forEach(function (part, i) {
      if (i) { sub.appendChild(document.createTextNode(" · ")); }
      sub.appendChild(el("span", "gv-part", part));
    });
    title.appendChild(sub);
  }
  L.DomEvent.disableClickPropagation(title);
  map.getContainer().appendChild(title);

  // ---- controls in one column never overlap: the top corner's above the bottom corner's -------
  /** Each side of the map is shared by its top corner (zoom, full screen; the layer switcher)
   * and its bottom corner (legend, note, readout, scale, attribution). When they do not fit
   * the map's height, the legend's body is shortened first (it scrolls), then the layer list
   * (it scrolls), each down to MIN_SCROLL px. */
  var MIN_SCROLL = 96;
  var CONTROL_GAP = 10;
  function fitColumn(side, section, body) {
    var box = map.getContainer();
    var top = box.querySelector(".leaflet-top.leaflet-" + side);
    var bottom = box.querySelector(".leaflet-bottom.leaflet-" + side);
    if (!top || !bottom) { return; }
    var list = section && top.contains(section) && section.offsetHeight ? section : null;
    var leg = body && bottom.contains(body) && body.offsetHeight ? body : null;
    var listNeed = list ? list.scrollHeight : 0, bodyNeed = leg ? leg.scrollHeight : 0;
    // what the two flexible parts (layer list, legend body) may use together
    var fixedTop = top.getBoundingClientRect().bottom - box.getBoundingClientRect().top -
      (list ? list.offsetHeight : 0);
    var fixedBottom = bottom.offsetHeight - (leg ? leg.offsetHeight : 0);
    var room = box.clientHeight - fixedTop - CONTROL_GAP - fixedBottom;
    if (listNeed + bodyNeed <= room) { return; }
    var bodyCap = leg ? Math.min(bodyNeed, Math.max(MIN_SCROLL, room - listNeed)) : 0;
    var listCap = Math.max(MIN_SCROLL, room - bodyCap);
    if (leg) { leg.style.maxHeight = bodyCap + "px"; }
    if (list && listCap < listNeed) { list.style.maxHeight = listCap + "px"; }
  }
  function fitControls() {
    var section = layerControl ? layerControl.getContainer()
      .querySelector(".leaflet-control-layers-list") : null;
    var body = legendBox ? legendBox.querySelector(".gv-lbody") : null;
    if (section) { section.style.maxHeight = ""; }
    if (body) { body.style.maxHeight = ""; }
    fitColumn("right", section, body);
    fitColumn("left", section, body);
  }
  (function () {
    // Leaflet's expand() (hover, tap, keyboard) sizes the list for the whole map height
    var expand = layerControl.expand;
    layerControl.expand = function () {
      var out = expand.apply(this, arguments);
      fitControls();
      return out;
    };
  })();
  map.on("resize", fitControls);
  map.on("popupclose", fitControls);  // the legend is back (hidden on a small map meanwhile)
  fitControls();

  // ---- initial view ------------------------------------------------------------------------
  var bounds = villages.getBounds();
  if (!bounds.isValid() && N) {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (k = 0; k < N; k++) {
      minX = Math.min(minX, lon(k)); maxX = Math.max(maxX, lon(k));
      minY = Math.min(minY, lat(k)); maxY = Math.max(maxY, lat(k));
    }
    bounds = L.latLngBounds([minY, minX], [maxY, maxX]);
  }
  /** The first view keeps clear of the controls that stand open beside it on a wide map: the
   * legend on the left and the layer list on the right while a third of the map is left
   * between them, else the legend alone, else neither. */
  function openWidth(box) {
    return box && box.offsetWidth && box.offsetHeight ? box.offsetWidth + CONTROL_GAP : 0;
  }
  function viewPadding() {
    var width = map.getSize().x;
    var left = legendBox && L.DomUtil.hasClass(legendBox, "gv-open") &&
      map.getContainer().querySelector(".leaflet-bottom.leaflet-left").contains(legendBox)
      ? openWidth(legendBox) : 0;
    var layers = layerControl.getContainer();
    var right = L.DomUtil.hasClass(layers, "leaflet-control-layers-expanded")
      ? openWidth(layers) : 0;
    if (width - left - right < width / 3) { right = 0; }
    if (width - left < width / 3) { left = 0; }
    return { paddingTopLeft: [12 + left, 12], paddingBottomRight: [12 + right, 12] };
  }
  if (bounds.isValid()) { map.fitBounds(bounds, L.extend(viewPadding(), { animate: false })); }
  syncGroups();
  points.redraw();

  // ---- hooks for tests and the benchmark -----------------------------------------------------
  function drawn() {
    var c = { villages: 0, groups: 0, unsurveyed: 0, tracks: 0, targets: 0, outlines: 0 };
    map.eachLayer(function (l) {
      var kind = l.options && l.options.gvKind;
      if (kind && Object.prototype.hasOwnProperty.call(c, kind)) { c[kind] += 1; }
    });
    c.targets = map.hasLayer(points) ? points._visible : 0;
    return c;
  }
  function indexOf(id) {
    for (var j = 0; j < N; j++) { if (tid(j) === id) { return j; } }
    return -1;
  }
  window.geoverifyMap = {
    map: map,
    layers: {
      villages: villages, groups: groupsToggle, unsurveyed: unsurveyed, tracks: tracks,
      targets: catSwitches, points: points, outlines: outlines, control: layerControl
    },
    categories: CATS.map(function (c) { return c.key; }),
    categoryCounts: catCount.slice(),
    total: {
      villages: D.v.features.length, groups: D.g.features.length,
      unsurveyed: D.u.features.length, tracks: D.tr.features.length, targets: N,
      outlines: D.to.features.length
    },
    drawn: drawn,
    mode: function () { return points._mode; },
    /** Container point of a target (for tests that click it), or null. */
    pointOf: function (id) {
      var j = indexOf(id);
      if (j < 0) { return null; }
      var p = map.latLngToContainerPoint([lat(j), lon(j)]);
      return { x: p.x, y: p.y };
    },
    openTarget: function (id) {
      var j = indexOf(id);
      if (j < 0) { return false; }
      openPopup(L.latLng(lat(j), lon(j)), targetPopup(j), 380);
      return true;
    },
    readyAt: performance.now(),
    ready: true
  };
  document.documentElement.setAttribute("data-geoverify-ready", "1");
})();
