/* The approver's queue: each pending message with its real preview, approve, or reject with a reason. */
"use strict";

(() => {
  const { t, api, el, when, runs, clearErrors, showError } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const area = document.getElementById("pending");
  const done = el("p", { class: "status ok", role: "status" });
  let names = {};  // panel id → name, for the previews' captions

  function card(message) {
    const panels = message.panels || [];
    const reason = el("input", { id: `reason-${message.id}`, name: "reason", maxlength: 500 });
    const form = el("form", { class: "card", "data-message": message.id, novalidate: true },
      el("h2", {}, message.title || `n° ${message.id}`),
      el("p", {}, message.text),
      el("p", { class: "runs" }, runs(message)),
      el("p", { class: "meta" }, page.by.replace("{who}", message.created_by || "?").replace("{when}", when(message.created_at))),
      el("div", { class: "previews" }, panels.map(panel => el("figure", {},
        el("img", { src: `/api/v1/messages/${message.id}/preview.png?panel=${encodeURIComponent(panel)}`,
                    alt: `${t("preview_of")} ${names[panel] || panel}` }),
        el("figcaption", {}, names[panel] || panel)))),
      el("p", { class: "field" }, el("label", { for: `reason-${message.id}` }, t("reason")), reason),
      el("div", { class: "actions" },
        el("button", { type: "submit", value: "approve" }, t("approve")),
        el("button", { type: "submit", value: "reject", class: "danger" }, t("reject"))),
      el("p", { class: "status", role: "status" }));
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(form);
      const action = event.submitter.value;
      const answer = await api(`/messages/${message.id}/${action}`, { method: "POST",
        body: action === "reject" ? { reason: reason.value.trim() } : {} });
      if (!answer.ok) { showError(form, answer.body); return; }
      done.textContent = page[action === "approve" ? "approved" : "rejected"].replace("{id}", message.id);
      load();
    });
    return form;
  }

  async function load() {
    const answer = await api("/messages?status=pending-approval&limit=100");
    if (!answer.ok) { area.replaceChildren(el("p", { class: "status error" }, answer.body.error.message)); return; }
    const pending = answer.body.messages.filter(message => message.status === "pending-approval");
    area.replaceChildren(done, ...(pending.length ? pending.map(card) : [el("p", {}, page.nothing)]));
  }
  api("/panels?limit=200").then(answer => {
    if (answer.ok) names = Object.fromEntries(answer.body.panels.map(panel => [panel.id, panel.name]));
    load();
  });
  setInterval(() => { if (!area.contains(document.activeElement)) load(); }, 10000);
})();
