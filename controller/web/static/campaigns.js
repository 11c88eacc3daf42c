/* Campaigns: create one with its message and invite communes; list them with their answers. */
"use strict";

(() => {
  const { t, api, el, day, parisIso, clearErrors, showError, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const form = document.getElementById("campaign-form");

  function state(campaign) {
    if (campaign.stopped_at) return badge("cancelled", page.stopped);
    if (campaign.launched_at) return badge("on-air", page.launched);
    return badge("pending", page.draft);
  }

  function answers(campaign) {
    const count = status => campaign.communes.filter(c => c.status === status).length;
    return page.answers.replace("{accepted}", count("accepted")).replace("{declined}", count("declined"))
      .replace("{pending}", count("pending"));
  }

  async function loadList() {
    const answer = await api("/campaigns?limit=100");
    const body = document.querySelector("#campaigns tbody");
    if (!answer.ok) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5 }, answer.body.error.message)));
      return;
    }
    const headers = [...document.querySelectorAll("#campaigns thead th")].map(th => th.textContent);
    const rows = answer.body.campaigns.map(campaign => el("tr", { "data-campaign": campaign.id }, [
      el("a", { href: `/campagnes/${campaign.id}` }, campaign.name),
      `${day(campaign.starts_at)} ${page.to} ${day(campaign.ends_at)}`,
      `${Math.round(campaign.share * 100)}\u00a0%`, answers(campaign), state(campaign),
    ].map((cell, index) => el("td", { "data-label": headers[index] }, cell))));
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5 }, t("none")))]));
  }

  if (form) {
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(form);
      const value = name => form.elements[name].value.trim();
      const ticked = name => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map(box => box.value);
      const [departments, communes] = [ticked("departments"), ticked("communes")];
      const tags = value("tags").split(/[,;\s]+/).filter(Boolean);
      const targets = { departments: departments.length ? departments : undefined,
                        communes: communes.length ? communes : undefined, tags: tags.length ? tags : undefined };
      const share = Number(value("share"));
      const dates = { starts_at: parisIso(value("starts_at")), ends_at: parisIso(value("ends_at")) };
      const created = await api("/campaigns", { method: "POST", body: {
        name: value("name"), organisation: value("organisation"), ...dates, share: share ? share / 100 : null,
        ...targets, messages: value("text") ? [{ text: value("text"), ...dates }] : [] } });
      if (!created.ok) { showError(form, created.body); return; }
      location.href = `/campagnes/${created.body.id}`;
    });
  }
  loadList();
})();
