/* A panel's week: what it will show, day by day, from GET /api/v1/panels/<id>/timeline. */
"use strict";

const RelaisTimeline = (() => {
  const { t, api, el, day, time, parisIso } = Relais;

  /** Midnight in Paris, `offset` days from today, as an ISO string. */
  function parisMidnight(offset) {
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date());
    const [y, m, d] = today.split("-").map(Number);
    const date = new Date(Date.UTC(y, m - 1, d + offset));
    return parisIso(date.toISOString().slice(0, 10) + "T00:00");
  }

  function label(item) { return item.title || item.text || item.item_id || ""; }

  async function draw(panelId, area, strings) {
    const from = parisMidnight(0);
    const answer = await api(`/panels/${encodeURIComponent(panelId)}/timeline?from=${encodeURIComponent(from)}&days=7`);
    if (!answer.ok) {
      area.replaceChildren(el("p", { class: "hint" }, answer.body.error.message));
      return;
    }
    const rows = [];
    for (let index = 0; index < 7; index++) {
      const start = Date.parse(parisMidnight(index));
      const end = Date.parse(parisMidnight(index + 1));
      const segments = answer.body.segments
        .map(s => ({ ...s, from: Math.max(Date.parse(s.start), start), to: Math.min(Date.parse(s.end), end) }))
        .filter(s => s.to > s.from && s.items.length);
      const bar = el("div", { class: "bar", "aria-hidden": "true" }, segments.map(s => el("span", {
        class: "seg " + (s.items[0].priority || ""),
        style: { left: `${(100 * (s.from - start)) / (end - start)}%`, width: `${(100 * (s.to - s.from)) / (end - start)}%` },
        title: s.items.map(label).join(" / "),
      })));
      const list = el("ul", {}, segments.length
        ? segments.map(s => el("li", {}, `${s.from === start && s.to === end ? t("all_day")
            : `${time(new Date(s.from).toISOString())} – ${time(new Date(s.to).toISOString())}`} : ${s.items.map(label).join(" / ")}`))
        : el("li", {}, strings.no_segment));
      rows.push(el("div", { class: "day" }, day(new Date(start).toISOString())), bar, list);
    }
    area.replaceChildren(el("div", { class: "timeline" }, rows));
  }

  /** Fill the panel chooser and draw the chosen panel's week, again on each change; answers a function
      that draws it again (after a message changed). */
  function attach(select, area, panels, strings) {
    select.replaceChildren(...panels.map(panel => el("option", { value: panel.id }, panel.name)));
    const redraw = () => { if (select.value) draw(select.value, area, strings); };
    select.addEventListener("change", redraw);
    redraw();
    return redraw;
  }

  return { attach };
})();
