/* Emergency alerts: check one (a dry run and its preview on each kind of panel), confirm and send it,
   follow live which panels confirmed it on air, commune by commune; approve (second person), cancel. */
"use strict";

(() => {
  const { t, api, el, number, when, parisIso, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const form = document.getElementById("alert-form");
  const targets = RelaisTargets.attach(document.getElementById("targets"));
  const dialog = document.getElementById("confirm-alert");
  const follow = document.getElementById("follow");
  // The alert followed in the live list, and the communes whose panels are unfolded there.
  let followed = null;
  const openCommunes = new Set();
  const communeNodes = new Map();
  let previewUrls = [];

  /** « 1 panneau », « 1 000 panneaux »: ``forms`` is [singular, plural] with {n}. */
  function count(n, forms) { return forms[n === 1 ? 0 : 1].replace("{n}", number.format(n)); }

  /** A sentence with {confirmed}, {waiting} and {offline} filled in from an alert's or commune's counts. */
  function stateCounts(sentence, counts) {
    return ["confirmed", "waiting", "offline"].reduce(
      (text, state) => text.replace(`{${state}}`, number.format(counts[state])), sentence);
  }

  /** Who the alert is for, as the API's targets: the department, communes and tags of the picker. */
  function alertTargets() {
    return targets.value();
  }

  function row(alert, names) {
    const actions = [];
    if (alert.status === "pending-approval" && alert.created_by !== Relais.actor.name) {
      actions.push(el("button", { type: "button", onclick: () => act(alert, "approve") }, t("approve")));
    }
    if (!["cancelled", "expired"].includes(alert.status)) {
      actions.push(el("button", { type: "button", class: "danger", onclick: () => act(alert, "cancel") }, t("cancel")));
    }
    actions.push(el("button", { type: "button", class: "secondary", "aria-label": page.follow_label.replace("{id}", alert.id),
      onclick: () => followAlert(alert.id) }, page.follow_button));
    return el("tr", { "data-alert": alert.id }, [
      String(alert.id), el("div", {}, el("strong", {}, alert.title || ""), " ", alert.text || ""),
      badge(alert.status, page.status[alert.status] || alert.status),
      page.confirmed.replace("{confirmed}", number.format(alert.confirmed)).replace("{targeted}", number.format(alert.targeted)),
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
    const answer = await api("/alerts?limit=50&panels=0");
    if (!answer.ok) return;
    const names = [...document.querySelectorAll("#alerts thead th")].map(th => th.textContent);
    const rows = answer.body.alerts.map(alert => row(alert, names));
    document.querySelector("#alerts tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, t("none")))]));
  }

  /** The form's alert as the API takes it; targets left out when none is chosen, so the API names them. */
  function alertBody() {
    const value = name => form.elements[name].value.trim();
    const targets = Object.fromEntries(Object.entries(alertTargets()).filter(([, list]) => list.length));
    return { title: value("title") || undefined, text: value("text"), expires_at: parisIso(value("expires_at")), ...targets };
  }

  /** The alert drawn on each kind of panel it reaches, by the controller's own renderer. */
  async function previews(body, profiles) {
    previewUrls.forEach(url => URL.revokeObjectURL(url));
    previewUrls = [];
    return Promise.all(profiles.map(async kind => {
      const caption = `${kind.label} · ${count(kind.panels, page.panels)}`;
      const answer = await api("/alerts/preview.png", { method: "POST", raw: true,
        body: { text: body.text, title: body.title, profile: kind.profile } });
      if (!answer.ok) {
        const error = (await answer.response.json()).error;
        return el("figure", {}, el("figcaption", { class: "field-error" }, `${caption} : ${error.message}`));
      }
      const url = URL.createObjectURL(await answer.response.blob());
      previewUrls.push(url);
      return el("figure", { "data-profile": kind.profile },
        el("img", { src: url, alt: page.preview_on.replace("{kind}", kind.label) }), el("figcaption", {}, caption));
    }));
  }

  /** The sender's yes, after seeing what the alert reaches and how it looks: true to send. */
  async function confirmed(body, reach) {
    document.getElementById("confirm-question").textContent = page.question
      .replace("{panels}", count(reach.panels.length, page.panels))
      .replace("{communes}", count(reach.communes.length, page.communes));
    document.getElementById("confirm-previews").replaceChildren(...await previews(body, reach.profiles));
    dialog.returnValue = "";
    dialog.showModal();
    await new Promise(resolve => dialog.addEventListener("close", resolve, { once: true }));
    return dialog.returnValue === "send";
  }

  /** Checked and drawn by a dry run, confirmed, then sent: nothing goes out without the sender's yes. */
  async function checkConfirmSend() {
    clearErrors(form);
    const body = alertBody();
    const reach = await api("/alerts?dry_run=1", { method: "POST", body });
    if (!reach.ok) { showError(form, reach.body); return; }
    if (!await confirmed(body, reach.body)) { form.querySelector('button[type="submit"]').focus(); return; }
    const answer = await api("/alerts", { method: "POST", body });
    if (!answer.ok) { showError(form, answer.body); return; }
    status(form, page[answer.body.status === "pending-approval" ? "sent_waits" : "sent"].replace("{id}", answer.body.id));
    followAlert(answer.body.id);
    load();
  }

  let sending = false;  // a second click while one alert is checked or confirmed sends no second alert
  form.addEventListener("submit", async event => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    try { await checkConfirmSend(); } finally { sending = false; }
  });

  function followAlert(alertId) {
    if (followed !== alertId) {
      followed = alertId;
      openCommunes.clear();
      communeNodes.clear();
      document.getElementById("follow-communes").replaceChildren();
    }
    follow.hidden = false;
    document.getElementById("follow-title").textContent = page.follow.replace("{id}", alertId);
    loadFollowed();
  }

  function panelRow(panel) {
    const state = { confirmed: "online", waiting: "late", offline: "offline" }[panel.state];
    return el("tr", { "data-panel": panel.id }, [panel.name, badge(state, page.states[panel.state]),
      panel.confirmed_at ? when(panel.confirmed_at) : "—"]
      .map((cell, index) => el("td", { "data-label": page.panel_headers[index] }, cell)));
  }

  /** A commune of the live list, made once and updated in place: an open one keeps its place and focus. */
  function communeNode(commune) {
    let node = communeNodes.get(commune.insee);
    if (!node) {
      const panels = el("tbody");
      node = el("details", { "data-commune": commune.insee },
        el("summary", {}, el("strong", {}, commune.name), " ", el("span", { class: "counts" })),
        el("div", { class: "table-wrap" }, el("table", { class: "stack" },
          el("thead", {}, el("tr", {}, page.panel_headers.map(name => el("th", {}, name)))), panels)));
      node.addEventListener("toggle", () => {
        if (node.open) openCommunes.add(commune.insee); else openCommunes.delete(commune.insee);
        if (node.open) loadFollowed();
      });
      communeNodes.set(commune.insee, node);
    }
    node.querySelector(".counts").textContent = stateCounts(page.commune_counts, commune);
    if (commune.panels) node.querySelector("tbody").replaceChildren(...commune.panels.map(panelRow));
    return node;
  }

  /** Who confirmed the followed alert: one request, counts per commune, panels of the open communes only. */
  async function loadFollowed() {
    if (followed === null) return;
    const query = [...openCommunes].map(insee => `commune=${encodeURIComponent(insee)}`).join("&");
    const answer = await api(`/alerts/${followed}/panels${query ? "?" + query : ""}`);
    if (!answer.ok || answer.body.id !== followed) return;
    const reach = answer.body;
    const totals = stateCounts(page.totals, reach).replace("{panels}", count(reach.targeted, page.panels));
    const line = follow.querySelector(".follow-totals");
    if (line.textContent !== totals) line.textContent = totals;  // a status line speaks only of changes
    const list = document.getElementById("follow-communes");
    reach.communes.map(communeNode).forEach((node, index) => {
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
  }

  load();
  // « suivre les confirmations » of an official alert opens this page on the alert it became.
  const asked = new URLSearchParams(location.search).get("suivre");
  if (/^\d+$/.test(asked || "")) followAlert(Number(asked));
  setInterval(() => { load(); loadFollowed(); }, 3000);
})();
