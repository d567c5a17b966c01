/* opis: small enhancements over server-rendered pages. Everything works without it;
   no inline scripts or styles anywhere (the site runs under a strict CSP). */
(function () {
  "use strict";

  function store(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: preferences are not kept */ }
    return null;
  }

  /* -- citation box: format switch and copy ------------------------------------------- */
  function setupCitation(box) {
    var radios = box.querySelectorAll('input[name="cite-format"]');
    var panels = box.querySelectorAll(".cite-panel");
    var status = box.querySelector(".copy-status");
    if (!radios.length) return;
    box.classList.add("js-cite");
    box.querySelector(".cite-switch").hidden = false;
    box.querySelector(".copy-row").hidden = false;

    function show(format) {
      panels.forEach(function (p) { p.hidden = p.getAttribute("data-format") !== format; });
      radios.forEach(function (r) { r.checked = r.value === format; });
      if (status) status.textContent = "";
    }
    function current() {
      var on = box.querySelector('input[name="cite-format"]:checked');
      return on ? on.value : "chicago";
    }
    radios.forEach(function (r) {
      r.addEventListener("change", function () { show(r.value); store("opis.cite", r.value); });
    });
    var saved = store("opis.cite");
    show(saved && box.querySelector('.cite-panel[data-format="' + saved + '"]') ? saved : current());

    box.querySelector(".copy-citation").addEventListener("click", function () {
      var format = current();
      var el = box.querySelector('.cite-panel[data-format="' + format + '"] .citation-text');
      var text = (el.innerText || el.textContent).trim();
      var label = box.querySelector('input[value="' + format + '"]').parentNode.textContent.trim();
      function done() { status.textContent = label + " citation copied."; }
      function failed() {
        var range = document.createRange();
        range.selectNodeContents(el);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        status.textContent = "Copying is blocked here: the citation is selected, press Ctrl+C.";
      }
      if (!navigator.clipboard) { failed(); return; }
      var isHtml = el.tagName !== "PRE" && window.ClipboardItem;
      var write = isHtml
        ? navigator.clipboard.write([new window.ClipboardItem({
            "text/plain": new Blob([text], {type: "text/plain"}),
            "text/html": new Blob([el.innerHTML], {type: "text/html"})})])
        : navigator.clipboard.writeText(text);
      write.then(done, function () { navigator.clipboard.writeText(text).then(done, failed); });
    });
  }

  /* -- text tools: editorial marks and name links on/off ------------------------------- */
  function setupTools(section) {
    var tools = section.querySelector(".text-tools");
    if (!tools || !tools.querySelector("button")) return;
    tools.hidden = false;
    tools.querySelectorAll("button[data-toggle]").forEach(function (b) {
      var cls = b.getAttribute("data-toggle");
      function apply(off) {
        section.classList.toggle(cls, off);
        b.setAttribute("aria-pressed", off ? "false" : "true");
      }
      apply(store("opis." + cls) === "1");
      b.addEventListener("click", function () {
        var off = !section.classList.contains(cls);
        apply(off);
        store("opis." + cls, off ? "1" : "0");
      });
    });
  }

  /* -- versions: tabs on narrow screens, side by side on wide ones --------------------- */
  function setupTabs(box) {
    var panels = Array.prototype.slice.call(box.querySelectorAll(":scope > .version"));
    if (panels.length < 2) return;
    var wide = window.matchMedia("(min-width: 1100px)");
    var list = document.createElement("div");
    list.className = "tablist";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", "Versions of this document");
    var tabs = panels.map(function (p, i) {
      var t = document.createElement("button");
      t.type = "button";
      t.id = "tab-" + p.id;
      t.textContent = p.getAttribute("data-label");
      t.addEventListener("click", function () { select(i, false); });
      t.addEventListener("keydown", function (e) {
        var n = null;
        if (e.key === "ArrowRight") n = (i + 1) % tabs.length;
        else if (e.key === "ArrowLeft") n = (i - 1 + tabs.length) % tabs.length;
        else if (e.key === "Home") n = 0;
        else if (e.key === "End") n = tabs.length - 1;
        if (n !== null) { e.preventDefault(); select(n, true); }
      });
      list.appendChild(t);
      return t;
    });
    box.insertBefore(list, panels[0]);
    var selected = 0;

    function select(i, focus) {
      selected = i;
      tabs.forEach(function (t, k) {
        t.setAttribute("aria-selected", k === i ? "true" : "false");
        t.tabIndex = k === i ? 0 : -1;
      });
      panels.forEach(function (p, k) { p.classList.toggle("tab-hidden", k !== i); });
      if (focus) tabs[i].focus();
    }
    function layout() {
      var side = wide.matches;
      box.classList.toggle("side-by-side", side);
      list.hidden = side;
      tabs.forEach(function (t, k) {
        t.setAttribute("role", "tab");
        t.setAttribute("aria-controls", panels[k].id);
      });
      panels.forEach(function (p, k) {
        if (side) {
          p.removeAttribute("role");
          p.classList.remove("tab-hidden");
          p.setAttribute("aria-labelledby", "version-h-" + p.id.replace(/^version-/, ""));
        } else {
          p.setAttribute("role", "tabpanel");
          p.setAttribute("aria-labelledby", tabs[k].id);
          p.tabIndex = -1;
        }
      });
      if (!side) select(selected, false);
    }
    layout();
    if (wide.addEventListener) wide.addEventListener("change", layout);
  }

  /* -- facets: folded away on narrow screens, where they would push the results down -- */
  function setupFacets(box) {
    if (window.matchMedia("(max-width: 800px)").matches) box.open = false;
  }

  /* -- marks: what a mark means, shown on a tap (touch screens have no hover titles) -- */
  function setupMarkNotes(section) {
    var note = document.createElement("p");
    note.className = "mark-note";
    note.setAttribute("role", "status");
    note.hidden = true;
    var hint = section.querySelector(".legend-hint");
    if (hint) hint.hidden = false;
    section.appendChild(note);
    section.addEventListener("click", function (e) {
      var mark = e.target.closest(".doc-text .ann[title]");
      if (!mark || e.target.closest("a")) { note.hidden = true; return; }
      var copy = mark.cloneNode(true);  /* the marked words alone, not the tag or the */
      copy.querySelectorAll(".visually-hidden, .ann-tag").forEach(function (x) { x.remove(); });
      var words = copy.textContent.replace(/\s+/g, " ").trim();  /* screen-reader text */
      note.textContent = mark.getAttribute("title") + (words ? ": \u201c" + words + "\u201d" : "");
      note.hidden = false;
    });
  }

  /* -- find in this document: the words a search found, marked, with next/previous -- */
  var FIND_SKIP = ".ann-tag, .visually-hidden, script, style";
  function findPattern(unit) {
    var prefix = /\*$/.test(unit);
    var words = unit.replace(/\*$/, "").trim().split(/\s+/).map(function (w) {
      return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    });
    if (!words[0]) return null;
    var cjk = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(unit);
    var body = words.join("[\\s\\u00a0\\-\u2010\u2011]+");
    /* A word is found whole or with an ending ("Korean" in "Koreans"), never inside
       another word; CJK, written without spaces, anywhere in a run. */
    return cjk ? body : "(?<![\\p{L}\\p{N}])" + body + (prefix ? "[\\p{L}\\p{N}]*" : "[\\p{L}\\p{N}]{0,3}(?![\\p{L}\\p{N}])");
  }
  function clearFinds(root) {
    root.querySelectorAll("mark.find-hit").forEach(function (m) {
      m.replaceWith(document.createTextNode(m.textContent));
    });
    root.querySelectorAll(".doc-text").forEach(function (t) { t.normalize(); });
  }
  function markFinds(root, units) {
    var parts = units.map(findPattern).filter(Boolean);
    if (!parts.length) return [];
    var re = new RegExp(parts.join("|"), "giu");
    var hits = [];
    root.querySelectorAll(".doc-text").forEach(function (text) {
      var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT, {
        acceptNode: function (n) {
          return n.parentElement.closest(FIND_SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
        }
      });
      var nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach(function (node) {
        var s = node.nodeValue, m, last = 0, frag = null;
        re.lastIndex = 0;
        while ((m = re.exec(s)) !== null) {
          if (!m[0]) { re.lastIndex++; continue; }
          frag = frag || document.createDocumentFragment();
          frag.appendChild(document.createTextNode(s.slice(last, m.index)));
          var mark = document.createElement("mark");
          mark.className = "find-hit";
          mark.textContent = m[0];
          frag.appendChild(mark);
          hits.push(mark);
          last = m.index + m[0].length;
        }
        if (frag) {
          frag.appendChild(document.createTextNode(s.slice(last)));
          node.replaceWith(frag);
        }
      });
    });
    return hits;
  }
  function setupFind(bar) {
    var root = document.querySelector(".text-section");
    if (!root) return;
    var input = bar.querySelector("input");
    var status = bar.querySelector(".find-status");
    var prev = bar.querySelector(".find-prev"), next = bar.querySelector(".find-next");
    var hits = [], at = -1;
    bar.hidden = false;
    function show(i) {
      if (!hits.length) return;
      if (at >= 0 && hits[at]) hits[at].classList.remove("current");
      at = (i + hits.length) % hits.length;
      var hit = hits[at];
      hit.classList.add("current");
      var panel = hit.closest(".version");  /* a hit in another version's tab: open it */
      if (panel && panel.hidden) {
        var tab = document.getElementById("tab-" + panel.id);
        if (tab) tab.click();
      }
      hit.scrollIntoView({block: "center"});
      status.textContent = hits.length === 1 ? "1 match" : (at + 1) + " of " + hits.length;
    }
    function run(units, query) {
      clearFinds(root);
      hits = markFinds(root, units);
      at = -1;
      prev.disabled = next.disabled = hits.length < 2;
      bar.classList.toggle("active", hits.length > 0);
      if (!query) { status.textContent = ""; return; }
      if (!hits.length) { status.textContent = "Not in this text"; return; }
      status.textContent = hits.length + (hits.length === 1 ? " match" : " matches");
      show(0);
    }
    prev.addEventListener("click", function () { show(at - 1); });
    next.addEventListener("click", function () { show(at + 1); });
    bar.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      var typed = input.value.trim();
      /* The words a search sent (with every spelling of a name) while they stand as
         sent; what the reader types is looked for as typed. */
      var units = typed === bar.getAttribute("data-query") ? JSON.parse(bar.getAttribute("data-units") || "[]") : (typed ? [typed] : []);
      run(units, typed);
    });
    if (input.value.trim()) run(JSON.parse(bar.getAttribute("data-units") || "[]"), input.value.trim());
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".facets-box, .fold-box").forEach(setupFacets);
    document.querySelectorAll(".text-section").forEach(setupMarkNotes);
    window.addEventListener("beforeprint", function () {  /* a printout keeps everything */
      document.querySelectorAll(".fold-box").forEach(function (d) { d.open = true; });
    });
    document.querySelectorAll("[data-citation]").forEach(setupCitation);
    document.querySelectorAll(".text-section").forEach(setupTools);
    document.querySelectorAll("[data-tabs]").forEach(setupTabs);
    document.querySelectorAll("[data-find]").forEach(setupFind);  /* after the tabs */
  });
})();
