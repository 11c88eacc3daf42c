/* One campaign: the prefecture follows the answers, launches, stops and reads the report; an invited
   commune answers here (accept or decline, with limits). */
"use strict";

(() => {
  const { t, api, el, when, day, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const path = `/campaigns/${page.id}`;
  const percent = fraction => `${Math.round(fraction * 100)}\u00a0%`;
  const labels = { accepted: t("accepted"), declined: t("declined"), pending: t("invited") };
  /** Time on air as controller.dates.format_duration writes it: « 2 h 30 », « 27 s » under a minute. */
  function duration(seconds) {
    if (seconds > 0 && seconds < 60) return `${Math.round(seconds)}\u00a0s`;
    const minutes = Math.round(seconds / 60);
    return `${Math.floor(minutes / 60)}\u00a0h\u00a0${String(minutes % 60).padStart(2, "0")}`
      + (Relais.lang === "en" ? "\u00a0min" : "");
  }

  /** A commune by its name, its code after it, once: « Bourg-en-Bresse (01053) », « Commune 01001 ». */
  function communeLabel(name, insee) {
    if (!name) return insee;
    return name.includes(insee) ? name : `${name} (${insee})`;
  }

  function headers(table) { return [...document.querySelectorAll(`#${table} thead th`)].map(th => th.textContent); }

  let shown = null;  // the campaign as last drawn, for the launch question

  /** Launching puts the campaign on air at once: the question says where, from the answers shown. */
  function launchQuestion() {
    const communes = shown ? shown.communes : [];
    const count = status => communes.filter(commune => commune.status === status).length;
    return page.confirm_launch.replace("{name}", shown ? shown.name : "").replace("{accepted}", count("accepted"))
      .replace("{pending}", count("pending"));
  }

  function drawCampaign(campaign) {
    shown = campaign;
    document.getElementById("campaign-name").textContent = campaign.name;
    const state = campaign.stopped_at ? badge("cancelled", page.stopped.replace("{when}", when(campaign.stopped_at)))
      : campaign.launched_at ? badge("on-air", page.launched.replace("{when}", when(campaign.launched_at)))
      : badge("pending", page.draft);
    document.getElementById("summary").replaceChildren(page.summary.replace("{start}", day(campaign.starts_at))
      .replace("{end}", day(campaign.ends_at)).replace("{share}", percent(campaign.share)), " ", state);
    const steer = document.getElementById("steer");
    if (steer) {  // launch until launched, then stop until stopped
      steer.elements.action[0].hidden = Boolean(campaign.launched_at);
      steer.elements.action[1].hidden = !campaign.launched_at || Boolean(campaign.stopped_at);
    }
    const names = headers("communes");
    document.querySelector("#communes tbody").replaceChildren(...campaign.communes.map(commune =>
      el("tr", { "data-commune": commune.insee }, [
        communeLabel(commune.name, commune.insee), badge(commune.status, labels[commune.status] || commune.status),
        [commune.max_share ? page.max.replace("{share}", percent(commune.max_share)) : "",
         commune.hours && commune.hours.windows && commune.hours.windows.length ? page.hours.replace("{hours}", commune.hours.windows.join(", ")) : ""]
          .filter(Boolean).join(" · "),
        commune.answered_at ? when(commune.answered_at) : "",
      ].map((cell, index) => el("td", { "data-label": names[index] }, cell)))),
      ...(campaign.communes.length ? [] : [el("tr", {}, el("td", { colspan: 4 }, t("none")))]));
    const invite = document.getElementById("invite-form");
    if (invite) {  // only the communes not invited yet are offered, by name
      const invited = new Set(campaign.communes.map(commune => commune.insee));
      const offered = [...invite.querySelectorAll("label[data-commune]")];
      offered.forEach(label => {
        label.hidden = invited.has(label.dataset.commune);
        if (label.hidden) label.querySelector("input").checked = false;
      });
      invite.hidden = offered.every(label => label.hidden);
    }
    const mine = Relais.actor && campaign.communes.find(commune => commune.insee === Relais.actor.commune);
    const card = document.getElementById("answer-card");
    if (card && mine) card.hidden = false;
  }

  /** What the campaign would put on air: each message's words and when it runs, and for a commune's
      user, the message drawn by the real renderer on its own panels, once per kind of panel. */
  let drawnContents = "";
  async function drawContents(campaign) {
    const key = JSON.stringify(campaign.contents);
    if (key === drawnContents) return;  // the page refreshes every 3 s: images are drawn once
    drawnContents = key;
    document.getElementById("asked-by").textContent = page.proposed_by
      .replace("{organisation}", campaign.organisation_name || campaign.organisation || "—");
    const own = Relais.actor && Relais.actor.commune ? await ownPanels() : [];
    document.getElementById("contents").replaceChildren(...campaign.contents.map(content =>
      el("article", { class: "campaign-content", "data-message": content.id }, [
        content.title ? el("h3", {}, content.title) : null,
        el("blockquote", {}, content.text),
        el("p", { class: "runs" }, Relais.runs(content)),
        own.length ? el("div", { class: "previews" }, reachedByProfile(own, content.panels).map(panels => {
          const names = panels.map(panel => panel.name).join(", ");
          return el("figure", {}, [
            el("img", { src: `/api/v1${path}/preview.png?message=${content.id}&panel=${encodeURIComponent(panels[0].id)}`,
                        alt: page.preview_alt.replace("{names}", names), loading: "lazy" }),
            el("figcaption", {}, page.on_panels.replace("{count}", panels.length).replace("{names}", names)),
          ]);
        })) : null,
      ])),
      ...(campaign.contents.length ? [] : [el("p", { class: "hint" }, page.no_content)]));
  }

  /** The commune's own panels (the API lists no other to its users). */
  async function ownPanels() {
    const answer = await api("/panels?limit=200");
    return answer.ok ? answer.body.panels : [];
  }

  /** Those of them a message reaches, grouped by profile: one preview each. */
  function reachedByProfile(panels, reached) {
    const groups = new Map();
    for (const panel of panels.filter(panel => (reached || []).includes(panel.id))) {
      groups.set(panel.profile, [...(groups.get(panel.profile) || []), panel]);
    }
    return [...groups.values()];
  }

  async function drawReport() {
    const answer = await api(`${path}/report`);
    if (!answer.ok) return;
    const { totals, communes } = answer.body;
    document.getElementById("totals").textContent = page.totals.replace("{displays}", totals.displays)
      .replace("{hours}", duration(totals.seconds_on_air)).replace("{panels}", totals.panels).replace("{communes}", totals.communes);
    const names = headers("report");
    document.querySelector("#report tbody").replaceChildren(...communes.map(commune => el("tr", {}, [
      communeLabel(commune.commune_name, commune.commune), String(commune.panels), String(commune.displays),
      duration(commune.seconds_on_air), when(commune.first_display), when(commune.last_display),
    ].map((cell, index) => el("td", { "data-label": names[index] }, cell)))),
      ...(communes.length ? [] : [el("tr", {}, el("td", { colspan: 6 }, t("none")))]));
  }

  async function refresh() {
    const answer = await api(path);
    if (answer.ok) {
      drawCampaign(answer.body);
      drawContents(answer.body);
    }
  }

  const steer = document.getElementById("steer");
  if (steer) {
    steer.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(steer);
      const action = event.submitter.value;
      if (action === "stop" && !confirm(t("confirm_stop"))) return;
      if (action === "launch" && !confirm(launchQuestion())) return;
      const answer = await api(`${path}/${action}`, { method: "POST" });
      if (!answer.ok) { showError(steer, answer.body); return; }
      status(steer, t("saved"));
      drawCampaign(answer.body);
    });
  }

  const invite = document.getElementById("invite-form");
  if (invite) {
    invite.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(invite);
      const communes = [...invite.querySelectorAll('input[name="communes"]:checked')].map(box => box.value);
      const answer = await api(`${path}/invitations`, { method: "POST", body: { communes } });
      if (!answer.ok) { showError(invite, answer.body); return; }
      status(invite, page.invited_done);
      refresh();
    });
  }

  const form = document.getElementById("answer-form");
  if (form) {
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(form);
      const maxShare = Number(form.elements.max_share.value);
      const windows = form.elements.hours.value.split(/[,;\s]+/).filter(Boolean);
      const body = { commune: Relais.actor.commune, status: event.submitter.value };
      if (maxShare) body.max_share = maxShare / 100;
      if (windows.length) body.hours = { windows };
      const answer = await api(`${path}/answers`, { method: "POST", body });
      if (!answer.ok) { showError(form, answer.body); return; }
      status(form, page.answered);
      drawCampaign(answer.body);
    });
  }

  refresh();
  drawReport();
  setInterval(refresh, 3000);
})();
