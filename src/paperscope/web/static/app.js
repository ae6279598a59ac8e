// paperscope: progressive enhancement only; every page works without this file.
"use strict";

function renderMath() {
  // KaTeX is served by this site (/static/vendor/katex/); no CDN.
  if (typeof window.renderMathInElement !== "function") return;
  document.querySelectorAll(".math").forEach(function (el) {
    window.renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "$", right: "$", display: false },
        { left: "\\(", right: "\\)", display: false }
      ],
      throwOnError: false
    });
  });
}

function enhanceUpvotes() {
  // Vote without a page reload through the JSON API (session cookie + X-CSRF-Token header).
  document.querySelectorAll("form.upvote").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var token = form.querySelector("input[name=csrf_token]");
      var button = form.querySelector("button");
      var count = form.querySelector(".count");
      if (!token || !button || !count || !window.fetch) return;
      event.preventDefault();
      fetch("/api/papers/" + form.dataset.key + "/upvote", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token.value, "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { form.submit(); return null; }
        return response.json();
      }).then(function (data) {
        if (!data) return;
        button.setAttribute("aria-pressed", data.voted ? "true" : "false");
        count.textContent = String(data.upvotes);
        count.title = data.upvotes + " (" + data.hfUpvotes + " Hugging Face + " + data.localUpvotes + " here)";
        var local = form.parentElement && form.parentElement.querySelector(".breakdown .local");
        if (local) local.textContent = String(data.localUpvotes);
      }).catch(function () { form.submit(); });
    });
  });
}

function enhanceCite() {
  // "Cite" copies the paper's BibTeX; without script (or clipboard) the BibTeX link beside it works.
  document.querySelectorAll("button.cite-button").forEach(function (button) {
    if (!window.fetch || !navigator.clipboard) return;
    var status = button.parentElement && button.parentElement.querySelector(".cite-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      fetch(button.dataset.bibUrl, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      }).then(function (bibtex) {
        return navigator.clipboard.writeText(bibtex);
      }).then(function () {
        if (status) status.textContent = "BibTeX copied.";
      }).catch(function () {
        if (status) status.textContent = "Could not copy: open the BibTeX link instead.";
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  renderMath();
  enhanceUpvotes();
  enhanceCite();
});
