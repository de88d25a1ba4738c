// Follows an order's status live: the server streams each change (server-sent events fed by
// the order service's WatchOrder) and this applies it to the page. Without this script the
// page still shows the order as loaded, with a link to reload. Text only: never innerHTML.
"use strict";

(function () {
  const article = document.getElementById("order");
  if (!article || !window.EventSource) return;
  const note = document.getElementById("live-note");
  if (article.dataset.final === "true") return;

  const source = new EventSource("/orders/" + encodeURIComponent(article.dataset.orderId) + "/events");
  note.textContent = "This page follows the order live.";

  function apply(order) {
    const status = document.getElementById("order-status");
    status.textContent = order.status;
    status.className = "status status-" + order.status.toLowerCase();
    const reason = document.getElementById("order-reason");
    reason.textContent = order.reason;
    reason.hidden = !order.reason;
    for (const line of order.lines) {
      const span = article.querySelector('.line-reason[data-book-id="' + CSS.escape(line.book_id) + '"]');
      if (span) {
        span.textContent = line.rejection_reason;
        span.hidden = !line.rejection_reason;
      }
    }
    const history = document.getElementById("order-history");
    history.replaceChildren(...order.history.map(function (change) {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "status";
      name.textContent = change.status;
      const time = document.createElement("time");
      time.textContent = change.at;
      item.append(name, " ", time, change.reason ? ": " + change.reason : "");
      return item;
    }));
    document.getElementById("cancel-form").hidden = !order.cancellable;
    document.title = document.title.replace(/: [A-Z]+ ·/, ": " + order.status + " ·");
    if (order.final) finish("This order is settled.");
  }

  function finish(message) {
    source.close();
    note.textContent = message;
  }

  source.addEventListener("order", function (event) { apply(JSON.parse(event.data)); });
  source.addEventListener("problem", function (event) {
    note.textContent = JSON.parse(event.data).message + " Reload to try again.";
  });
  source.addEventListener("end", function () { finish("Live updates ended; reload to see later changes."); });
})();
