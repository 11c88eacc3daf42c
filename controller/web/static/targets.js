/* The target picker of the message and alert forms (templates/_targets.html): the department, communes,
   tags and panels a user may target, from /api/v1/targets, each list searchable and never longer than a
   screen, and what the choice reaches counted by the server as it changes. The page reads the choice in
   the API's fields with value(). */
"use strict";

const RelaisTargets = (() => {
  const FIELDS = ["departments", "communes", "tags", "panels"];
  const SHOWN = 12;  // boxes listed at once per kind besides the ticked ones; a search finds the others
  const SEARCH_FROM = 8;  // shorter lists need no search
  const KIND_ORDER = ["epaper", "led"];  // LED first, as a prefecture counts its panels; others after both

  /** Lower case without accents, as the server searches: « amberieu » finds « Ambérieu ». */
  function fold(text) { return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }

  /** The picker in `fieldset`; `ownPanelsTicked`: a new choice starts with all the user's panels, when
      they are few, else their commune; `onResolved(reach)` after each count. */
  function attach(fieldset, { ownPanelsTicked = false, onResolved = () => {} } = {}) {
    const { api, el, number } = Relais;
    const words = JSON.parse(document.getElementById("target-strings").textContent);
    const chosen = Object.fromEntries(FIELDS.map(field => [field, new Map()]));  // value → its option
    const options = Object.fromEntries(FIELDS.map(field => [field, []]));  // what each list may show
    let panelTotal = 0;  // how many panels the last search found
    const count = fieldset.querySelector(".target-count");
    let reach = null;
    let round = 0;
    let countTimer = null;
    let searchTimer = null;
    let searchRound = 0;

    const section = field => fieldset.querySelector(`[data-kind="${field}"]`);
    const plural = (key, n) => words[`${key}_${n === 1 ? "one" : "many"}`].replace("{count}", number.format(n));
    const countLabel = n => plural("panels", n);

    function option(field, value, label, detail, search) {
      return { field, value, label, detail, search: fold(`${label} ${value} ${search || ""}`) };
    }
    function panelOption(panel) {
      const size = `${words[panel.kind] || panel.kind} ${panel.width}×${panel.height}`;
      return option("panels", panel.id, panel.name, `${panel.commune.name} · ${size}`, panel.commune.name);
    }

    /** One kind's list: the ticked boxes first, then what the search finds, at most SHOWN of them. */
    function draw(field) {
      const box = section(field);
      const search = box.querySelector("input[type=search]");
      const wanted = search ? fold(search.value.trim()) : "";
      const ticked = [...chosen[field].values()];
      const found = options[field].filter(item => !chosen[field].has(item.value) && item.search.includes(wanted));
      const shown = field === "departments" ? found : found.slice(0, SHOWN);
      // Panels beyond the server's page are not here to count: its total tells how many more it found.
      const extra = found.length - shown.length + (field === "panels" ? panelTotal - options.panels.length : 0);
      const list = field === "departments" ? box : box.querySelector(".target-options");
      list.replaceChildren(...[...ticked, ...shown].map(item => el("label", { class: "target" },
        el("input", { type: "checkbox", name: field, value: item.value, checked: chosen[field].has(item.value),
                      onchange: event => tick(item, event.target.checked) }),
        el("span", {}, item.label, item.detail ? el("span", { class: "hint" }, ` ${item.detail}`) : null))));
      const more = box.querySelector(".target-more");
      if (more) more.textContent = extra > 0 ? words.more.replace("{count}", number.format(extra)) : "";
    }

    function tick(item, on) {
      if (on) chosen[item.field].set(item.value, item);
      else chosen[item.field].delete(item.value);
      recount();
    }

    /** Panels are found by the server, a page at a time: a department's thousand never reach the page. */
    async function findPanels() {
      if (!section("panels")) return;
      const search = section("panels").querySelector("input[type=search]").value.trim();
      const mine = ++searchRound;
      const answer = await api(`/targets/panels?limit=${SHOWN + 1}&search=${encodeURIComponent(search)}`);
      if (!answer.ok || mine !== searchRound) return;  // a newer search is on its way
      options.panels = answer.body.panels.map(panelOption);
      panelTotal = answer.body.total;
      draw("panels");
    }

    function recount() {
      clearTimeout(countTimer);
      countTimer = setTimeout(resolve, 250);
    }
    async function resolve() {
      const mine = ++round;
      const answer = isEmpty() ? null : await api("/targets/resolve", { method: "POST", body: value() });
      if (mine !== round) return;  // the choice changed meanwhile: a newer count is on its way
      count.classList.remove("error");
      if (!answer) {
        reach = { panels: 0, communes: 0, kinds: {}, profiles: [], named: [] };
        count.textContent = words.nothing;
      } else if (!answer.ok) {
        reach = null;
        count.classList.add("error");
        count.textContent = answer.body.error.message;
      } else {
        reach = answer.body;
        nameTickedPanels(reach.named);
        const kinds = Object.entries(reach.kinds).sort(([a], [b]) => KIND_ORDER.indexOf(b) - KIND_ORDER.indexOf(a))
          .map(([kind, n]) => `${number.format(n)} ${words[kind] || kind}`);
        count.textContent = `${countLabel(reach.panels)} ${plural("in_communes", reach.communes)}`
          + (kinds.length > 1 ? ` (${kinds.join(", ")})` : "");
      }
      onResolved(reach);
    }

    /** Panels restored from a message are known by id until the server names them. */
    function nameTickedPanels(named) {
      const unnamed = named.filter(panel => chosen.panels.get(panel.id)?.label === panel.id);
      unnamed.forEach(panel => chosen.panels.set(panel.id, panelOption(panel)));
      if (unnamed.length) draw("panels");
    }

    /** The choice in the API's fields, each a list (empty when nothing of that kind is ticked). */
    function value() {
      return Object.fromEntries(FIELDS.map(field => [field, [...chosen[field].keys()]]));
    }
    function isEmpty() { return FIELDS.every(field => !chosen[field].size); }

    /** Tick what a message or alert targets (its `targets` as the API shows them), nothing else. */
    function set(targets) {
      for (const field of FIELDS) {
        chosen[field].clear();
        for (const code of (targets && targets[field]) || []) {
          const known = options[field].find(item => item.value === code);
          chosen[field].set(code, known || option(field, code, code, "", ""));
        }
      }
      FIELDS.filter(section).forEach(draw);
      recount();
    }

    /** A new choice, every search emptied: nothing, or all the user's own panels: each one when they
     * are few, else their commune (one box, not a hundred). */
    async function reset() {
      fieldset.querySelectorAll("input[type=search]").forEach(search => { search.value = ""; });
      await findPanels();  // a page of them, unsearched
      const values = field => options[field].map(item => item.value);
      if (!ownPanelsTicked) set({});
      else set(panelTotal <= SHOWN ? { panels: values("panels") } : { communes: values("communes") });
    }

    /** One panel of each profile reached, to preview the draft on: [{id, name}]. */
    function previewPanels() {
      return (reach ? reach.profiles : []).map(profile => ({ id: profile.example.id,
        name: profile.panels > 1 ? words.same_model.replace("{name}", profile.example.name)
          .replace("{count}", number.format(profile.panels - 1)) : profile.example.name }));
    }

    function wire(field) {
      const box = section(field);
      const search = box.querySelector("input[type=search]");
      search.closest(".target-search").hidden = field === "panels" ? panelTotal <= SHOWN
        : options[field].length < SEARCH_FROM;
      // The search is no part of the message: the page's own listeners need not hear it.
      search.addEventListener("input", event => {
        event.stopPropagation();
        if (field !== "panels") { draw(field); return; }
        clearTimeout(searchTimer);
        searchTimer = setTimeout(findPanels, 100);
      });
      search.addEventListener("keydown", event => { if (event.key === "Enter") event.preventDefault(); });
      box.querySelector(".target-all").addEventListener("click", () => {
        box.querySelectorAll(".target-options input:not(:checked)").forEach(input => { input.click(); });
      });
      box.querySelector(".target-none").addEventListener("click", () => {
        chosen[field].clear();
        draw(field);
        recount();
        fieldset.dispatchEvent(new Event("change", { bubbles: true }));
      });
      box.hidden = !options[field].length;
      // « tout / aucun » for one box would be two more stops for the keyboard, for nothing.
      box.querySelector(".target-tools .actions").hidden = options[field].length < 2;
    }

    const ready = (async () => {
      const answer = await api("/targets");
      if (!answer.ok) return;
      const choices = answer.body;
      options.departments = choices.departments.map(d =>
        option("departments", d.code, words.department.replace("{code}", d.code), countLabel(d.panels)));
      options.communes = choices.communes.map(c =>
        option("communes", c.insee, `${c.name} (${c.insee})`, countLabel(c.panels)));
      options.tags = choices.tags.map(tag => option("tags", tag.name, tag.name, countLabel(tag.panels)));
      await reset();
      section("departments").hidden = !options.departments.length;
      ["communes", "tags", "panels"].filter(section).forEach(wire);
    })();

    // `ready`: the choices are in (a set() before it would be undone).
    return { ready, value, set, reset, previewPanels };
  }

  return { attach };
})();
