/* The fleet at a glance, a page at a time, kept up to date without reloading. The server filters, sorts and
   cuts the page (GET /api/v1/panels, each row with what is on air); its event stream (GET /live/panels)
   sends the whole fleet's summary and only the panels changed since the last event, whose rows are redrawn
   in place; the page is asked again when a change may move panels in or out of it. The filters, search,
   sort and page live in the URL's query, so that a link or a reload opens the same view. */
"use strict";

(() => {
  const { t, api, el, number, when, panelState, sortable, onAirNow, onAirPicture, reportedNow } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const PAGE_SIZE = 50;
  const filters = document.getElementById("filters");
  const table = document.getElementById("fleet");
  const body = table.querySelector("tbody");
  const headers = [...table.querySelectorAll("thead th")].map(th => th.textContent);
  const sortKeys = [...table.querySelectorAll("th[data-key]")].map(th => th.dataset.key);
  const previous = document.getElementById("previous");
  const next = document.getElementById("next");
  let sortKey = "name";
  let direction = 1;
  let pageNumber = 1;
  let rows = [];  // the page's panels, as the API gave them, with what is on air
  let matching = null;  // how many panels the filters find
  let summary = null;  // the whole fleet's counts, from the event stream
  let round = 0;
  let pageTimer = null;
  let typingTimer = null;
  // The page is asked again when the first of its pages on air gives way; at least this often, at most
  // this seldom; and after a change at most this often.
  const ON_AIR_MIN_MS = 1000, ON_AIR_MAX_MS = 60000, CHANGES_MIN_MS = 1000;
  let asked = 0;
  const drawn = new Map();  // panel id → { text: its JSON, element: its row }

  /** Lower case without accents, as the server searches: « amberieu » finds Ambérieu-en-Bugey. */
  const folded = text => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

  function fromUrl() {
    const query = new URLSearchParams(location.search);
    filters.elements.q.value = query.get("q") || "";
    filters.elements.offline.checked = query.get("offline") === "1";
    filters.elements.commune.value = query.get("commune") || "";
    filters.elements.kind.value = query.get("kind") || "";
    if (sortKeys.includes(query.get("sort"))) {
      sortKey = query.get("sort");
      direction = query.get("dir") === "desc" ? -1 : 1;
      table.querySelector(`th[data-key="${sortKey}"]`).setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
    }
    pageNumber = Math.max(1, Number.parseInt(query.get("page"), 10) || 1);
  }

  function toUrl() {
    const query = new URLSearchParams();
    const search = filters.elements.q.value.trim();
    if (search) query.set("q", search);
    if (filters.elements.offline.checked) query.set("offline", "1");
    if (filters.elements.commune.value) query.set("commune", filters.elements.commune.value);
    if (filters.elements.kind.value) query.set("kind", filters.elements.kind.value);
    if (sortKey !== "name" || direction < 0) {
      query.set("sort", sortKey);
      query.set("dir", direction > 0 ? "asc" : "desc");
    }
    if (pageNumber > 1) query.set("page", pageNumber);
    const written = query.toString();
    history.replaceState(null, "", written ? `?${written}` : location.pathname);
  }

  /** The API's query for the page: the same filters, sort and page, the rows cut by the server. */
  function apiQuery() {
    const query = new URLSearchParams({ limit: PAGE_SIZE, offset: (pageNumber - 1) * PAGE_SIZE,
                                        sort: sortKey, dir: direction > 0 ? "asc" : "desc" });
    const search = filters.elements.q.value.trim();
    if (search) query.set("search", search);
    if (filters.elements.offline.checked) query.set("online", "0");
    if (filters.elements.commune.value) query.set("commune", filters.elements.commune.value);
    if (filters.elements.kind.value) query.set("kind", filters.elements.kind.value);
    return query.toString();
  }

  /** Whether a panel, as it is now, passes the filters: a changed one may come into the page or leave it. */
  function passes(panel) {
    const search = folded(filters.elements.q.value.trim());
    const commune = filters.elements.commune.value, kind = filters.elements.kind.value;
    return (!filters.elements.offline.checked || !panel.online) && (!commune || panel.commune.insee === commune)
      && (!kind || panel.kind === kind)
      && (!search || folded(panel.name).includes(search) || folded(panel.commune.name).includes(search));
  }

  /** The « on air » cell: the schedule's page and its picture, then what the panel itself reported. */
  function onAirCell(panel) {
    const screenshot = panel.has_screenshot
      ? el("img", { class: "shot", loading: "lazy", width: panel.width, height: panel.height,
                    src: `/api/v1/panels/${encodeURIComponent(panel.id)}/screenshot.png?h=${panel.showing.content_hash || ""}`,
                    alt: `${t("shows_now")} ${panel.showing.item_id || t("nothing")}` })
      : "";
    const reported = el("div", { class: "meta reported", title: panel.showing.item_id || "" }, screenshot, reportedNow(panel));
    if (panel.on_air === undefined) return el("div", {}, reported);
    return el("div", { class: "on-air" }, onAirPicture(panel, { loading: "lazy" }), ...onAirNow(panel), reported);
  }

  function row(panel) {
    const cells = [
      el("div", {}, el("a", { href: `/parc/${encodeURIComponent(panel.id)}` }, panel.name),
        el("div", { class: "meta" }, `${panel.commune.name} · ${panel.kind === "led" ? "LED" : "e-paper"} ${panel.width}×${panel.height}`)),
      el("div", {}, ...panelState(panel)),
      when(panel.last_seen),
      onAirCell(panel),
      panel.agent_version || "—",
      panel.faults.length ? el("span", { class: "field-error" }, panel.faults.join(" · ")) : page.no_fault,
      panel.brightness_now == null ? "—" : `${panel.brightness_now}${"\u00a0"}%`,
    ];
    return el("tr", { "data-panel": panel.id, "data-online": String(panel.online) },
      cells.map((cell, index) => el("td", { "data-label": headers[index] }, cell)));
  }

  /** The panel's row: the one drawn before when nothing of the panel changed (its pictures not fetched
      again), else a new one. Only the page's rows are kept. */
  function rowOf(panel) {
    const text = JSON.stringify(panel);
    const kept = drawn.get(panel.id);
    if (kept && kept.text === text) return kept.element;
    const element = row(panel);
    drawn.set(panel.id, { text, element });
    return element;
  }

  /** Over the whole fleet this user may see, whatever the filters: what a morning's look needs. */
  function drawSummary() {
    if (!summary) return;
    const text = summary.unknown ? page.summary_unknown : page.summary;
    document.getElementById("summary").textContent = text.replace(/\{(\w+)\}/g, (_, key) => number.format(summary[key]));
    if (matching !== null) {
      document.getElementById("counts").textContent = page.counts
        .replace("{shown}", number.format(matching)).replace("{total}", number.format(summary.total));
    }
  }

  function draw() {
    const pages = Math.max(1, Math.ceil(matching / PAGE_SIZE));
    const elements = rows.map(rowOf);
    [...drawn.keys()].filter(id => !rows.some(panel => panel.id === id)).forEach(id => drawn.delete(id));
    body.replaceChildren(...(rows.length ? elements : [el("tr", {}, el("td", { colspan: 7 }, page.no_panel))]));
    drawSummary();
    document.getElementById("page-number").textContent = page.page_number
      .replace("{page}", pageNumber).replace("{pages}", pages);
    document.getElementById("pager").hidden = pages === 1;
    previous.disabled = pageNumber <= 1;
    next.disabled = pageNumber >= pages;
    toUrl();
  }

  /** The page's rows from the server; asked again when the first of their pages on air gives way. */
  async function askPage() {
    clearTimeout(pageTimer);
    const mine = ++round;
    asked = Date.now();
    const answer = await api(`/panels?${apiQuery()}`);
    if (mine !== round) return;  // the view changed meanwhile: its own answer is coming
    let wait = ON_AIR_MAX_MS;
    if (answer.ok) {
      matching = answer.body.total;
      const pages = Math.max(1, Math.ceil(matching / PAGE_SIZE));
      if (pageNumber > pages) {  // fewer panels than when the page was chosen (a link, a reload)
        pageNumber = pages;
        askPage();
        return;
      }
      rows = answer.body.panels;
      const ends = rows.map(panel => panel.on_air && panel.on_air.until).filter(Boolean);
      // One second past the change: `until` is to the second, the change within it.
      if (ends.length) wait = Math.min(...ends.map(Date.parse)) + 1000 - Date.now();
      draw();
    }
    pageTimer = setTimeout(askPage, Math.min(Math.max(wait, ON_AIR_MIN_MS), ON_AIR_MAX_MS));
  }

  /** The page again soon, not more than once a second however fast the fleet changes. */
  function askPageSoon() {
    clearTimeout(pageTimer);
    pageTimer = setTimeout(askPage, Math.max(0, asked + CHANGES_MIN_MS - Date.now()));
  }

  /** Changed panels from the stream: their rows redrawn in place; the page asked again when one may move
      into it or out of it, or when what it puts on air may have changed. */
  function changed(panels) {
    let again = false;
    const last = rows[rows.length - 1];
    for (const panel of panels) {
      const index = rows.findIndex(shown => shown.id === panel.id);
      if (index < 0) {
        const within = rows.length < PAGE_SIZE || !last || sortKey !== "name"
          || (direction > 0 ? folded(panel.name) <= folded(last.name) : folded(panel.name) >= folded(last.name));
        again ||= passes(panel) && within;
        continue;
      }
      const before = rows[index];
      rows[index] = { ...panel, on_air: before.on_air };
      again ||= !passes(panel) || sortKey !== "name" || panel.desired_seq !== before.desired_seq;
      body.querySelector(`tr[data-panel="${CSS.escape(panel.id)}"]`)?.replaceWith(rowOf(rows[index]));
    }
    if (again) askPageSoon();
  }

  function turn(by) {
    pageNumber += by;
    askPage();
    table.scrollIntoView({ block: "start" });
  }

  function filtered() {
    pageNumber = 1;
    toUrl();
    askPage();
  }

  fromUrl();
  filters.addEventListener("input", event => {
    clearTimeout(typingTimer);
    if (event.target === filters.elements.q) typingTimer = setTimeout(filtered, 100);
    else filtered();
  });
  filters.addEventListener("submit", event => event.preventDefault());
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));
  sortable(table, (key, dir) => { sortKey = key; direction = dir; filtered(); });

  const live = document.getElementById("live");
  // From the version the page was drawn at: what changes while the page asks its rows is sent too.
  const source = new EventSource(`/live/panels?since=${encodeURIComponent(table.dataset.version)}`);
  source.onmessage = event => {
    const update = JSON.parse(event.data);
    live.textContent = t("live_ok");
    summary = update.summary;
    drawSummary();
    if (update.panels === null) askPageSoon();  // too many changed to be sent: the page is asked again
    else changed(update.panels);
  };
  source.onerror = () => { live.textContent = t("live_lost"); };
  askPage();
})();
