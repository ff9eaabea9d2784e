// A small offline map of one target and its village's boundary (no basemap, no network).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("minimap");
  var dataEl = document.getElementById("minimap-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  var layers = [];
  if (data.village) {
    layers.push(L.geoJSON(data.village, { style: { color: "#1f3b57", weight: 2, fillOpacity: 0.05 } }).addTo(map));
  }
  var target = L.geoJSON(data.target, {
    style: { color: "#c62828", weight: 3, fillOpacity: 0.3 },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, { radius: 8, color: "#fff", weight: 2, fillColor: "#c62828", fillOpacity: 1 });
    }
  }).addTo(map);
  layers.push(target);
  var bounds = layers[0].getBounds();
  map.fitBounds(bounds, { padding: [12, 12] });
  L.control.scale({ imperial: false }).addTo(map);
  el.setAttribute("data-ready", "1");
});
