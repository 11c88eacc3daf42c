/* The campaigns this commune is invited to, with what each asks to show and when; each links to its page,
   where the commune sees it drawn on its panels and answers. */
"use strict";

(async () => {
  const { t, api, el, day, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const body = document.querySelector("#invitations tbody");
  const answer = await api("/campaigns?limit=200");
  if (!answer.ok) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6 }, answer.body.error.message)));
    return;
  }
  const names = [...document.querySelectorAll("#invitations thead th")].map(th => th.textContent);
  const labels = { accepted: t("accepted"), declined: t("declined"), pending: t("invited") };
  const rows = answer.body.campaigns.flatMap(campaign => {
    const mine = campaign.communes.find(commune => commune.insee === Relais.actor.commune);
    if (!mine) return [];
    return [el("tr", { "data-campaign": campaign.id }, [
      el("a", { href: `/campagnes/${campaign.id}` }, campaign.name), campaign.organisation_name || "—",
      `${day(campaign.starts_at)} ${page.to} ${day(campaign.ends_at)}`,
      `${Math.round(campaign.share * 100)}\u00a0%`,
      campaign.contents.map(content => el("p", {}, [content.title ? el("strong", {}, content.title, " ") : null,
        content.text, el("br"), el("span", { class: "hint" }, Relais.runs(content))])),
      badge(mine.status, labels[mine.status] || mine.status),
    ].map((cell, index) => el("td", { "data-label": names[index] }, cell)))];
  });
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, t("none")))]));
})();
