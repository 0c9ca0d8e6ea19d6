// A job's page follows the job: every second it asks for the job's state
// (data-job-poll, the page's JSON) and shows it; when the job has ended it
// reloads, and the server shows the result. Without JavaScript the page
// reloads itself (<noscript> meta refresh).
(function () {
  var box = document.querySelector("[data-job-poll]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-job-poll");

  function show(state) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var name = node.getAttribute("data-field");
      if (name === "progress") {
        if (state.total) { node.max = state.total; node.value = state.done; }
        else { node.removeAttribute("value"); }
        node.textContent = state.percent === null ? "" : state.percent + "%";
        return;
      }
      if (!(name in state)) return;
      var value = state[name];
      if (name === "total" && !value) value = "?";
      node.textContent = typeof value === "number" ? value.toLocaleString() : (value || "");
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        if (state.finished) { window.location.reload(); return; }
        show(state);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
})();
