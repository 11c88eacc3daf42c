/* The fleet at a glance, kept up to date by the server's event stream (GET /live/panels), no reloading. */
"use strict";

(() => {
  const { t, el, panelState, sortable } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const filters = document.getElementById("filters");
  const body = document.querySelector("#fleet tbody");
  const headers = [...document.querySelectorAll("#fleet thead th")].map(th => th.textContent);
  let panels = [];
  let sortKey = "name";
  let direction = 1;

  function sortValue(panel) {
    const value = panel[sortKey];
    if (Array.isArray(value)) return value.length;
    if (typeof value === "boolean") return value ? 1 : 0;
    return value ?? "";
  }

  function shown() {
    const offlineOnly = filters.elements.offline.checked;
    const commune = filters.elements.commune.value;
    const kind = filters.elements.kind.value;
    return panels
      .filter(p => (!offlineOnly || !p.online) && (!commune || p.commune.insee === commune) && (!kind || p.kind === kind))
      .sort((a, b) => {
        const x = sortValue(a), y = sortValue(b);
        return (x < y ? -1 : x > y ? 1 : 0) * direction || a.name.localeCompare(b.name);
      });
  }

  function row(panel) {
    const screenshot = panel.has_screenshot
      ? el("img", { class: "shot", src: `/api/v1/panels/${encodeURIComponent(panel.id)}/screenshot.png?h=${panel.showing.content_hash || ""}`,
                    alt: `${t("shows_now")} ${panel.showing.item_id || t("nothing")}` })
      : el("span", { class: "hint" }, t("nothing"));
    const cells = [
      el("div", {}, el("a", { href: `/parc/${encodeURIComponent(panel.id)}` }, panel.name),
        el("div", { class: "meta" }, `${panel.commune.name} · ${panel.kind === "led" ? "LED" : "e-paper"} ${panel.width}×${panel.height}`)),
      el("div", {}, ...panelState(panel)),
      panel.last_seen_text || t("never"),
      el("div", {}, screenshot, el("div", { class: "meta on-air", title: panel.showing.item_id || "" }, Relais.onAir(panel.showing))),
      panel.agent_version || "—",
      panel.faults.length ? el("span", { class: "field-error" }, panel.faults.join(" · ")) : page.no_fault,
      panel.brightness_now == null ? "—" : `${panel.brightness_now}${"\u00a0"}%`,
    ];
    return el("tr", { "data-panel": panel.id, "data-online": String(panel.online) },
      cells.map((cell, index) => el("td", { "data-label": headers[index] }, cell)));
  }

  function draw() {
    const list = shown();
    body.replaceChildren(...(list.length ? list.map(row) : [el("tr", {}, el("td", { colspan: 7 }, page.no_panel))]));
    document.getElementById("counts").textContent = page.counts
      .replace("{shown}", list.length).replace("{total}", panels.length)
      .replace("{offline}", panels.filter(p => !p.online).length);
  }

  filters.addEventListener("change", draw);
  filters.addEventListener("submit", event => event.preventDefault());
  sortable(document.getElementById("fleet"), (key, dir) => { sortKey = key; direction = dir; draw(); });

  const live = document.getElementById("live");
  const source = new EventSource("/live/panels");
  source.onmessage = event => {
    panels = JSON.parse(event.data);
    live.textContent = t("live_ok");
    draw();
  };
  source.onerror = () => { live.textContent = t("live_lost"); };
})();
