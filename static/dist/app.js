// Stratus UI behaviour. Small and framework-free; everything works without it
// (forms post, menus are <details>, the phone menu is a checkbox). It never
// evaluates strings and adds no inline code, so the CSP stays strict.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The page's texts for what this script writes, in the page's language
  // (the layout's <meta name="ui-texts">, JSON made from the catalogue);
  // fallback is the English, {name} a placeholder.
  var texts = null;
  function t(key, fallback, vars) {
    if (texts === null) {
      try {
        var m = document.querySelector('meta[name="ui-texts"]');
        texts = (m && JSON.parse(m.getAttribute("content"))) || {};
      } catch (e) {
        texts = {};
      }
    }
    var s = texts[key] || fallback;
    for (var k in vars || {}) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // Every request htmx makes carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (e) {
    var t = csrfToken();
    if (t) e.detail.headers["X-CSRF-Token"] = t;
  });

  // Forms marked data-autosubmit (the project picker) submit on change.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!(el instanceof HTMLSelectElement)) return;
    var form = el.closest("form[data-autosubmit]");
    if (form) form.requestSubmit();
  });

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      if (d !== except && !d.contains(except)) d.removeAttribute("open");
    });
  }

  function copy(btn) {
    var input = document.getElementById(btn.getAttribute("data-copy"));
    var label = btn.querySelector("[data-copy-label]");
    if (!input) return;
    function done(ok) {
      if (!label) return;
      label.textContent = ok ? t("copied", "Copied") : t("pressCtrlC", "Press Ctrl+C");
      setTimeout(function () { label.textContent = t("copy", "Copy"); }, 2000);
    }
    function fallback() {
      input.focus();
      input.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (btn) copy(btn);
    // A dialog's backdrop or Cancel closes it (without JavaScript, Cancel
    // is a link that reloads the page).
    if (e.target.hasAttribute("data-dismiss")) {
      // A dialog htmx loaded into #dialog (a confirmation page's fragment)
      // goes away whole.
      var loaded = e.target.closest("#dialog");
      if (loaded) {
        e.preventDefault();
        closeLoadedDialog();
        return;
      }
      var d = e.target.closest("details");
      if (d) {
        e.preventDefault();
        d.removeAttribute("open");
        var s = d.querySelector("summary");
        if (s) s.focus();
      }
    }
    closeMenus(e.target);
  });

  // An opened menu or dialog takes the focus, so the keyboard is where the
  // choices are.
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!(d instanceof HTMLDetailsElement) || !d.open || !d.hasAttribute("data-menu")) return;
    var first = d.querySelector("summary ~ * button, summary ~ * a[href]");
    if (first) first.focus();
  }, true);

  // A dialog htmx loaded into #dialog: its confirm button takes the focus;
  // closing it empties #dialog and gives the focus back to what opened it.
  var dialogOpener = null;
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.target && e.detail.target.id === "dialog") dialogOpener = e.detail.elt;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.detail.target || e.detail.target.id !== "dialog") return;
    var b = e.detail.target.querySelector('button[type="submit"], button');
    if (b) b.focus();
  });
  function closeLoadedDialog() {
    var box = document.getElementById("dialog");
    if (!box || !box.firstElementChild) return false;
    box.replaceChildren();
    if (dialogOpener && document.body.contains(dialogOpener)) dialogOpener.focus();
    dialogOpener = null;
    return true;
  }

  // Escape closes an open menu (focus back on its button) and the phone menu.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    closeLoadedDialog();
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
    var t = document.getElementById("nav-toggle");
    if (t && t.checked) t.checked = false;
  });

  // The one-time token secret is selected whole when focused.
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-select-on-focus]")) e.target.select();
  });

  // --- Bulk selection on the instance list -------------------------------
  // A "select all" checkbox (data-select-all="NAME") checks every box named
  // NAME; the bulk bar says how many are checked.
  function boxes(name) {
    return document.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
  }
  function syncBulk() {
    var all = document.querySelector("[data-select-all]");
    var count = document.querySelector("[data-bulk-count]");
    if (!all) return;
    var list = boxes(all.getAttribute("data-select-all"));
    var n = 0;
    list.forEach(function (b) { if (b.checked) n++; });
    all.checked = n > 0 && n === list.length;
    all.indeterminate = n > 0 && n < list.length;
    if (count) count.textContent = n ? t("nSelected", "{n} selected:", { n: n }) : t("withSelected", "With selected:");
  }
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!(el instanceof HTMLInputElement) || el.type !== "checkbox") return;
    if (el.hasAttribute("data-select-all")) {
      boxes(el.getAttribute("data-select-all")).forEach(function (b) { b.checked = el.checked; });
    }
    syncBulk();
  });
  // A row the poller swaps in keeps its checkbox's state.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var old = e.detail.target && e.detail.target.querySelector && e.detail.target.querySelector('input[name="selected"]');
    var neu = e.detail.fragment && e.detail.fragment.querySelector && e.detail.fragment.querySelector('input[name="selected"]');
    if (old && neu) neu.checked = old.checked;
  });
  document.addEventListener("htmx:afterSettle", syncBulk);

  // --- Image upload with a progress bar ---------------------------------
  // A form with data-upload="URL" sends its file as the raw body of a PUT
  // (streamed by the server, never buffered), the CSRF token in a header,
  // and shows the progress; then it goes to data-upload-done. Without
  // JavaScript the form posts multipart/form-data to the same URL.
  function uploadForm(form) {
    var input = form.querySelector('input[type="file"]');
    var file = input && input.files && input.files[0];
    if (!file) return false;
    var box = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("progress");
    var pct = form.querySelector("[data-upload-percent]");
    var status = form.querySelector("[data-upload-status]");
    var error = form.querySelector("[data-upload-error]");
    var submit = form.querySelector('button[type="submit"]');
    error.classList.add("hidden");
    box.classList.remove("hidden");
    submit.disabled = true;
    input.disabled = true;
    function show(p) {
      bar.value = p;
      pct.textContent = p + "%";
    }
    function fail(msg) {
      error.textContent = msg;
      error.classList.remove("hidden");
      status.textContent = t("uploadFailed", "Upload failed");
      submit.disabled = false;
      input.disabled = false;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", form.getAttribute("data-upload"));
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) show(Math.floor((e.loaded / e.total) * 100));
    };
    xhr.upload.onload = function () {
      show(100);
      status.textContent = t("checkingImage", "Checking the image…");
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        status.textContent = xhr.responseText || t("uploaded", "Uploaded");
        form.setAttribute("data-upload-state", "done");
        window.location.assign(form.getAttribute("data-upload-done"));
      } else {
        fail(xhr.responseText || t("uploadRefused", "The upload was refused ({status}).", { status: xhr.status }));
      }
    };
    xhr.onerror = function () { fail(t("connectionBroke", "The connection broke during the upload. Try again.")); };
    status.textContent = t("uploadingFile", "Uploading {name}…", { name: file.name });
    show(0);
    xhr.send(file);
    return true;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
    if (uploadForm(form)) e.preventDefault();
  }, true);

  // --- Object upload: several files, one progress bar ----------------------
  // A form with data-upload-many="URL" sends its files one after the other,
  // each as the raw body of a PUT to URL?name=<data-upload-prefix + file
  // name> (streamed by the server), the CSRF token in a header. The bar
  // shows the bytes of all files; each file gets a line saying how it went.
  // Then the page goes to data-upload-done. Without JavaScript the form
  // posts multipart/form-data to its action.
  function uploadMany(form) {
    var input = form.querySelector('input[type="file"]');
    var files = input && input.files ? Array.prototype.slice.call(input.files) : [];
    if (!files.length) return false;
    var box = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("progress");
    var pct = form.querySelector("[data-upload-percent]");
    var status = form.querySelector("[data-upload-status]");
    var list = form.querySelector("[data-upload-list]");
    var error = form.querySelector("[data-upload-error]");
    var submit = form.querySelector('button[type="submit"]');
    var url = form.getAttribute("data-upload-many");
    var prefix = form.getAttribute("data-upload-prefix") || "";
    var total = files.reduce(function (n, f) { return n + f.size; }, 0) || 1;
    var done = 0;
    var failed = 0;
    error.classList.add("hidden");
    box.classList.remove("hidden");
    list.textContent = "";
    submit.disabled = true;
    input.disabled = true;
    function show(bytes) {
      var p = Math.min(100, Math.floor((bytes / total) * 100));
      bar.value = p;
      pct.textContent = p + "%";
    }
    function line(file, text, ok) {
      var li = document.createElement("li");
      li.className = ok ? "text-emerald-700" : "text-rose-700";
      li.setAttribute("data-upload-result", ok ? "ok" : "failed");
      li.textContent = (ok ? "✓ " : "✗ ") + file.name + (text ? " — " + text : "");
      list.appendChild(li);
    }
    function next(i) {
      if (i === files.length) {
        show(total);
        if (failed) {
          status.textContent = t("someUploaded", "{done} of {n} uploaded", { done: files.length - failed, n: files.length });
          error.textContent = t("filesFailed", "{n} file(s) failed: see the list above.", { n: failed });
          error.classList.remove("hidden");
          submit.disabled = false;
          input.disabled = false;
          form.setAttribute("data-upload-state", "failed");
          return;
        }
        status.textContent = t("allUploaded", "All {n} uploaded", { n: files.length });
        form.setAttribute("data-upload-state", "done");
        window.location.assign(form.getAttribute("data-upload-done"));
        return;
      }
      var file = files[i];
      status.textContent = t("uploadingOf", "Uploading {i} of {n}: {name}", { i: i + 1, n: files.length, name: file.name });
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url + "?name=" + encodeURIComponent(prefix + file.name));
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) show(done + e.loaded);
      };
      xhr.onload = function () {
        done += file.size;
        show(done);
        var ok = xhr.status >= 200 && xhr.status < 300;
        if (!ok) failed++;
        line(file, ok ? "" : (xhr.responseText || t("refused", "refused ({status})", { status: xhr.status })), ok);
        next(i + 1);
      };
      xhr.onerror = function () {
        done += file.size;
        failed++;
        line(file, t("broke", "the connection broke"), false);
        next(i + 1);
      };
      xhr.send(file);
    }
    show(0);
    next(0);
    return true;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload-many")) return;
    if (uploadMany(form)) e.preventDefault();
  }, true);

  // --- Charts --------------------------------------------------------------
  // An element with data-chart (JSON: labels, percent, short) becomes a bar
  // chart drawn by uPlot, which is loaded (data-chart-lib) only on pages
  // that have a chart.
  var uplotLoading = null;
  function loadUPlot(src) {
    if (window.uPlot) return Promise.resolve(window.uPlot);
    if (!uplotLoading) {
      uplotLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { resolve(window.uPlot); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return uplotLoading;
  }
  function barColor(p) {
    return p >= 90 ? "#f43f5e" : p >= 70 ? "#f59e0b" : "#6366f1";
  }
  // The bars are drawn in a draw hook (one colour per bar, by how full the
  // quota is, with its figures above); uPlot gives the axes, scales and
  // sizing.
  function drawChart(el, uPlot) {
    if (el.getAttribute("data-chart-drawn")) return;
    el.setAttribute("data-chart-drawn", "true");
    var d = JSON.parse(el.getAttribute("data-chart"));
    var xs = d.labels.map(function (_, i) { return i; });
    var size = function () { return { width: Math.max(el.clientWidth, 200), height: Math.max(el.clientHeight, 160) }; };
    var font = function (px, weight) { return (weight || "") + " " + Math.round(px * uPlot.pxRatio) + "px system-ui, sans-serif"; };
    // Widths in CSS pixels, measured on a canvas of our own. With many
    // quotas (or long labels) the names are slanted (upright on a phone)
    // and the figures over the bars left out: the meters carry them.
    var measure = document.createElement("canvas").getContext("2d");
    var textWidth = function (text, px, weight) {
      measure.font = (weight || "") + " " + px + "px system-ui, sans-serif";
      return measure.measureText(text).width;
    };
    var widestLabel = d.labels.reduce(function (m, t) { return Math.max(m, textWidth(t, 12)); }, 0);
    var slot = function (u) { return u.bbox && u.bbox.width ? u.bbox.width / uPlot.pxRatio / xs.length : el.clientWidth / xs.length; };
    var crowded = function (u) { return widestLabel > slot(u) * 0.9; };
    var opts = Object.assign(size(), {
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, xs.length - 0.5] }, y: { range: [0, 112] } },
      axes: [
        { splits: function () { return xs; }, values: function (u, v) { return v.map(function (i) { return d.labels[i] || ""; }); },
          grid: { show: false }, ticks: { show: false }, stroke: "#475569", font: font(12),
          rotate: function (u) { return !crowded(u) ? 0 : slot(u) < 20 ? 90 : 45; },
          size: function (u) { return !crowded(u) ? 30 : Math.ceil(slot(u) < 20 ? widestLabel + 12 : (widestLabel + 12) * Math.SQRT1_2 + 12); } },
        { splits: function () { return [0, 25, 50, 75, 100]; }, values: function (u, v) { return v.map(function (x) { return x + "%"; }); },
          grid: { stroke: "#e2e8f0", width: 1 }, ticks: { show: false }, stroke: "#94a3b8", size: 44, font: font(11) },
      ],
      series: [{}, { label: "in use", paths: function () { return null; }, points: { show: false } }],
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx;
          var w = Math.min((u.bbox.width / xs.length) * 0.5, 72 * uPlot.pxRatio);
          var base = u.valToPos(0, "y", true);
          ctx.save();
          ctx.textAlign = "center";
          for (var i = 0; i < xs.length; i++) {
            var x = u.valToPos(i, "x", true);
            var y = u.valToPos(d.percent[i], "y", true);
            ctx.fillStyle = "#f1f5f9";
            ctx.fillRect(x - w / 2, u.valToPos(100, "y", true), w, base - u.valToPos(100, "y", true));
            ctx.fillStyle = barColor(d.percent[i]);
            ctx.fillRect(x - w / 2, y, w, base - y);
            if (textWidth(d.short[i], 11, "600") > slot(u) * 0.9) continue;
            ctx.fillStyle = "#334155";
            ctx.font = font(11, "600");
            ctx.fillText(d.short[i], x, Math.min(y, u.valToPos(100, "y", true)) - 6 * uPlot.pxRatio);
          }
          ctx.restore();
        }],
      },
    });
    var u = new uPlot(opts, [xs, d.percent], el);
    if (window.ResizeObserver) new ResizeObserver(function () { u.setSize(size()); }).observe(el);
  }
  function initCharts(root) {
    var els = (root || document).querySelectorAll("[data-chart]");
    if (!els.length) return;
    loadUPlot(els[0].getAttribute("data-chart-lib")).then(function (uPlot) {
      els.forEach(function (el) { drawChart(el, uPlot); });
    });
  }
  document.addEventListener("htmx:load", function (e) { initCharts(e.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { initCharts(document); syncBulk(); });
})();
