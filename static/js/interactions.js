// The interaction log form (templates/interactions/log.html). Progressive enhancement: without this
// file the form still works (the client box then runs a server-side search step, ?q=).
//
// - The client box becomes an ARIA 1.2 combobox (list autocomplete with automatic selection of the
//   first match): type, arrows to move, Enter (or Tab) to choose, Escape to close.
// - Choosing a client fills the contact picker with that client's contacts.
// - The follow-up box gets quick due dates; the submit button is disabled after the first submit.
// - In the predicted-score group, digits choose a score ("1" then "0" quickly: 10).
(function () {
  "use strict";

  var form = document.querySelector("[data-log-form]");
  if (!form) return;

  // --- submit once ----------------------------------------------------------------------------
  var save = form.querySelector("[data-submit]");
  form.addEventListener("submit", function (event) {
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "1";
    if (save) {
      save.disabled = true;
      save.textContent = "Saving…";
    }
  });
  // Back/forward cache: a restored page is usable again (the server still logs one row per key).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && save) {
      delete form.dataset.submitted;
      save.disabled = false;
      save.textContent = "Save interaction";
    }
  });

  // --- client combobox ------------------------------------------------------------------------
  var box = form.querySelector("[data-client-combobox]");
  var input = document.getElementById("client-search");
  var listbox = document.getElementById("client-listbox");
  var status = document.getElementById("client-status");
  var chosen = document.getElementById("client-chosen");
  var chosenText = chosen && chosen.querySelector("[data-chosen-text]");
  var hidden = form.querySelector("input[name=client]");
  var contact = form.querySelector("select[name=contact]");
  var searchUrl = box && box.getAttribute("data-search-url");
  var results = [];
  var active = -1;
  var timer = null;
  var sequence = 0;

  if (box && input && listbox && hidden) {
    var fallback = box.querySelector("[data-combobox-fallback]");
    if (fallback) fallback.hidden = true;
    // The box no longer submits the search step: it searches as you type.
    input.removeAttribute("form");
    input.removeAttribute("name");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    input.addEventListener("input", onInput);
    input.addEventListener("keydown", onKeydown);
    input.addEventListener("blur", function () { close(); });
  }

  function onInput() {
    var serverResults = box.querySelector("[data-server-results]");
    if (serverResults) serverResults.hidden = true;
    if (hidden.value) clearChoice();
    window.clearTimeout(timer);
    var query = input.value.trim();
    if (!query) {
      sequence += 1;
      results = [];
      close();
      say("");
      return;
    }
    timer = window.setTimeout(function () { search(query); }, 120);
  }

  function search(query) {
    var mine = ++sequence;
    fetch(searchUrl + "?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (mine === sequence && document.activeElement === input) render(data.results || [], query);
      })
      .catch(function () {
        if (mine === sequence) say("The search did not answer; try again.", true);
      });
  }

  function render(items, query) {
    results = items;
    listbox.textContent = "";
    items.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "client-option-" + index;
      option.className = "combo__option";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      var name = document.createElement("span");
      name.className = "combo__name";
      name.textContent = item.name;
      option.appendChild(name);
      var meta = describe(item);
      if (meta) {
        var line = document.createElement("span");
        line.className = "combo__meta";
        line.textContent = meta;
        option.appendChild(line);
      }
      // Keep the focus in the box while a pointer picks an option.
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { choose(index); });
      listbox.appendChild(option);
    });
    if (items.length) {
      open();
      move(0);
      say(items.length === 1 ? "1 client found." : items.length + " clients found.");
    } else {
      close();
      say("No client matches “" + query + "”.", true);
    }
  }

  function describe(item) {
    var parts = [];
    if (item.segment) parts.push(item.segment);
    if (item.status && item.status !== "Active") parts.push(item.status.toLowerCase());
    var people = (item.contacts || []).slice(0, 2).map(function (c) { return c.name; });
    if (people.length) parts.push(people.join(", ") + ((item.contacts || []).length > 2 ? "…" : ""));
    return parts.join(" · ");
  }

  function isOpen() { return !listbox.hidden; }

  function open() {
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function move(index) {
    var options = listbox.querySelectorAll("[role=option]");
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function onKeydown(event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!isOpen() && results.length) { open(); move(event.altKey ? 0 : active + 1); return; }
      if (isOpen() && !event.altKey) move(active + 1);
    } else if (event.key === "ArrowUp") {
      if (!isOpen()) return;
      event.preventDefault();
      move(active - 1);
    } else if (event.key === "Enter") {
      // Never submit anything from the box: Enter picks the highlighted client.
      event.preventDefault();
      if (isOpen() && active >= 0) choose(active);
    } else if (event.key === "Tab") {
      if (isOpen() && active >= 0) choose(active);
    } else if (event.key === "Escape") {
      if (isOpen()) {
        event.preventDefault();
        close();
      } else if (!hidden.value && input.value) {
        event.preventDefault();
        input.value = "";
        say("");
      }
    }
  }

  function choose(index) {
    var item = results[index];
    if (!item) return;
    hidden.value = item.id;
    input.value = item.name;
    close();
    if (chosen && chosenText) {
      chosenText.textContent = [item.name].concat(item.segment ? [item.segment] : []).join(" · ");
      chosen.hidden = false;
    }
    fillContacts(item.contacts || []);
    say(item.name + " chosen.");
  }

  function clearChoice() {
    hidden.value = "";
    if (chosen) chosen.hidden = true;
    fillContacts(null);
  }

  function fillContacts(contacts) {
    if (!contact) return;
    contact.textContent = "";
    var none = document.createElement("option");
    none.value = "";
    if (contacts === null) {
      none.textContent = "Choose a client first";
    } else {
      none.textContent = contacts.length ? "No one in particular" : "No contacts on file";
    }
    contact.appendChild(none);
    (contacts || []).forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.id;
      option.textContent = c.name + (c.role ? " (" + c.role + ")" : "");
      contact.appendChild(option);
    });
    contact.disabled = !(contacts && contacts.length);
  }

  // Screen readers hear every message; sighted users see only the ones the page shows nowhere else.
  function say(text, visible) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("visually-hidden", !visible);
  }

  // --- follow-up ------------------------------------------------------------------------------
  var followUp = form.querySelector("input[name=follow_up]");
  var due = form.querySelector("input[name=follow_up_due]");
  var quick = form.querySelector("[data-quick-dates]");
  var today = form.getAttribute("data-today");

  function plusDays(days) {
    var parts = (today || new Date().toISOString().slice(0, 10)).split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days));
    return date.toISOString().slice(0, 10);
  }

  var dueField = form.querySelector("[data-follow-up-due]");

  // The due date shows once the box is ticked (always when it carries an error).
  function showDue() {
    if (dueField && !dueField.querySelector(".field__error")) dueField.hidden = !followUp.checked;
  }

  if (followUp && due) {
    showDue();
    followUp.addEventListener("change", function () {
      if (followUp.checked && !due.value) due.value = plusDays(1);
      if (!followUp.checked) due.value = "";
      showDue();
    });
    due.addEventListener("change", function () {
      if (due.value) followUp.checked = true;
    });
    if (quick) {
      quick.hidden = false;
      quick.addEventListener("click", function (event) {
        var button = event.target.closest("[data-days]");
        if (!button) return;
        due.value = plusDays(Number(button.getAttribute("data-days")));
        followUp.checked = true;
      });
    }
  }

  // --- predicted score: digits ----------------------------------------------------------------
  var scores = form.querySelector("[data-score-group]");
  var lastDigit = { key: "", at: 0 };
  if (scores) {
    scores.addEventListener("keydown", function (event) {
      if (!/^[0-9]$/.test(event.key) || event.ctrlKey || event.metaKey || event.altKey) return;
      var value = event.key;
      var now = Date.now();
      if (value === "0" && lastDigit.key === "1" && now - lastDigit.at < 800) value = "10";
      lastDigit = { key: event.key, at: now };
      var radio = scores.querySelector("input[type=radio][value='" + value + "']");
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
      }
    });
  }
})();
