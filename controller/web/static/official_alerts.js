/* Official alerts (templates/official_alerts.html): the ones waiting for a decision (their wording per kind
   of panel and its preview; approve, edit then approve, reject with a reason), every one received, the
   organisation's sources with their health, and its rules, in order and in words, with their form. */
"use strict";

(() => {
  const { api, el, when, clearErrors, showError, status, badge } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const number = new Intl.NumberFormat(Relais.lang === "en" ? "en-GB" : "fr-FR");
  const decide = document.getElementById("decide");
  const decided = document.getElementById("decided");
  const sourceForm = document.getElementById("source-form");
  const ruleForm = document.getElementById("rule-form");
  const wordings = document.getElementById("wordings");
  const alertArea = document.getElementById("rule-alert-area");
  const targetCount = document.getElementById("targets-count");
  const nothingPicked = JSON.parse(document.getElementById("target-strings").textContent).nothing;
  let reached = null;  // the picker's last count
  /** Nothing ticked in the picker is no mistake while the alert's own area counts: the rule reaches it. */
  function sayArea() {
    if (reached && !reached.panels) targetCount.textContent = alertArea.checked ? page.area_only : nothingPicked;
  }
  const picker = RelaisTargets.attach(document.getElementById("targets"),
    { onResolved: reach => { reached = reach; sayArea(); } });
  alertArea.addEventListener("change", sayArea);
  const cards = new Map();  // official alert id → its card, kept while it waits (an edit in progress stays)
  const SEVERITY_LEVELS = { Minor: 1, Moderate: 2, Severe: 3, Extreme: 4 };  // as MeteoAlarm pairs them
  let profiles = {};  // profile id → its label (« LED ambre 192×64 »)
  let editingSource = null;
  let editingRule = null;

  /** A page string with its {names} filled in. */
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }
  function count(n, forms) { return forms[n === 1 ? 0 : 1].replace("{n}", number.format(n)); }
  function kindName(profile) { return profiles[profile] || profile; }

  /** The awareness level in words beside its colour (never the colour alone), and the hazard; CAP's
      severity, coloured the same way, for senders that give no awareness level. */
  function level(official) {
    const severity = SEVERITY_LEVELS[official.severity];
    if (!official.awareness_level && severity) {
      return el("span", { class: `level level-${severity}` }, fill(page.severity_is, { severity: page.severities[official.severity] }));
    }
    if (!official.awareness_level) return "—";
    const words = fill(page.level, { level: page.levels[official.awareness_level] || official.awareness_level });
    const hazard = page.hazards[official.awareness_type];
    return el("span", {}, el("span", { class: `level level-${official.awareness_level}` }, words),
      hazard ? ` ${hazard}` : "");
  }

  // The alerts waiting for a decision -------------------------------------------------------------

  /** The controller's own drawing of a wording on one kind of panel. */
  async function drawPreview(figure, profile, text) {
    const answer = await api("/alerts/preview.png", { method: "POST", raw: true,
      body: { text, title: page.title, profile } });
    const image = figure.querySelector("img");
    if (image.src) URL.revokeObjectURL(image.src);
    if (answer.ok) image.src = URL.createObjectURL(await answer.response.blob());
  }

  function countdown(official) {
    if (!official.deploys_at) return "";
    const minutes = Math.floor((new Date(official.deploys_at) - Date.now()) / 60000);
    return minutes >= 1 ? fill(page.deploys_in, { minutes: number.format(minutes) }) : page.deploys_soon;
  }

  function card(official) {
    const id = official.id;
    const texts = Object.entries(official.texts).map(([profile, text]) => {
      const kind = kindName(profile);
      const area = el("textarea", { id: `text-${id}-${profile}`, "data-profile": profile, readonly: true,
        maxlength: 500, rows: Math.max(2, text.split("\n").length) }, text);
      const figure = el("figure", { "data-profile": profile },
        el("img", { alt: fill(page.preview_on, { kind }) }), el("figcaption", {}, kind));
      let timer = null;
      area.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => { if (area.value.trim()) drawPreview(figure, profile, area.value); }, 400);
      });
      drawPreview(figure, profile, text);
      return el("div", { class: "wording" },
        el("p", { class: "field" }, el("label", { for: area.id }, fill(page.text_for, { kind })), area), figure);
    });
    const reason = el("input", { id: `reason-${id}`, name: "reason", maxlength: 500 });
    const editButton = el("button", { type: "submit", value: "edit", class: "secondary" }, page.edit_approve);
    const form = el("form", { class: "card official", "data-official": id, novalidate: true },
      el("h3", {}, official.headline || official.event),
      el("p", {}, level(official), official.area ? ` · ${official.area}` : ""),
      el("p", { class: "meta" }, fill(page.from_sender, { sender: official.sender_name || official.sender,
        when: when(official.received_at) })),
      el("p", {}, [official.onset_at ? when(official.onset_at) : "", when(official.expires_at)].filter(Boolean).join(" → ")),
      el("p", { class: "countdown status warning" }, countdown(official)),
      el("div", { class: "wordings", "data-field": "texts" }, texts),
      el("p", { class: "field" }, el("label", { for: reason.id }, page.reason), reason),
      el("div", { class: "actions" },
        el("button", { type: "submit", value: "approve" }, page.approve), editButton,
        el("button", { type: "submit", value: "reject", class: "danger" }, page.reject)),
      el("p", { class: "status", role: "status" }));
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(form);
      const action = event.submitter.value;
      const areas = [...form.querySelectorAll("textarea")];
      if (action === "edit") {  // the wording opens for editing; the same button then approves it
        areas.forEach(area => area.removeAttribute("readonly"));
        editButton.value = "approve-edited";
        editButton.textContent = page.approve_edited;
        areas[0].focus();
        return;
      }
      const body = action === "reject" ? { reason: reason.value.trim() }
        : action === "approve-edited" ? { texts: Object.fromEntries(areas.map(area => [area.dataset.profile, area.value])) }
        : {};
      const answer = await api(`/official-alerts/${id}/${action === "reject" ? "reject" : "approve"}`,
        { method: "POST", body });
      if (!answer.ok) { showError(form, answer.body); return; }
      decided.textContent = fill(page[action === "reject" ? "rejected" : "approved"], { id });
      decided.className = "status ok";
      decided.focus();  // the card goes: the keyboard stays where the outcome is said
      loadAlerts();
      Relais.countPendingOfficial();
    });
    return form;
  }

  function drawPending(pending) {
    const ids = new Set(pending.map(official => official.id));
    for (const [id, node] of cards) if (!ids.has(id)) { node.remove(); cards.delete(id); }
    const nodes = pending.map(official => {
      if (!cards.has(official.id)) cards.set(official.id, card(official));
      const node = cards.get(official.id);
      node.querySelector(".countdown").textContent = countdown(official);
      return node;
    });
    const empty = decide.querySelector(".empty") || el("p", { class: "empty" }, page.none_pending);
    decide.replaceChildren(...(nodes.length ? nodes : [empty]));
  }

  // Every alert received --------------------------------------------------------------------------

  function receivedRow(official, names) {
    const reached = official.panels.length ? count(official.panels.length, page.panels) : page.no_panel;
    const panels = official.alert_id
      ? [reached, " · ", el("a", { href: `/alertes?suivre=${official.alert_id}` }, page.follow)]
      : reached;
    return el("tr", { "data-official": official.id }, [
      when(official.received_at),
      [badge(official.status, page.status[official.status] || official.status),
        official.status === "rejected" ? el("div", { class: "hint" }, official.reason) : ""],
      official.sender_name || official.sender,
      official.headline && official.headline !== official.event
        ? [official.event, el("div", { class: "hint" }, official.headline)] : official.event,
      level(official), official.area || "—",
      official.onset_at ? when(official.onset_at) : "—", when(official.expires_at), panels,
    ].map((cell, index) => el("td", { "data-label": names[index] }, cell)));
  }

  async function loadAlerts() {
    const answer = await api("/official-alerts?limit=100");
    if (!answer.ok) return;
    const list = answer.body.official_alerts;
    drawPending(list.filter(official => official.status === "pending"));
    const names = [...document.querySelectorAll("#received thead th")].map(th => th.textContent);
    const rows = list.map(official => receivedRow(official, names));
    document.querySelector("#received tbody").replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 9 }, page.none_received))]));
  }

  // Sources -----------------------------------------------------------------------------------------

  function health(source) {
    const h = source.health;
    return el("div", {},
      badge(h.status, page.health[h.status] || h.status),
      h.last_success_at ? el("div", {}, fill(page.last_success, { when: when(h.last_success_at) })) : "",
      h.last_error && h.status === "error"
        ? el("div", { class: "field-error" }, fill(page.last_error, { when: when(h.last_error_at), error: h.last_error }))
        : "",
      el("div", { class: "hint" }, h.next_try_at ? fill(page.next_try, { when: when(h.next_try_at) }) : page.next_try_now));
  }

  function sourceRow(source, names) {
    const kind = [page.kinds[source.kind] || source.kind, el("div", { class: "hint" },
      [fill(page.every, { n: number.format(source.poll_interval_s) }), source.test_mode ? page.test_mode : ""]
        .filter(Boolean).join(" · "))];
    const actions = el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", "aria-label": fill(page.edit_label, { name: source.name }),
        onclick: () => editSource(source) }, page.edit),
      el("button", { type: "button", class: "danger", "aria-label": fill(page.delete_label, { name: source.name }),
        onclick: () => deleteSource(source) }, page.delete));
    return el("tr", { "data-source": source.id }, [source.name, kind, el("code", { class: "location" }, source.location),
      health(source), actions].map((cell, index) => el("td", { "data-label": names[index] }, cell)));
  }

  async function loadSources() {
    const answer = await api("/alert-sources?limit=200");
    if (!answer.ok) return;
    const names = [...document.querySelectorAll("#sources thead th")].map(th => th.textContent);
    const rows = answer.body.alert_sources.map(source => sourceRow(source, names));
    document.querySelector("#sources tbody").replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5 }, page.no_source))]));
  }

  function formTitle(form, name) {
    const title = form.querySelector("h3");
    title.textContent = name === null ? title.dataset.new : fill(title.dataset.edit, { name });
    form.querySelector(".actions .secondary").hidden = name === null;
  }

  function editSource(source) {
    editingSource = source.id;
    clearErrors(sourceForm);
    const field = name => sourceForm.querySelector(`[name="${name}"]`);
    field("name").value = source.name;
    field("kind").value = source.kind;
    field("location").value = source.location;
    field("poll_interval_s").value = source.poll_interval_s;
    field("test_mode").checked = source.test_mode;
    formTitle(sourceForm, source.name);
    sourceForm.querySelector("h3").focus();
  }

  function newSource() {
    editingSource = null;
    sourceForm.reset();
    clearErrors(sourceForm);
    formTitle(sourceForm, null);
  }

  async function deleteSource(source) {
    if (!confirm(fill(page.confirm_delete_source, { name: source.name }))) return;
    const line = document.getElementById("sources-status");
    const answer = await api(`/alert-sources/${source.id}`, { method: "DELETE" });
    line.textContent = answer.ok ? fill(page.source_deleted, { name: source.name }) : answer.body.error.message;
    line.className = `status ${answer.ok ? "ok" : "error"}`;
    if (editingSource === source.id) newSource();
    loadSources();
  }

  sourceForm.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(sourceForm);
    const field = name => sourceForm.querySelector(`[name="${name}"]`);
    const interval = field("poll_interval_s").value.trim();
    const body = { name: field("name").value.trim(), kind: field("kind").value, location: field("location").value.trim(),
      poll_interval_s: /^\d+$/.test(interval) ? Number(interval) : interval, test_mode: field("test_mode").checked };
    const answer = editingSource === null
      ? await api("/alert-sources", { method: "POST", body })
      : await api(`/alert-sources/${editingSource}`, { method: "PATCH", body });
    if (!answer.ok) { showError(sourceForm, answer.body); return; }
    newSource();
    status(sourceForm, fill(page.source_saved, { name: answer.body.name }));
    loadSources();
    loadRules();  // an organisation's first source brings Météo-France's rules
  });
  document.getElementById("source-new").addEventListener("click", newSource);

  // Rules ---------------------------------------------------------------------------------------------

  function list(values, words = value => value) { return values.map(words).join(", "); }

  /** What a rule says, in words: « Vigilance orange ou rouge, neige-verglas → la zone de l’alerte,
      validation sous 15 min ». */
  function ruleWords(rule) {
    const match = rule.match || {};
    const parts = [];
    if ((match.awareness_levels || []).length) {
      parts.push(fill(page.vigilance, { levels: match.awareness_levels.map(n => page.levels[n] || n).join(page.or) }));
    }
    if ((match.awareness_types || []).length) parts.push(list(match.awareness_types, n => page.hazards[n] || n));
    if ((match.events || []).length) parts.push(fill(page.event_has, { words: list(match.events) }));
    if ((match.senders || []).length) parts.push(fill(page.from, { senders: list(match.senders) }));
    for (const [field, key] of [["severities", "severity"], ["urgencies", "urgency"], ["certainties", "certainty"],
      ["response_types", "response"], ["categories", "category"]]) {
      if ((match[field] || []).length) parts.push(fill(page[key], { values: list(match[field]) }));
    }
    const targets = rule.targets || {};
    const chosen = [
      ...(targets.departments || []).map(code => fill(page.whole_department, { code })),
      ...((targets.communes || []).length ? [fill(page.communes, { codes: list(targets.communes) })] : []),
      ...((targets.tags || []).length ? [fill(page.tags, { tags: list(targets.tags) })] : []),
    ].join(", ");
    const where = targets.alert_area === false ? chosen
      : chosen ? fill(page.within, { area: page.alert_area, targets: chosen }) : page.alert_area;
    const deployment = rule.deployment || {};
    const how = fill(page[deployment.mode] || deployment.mode, { n: deployment.timeout_minutes })
      + (deployment.priority === "urgent" ? `, ${page.urgent}` : "");
    return `${parts.length ? parts.join(", ") : page.any_alert} → ${where}, ${how}`;
  }

  function ruleItem(rule, index, all) {
    const button = (key, label, onclick, disabled = false, kind = "secondary") => el("button", { type: "button",
      class: kind, "aria-label": fill(page[`${key}_label`], { name: rule.name }), disabled, onclick }, label);
    return el("li", { "data-rule": rule.id },
      el("strong", {}, rule.name), el("div", { class: "rule-words" }, ruleWords(rule)),
      el("div", { class: "actions" },
        button("up", page.up, () => moveRule(rule, rule.position - 1), index === 0),
        button("down", page.down, () => moveRule(rule, rule.position + 1), index === all.length - 1),
        button("edit", page.edit, () => editRule(rule)),
        button("delete", page.delete, () => deleteRule(rule), false, "danger")));
  }

  async function loadRules() {
    const answer = await api("/alert-rules?limit=200");
    if (!answer.ok) return;
    const rules = answer.body.alert_rules;
    document.getElementById("rules").replaceChildren(
      ...(rules.length ? rules.map(ruleItem) : [el("li", { class: "hint" }, page.no_rule)]));
  }

  function ruleStatus(text, ok) {
    const line = document.getElementById("rules-status");
    line.textContent = text;
    line.className = `status ${ok ? "ok" : "error"}`;
  }

  async function moveRule(rule, position) {
    const answer = await api(`/alert-rules/${rule.id}`, { method: "PATCH", body: { position } });
    if (!answer.ok) ruleStatus(answer.body.error.message, false);
    await loadRules();
    const moved = document.querySelector(`#rules [data-rule="${rule.id}"] button:not([disabled])`);
    if (moved) moved.focus();  // the keyboard stays with the rule it moved
  }

  async function deleteRule(rule) {
    if (!confirm(fill(page.confirm_delete_rule, { name: rule.name }))) return;
    const answer = await api(`/alert-rules/${rule.id}`, { method: "DELETE" });
    ruleStatus(answer.ok ? fill(page.rule_deleted, { name: rule.name }) : answer.body.error.message, answer.ok);
    if (editingRule === rule.id) newRule();
    loadRules();
  }

  /** One text box per kind of panel: LED and e-paper always, and any other family the rule words. */
  function drawWordings(wording) {
    const families = [...new Set(["led", "epaper", ...Object.keys(wording)])];
    wordings.replaceChildren(...families.map(family => {
      const label = wordings.dataset[family] || fill(wordings.dataset.other, { family });
      return el("p", { class: "field" }, el("label", { for: `wording-${family}` }, label),
        el("textarea", { id: `wording-${family}`, name: `wording.${family}`, "data-family": family, rows: 3,
          "aria-describedby": "placeholders-hint" }, wording[family] || ""));
    }));
  }

  function setChecked(name, values) {
    const wanted = new Set((values || []).map(String));
    ruleForm.querySelectorAll(`input[name="${name}"]`).forEach(box => { box.checked = wanted.has(box.value); });
  }

  async function fillRule(rule) {
    const field = name => ruleForm.querySelector(`[name="${name}"]`);
    const match = rule.match || {};
    field("name").value = rule.name || "";
    for (const name of ["awareness_levels", "awareness_types", "severities", "urgencies", "certainties", "response_types"]) {
      setChecked(`match.${name}`, match[name]);
    }
    for (const name of ["events", "senders", "categories"]) field(`match.${name}`).value = list(match[name] || []);
    const targets = rule.targets || {};
    field("targets.alert_area").checked = targets.alert_area !== false;
    await picker.ready;
    picker.set({ departments: targets.departments || [], communes: targets.communes || [], tags: targets.tags || [] });
    drawWordings(rule.wording || {});
    const deployment = rule.deployment || {};
    setChecked("deployment.mode", [deployment.mode || "approval_timeout"]);
    field("deployment.timeout_minutes").value = deployment.timeout_minutes || "";
    field("deployment.priority").value = deployment.priority || "emergency";
  }

  async function editRule(rule) {
    editingRule = rule.id;
    clearErrors(ruleForm);
    await fillRule(rule);
    formTitle(ruleForm, rule.name);
    ruleForm.querySelector("h3").focus();
  }

  function newRule() {
    editingRule = null;
    clearErrors(ruleForm);
    fillRule({ wording: page.default_wording, deployment: { mode: "approval_timeout", timeout_minutes: 15 } });
    formTitle(ruleForm, null);
  }

  /** The form's rule as the API takes it: empty criteria and targets left out. */
  function ruleBody() {
    const field = name => ruleForm.querySelector(`[name="${name}"]`);
    const checked = name => [...ruleForm.querySelectorAll(`input[name="${name}"]:checked`)].map(box => box.value);
    const words = name => field(name).value.split(",").map(word => word.trim()).filter(Boolean);
    const nonEmpty = object => Object.fromEntries(Object.entries(object).filter(([, value]) => value.length));
    const match = nonEmpty({
      awareness_levels: checked("match.awareness_levels").map(Number),
      awareness_types: checked("match.awareness_types").map(Number),
      events: words("match.events"), senders: words("match.senders"), categories: words("match.categories"),
      severities: checked("match.severities"), urgencies: checked("match.urgencies"),
      certainties: checked("match.certainties"), response_types: checked("match.response_types"),
    });
    const picked = picker.value();
    const targets = { alert_area: field("targets.alert_area").checked,
      ...nonEmpty({ departments: picked.departments, communes: picked.communes, tags: picked.tags }) };
    const wording = Object.fromEntries([...wordings.querySelectorAll("textarea")]
      .filter(area => area.value.trim()).map(area => [area.dataset.family, area.value]));
    const mode = checked("deployment.mode")[0];
    const timeout = field("deployment.timeout_minutes").value.trim();
    const deployment = { mode, priority: field("deployment.priority").value,
      ...(mode === "approval_timeout" && timeout ? { timeout_minutes: /^\d+$/.test(timeout) ? Number(timeout) : timeout } : {}) };
    return { name: field("name").value.trim(), match, targets, deployment, wording };
  }

  ruleForm.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(ruleForm);
    const body = ruleBody();
    const answer = editingRule === null
      ? await api("/alert-rules", { method: "POST", body })
      : await api(`/alert-rules/${editingRule}`, { method: "PATCH", body });
    if (!answer.ok) { showError(ruleForm, answer.body); return; }
    newRule();
    status(ruleForm, fill(page.rule_saved, { name: answer.body.name }));
    loadRules();
  });
  document.getElementById("rule-new").addEventListener("click", newRule);

  api("/profiles").then(answer => {
    if (answer.ok) profiles = Object.fromEntries(answer.body.profiles.map(profile => [profile.id, profile.label]));
    loadAlerts();
  });
  loadSources();
  loadRules();
  newRule();
  // What the pollers bring and the clock decides (a source's health, an approval's timeout) shows without a reload.
  // A row's button keeps the keyboard's focus: its table is not drawn again under it.
  const sources = document.getElementById("sources");
  setInterval(() => { loadAlerts(); if (!sources.contains(document.activeElement)) loadSources(); }, 5000);
})();
