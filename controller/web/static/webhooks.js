/* Webhooks for apps and websites: the organisation's (a commune user's: their commune's), a new one's
   secret shown once, and each webhook's deliveries with their tries and results. */
"use strict";

(() => {
  const { t, api, el, cells, when, clearErrors, showError, status } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const fill = (table, columns, rows, empty) => document.querySelector(`#${table} tbody`).replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns }, empty))]));
  const form = document.getElementById("webhook-form");
  let shown = null;

  const loadDeliveries = async webhook => {
    shown = webhook;
    document.getElementById("deliveries-of").textContent = webhook ? `(${webhook.url})` : "";
    if (!webhook) { fill("deliveries", 5, [], page.pick); return; }
    const answer = await api(`/webhooks/${webhook.id}/deliveries?limit=50`);
    const rows = answer.ok ? answer.body.deliveries.map(delivery => el("tr", { "data-delivery": delivery.id },
      cells("deliveries", [
        when(delivery.created_at), page.events[delivery.event], delivery.title, String(delivery.attempts),
        delivery.result === "sent" ? page.sent
          : `${delivery.result === "pending" ? page.pending : page.failed} ${delivery.error || ""}`.trim(),
      ]))) : [];
    fill("deliveries", 5, rows, answer.ok ? t("none") : answer.body.error.message);
  };

  const loadWebhooks = async () => {
    const answer = await api("/webhooks?limit=200");
    const webhooks = answer.ok ? answer.body.webhooks : [];
    const rows = webhooks.map(webhook => el("tr", { "data-webhook": webhook.url }, cells("webhooks", [
      webhook.url, webhook.commune || page.all, webhook.events.map(name => page.events[name]).join(", "),
      el("span", {},
        el("button", { type: "button", onclick: () => loadDeliveries(webhook) }, page.show), " ",
        el("button", { type: "button", class: "danger", onclick: async () => {
          const result = await api(`/webhooks/${webhook.id}`, { method: "DELETE" });
          if (!result.ok) status(form, `${t("refused")} ${result.body.error.message}`, "error");
          if (shown && shown.id === webhook.id) loadDeliveries(null);
          loadWebhooks();
        } }, page.remove)),
    ])));
    fill("webhooks", 4, rows, answer.ok ? t("none") : answer.body.error.message);
    if (shown) loadDeliveries(webhooks.find(webhook => webhook.id === shown.id) || null);
    else if (webhooks.length) loadDeliveries(webhooks[0]);
    else loadDeliveries(null);
  };

  form.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(form);
    const body = {
      url: form.elements.url.value.trim(),
      events: [...form.querySelectorAll('input[name="events"]:checked')].map(box => box.value),
    };
    if (form.elements.commune) body.commune = form.elements.commune.value.trim() || null;
    const answer = await api("/webhooks", { method: "POST", body });
    if (!answer.ok) { showError(form, answer.body); return; }
    const secret = document.getElementById("webhook-secret");
    secret.hidden = false;
    secret.replaceChildren(page.secret_once, el("br"), el("code", {}, answer.body.secret));
    status(form, page.added);
    form.elements.url.value = "";
    shown = answer.body;
    loadWebhooks();
  });
  loadWebhooks();
  // Deliveries are made by the controller as events come: the shown log follows them.
  setInterval(() => { if (shown && !document.hidden) loadDeliveries(shown); }, 5000);
})();
