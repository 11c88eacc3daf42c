/* Emergency alerts: send one, follow which panels confirmed it on air, approve (second person), cancel. */
"use strict";

(() => {
  const { t, api, el, when, parisIso, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const form = document.getElementById("alert-form");
  const targets = RelaisTargets.attach(document.getElementById("targets"));

  function row(alert, names) {
    const actions = [];
    if (alert.status === "pending-approval" && alert.created_by !== Relais.actor.name) {
      actions.push(el("button", { type: "button", onclick: () => act(alert, "approve") }, t("approve")));
    }
    if (!["cancelled", "expired"].includes(alert.status)) {
      actions.push(el("button", { type: "button", class: "danger", onclick: () => act(alert, "cancel") }, t("cancel")));
    }
    return el("tr", { "data-alert": alert.id }, [
      String(alert.id), el("div", {}, el("strong", {}, alert.title || ""), " ", alert.text || ""),
      badge(alert.status, page.status[alert.status] || alert.status),
      page.confirmed.replace("{confirmed}", alert.confirmed).replace("{targeted}", alert.targeted),
      when(alert.expires_at), el("div", { class: "actions" }, actions),
    ].map((cell, index) => el("td", { "data-label": names[index] }, cell)));
  }

  async function act(alert, action) {
    if (action === "cancel" && !confirm(page.confirm_cancel)) return;
    const answer = action === "cancel"
      ? await api(`/alerts/${alert.id}`, { method: "DELETE" })
      : await api(`/alerts/${alert.id}/approve`, { method: "POST" });
    if (!answer.ok) status(form, `${t("refused")} ${answer.body.error.message}`, "error");
    load();
  }

  async function load() {
    const answer = await api("/alerts?limit=50");
    if (!answer.ok) return;
    const names = [...document.querySelectorAll("#alerts thead th")].map(th => th.textContent);
    const rows = answer.body.alerts.map(alert => row(alert, names));
    document.querySelector("#alerts tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, t("none")))]));
  }

  form.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(form);
    const value = name => form.elements[name].value.trim();
    const missing = targets.missing();
    if (missing) { showError(form, missing); return; }
    const answer = await api("/alerts", { method: "POST", body: {
      title: value("title") || undefined, text: value("text"), expires_at: parisIso(value("expires_at")),
      ...targets.value() } });
    if (!answer.ok) { showError(form, answer.body); return; }
    status(form, page[answer.body.status === "pending-approval" ? "sent_waits" : "sent"].replace("{id}", answer.body.id));
    load();
  });
  load();
  setInterval(load, 3000);
})();
