/* Emergency alerts: send one, follow which panels confirmed it on air, approve (second person), cancel. */
"use strict";

(() => {
  const { t, api, el, when, parisIso, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const form = document.getElementById("alert-form");
  const known = new Map();  // alerts sent from this page, shown even where the server cannot list them yet

  function row(alert, names) {
    const actions = [];
    if (alert.status === "pending-approval" && alert.created_by !== Relais.actor.name) {
      actions.push(el("button", { type: "button", onclick: () => act(alert, "approve") }, t("approve")));
    }
    if (!["cancelled", "expired"].includes(alert.status) && !alert.cancelled_at) {
      actions.push(el("button", { type: "button", class: "danger", onclick: () => act(alert, "cancel") }, t("cancel")));
    }
    return el("tr", { "data-alert": alert.id }, [
      String(alert.id), el("div", {}, el("strong", {}, alert.title || ""), " ", alert.text || ""),
      alert.status ? badge(alert.status, page.status[alert.status] || alert.status) : "",
      page.confirmed.replace("{confirmed}", alert.confirmed ?? 0).replace("{targeted}", alert.targeted ?? 0),
      when(alert.expires_at), el("div", { class: "actions" }, actions),
    ].map((cell, index) => el("td", { "data-label": names[index] }, cell)));
  }

  async function act(alert, action) {
    if (action === "cancel" && !confirm(page.confirm_cancel)) return;
    const answer = action === "cancel"
      ? await api(`/alerts/${alert.id}`, { method: "DELETE" })
      : await api(`/alerts/${alert.id}/approve`, { method: "POST" });
    if (answer.ok) known.set(answer.body.id, answer.body);
    else status(form, `${t("refused")} ${answer.body.error.message}`, "error");
    load();
  }

  async function load() {
    const answer = await api("/alerts?limit=50");
    const alerts = answer.ok ? answer.body.alerts : [];
    for (const id of known.keys()) {
      const fresh = await api(`/alerts/${id}`);
      if (fresh.ok) known.set(id, fresh.body);
    }
    const byId = new Map([...known, ...alerts.map(alert => [alert.id, alert])]);
    const names = [...document.querySelectorAll("#alerts thead th")].map(th => th.textContent);
    const rows = [...byId.values()].sort((a, b) => b.id - a.id).map(alert => row(alert, names));
    document.querySelector("#alerts tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, t("none")))]));
  }

  form.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(form);
    const value = name => form.elements[name].value.trim();
    const communes = [...form.querySelectorAll('input[name="communes"]:checked')].map(box => box.value);
    const answer = await api("/alerts", { method: "POST", body: {
      title: value("title") || undefined, text: value("text"), expires_at: parisIso(value("expires_at")),
      communes: communes.length ? communes : undefined } });
    if (!answer.ok) { showError(form, answer.body); return; }
    known.set(answer.body.id, answer.body);
    status(form, page.sent.replace("{id}", answer.body.id));
    load();
  });
  load();
  setInterval(load, 3000);
})();
