// The stewards' forms: values added and removed, entity pickers searching by label, and the live
// check: while the steward types, the form is sent to /steward/check (the guard's dry run, nothing
// stored) and each message is put next to the input it concerns, with a preview of the change.
// Without this script the form still works: "Check" and "Send" post it and the page comes back
// with the same messages.
"use strict";

(function () {
  const form = document.getElementById("steward-form");
  if (!form) return;
  const words = document.getElementById("words").dataset;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const statusLine = document.getElementById("check-status");
  const preview = document.getElementById("preview");
  let timer = null;
  let running = null;
  let serial = 0;

  // --- values and details nodes added and removed ------------------------------------------------

  function containerOf(name) {
    return form.querySelector('[data-container="' + CSS.escape(name) + '"]');
  }

  function nextIndex(container, name) {
    let highest = -1;
    const prefix = name + "|";
    container.querySelectorAll("[data-name]").forEach(function (el) {
      const rest = el.dataset.name.startsWith(prefix) ? el.dataset.name.slice(prefix.length) : "";
      const head = rest.split("|")[0];
      if (/^\d+$/.test(head)) highest = Math.max(highest, parseInt(head, 10));
    });
    return highest + 1;
  }

  function refreshAddButtons() {
    form.querySelectorAll("button[data-add]").forEach(function (button) {
      const container = containerOf(button.dataset.add);
      if (!container) return;
      const max = parseInt(container.dataset.max || "0", 10);
      const count = container.querySelectorAll(":scope > [data-name]").length;
      button.hidden = max > 0 && count >= max;
    });
  }

  form.addEventListener("click", function (event) {
    const add = event.target.closest("button[data-add]");
    if (add) {
      const name = add.dataset.add;
      const container = containerOf(name);
      const template = form.querySelector('template[data-template="' + CSS.escape(name) + '"]');
      const index = nextIndex(container, name);
      const html = template.innerHTML.split(name + "|§").join(name + "|" + index);
      container.insertAdjacentHTML("beforeend", html);
      const added = container.lastElementChild;
      const first = added && added.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
      refreshAddButtons();
      schedule();
      return;
    }
    const remove = event.target.closest("button[data-remove]");
    if (remove) {
      const item = remove.closest("fieldset.details, .row");
      if (item) item.remove();
      refreshAddButtons();
      schedule();
    }
  });

  // --- the source: one in the graph, or a new one -------------------------------------------------

  function showSource() {
    const mode = (form.querySelector("input[name=source]:checked") || {}).value || "existing";
    form.querySelectorAll("[data-source]").forEach(function (part) {
      part.hidden = part.dataset.source !== mode;
    });
  }
  form.querySelectorAll("input[name=source]").forEach(function (radio) {
    radio.addEventListener("change", showSource);
  });
  showSource();

  // --- entity pickers ---------------------------------------------------------------------------------

  function pickerParts(input) {
    const picker = input.closest(".picker");
    return {
      picker: picker,
      hidden: picker.querySelector("input[type=hidden]"),
      list: picker.querySelector(".suggestions"),
    };
  }

  async function suggest(input) {
    const parts = pickerParts(input);
    const text = input.value.trim();
    if (!text) {
      parts.list.hidden = true;
      return;
    }
    const params = new URLSearchParams({ q: text });
    (input.dataset.classes || "").split(" ").filter(Boolean).forEach(function (c) {
      params.append("class", c);
    });
    const response = await fetch(form.dataset.lookup + "?" + params, { headers: { Accept: "application/json" } });
    if (!response.ok || input.value.trim() !== text) return;
    const found = (await response.json()).results;
    parts.list.replaceChildren();
    found.forEach(function (candidate) {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.tabIndex = -1;
      item.dataset.iri = candidate.iri;
      item.textContent = candidate.label;
      if (candidate.matched && candidate.matched !== candidate.label) {
        const small = document.createElement("small");
        small.textContent = " " + candidate.matched;
        item.appendChild(small);
      }
      parts.list.appendChild(item);
    });
    if (!found.length) {
      const item = document.createElement("li");
      item.className = "none";
      item.textContent = words.nothing;
      parts.list.appendChild(item);
    }
    parts.list.hidden = false;
  }

  function choose(item) {
    const parts = pickerParts(item);
    const input = parts.picker.querySelector("input[type=search]");
    parts.hidden.value = item.dataset.iri;
    input.value = item.firstChild.textContent;
    parts.list.hidden = true;
    input.focus();
    schedule(0);
  }

  let suggestTimer = null;
  form.addEventListener("input", function (event) {
    const input = event.target;
    if (input.matches(".picker input[type=search]")) {
      pickerParts(input).hidden.value = ""; // typing again forgets the chosen entity
      clearTimeout(suggestTimer);
      suggestTimer = setTimeout(function () { suggest(input); }, 180);
    }
    schedule();
  });
  form.addEventListener("change", function () { schedule(); });
  form.addEventListener("mousedown", function (event) {
    const item = event.target.closest(".suggestions li[data-iri]");
    if (item) {
      event.preventDefault();
      choose(item);
    }
  });
  form.addEventListener("keydown", function (event) {
    const input = event.target;
    const inList = input.closest && input.closest(".suggestions");
    if (input.matches && input.matches(".picker input[type=search]")) {
      const list = pickerParts(input).list;
      if (event.key === "ArrowDown" && !list.hidden) {
        const first = list.querySelector("li[data-iri]");
        if (first) { event.preventDefault(); first.focus(); }
      } else if (event.key === "Enter" && !list.hidden) {
        const first = list.querySelector("li[data-iri]");
        if (first) { event.preventDefault(); choose(first); }
      } else if (event.key === "Escape") {
        list.hidden = true;
      }
    } else if (inList) {
      if (event.key === "Enter") { event.preventDefault(); choose(input); }
      if (event.key === "ArrowDown" && input.nextElementSibling) { event.preventDefault(); input.nextElementSibling.focus(); }
      if (event.key === "ArrowUp") {
        event.preventDefault();
        (input.previousElementSibling || input.closest(".picker").querySelector("input[type=search]")).focus();
      }
      if (event.key === "Escape") { input.closest(".suggestions").hidden = true; }
    }
  });
  document.addEventListener("click", function (event) {
    form.querySelectorAll(".suggestions").forEach(function (list) {
      if (!list.closest(".picker").contains(event.target)) list.hidden = true;
    });
  });

  // --- the live check ----------------------------------------------------------------------------------

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(check, delay === undefined ? 500 : delay);
  }

  function clearMessages() {
    form.querySelectorAll("ul.messages").forEach(function (list) { list.replaceChildren(); });
    form.querySelectorAll(".problem").forEach(function (span) { span.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function place(name, severity, text) {
    const row = name && form.querySelector('.problem[data-problem="' + CSS.escape(name) + '"]');
    if (row && severity === "Problem") {
      row.textContent = text;
      const input = row.closest(".row").querySelector("input:not([type=hidden]), select, textarea");
      if (input) input.setAttribute("aria-invalid", "true");
      return;
    }
    let list = form.querySelector('ul.messages[data-for="' + CSS.escape(name) + '"]');
    if (!list) list = form.querySelector('ul.messages[data-for=""]');
    const item = document.createElement("li");
    item.className = "msg msg-" + severity.toLowerCase();
    item.textContent = text;
    list.appendChild(item);
  }

  function showPreview(rows) {
    preview.replaceChildren();
    if (!rows.length) return;
    const table = document.createElement("table");
    table.className = "preview";
    const head = table.createTHead().insertRow();
    [words.change, words.entity, words.property, words.value].forEach(function (text) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    });
    const body = table.createTBody();
    rows.forEach(function (r) {
      const tr = body.insertRow();
      tr.className = "pv-" + r.kind;
      [words[r.kind], r.subject, r.property, r.value].forEach(function (text) {
        tr.insertCell().textContent = text;
      });
    });
    preview.appendChild(table);
  }

  async function check() {
    const mine = ++serial;
    if (running) running.abort();
    running = new AbortController();
    statusLine.textContent = words.checking;
    const data = new FormData(form);
    data.delete("action");
    let response;
    try {
      response = await fetch(form.dataset.check, {
        method: "POST",
        body: new URLSearchParams(data),
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        signal: running.signal,
      });
    } catch (error) {
      if (error.name !== "AbortError") statusLine.textContent = words.failed.replace("{why}", error.message);
      return;
    }
    const body = await response.json().catch(function () { return {}; });
    if (mine !== serial) return;
    if (!response.ok) {
      statusLine.textContent = words.failed.replace("{why}", body.message || response.status);
      return;
    }
    clearMessages();
    body.messages.forEach(function (m) { place(m.name, m.severity, m.text); });
    Object.keys(body.source || {}).forEach(function (name) { place(name, "Problem", body.source[name]); });
    const counts = body.counts || {};
    let text = body.conforms ? words.accepted : words.refused;
    text += " " + words.counts.replace("{v}", counts.Violation || 0).replace("{w}", counts.Warning || 0);
    if (body.empty) text = words.empty;
    statusLine.textContent = text;
    statusLine.dataset.conforms = String(body.conforms);
    showPreview(body.preview || []);
    form.dataset.checked = String(mine);
  }

  refreshAddButtons();
  if (form.querySelector("input[name=iri]").value) schedule(0);
})();
