// Journey editor: drag and drop for stages and touchpoint placements (progressive enhancement).
// Without this file the "Move up / Move down / Move to stage" buttons do everything; with it, an
// item can also be dragged by its handle. The new order is posted to the journey's reorder endpoint,
// which answers with the re-rendered stages and a sentence that the live region announces.
(function () {
  "use strict";

  var root = document.getElementById("journey-stages");
  if (!root || !window.fetch) return;
  var url = root.getAttribute("data-reorder-url");
  var status = document.getElementById("reorder-status");
  var dragged = null; // {kind: "stage"|"placement", item: <li>, from: <ol>, next: <li>|null}

  document.body.classList.add("js-dnd");

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function announce(text, isError) {
    if (!status) return;
    status.classList.toggle("reorder-status--error", !!isError);
    status.textContent = "";
    // A fresh text node after a tick, so that screen readers announce a repeated sentence too.
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function uuids(list, selector) {
    return Array.prototype.map.call(list.querySelectorAll(":scope > " + selector), function (li) {
      return li.getAttribute("data-uuid");
    });
  }

  // Where to insert in `list`, given the pointer's vertical position: before the first item whose
  // middle is below the pointer.
  function itemAfter(list, selector, y) {
    var items = list.querySelectorAll(":scope > " + selector + ":not(.is-dragging)");
    for (var i = 0; i < items.length; i++) {
      var box = items[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return items[i];
    }
    return null;
  }

  function clearTargets() {
    Array.prototype.forEach.call(root.querySelectorAll(".drop-target"), function (el) { el.classList.remove("drop-target"); });
  }

  root.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) return;
    var kind = handle.getAttribute("data-drag");
    var item = handle.closest(kind === "stage" ? ".stage-item" : ".placement-item");
    dragged = {kind: kind, item: item, from: item.parentNode, next: item.nextElementSibling};
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-uuid"));
    if (event.dataTransfer.setDragImage) event.dataTransfer.setDragImage(item, 16, 16);
    window.setTimeout(function () { item.classList.add("is-dragging"); }, 0);
  });

  // The list a dragged item would go into, for an element under the pointer (null: not a drop zone).
  function dropList(target) {
    if (!dragged || !target.closest) return null;
    if (dragged.kind === "stage") return target.closest("#stage-list");
    var stage = target.closest(".stage-item");
    return stage && stage.querySelector(".placement-list");
  }

  // Both dragenter and dragover must be cancelled over a drop zone: the browser decides whether a
  // drop is allowed from whichever of the two came last.
  root.addEventListener("dragenter", function (event) {
    if (dropList(event.target)) event.preventDefault();
  });

  root.addEventListener("dragover", function (event) {
    var list = dropList(event.target);
    if (!list) return;
    var selector = dragged.kind === "stage" ? ".stage-item" : ".placement-item";
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearTargets();
    list.classList.add("drop-target");
    var after = itemAfter(list, selector, event.clientY);
    if (after !== dragged.item) list.insertBefore(dragged.item, after);
  });

  root.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    var move = dragged;
    dragged = null;
    clearTargets();
    move.item.classList.remove("is-dragging");
    var body;
    if (move.kind === "stage") {
      body = {stages: uuids(document.getElementById("stage-list"), ".stage-item"), moved: move.item.getAttribute("data-uuid")};
    } else {
      var list = move.item.parentNode;
      body = {stage: list.getAttribute("data-stage"), placements: uuids(list, ".placement-item"), moved: move.item.getAttribute("data-uuid")};
    }
    if (move.item.parentNode === move.from && move.item.nextElementSibling === move.next) return; // dropped where it was
    save(body, move);
  });

  root.addEventListener("dragend", function () {
    if (!dragged) return;
    // Dropped outside any list: put the item back where it was.
    dragged.from.insertBefore(dragged.item, dragged.next);
    dragged.item.classList.remove("is-dragging");
    dragged = null;
    clearTargets();
  });

  function save(body, move) {
    announce("Saving the new order…");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json"},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (!result.ok) {
        move.from.insertBefore(move.item, move.next);
        announce("Not moved: " + ((result.data.error && result.data.error.message) || "the order could not be saved."), true);
        return;
      }
      root.innerHTML = result.data.html;
      var moved = document.getElementById((move.kind === "stage" ? "stage-" : "placement-") + body.moved);
      if (moved) moved.focus();
      announce(result.data.message);
    }).catch(function () {
      move.from.insertBefore(move.item, move.next);
      announce("Not moved: the connection failed. Try again, or use the Move buttons.", true);
    });
  }
})();
