// Stratus UI behaviour. Small and framework-free; everything works without it
// (forms post, menus are <details>, the phone menu is a checkbox). It never
// evaluates strings and adds no inline code, so the CSP stays strict.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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
      label.textContent = ok ? "Copied" : "Press Ctrl+C";
      setTimeout(function () { label.textContent = "Copy"; }, 2000);
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

  // Escape closes an open menu (focus back on its button) and the phone menu.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
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
})();
