// The counter screen's script: refresh the queue, send the order steps, count lines, scan a QR code.
// Plain JavaScript, no build step. The page works from the server's HTML; this only makes it live.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var banner = document.getElementById("connection");
  var notice = document.getElementById("notice");

  function say(text) {
    if (notice) { notice.textContent = text; }
  }

  function offline(text) {
    if (!banner) { return; }
    banner.textContent = text;
    banner.hidden = false;
  }

  function online() {
    if (banner && !banner.hidden) {
      banner.hidden = true;
      say("Connection back.");
    }
  }

  window.addEventListener("offline", function () { offline("No connection: what you see may be out of date."); });
  window.addEventListener("online", online);

  function signIn() {
    window.location.assign("/tablet/sign-in?next=" + encodeURIComponent(window.location.pathname));
  }

  // ---- The queue: poll the server's fragment, keep the last one when the network drops.
  var queue = document.getElementById("queue");
  if (queue) {
    var seconds = Math.max(1, parseInt(queue.getAttribute("data-poll-seconds"), 10) || 5);
    var busy = false;
    var refresh = function () {
      if (busy) { return; }
      busy = true;
      fetch(queue.getAttribute("data-poll-url"), {
        headers: { "X-Requested-With": "fetch", "Accept": "text/html" }, credentials: "same-origin", cache: "no-store"
      }).then(function (resp) {
        if (resp.status === 401) { signIn(); return null; }
        if (!resp.ok) { throw new Error("status " + resp.status); }
        return resp.text();
      }).then(function (html) {
        if (html === null) { return; }
        online();
        if (html !== queue.getAttribute("data-last")) {
          var focused = document.activeElement && document.activeElement.id;
          queue.innerHTML = html;
          queue.setAttribute("data-last", html);
          if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
        }
      }).catch(function () {
        var asOf = queue.querySelector("[data-as-of]");
        offline("Connection lost: showing the queue " + (asOf ? asOf.textContent.toLowerCase() : "as last seen") +
                ". Retrying every " + seconds + " seconds.");
      }).then(function () { busy = false; });
    };
    window.setInterval(refresh, seconds * 1000);
  }

  // ---- Sending a step: JSON with the CSRF header; the answer is the order's panel as it now is.
  function send(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-Requested-With": "fetch",
                 "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (resp) {
      online();
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401 && data.code === "unauthorized") { signIn(); }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      offline("No connection: nothing was sent. Try again in a moment.");
      return { ok: false, status: 0, data: { detail: "No connection: nothing was sent. Try again." } };
    });
  }

  function swapPanel(html) {
    var slot = document.getElementById("order-slot");
    if (!slot || !html) { return; }
    var unsaved = {};
    slot.querySelectorAll(".line").forEach(function (line) {
      if (line.getAttribute("data-dirty")) { unsaved[line.getAttribute("data-line-id")] = count(line); }
    });
    slot.innerHTML = html;
    Object.keys(unsaved).forEach(function (id) {
      var line = slot.querySelector('.line[data-line-id="' + id + '"]');
      if (line && line.querySelector("[data-count]")) { show(line, unsaved[id]); }
    });
    fillScannedCode();
    readyState();
  }

  function problemText(result) {
    var d = result.data || {};
    if (d.code === "wrong_pickup_code") {
      return "Wrong code. " + d.attempts_left + " attempt" + (d.attempts_left === 1 ? "" : "s") + " left before the order locks.";
    }
    if (d.code === "pickup_locked") { return "Too many wrong codes: the order is locked."; }
    if (d.code === "capture_failed") { return "The payment was not captured: " + (d.error || d.detail) + ". Retry."; }
    if (d.errors) {
      return Object.keys(d.errors).map(function (k) { return [].concat(d.errors[k]).join(" "); }).join(" ");
    }
    return d.detail || "That did not work.";
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token") { return; }
      body[el.name] = el.type === "checkbox" ? el.checked : el.value;
    });
    return body;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-action")) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var message = form.querySelector("[data-message]");
    send(form.getAttribute("action"), formBody(form)).then(function (result) {
      if (result.ok) {
        say(result.data.message);
        swapPanel(result.data.html);
        var title = document.getElementById("order-title");
        if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
        return;
      }
      if (button) { button.disabled = false; }
      var text = problemText(result);
      if (["pickup_locked", "capture_failed", "not_locked"].indexOf(result.data.code) >= 0) {
        reloadPanel(text);
        return;
      }
      if (message) { message.textContent = text; } else { say(text); }
      var input = form.querySelector("input:not([type=hidden])");
      if (input && result.data.code === "wrong_pickup_code") { input.select(); }
    });
  });

  function reloadPanel(text) {
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) { return resp.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var panel = doc.getElementById("order-slot");
        if (panel) { swapPanel(panel.innerHTML); }
        say(text);
        var msg = document.querySelector("[data-locked], [data-capture-error]");
        if (msg && text) { msg.textContent = text + " " + msg.textContent; }
      }, function () { say(text); });
  }

  // ---- Counting a line: + and - count locally; all found saves at once, "not found" saves what was counted.
  function count(line) { return parseInt(line.querySelector("[data-count]").textContent, 10) || 0; }

  function show(line, value) {
    var quantity = parseInt(line.getAttribute("data-quantity"), 10);
    var saved = line.getAttribute("data-saved");
    line.querySelector("[data-count]").textContent = String(value);
    var dirty = saved === "" ? value > 0 : String(value) !== saved;
    if (dirty) { line.setAttribute("data-dirty", "1"); } else { line.removeAttribute("data-dirty"); }
    var notFound = line.querySelector("[data-not-found]");
    notFound.textContent = value > 0 ? "Rest not found" : "Not found";
    notFound.disabled = value >= quantity;
    var state = line.querySelector("[data-state]");
    if (!state.hasAttribute("data-saved-text")) { state.setAttribute("data-saved-text", state.textContent.trim()); }
    state.textContent = dirty
      ? value + " of " + quantity + " counted: not saved until all are found or you tap \u201c" + notFound.textContent + "\u201d."
      : state.getAttribute("data-saved-text");
    readyState();
  }

  function save(line, value) {
    send(line.getAttribute("data-pick-url"), { picked_quantity: value }).then(function (result) {
      if (result.ok) {
        line.removeAttribute("data-dirty");
        say(value < parseInt(line.getAttribute("data-quantity"), 10) ? "Short pick saved." : "All found.");
        swapPanel(result.data.html);
      } else {
        say(problemText(result));
        line.querySelector("[data-state]").textContent = problemText(result);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    var line = target.closest(".line");
    if (line && target.hasAttribute("data-step")) {
      var quantity = parseInt(line.getAttribute("data-quantity"), 10);
      var value = Math.min(quantity, Math.max(0, count(line) + parseInt(target.getAttribute("data-step"), 10)));
      show(line, value);
      if (value === quantity && line.getAttribute("data-saved") !== String(quantity)) { save(line, value); }
    } else if (line && target.hasAttribute("data-not-found")) {
      save(line, count(line));
    } else if (target.hasAttribute("data-scan-start")) {
      scan(target.closest("[data-scan]"));
    }
  });

  function readyState() {
    var form = document.querySelector("form[data-ready]");
    if (!form) { return; }
    var lines = document.querySelectorAll(".line");
    var open = Array.prototype.filter.call(lines, function (line) {
      return line.getAttribute("data-saved") === "" || line.getAttribute("data-dirty");
    });
    form.querySelector("button").disabled = open.length > 0;
    form.querySelector("[data-ready-hint]").textContent = open.length
      ? "Count or mark \u201cnot found\u201d every line first (" + open.length + " left)." : "";
  }

  // ---- QR: where the browser can read one (BarcodeDetector), the camera fills in the number and code.
  var SCAN_KEY = "omnishop-scan";

  function parseQr(text) {
    var m = /^omnishop:pickup:([A-Z0-9-]+):(\d{6})$/.exec(text || "");
    return m ? { number: m[1], code: m[2] } : null;
  }

  function fillScannedCode() {
    var panel = document.getElementById("order-panel");
    var input = document.getElementById("pickup-code");
    var stored = window.sessionStorage && sessionStorage.getItem(SCAN_KEY);
    if (!panel || !input || !stored) { return; }
    var scanned = JSON.parse(stored);
    if (scanned.number === panel.getAttribute("data-number")) {
      input.value = scanned.code;
      sessionStorage.removeItem(SCAN_KEY);
      say("Code scanned: check the ID, then hand over.");
    }
  }

  function scan(box) {
    var video = box.querySelector("[data-scan-video]");
    var message = box.querySelector("[data-scan-message]");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      message.textContent = "Hold the shopper's QR code up to the camera.";
      var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
      var look = function () {
        detector.detect(video).then(function (codes) {
          var found = codes.map(function (c) { return parseQr(c.rawValue); }).filter(Boolean)[0];
          if (!found) { window.setTimeout(look, 250); return; }
          stop();
          sessionStorage.setItem(SCAN_KEY, JSON.stringify(found));
          var panel = document.getElementById("order-panel");
          if (panel && panel.getAttribute("data-number") === found.number) {
            fillScannedCode();
          } else {
            var numberField = document.getElementById("number");
            if (numberField) { numberField.value = found.number; numberField.form.submit(); }
            else { message.textContent = "That code is for order " + found.number + ", not this one."; }
          }
        }, function () { window.setTimeout(look, 500); });
      };
      look();
    }, function () {
      message.textContent = "The camera is not available: type the code instead.";
    });
  }

  if ("BarcodeDetector" in window && navigator.mediaDevices && window.isSecureContext) {
    document.querySelectorAll("[data-scan]").forEach(function (box) { box.hidden = false; });
  }
  fillScannedCode();
  readyState();
})();
