// A small offline map of one target and its village's boundary (no basemap, no network).
//
// The target is always drawn as a clear circle at its coordinates (the point the navigation
// links go to), a polygon target also with its outline. The view shows the village when the
// target stays clearly visible in it, else it frames the target itself; a target without a
// village (镇外) is shown on its own. Leaflet has no maximum zoom without a tile layer, so every
// view is set with an explicit zoom cap (fitting a single point would give an infinite zoom and
// a NaN centre).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("minimap");
  var dataEl = document.getElementById("minimap-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  /** Zoom when framing a bare point: about 1 km across the small map. */
  var POINT_ZOOM = 15;
  /** Never closer than this (a 20 m plot fills a good part of the map, not all of it). */
  var MAX_ZOOM = 18;
  /** A polygon smaller than this on screen (px) at the village's zoom is framed by itself. */
  var MIN_TARGET_PX = 40;
  var PAD = 16;
  var map = L.map(el, { attributionControl: false, zoomControl: false, zoomSnap: 0.25,
    maxZoom: 19 });
  // Leaflet's zoom buttons, with Chinese tooltips (its own are English)
  L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);

  var tb = L.geoJSON(data.target).getBounds();
  var lat = parseFloat(el.getAttribute("data-lat"));
  var lon = parseFloat(el.getAttribute("data-lon"));
  var at = isFinite(lat) && isFinite(lon) ? L.latLng(lat, lon)
    : (tb.isValid() ? tb.getCenter() : null);
  if (!at) { return; }
  // a view before any layer is added: Leaflet adds a layer (and the shared renderer) only once
  // the map has one, in the order they were asked for; getBoundsZoom needs it too
  map.setView(at, POINT_ZOOM, { animate: false });

  var village = null;
  if (data.village) {
    village = L.geoJSON(data.village, {
      style: { color: "#1f3b57", weight: 2, fillOpacity: 0.05 },
      interactive: false
    }).addTo(map);
  }
  var shape = L.geoJSON(data.target, {
    style: { className: "gv-target-shape", color: "#c62828", weight: 3, fillColor: "#c62828",
      fillOpacity: 0.35 },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, { radius: 5, color: "#c62828", weight: 2, fillOpacity: 1 });
    },
    // a single point is drawn by the marker below (``data.target`` is a bare geometry)
    filter: function (f) { return (f.geometry || f).type !== "Point"; }
  }).addTo(map);
  var marker = L.circleMarker(at, {
    className: "gv-target-marker", radius: 8, color: "#fff", weight: 2, fillColor: "#c62828",
    fillOpacity: 1
  }).addTo(map);
  var targetBounds = tb.isValid() ? tb.extend(at) : L.latLngBounds(at, at);
  var isPoint = targetBounds.getNorthEast().equals(targetBounds.getSouthWest());

  function padding() {
    return L.point(PAD, PAD);
  }
  /** The polygon's size on screen (px, smaller side) at zoom ``z``. */
  function targetPx(z) {
    var a = map.project(targetBounds.getNorthWest(), z);
    var b = map.project(targetBounds.getSouthEast(), z);
    return Math.min(Math.abs(b.x - a.x), Math.abs(b.y - a.y));
  }
  function frameTarget() {
    if (isPoint) {
      map.setView(at, POINT_ZOOM, { animate: false });
      return;
    }
    // the plot fills at most a third of the map's height: its surroundings stay in view
    var size = map.getSize();
    var side = Math.max(size.y / 3, MIN_TARGET_PX);
    var z = map.getBoundsZoom(targetBounds, false, L.point(size.x - side, size.y - side));
    map.setView(targetBounds.getCenter(), Math.min(z, MAX_ZOOM), { animate: false });
  }
  function frame() {
    var vb = village ? village.getBounds() : null;
    if (vb && vb.isValid()) {
      // the village and the target, even one outside the village's boundary
      var both = L.latLngBounds(vb.getSouthWest(), vb.getNorthEast()).extend(targetBounds);
      var z = Math.min(map.getBoundsZoom(both, false, padding().multiplyBy(2)), MAX_ZOOM);
      if (isPoint || targetPx(z) >= MIN_TARGET_PX) {
        map.fitBounds(both, { padding: padding(), maxZoom: MAX_ZOOM, animate: false });
        return;
      }
    }
    frameTarget();
  }
  frame();
  L.control.scale({ imperial: false }).addTo(map);
  el.setAttribute("data-ready", "1");
  el.gvMinimap = { map: map, marker: marker, shape: shape, frame: frame };
});
