/* The commune's messages: compose with a live preview per targeted panel, queue, edit, pause, cancel. */
"use strict";

(() => {
  const { t, api, el, when, parisIso, parisLocal, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const form = document.getElementById("message-form");
  const canEdit = Boolean(form);
  let panels = [];
  let editing = null;  // the message id being edited, or null for a new one
  let imageBase64 = null;
  let redrawWeek = () => {};
  let targets = null;  // the target picker (targets.js)
  // Past 4 pages or 30 s a showing outlasts a passer-by's glance, so the end of the text is mostly unread.
  const LONG_PAGES = 4;
  const LONG_SECONDS = 30;
  const MOST_NAMED = 5;  // panels a message's row names one by one

  const value = name => form.elements[name].value.trim();

  /** What the form says, in the API's words. */
  function draft() {
    const windows = value("recurrence.windows").split(/[,;\s]+/).filter(Boolean);
    const weekdays = [...form.querySelectorAll('input[name="weekdays"]:checked')].map(box => box.value);
    const body = {
      text: value("text"), title: value("title") || null, layout: value("layout") || "text",
      role: value("role"), markup: value("markup"), pictogram: value("pictogram") || null,
      qr: value("qr") || null, priority: value("priority"), ...targets.value(),
      paging: form.elements.paging.checked,
      // null, not absent: an edit that clears a date must say so (no start is now, no end is for good).
      starts_at: parisIso(value("starts_at")), ends_at: parisIso(value("ends_at")),
      // Every day, all day is no recurrence: an edit that clears the hours must say so.
      recurrence: windows.length || weekdays.length < 7 ? { weekdays, windows } : null,
    };
    if (imageBase64) body.image = imageBase64;  // an edit without a new file keeps the message's image
    return body;
  }

  // Live preview: the real render of the draft on a panel of each profile targeted, a moment after the last
  // keystroke.
  const previewUrls = [];
  let previewTimer = null;
  let previewRound = 0;
  async function refreshPreviews() {
    const round = ++previewRound;
    const area = document.getElementById("previews");
    const body = draft();
    if (!body.text) { area.replaceChildren(el("p", { class: "hint" }, "…")); return; }
    const figures = await Promise.all(targets.previewPanels().map(async panel => {
      const panelId = panel.id;
      const answer = await api("/preview.png", { method: "POST", body: { ...body, panel: panelId }, raw: true });
      if (!answer.ok) {
        const error = (await answer.response.json()).error;
        return el("figure", {}, el("figcaption", { class: "field-error" }, `${panel.name} : ${error.message}`));
      }
      const url = URL.createObjectURL(await answer.response.blob());
      previewUrls.push(url);
      const notes = decodeURIComponent(answer.response.headers.get("X-Relais-Notes") || "");
      const pages = Number(answer.response.headers.get("X-Relais-Pages"));
      const seconds = Math.round(Number(answer.response.headers.get("X-Relais-Seconds")));
      const length = page[pages === 1 ? "one_page" : "many_pages"].replace("{pages}", pages).replace("{seconds}", seconds);
      const tooLong = pages > LONG_PAGES || seconds > LONG_SECONDS;
      return el("figure", { "data-panel": panelId },
        el("img", { src: url, alt: `${t("preview_of")} ${panel.name}` }),
        el("figcaption", {}, `${panel.name} · ${length}` + (notes ? ` · ${notes}` : "")),
        tooLong ? el("p", { class: "field-error" }, tooLongWarning(panel.name)) : null);
    }));
    if (round !== previewRound) return;  // a newer keystroke already asked again
    previewUrls.splice(0, previewUrls.length - figures.length).forEach(url => URL.revokeObjectURL(url));
    area.replaceChildren(...figures);
  }
  function tooLongWarning(panelName) {
    return page.too_long.replace("{panel}", panelName).replace("{most_pages}", LONG_PAGES)
      .replace("{most_seconds}", LONG_SECONDS);
  }
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreviews, 350);
  }

  function setMode(messageId) {
    editing = messageId;
    const title = document.getElementById("compose-title");
    const submit = document.getElementById("submit");
    title.textContent = messageId ? title.dataset.edit.replace("{id}", messageId) : title.dataset.new;
    submit.textContent = messageId ? submit.dataset.edit : submit.dataset.new;
    document.getElementById("abandon").hidden = !messageId;
  }

  async function startEditing(message) {
    const answer = await api(`/messages/${message.id}`);
    const full = answer.ok ? answer.body : message;
    for (const name of ["text", "title", "layout", "role", "markup", "pictogram", "qr", "priority"]) {
      if (full[name] !== undefined && form.elements[name]) form.elements[name].value = full[name] || "";
    }
    form.elements.starts_at.value = parisLocal(full.starts_at);
    form.elements.ends_at.value = parisLocal(full.ends_at);
    form.elements.paging.checked = full.paging !== false;
    const recurrence = full.recurrence || {};
    form.elements["recurrence.windows"].value = (recurrence.windows || []).join(", ");
    const days = recurrence.weekdays && recurrence.weekdays.length ? recurrence.weekdays : null;
    form.querySelectorAll('input[name="weekdays"]').forEach((box, index) => {
      box.checked = !days || days.includes(box.value) || days.includes(index);
    });
    await targets.ready;
    targets.set(full.targets || { panels: full.panels });
    setMode(message.id);
    form.scrollIntoView({ behavior: "smooth" });
    form.elements.text.focus();
    schedulePreview();
  }

  async function submit(event) {
    event.preventDefault();
    clearErrors(form);
    const body = draft();
    const answer = editing
      ? await api(`/messages/${editing}`, { method: "PATCH", body })
      : await api("/messages", { method: "POST", body });
    if (!answer.ok) { showError(form, answer.body); return; }
    const waits = answer.body.status === "pending-approval";
    const done = editing
      ? page[waits ? "saved_waits" : "saved_done"].replace("{id}", editing)
      : waits ? page.queued_waits.replace("{id}", answer.body.id)
      : t("queued", { id: answer.body.id, count: Relais.number.format(Object.keys(answer.body.panels).length) });
    const warnings = (answer.body.warnings || []).map(w => w.message || w).join(" · ");
    status(form, warnings ? `${done} ${warnings}` : done, "ok");
    emptyForm();
    loadMessages();
  }

  /** Back to a new message from an empty form: the next one inherits nothing, dates least of all. */
  function emptyForm() {
    form.reset();
    targets.reset();
    imageBase64 = null;
    setMode(null);
    schedulePreview();
  }

  // The list, with what each user may do to each message.
  function statusBadge(message) {
    const shown = badge(message.status, page.status[message.status] || message.status);
    if (message.status !== "rejected") return shown;
    return [shown, el("div", { class: "meta" },
      page.rejected_by.replace("{who}", message.rejected_by).replace("{reason}", message.rejected_reason))];
  }

  async function act(message, action) {
    const line = document.getElementById("list-status");
    let answer;
    if (action === "cancel") {
      if (!confirm(t("confirm_cancel"))) return;
      answer = await api(`/messages/${message.id}`, { method: "DELETE" });
    } else {
      answer = await api(`/messages/${message.id}`, { method: "PATCH", body: { paused: action === "pause" } });
    }
    line.className = "status " + (answer.ok ? "ok" : "error");
    line.textContent = answer.ok ? page[`${action === "cancel" ? "cancelled" : action === "pause" ? "paused" : "resumed"}_done`]
      : `${t("refused")} ${answer.body.error.message}`;
    loadMessages();
  }

  /** What this user may do to this message: a commune's user changes its own commune's messages only
      (the prefecture's that reach the commune are shown, not theirs to change); a rejected one is edited. */
  function actions(message) {
    const commune = Relais.actor.commune;
    if (!canEdit || ["cancelled", "ended"].includes(message.status) || (commune && message.commune !== commune)) {
      return "";
    }
    const buttons = [el("button", { type: "button", class: "secondary", onclick: () => startEditing(message) }, t("edit"))];
    if (message.status === "paused") {
      buttons.push(el("button", { type: "button", class: "secondary", onclick: () => act(message, "resume") }, t("resume")));
    } else if (message.status !== "rejected") {
      buttons.push(el("button", { type: "button", class: "secondary", onclick: () => act(message, "pause") }, t("pause")));
    }
    buttons.push(el("button", { type: "button", class: "danger", onclick: () => act(message, "cancel") }, t("cancel")));
    return el("div", { class: "actions" }, buttons);
  }

  /** A few panels by name; a department's hundreds by their number, not a page of names. */
  function panelsCell(ids, names) {
    if (ids.length <= MOST_NAMED) return ids.map(id => names[id] || id).join(", ");
    return page.panel_count.replace("{count}", Relais.number.format(ids.length));
  }

  /** A4 and A3 posters of a message, for a shop window or a notice board. */
  function posterLinks(message) {
    const links = ["A4", "A3"].map(size => el("a", {
      href: `/api/v1/messages/${message.id}/poster.pdf?size=${size}`, download: true,
      "aria-label": page.poster_label.replace("{size}", size).replace("{id}", message.id),
    }, page.poster.replace("{size}", size)));
    return el("div", { class: "meta" }, links[0], " · ", links[1]);
  }

  /** The « Diffusion » panel's codes, copied for the commune's website; selected when the browser refuses. */
  async function copySnippet(event) {
    const field = document.getElementById(event.target.dataset.copy);
    const line = document.getElementById("copy-status");
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      line.className = "status ok";
      line.textContent = page.copied;
    } catch {
      line.className = "status warning";
      line.textContent = page.copy_by_hand;
    }
  }

  async function loadMessages() {
    const answer = await api("/messages?limit=50");
    const body = document.querySelector("#messages tbody");
    if (!answer.ok) return;
    const headers = [...document.querySelectorAll("#messages thead th")].map(th => th.textContent);
    const names = Object.fromEntries(panels.map(panel => [panel.id, panel.name]));
    const rows = answer.body.messages.map(message => {
      const cells = [
        String(message.id),
        el("div", {}, message.title ? el("strong", {}, message.title + " ") : "", message.text,
          el("div", { class: "meta runs" }, Relais.runs(message)), posterLinks(message)),
        statusBadge(message),
        panelsCell(message.panels || [], names),
        `${when(message.created_at)} ${page.created_by} ${message.created_by || "?"}`,
        actions(message),
      ];
      return el("tr", { "data-message": message.id },
        cells.map((cell, index) => el("td", { "data-label": headers[index] }, cell)));
    });
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6 }, page.no_messages))]));
    redrawWeek();
  }

  async function loadChoices() {
    const [layouts, pictograms] = await Promise.all([api("/layouts"), api("/pictograms")]);
    if (layouts.ok) {
      form.elements.layout.replaceChildren(...layouts.body.layouts.map(layout =>
        el("option", { value: layout.name, selected: layout.name === "text" }, layout.label)));
    }
    if (pictograms.ok) {
      form.elements.pictogram.append(...pictograms.body.pictograms.map(p => el("option", { value: p.name }, p.label)));
    }
  }

  async function start() {
    const answer = await api("/panels?limit=200");  // a commune's user gets its commune's panels only
    panels = answer.ok ? answer.body.panels : [];
    redrawWeek = RelaisTimeline.attach(document.getElementById("week-panel"), document.getElementById("week"), panels, page);
    if (canEdit) {
      targets = RelaisTargets.attach(document.getElementById("targets"), {
        ownPanelsTicked: Boolean(Relais.actor.commune), onResolved: schedulePreview });
      form.addEventListener("input", schedulePreview);
      form.addEventListener("change", schedulePreview);
      form.addEventListener("submit", submit);
      document.getElementById("abandon").addEventListener("click", () => { emptyForm(); clearErrors(form); });
      form.elements.image.addEventListener("change", event => {
        const file = event.target.files[0];
        if (!file) { imageBase64 = null; return; }
        const reader = new FileReader();
        reader.onload = () => { imageBase64 = reader.result.split(",")[1]; schedulePreview(); };
        reader.readAsDataURL(file);
      });
      await loadChoices();
      schedulePreview();  // what was typed while the layouts and pictograms were loading
    }
    document.querySelectorAll("[data-copy]").forEach(button => button.addEventListener("click", copySnippet));
    loadMessages();
  }
  start();
})();
