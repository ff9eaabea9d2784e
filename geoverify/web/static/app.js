// geoverify pages: small progressive enhancements. Every form also works without JavaScript.
"use strict";
(function () {
  // A select that submits its form when changed (filters, batch choice).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) el.form.submit(); });
  });
  // On a phone the menu scrolls sideways: show the current page's entry.
  var current = document.querySelector(".nav a[aria-current=page]");
  if (current && current.parentElement) {
    var nav = current.parentElement;
    var right = current.offsetLeft - nav.offsetLeft + current.offsetWidth;
    if (right > nav.clientWidth) nav.scrollLeft = right - nav.clientWidth;
  }
  // "Back" buttons on error pages.
  document.querySelectorAll("[data-back]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (history.length > 1) { ev.preventDefault(); history.back(); }
    });
  });
  // Ask before an action that changes many records.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  // One click per submission: a second tap while the page loads sends nothing more (a
  // submission the user called off at the question above leaves the button as it was). A
  // form that takes a while says so meanwhile (data-busy). A form answered by a download
  // (data-download: the page stays) is given back its button after that many seconds.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return;
      var buttons = form.querySelectorAll("button[type=submit]");
      buttons.forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
      var busy = form.getAttribute("data-busy");
      var note = form.querySelector("[data-busy-note]");
      if (busy && !note) {
        note = document.createElement("span");
        note.setAttribute("data-busy-note", "");
        note.setAttribute("role", "status");
        note.className = "muted small";
        note.textContent = busy;
        form.appendChild(note);
      }
      var seconds = parseFloat(form.getAttribute("data-download"));
      if (seconds > 0) {
        window.setTimeout(function () {
          buttons.forEach(function (b) { b.disabled = false; });
          if (note) { note.remove(); }
        }, seconds * 1000);
      }
    });
  });
  // The browser's position for a field answer: only on HTTPS (a secure context).
  var pos = document.querySelector("[data-position]");
  if (pos) {
    var status = pos.querySelector("[data-position-status]");
    var lon = pos.querySelector("input[name=lon]");
    var lat = pos.querySelector("input[name=lat]");
    var acc = pos.querySelector("input[name=accuracy]");
    var button = pos.querySelector("button");
    if (!window.isSecureContext || !navigator.geolocation) {
      status.textContent = "此页面不是 HTTPS，浏览器不能提供位置；将使用照片中的 GPS 位置（如有）。";
      if (button) button.hidden = true;
    } else if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        status.textContent = "正在定位…";
        navigator.geolocation.getCurrentPosition(function (p) {
          lon.value = p.coords.longitude.toFixed(7);
          lat.value = p.coords.latitude.toFixed(7);
          acc.value = Math.round(p.coords.accuracy);
          status.textContent = "已获取位置：" + lon.value + ", " + lat.value + "（精度约 " + acc.value + " 米）";
        }, function (err) {
          status.textContent = "无法获取位置（" + err.message + "），将使用照片中的 GPS 位置（如有）。";
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
      });
    }
  }
  // Show what each result needs (plants and eradication only for confirmed planting). A
  // hidden field is disabled too: not sent (a recorded value it holds would contradict the
  // result chosen) and not checked; chosen back, it shows what it held.
  var result = document.querySelector("select[name=result]");
  if (result) {
    var sync = function () {
      document.querySelectorAll("[data-when-result]").forEach(function (el) {
        var wanted = el.getAttribute("data-when-result").split(" ");
        el.hidden = wanted.indexOf(result.value) < 0;
        el.querySelectorAll("input, select, textarea").forEach(function (field) {
          field.disabled = el.hidden;
        });
      });
      // 排除 must say what the site really is: the note is then required, and the browser
      // says so in the page's words (its own bubble follows the phone's language).
      document.querySelectorAll("[data-required-when-result]").forEach(function (field) {
        var wanted = field.getAttribute("data-required-when-result").split(" ");
        field.required = wanted.indexOf(result.value) >= 0;
        say(field);
      });
    };
    // The note recorded for an earlier result (a 确认种植 corrected to 排除) is filled in: sent
    // back unchanged it does not say what the site is (the rule refuses it too).
    var plain = function (text) {  // lines' ends and outer spaces aside, as the rule reads it
      return text.split(/\r\n|\r|\n/).map(function (line) { return line.trim(); }).join("\n").trim();
    };
    // A note that leads with a workbook's 排除：实际为 choice (other than 其他) says it already.
    var chosen = function (text) {
      var lead = "实际为：";
      if (text.indexOf(lead) !== 0) { return false; }
      var choice = text.slice(lead.length).split("；")[0].trim();
      return choice !== "" && choice !== "其他（写在备注）";
    };
    var say = function (field) {
      var value = plain(field.value);
      var earlier = field.getAttribute("data-earlier-note");
      var message = "";
      if (field.required && !value) {
        message = field.getAttribute("data-required-says") || "";
      } else if (field.required && earlier !== null && value === plain(earlier) && !chosen(value)) {
        message = field.getAttribute("data-earlier-says") || "";
      }
      field.setCustomValidity(message);
    };
    document.querySelectorAll("[data-required-when-result]").forEach(function (field) {
      field.addEventListener("input", function () { say(field); });
    });
    result.addEventListener("change", sync);
    sync();
  }
  // 核查日期 starts at today only as a guess (nothing recorded, nothing typed): an eradication
  // done earlier means the site was checked by then, so the guess follows the eradication date
  // back, and says so. A date the user typed (or one recorded) is never changed here.
  var checked = document.querySelector("input[name=verified_on][data-default-today]");
  var eradicated = document.querySelector("input[name=eradicated_on]");
  if (checked && eradicated) {
    // The guess (today when the form was first shown; a refused submission sends it back).
    var guess = checked.getAttribute("data-default-today") || checked.value;
    var note = document.querySelector("[data-verified-note]");
    var said = note ? note.textContent : "";
    var typed = false;
    var flag = document.querySelector("[data-verified-guess]");
    checked.addEventListener("input", function () {
      typed = true;
      if (flag) { flag.remove(); flag = null; }  // typed: no longer a guess, if sent back
    });
    var follow = function () {
      if (typed) return;
      var earlier = eradicated.value && eradicated.value < guess;
      checked.value = earlier ? eradicated.value : guess;
      if (note) {
        note.textContent = earlier
          ? "已改为铲除日期 " + eradicated.value + "（先核查、后铲除）；核查在更早的，请改为那一天"
          : said;
      }
    };
    eradicated.addEventListener("input", follow);
    eradicated.addEventListener("change", follow);
    if (eradicated.value) { follow(); }  // sent back refused: say again what it followed
  }
  // A camera input holds one photo: once it has one, another 拍照 appears for the next.
  document.querySelectorAll("[data-camera]").forEach(function (first) {
    var more = function (label) {
      var input = label.querySelector("input[type=file]");
      if (!input) return;
      input.addEventListener("change", function () {
        var last = label.parentElement.querySelectorAll("[data-camera]");
        if (!input.files || !input.files.length || last[last.length - 1] !== label) return;
        var next = label.cloneNode(true);
        next.querySelector("input[type=file]").value = "";
        next.firstChild.textContent = "再拍一张";
        label.after(next);
        more(next);
      });
    };
    more(first);
  });
  // The area goes in one unit: typing it in 亩 clears the 平方米 (filled in with the recorded
  // area on a correction), and the other way round; the server refuses two that disagree.
  var m2 = document.querySelector("input[name=area_m2]");
  var mu = document.querySelector("input[name=area_mu]");
  if (m2 && mu) {
    m2.addEventListener("input", function () { if (m2.value !== "") mu.value = ""; });
    mu.addEventListener("input", function () { if (mu.value !== "") m2.value = ""; });
  }
})();
