/* Notifications: one's own subscriptions, one's organisation's conditions and mail server (administrators
   and technicians), and what was sent. Delays are typed in minutes; the API keeps seconds. */
"use strict";

(() => {
  const { t, api, el, cells, when, clearErrors, showError, status } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const fill = (table, columns, answer, rows) => document.querySelector(`#${table} tbody`).replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns }, answer.ok ? t("none") : answer.body.error.message))]));

  // Own subscriptions: a webhook's secret is shown once, right after it is made.
  const subscriptionForm = document.getElementById("subscription-form");
  const loadSubscriptions = async () => {
    const answer = await api("/notifications/subscriptions?limit=200");
    const rows = answer.ok ? answer.body.subscriptions.map(subscription => el("tr", { "data-subscription": subscription.address },
      cells("subscriptions", [
        page.channels[subscription.channel], subscription.address,
        subscription.kinds.map(kind => page.kinds[kind]).join(", ") + (subscription.digest ? ` ${page.daily}` : ""),
        subscription.communes.join(", ") || page.all,
        el("button", { type: "button", class: "danger", onclick: async () => {
          const result = await api(`/notifications/subscriptions/${subscription.id}`, { method: "DELETE" });
          if (!result.ok) status(subscriptionForm, `${t("refused")} ${result.body.error.message}`, "error");
          loadSubscriptions();
        } }, page.unsubscribe),
      ]))) : [];
    fill("subscriptions", 5, answer, rows);
  };
  subscriptionForm.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(subscriptionForm);
    const form = subscriptionForm.elements;
    const body = {
      channel: form.channel.value,
      address: form.address.value.trim(),
      kinds: [...subscriptionForm.querySelectorAll('input[name="kinds"]:checked')].map(box => box.value),
      communes: form.communes.value.split(",").map(code => code.trim()).filter(Boolean),
      digest: form.digest.checked,
    };
    const answer = await api("/notifications/subscriptions", { method: "POST", body });
    if (!answer.ok) { showError(subscriptionForm, answer.body); return; }
    const secret = document.getElementById("webhook-secret");
    secret.hidden = !answer.body.secret;
    if (answer.body.secret) secret.replaceChildren(page.secret_once, el("br"), el("code", {}, answer.body.secret));
    status(subscriptionForm, page.subscribed);
    form.address.value = "";
    loadSubscriptions();
  });

  // The organisation's conditions and mail server.
  const conditionsForm = document.getElementById("conditions-form");
  const field = name => conditionsForm.querySelector(`[data-field="${name}"]`);
  const MINUTES = ["offline_after_s", "recovery_s", "flap_window_s", "behind_after_s"];
  const SMTP = ["host", "port", "starttls", "username", "sender"];
  const show = settings => {
    for (const [name, value] of Object.entries(settings.conditions)) {
      const input = field(name);
      if (input.type === "checkbox") input.checked = value;
      else input.value = MINUTES.includes(name) ? Math.round(value / 60 * 100) / 100 : value;
    }
    const smtp = settings.smtp || {};
    for (const name of SMTP) {
      const input = field(`smtp.${name}`);
      if (name in smtp) { if (input.type === "checkbox") input.checked = smtp[name]; else input.value = smtp[name] ?? ""; }
    }
    field("smtp.password").value = "";
    field("smtp.password").placeholder = smtp.password_set ? page.password_kept : "";
  };
  const number = input => (input.value.trim() === "" ? null : Number(input.value));
  if (conditionsForm) {
    api("/notifications/settings").then(answer => {
      if (answer.ok) show(answer.body); else status(conditionsForm, `${t("refused")} ${answer.body.error.message}`, "error");
    });
    conditionsForm.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(conditionsForm);
      const conditions = {};
      for (const input of conditionsForm.querySelectorAll('[data-field]:not([data-field^="smtp."])')) {
        const name = input.dataset.field;
        if (input.type === "checkbox") conditions[name] = input.checked;
        else conditions[name] = MINUTES.includes(name) ? Math.round(number(input) * 60) : number(input);
      }
      const body = { conditions };
      if (field("smtp.host").value.trim()) {
        body.smtp = {
          host: field("smtp.host").value.trim(), port: number(field("smtp.port")), starttls: field("smtp.starttls").checked,
          username: field("smtp.username").value.trim() || null, sender: field("smtp.sender").value.trim(),
        };
        if (field("smtp.password").value) body.smtp.password = field("smtp.password").value;
      }
      const answer = await api("/notifications/settings", { method: "PATCH", body });
      if (!answer.ok) { showError(conditionsForm, answer.body); return; }
      show(answer.body);
      status(conditionsForm, t("saved"));
    });
  }

  // What was sent, newest first, with each delivery's result.
  const loadLog = async () => {
    const answer = await api("/notifications/log?limit=50");
    const rows = answer.ok ? answer.body.log.map(entry => el("tr", {}, cells("notification-log", [
      when(entry.at), page.kinds[entry.kind] || page.digest, entry.subject, entry.recipient,
      { sent: page.sent, queued: page.queued }[entry.result] || `${page.failed} ${entry.error}`,
    ]))) : [];
    fill("notification-log", 5, answer, rows);
  };
  loadSubscriptions();
  loadLog();
})();
