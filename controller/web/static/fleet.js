/* The fleet at a glance, kept up to date by the server's event stream (GET /live/panels), no reloading.
   A thousand panels are drawn a page at a time; the filters, search, sort and page live in the URL's
   query, so that a link or a reload opens the same view. What is on air is asked for the rows of the
   page only (GET /api/v1/panels?id=…), again each time one of their pages gives way. */
"use strict";

(() => {
  const { t, api, el, panelState, sortable, onAirNow, onAirPicture, reportedNow } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const PAGE_SIZE = 50;
  const filters = document.getElementById("filters");
  const table = document.getElementById("fleet");
  const body = table.querySelector("tbody");
  const headers = [...table.querySelectorAll("thead th")].map(th => th.textContent);
  const sortKeys = [...table.querySelectorAll("th[data-key]")].map(th => th.dataset.key);
  const previous = document.getElementById("previous");
  const next = document.getElementById("next");
  let panels = [];
  let sortKey = "name";
  let direction = 1;
  let pageNumber = 1;
  // What is on air on the rows of the page, by panel id, from the schedule the controller signed.
  const onAirById = new Map();
  let onAirAsked = "";
  let onAirRound = 0;
  let onAirTimer = null;
  // Asked again when the first of the page's pages gives way; at least this often, at most this seldom.
  const ON_AIR_MIN_MS = 1000, ON_AIR_MAX_MS = 60000;

  /** Lower case without accents, so that « amberieu » finds Ambérieu-en-Bugey. */
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

  function sortValue(panel) {
    const value = panel[sortKey];
    if (Array.isArray(value)) return value.length;
    if (typeof value === "boolean") return value ? 1 : 0;
    return value ?? "";
  }

  function shown() {
    const search = folded(filters.elements.q.value.trim());
    const offlineOnly = filters.elements.offline.checked;
    const commune = filters.elements.commune.value;
    const kind = filters.elements.kind.value;
    return panels
      .filter(p => (!offlineOnly || !p.online) && (!commune || p.commune.insee === commune) && (!kind || p.kind === kind)
        && (!search || folded(p.name).includes(search) || folded(p.commune.name).includes(search)))
      .sort((a, b) => {
        const x = sortValue(a), y = sortValue(b);
        return (x < y ? -1 : x > y ? 1 : 0) * direction || a.name.localeCompare(b.name);
      });
  }

  /** The « on air » cell: the schedule's page and its picture, then what the panel itself reported. */
  function onAirCell(panel) {
    const screenshot = panel.has_screenshot
      ? el("img", { class: "shot", loading: "lazy", width: panel.width, height: panel.height,
                    src: `/api/v1/panels/${encodeURIComponent(panel.id)}/screenshot.png?h=${panel.showing.content_hash || ""}`,
                    alt: `${t("shows_now")} ${panel.showing.item_id || t("nothing")}` })
      : "";
    const reported = el("div", { class: "meta reported", title: panel.showing.item_id || "" }, screenshot, reportedNow(panel));
    if (!onAirById.has(panel.id)) return el("div", {}, reported);
    const withOnAir = { ...panel, on_air: onAirById.get(panel.id) };
    return el("div", { class: "on-air" }, onAirPicture(withOnAir, { loading: "lazy" }), ...onAirNow(withOnAir), reported);
  }

  function row(panel) {
    const cells = [
      el("div", {}, el("a", { href: `/parc/${encodeURIComponent(panel.id)}` }, panel.name),
        el("div", { class: "meta" }, `${panel.commune.name} · ${panel.kind === "led" ? "LED" : "e-paper"} ${panel.width}×${panel.height}`)),
      el("div", {}, ...panelState(panel)),
      panel.last_seen_text || t("never"),
      onAirCell(panel),
      panel.agent_version || "—",
      panel.faults.length ? el("span", { class: "field-error" }, panel.faults.join(" · ")) : page.no_fault,
      panel.brightness_now == null ? "—" : `${panel.brightness_now}${"\u00a0"}%`,
    ];
    return el("tr", { "data-panel": panel.id, "data-online": String(panel.online) },
      cells.map((cell, index) => el("td", { "data-label": headers[index] }, cell)));
  }

  /** Over the whole fleet this user may see, whatever the filters: what a morning's look needs. */
  function summary() {
    const unknown = panels.filter(p => p.state_known === false).length;
    const known = panels.filter(p => p.state_known !== false);
    const counts = {
      total: panels.length, unknown,
      online: known.filter(p => p.online).length, offline: known.filter(p => !p.online).length,
      faulty: panels.filter(p => p.faults.length).length, late: panels.filter(p => !p.up_to_date).length,
    };
    const text = unknown ? page.summary_unknown : page.summary;
    return text.replace(/\{(\w+)\}/g, (_, key) => counts[key]);
  }

  function draw() {
    const list = shown();
    const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
    pageNumber = Math.min(pageNumber, pages);
    const rows = list.slice((pageNumber - 1) * PAGE_SIZE, pageNumber * PAGE_SIZE);
    if (rows.map(p => p.id).join("\n") !== onAirAsked) askOnAir(rows.map(p => p.id));
    body.replaceChildren(...(rows.length ? rows.map(row) : [el("tr", {}, el("td", { colspan: 7 }, page.no_panel))]));
    document.getElementById("summary").textContent = summary();
    document.getElementById("counts").textContent = page.counts
      .replace("{shown}", list.length).replace("{total}", panels.length);
    document.getElementById("page-number").textContent = page.page_number
      .replace("{page}", pageNumber).replace("{pages}", pages);
    document.getElementById("pager").hidden = pages === 1;
    previous.disabled = pageNumber <= 1;
    next.disabled = pageNumber >= pages;
    toUrl();
  }

  /** What is on air on these panels now; asked again when the first of their pages gives way. */
  async function askOnAir(ids) {
    clearTimeout(onAirTimer);
    onAirAsked = ids.join("\n");
    const round = ++onAirRound;
    if (!ids.length) return;
    const query = ids.map(id => `id=${encodeURIComponent(id)}`).join("&");
    const answer = await api(`/panels?limit=${PAGE_SIZE}&${query}`);
    if (round !== onAirRound) return;  // the page changed meanwhile: its own answer is coming
    let wait = ON_AIR_MAX_MS;
    if (answer.ok) {
      answer.body.panels.forEach(panel => onAirById.set(panel.id, panel.on_air));
      const ends = answer.body.panels.map(panel => panel.on_air && panel.on_air.until).filter(Boolean);
      // One second past the change: `until` is to the second, the change within it.
      if (ends.length) wait = Math.min(...ends.map(Date.parse)) + 1000 - Date.now();
      draw();
    }
    onAirTimer = setTimeout(() => askOnAir(ids), Math.min(Math.max(wait, ON_AIR_MIN_MS), ON_AIR_MAX_MS));
  }

  function turn(by) {
    pageNumber += by;
    draw();
    table.scrollIntoView({ block: "start" });
  }

  fromUrl();
  filters.addEventListener("input", () => { pageNumber = 1; draw(); });
  filters.addEventListener("submit", event => event.preventDefault());
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));
  sortable(table, (key, dir) => { sortKey = key; direction = dir; pageNumber = 1; draw(); });

  const live = document.getElementById("live");
  const source = new EventSource("/live/panels");
  source.onmessage = event => {
    panels = JSON.parse(event.data);
    live.textContent = t("live_ok");
    onAirAsked = "";  // a new schedule, say: what is on air is asked again
    draw();
  };
  source.onerror = () => { live.textContent = t("live_lost"); };
})();
