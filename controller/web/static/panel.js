/* One panel: what is on air now by the schedule the controller signed and what the panel itself reported,
   its history, its week, and commands with whether the panel acknowledged them. Asked again every 2 s, so
   the page and item on air follow the rotation. */
"use strict";

(() => {
  const { t, api, el, when, onAir, onAirNow, onAirPicture, reportedNow, badge, panelState, clearErrors, showError, status } = Relais;
  const page = JSON.parse(document.getElementById("page-strings").textContent);
  const id = page.panel.id;
  const path = `/panels/${encodeURIComponent(id)}`;
  const form = document.getElementById("command-form");
  // Commands whose duration is the « Durée (secondes) » field.
  const TIMED = new Set(["blank", "identify", "test_pattern"]);
  let lastPanel = page.panel;

  function drawNow(panel) {
    const state = document.getElementById("state");
    state.replaceChildren(...panelState(panel));
    const picture = onAirPicture(panel, { class: "screen" });
    const holder = document.getElementById("on-air-picture");
    const up = holder.querySelector("img");
    if (!picture) holder.replaceChildren();
    else if (!up || up.getAttribute("src") !== picture.getAttribute("src")) holder.replaceChildren(picture);
    document.getElementById("on-air").replaceChildren(...onAirNow(panel));
    document.getElementById("reported").textContent = reportedNow(panel);
    const screen = document.getElementById("screen");
    if (panel.has_screenshot) {
      const src = `/api/v1${path}/screenshot.png?h=${panel.showing.content_hash || ""}&at=${panel.last_seen || ""}`;
      if (screen.getAttribute("src") !== src) screen.src = src;
      screen.alt = `${t("shows_now")} ${onAir(panel.showing)}`;
      screen.hidden = false;
    }
    const facts = [[page.last_seen, when(panel.last_seen)], [page.version, panel.agent_version || "—"],
      [page.brightness, panel.brightness_now == null ? "—" : `${panel.brightness_now}\u00a0%`],
      [page.faults, panel.faults.length ? panel.faults.join(" · ") : "—"]];
    document.getElementById("facts").replaceChildren(...facts.map(([term, value]) => el("div", {}, el("dt", {}, term), el("dd", {}, value))));
  }

  function ackCell(command) {
    if (!command.acked_at) return badge("pending", t("waiting_ack"));
    return command.result.ok
      ? [badge("ok", t("acknowledged")), " ", when(command.acked_at)]
      : [badge("failed", t("failed")), " ", command.result.reason || ""];
  }

  function drawCommands(list) {
    const body = document.querySelector("#commands tbody");
    const headers = [...document.querySelectorAll("#commands thead th")].map(th => th.textContent);
    const rows = list.map(command => el("tr", { "data-seq": command.seq }, [
      [page.commands[command.command] || command.command,
        ...Object.entries(command.args).map(([k, v]) => ` · ${page.args[k] || k} ${v}`)].join(""),
      [when(command.sent_at), " ", el("span", { class: "meta" }, page.sent_by.replace("{who}", command.sent_by))],
      ackCell(command),
    ].map((cell, index) => el("td", { "data-label": headers[index] }, cell))));
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 3 }, t("none")))]));
  }

  /** An event's details in words: the item by its label, times as dates, content hashes cut short. */
  function detailsText(event) {
    const details = { ...(event.details || {}) };
    if (details.item_id) {
      details.item_id = onAir({ item_id: details.item_id, label: event.label });
      delete details.content_hash;
    }
    return Object.entries(details).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => {
      let value = v;
      if (typeof v === "number" && (k === "at" || k.endsWith("_at"))) value = when(new Date(v * 1000).toISOString());
      else if (k.endsWith("hash") && typeof v === "string") value = v.replace(/^sha256:/, "").slice(0, 8);
      else if (typeof v === "object") value = JSON.stringify(v);
      return `${page.details[k] || k}${Relais.lang === "fr" ? "\u00a0:" : ":"} ${value}`;
    }).join(" · ");
  }

  function drawHistory(events) {
    const body = document.querySelector("#history tbody");
    const headers = [...document.querySelectorAll("#history thead th")].map(th => th.textContent);
    body.replaceChildren(...events.map(event => el("tr", {}, [
      when(event.at), page.events[event.event] || event.event,
      detailsText(event),
    ].map((cell, index) => el("td", { "data-label": headers[index] }, cell)))));
  }

  async function refresh() {
    const [panel, history, commands] = await Promise.all([api(path), api(`${path}/history?limit=50`),
      form ? api(`${path}/commands?limit=50`) : Promise.resolve(null)]);
    if (!panel.ok || !history.ok) return;
    lastPanel = panel.body;
    drawNow(panel.body);
    drawHistory(history.body.history);
    if (commands && commands.ok) drawCommands(commands.body.commands);
  }

  if (form) {
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(form);
      const command = event.submitter.value;
      const args = {};
      if (command === "brightness") args.level = Number(form.elements["args.level"].value);
      if (TIMED.has(command)) args.seconds = Number(form.elements["args.seconds"].value);
      if (command === "test_pattern") args.pattern = form.elements["args.pattern"].value;
      const answer = await api(`${path}/commands`, { method: "POST", body: { command, args } });
      if (!answer.ok) { showError(form, answer.body); return; }
      // An offline panel gets it when it comes back: say so, rather than a bare « envoyée ».
      const sent = lastPanel.online ? page.command_sent : page.command_waits;
      status(form, sent.replace("{command}", page.commands[command] || command).replace("{seq}", answer.body.seq), lastPanel.online ? "ok" : "warning");
      refresh();
    });
  }
  RelaisTimeline.attach(document.getElementById("week-panel"), document.getElementById("week"), [page.panel], page);
  refresh();
  setInterval(refresh, 2000);
})();
