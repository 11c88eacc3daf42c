/* Relais: what every page's script shares. Pages act through /api/v1 with the session cookie and the
   page's CSRF token; the server checks every permission again. No build step: plain modern JavaScript. */
"use strict";

const Relais = (() => {
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const actorNode = document.getElementById("actor");
  const actor = actorNode ? JSON.parse(actorNode.textContent) : null;
  const lang = document.documentElement.lang === "en" ? "en" : "fr";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // Counts as the page's language writes them: « 1 000 panneaux », "1,000 panels".
  const number = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR");

  /** A translated string, with {name} placeholders filled in. */
  function t(key, values = {}) {
    return (strings[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  /** Call the API; answers {ok, status, body, response}. A lost session sends the user to the login page. */
  async function api(path, { method = "GET", body, raw = false } = {}) {
    // The API's errors come back in the page's language.
    const headers = { "X-CSRFToken": csrf, "Accept": "application/json", "Accept-Language": lang };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch("/api/v1" + path, { method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      return { ok: false, status: 0, body: { error: { code: "network", message: t("network") } } };
    }
    if (response.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    if (raw) return { ok: response.ok, status: response.status, response };
    const type = response.headers.get("Content-Type") || "";
    const parsed = type.includes("json") ? await response.json() : null;
    return { ok: response.ok, status: response.status, body: parsed, response };
  }

  /** document.createElement with attributes and children (strings become text, never HTML); `style` is
      an object of properties, set one by one: the Content-Security-Policy refuses style attributes. */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "style") Object.assign(node.style, value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, value);
    }
    node.append(...children.flat().filter(child => child !== null && child !== undefined && child !== false));
    return node;
  }

  // Dates: the same rules as controller/dates.py (« lundi 21 décembre 2026, 18 h »), in Paris time.
  const NBSP = "\u00a0";
  const DAYS = { fr: ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
                 en: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] };
  const MONTHS = { fr: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                        "octobre", "novembre", "décembre"],
                   en: ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                        "October", "November", "December"] };
  const parisParts = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", hourCycle: "h23",
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
  const WEEKDAY_INDEX = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

  function paris(date) {
    const parts = Object.fromEntries(parisParts.formatToParts(date).map(part => [part.type, part.value]));
    return { year: +parts.year, month: +parts.month, day: +parts.day, hour: +parts.hour % 24,
             minute: +parts.minute, weekday: WEEKDAY_INDEX[parts.weekday] };
  }
  function day(iso) {
    if (!iso) return "";
    const p = paris(new Date(iso));
    const dayNumber = lang === "fr" && p.day === 1 ? "1er" : String(p.day);
    return `${DAYS[lang][p.weekday]} ${dayNumber} ${MONTHS[lang][p.month - 1]} ${p.year}`;
  }
  function time(iso) {
    const p = paris(new Date(iso));
    if (lang === "fr") return `${p.hour}${NBSP}h` + (p.minute ? `${NBSP}${String(p.minute).padStart(2, "0")}` : "");
    const hour = p.hour % 12 || 12;
    return `${hour}` + (p.minute ? `.${String(p.minute).padStart(2, "0")}` : "") + `${NBSP}${p.hour < 12 ? "am" : "pm"}`;
  }
  function when(iso) { return iso ? `${day(iso)}, ${time(iso)}` : t("never"); }

  /** A wall-clock "07:30" as people say it: « 7 h 30 », "7.30 am"; anything else as written. */
  function clock(text) {
    const match = /^(\d{1,2})[:h](\d{2})$/.exec(text.trim());
    if (!match) return text.trim();
    const [hour, minute] = [Number(match[1]), Number(match[2])];
    if (lang === "fr") return `${hour}${NBSP}h` + (minute ? `${NBSP}${match[2]}` : "");
    return `${hour % 12 || 12}` + (minute ? `.${match[2]}` : "") + `${NBSP}${hour < 12 || hour === 24 ? "am" : "pm"}`;
  }

  /** When a message runs, in words: its dates, its hours (recurrence windows) and its days. */
  function runs(message) {
    const dates = message.ends_at
      ? t("runs_between", { start: when(message.starts_at), end: when(message.ends_at) })
      : t("runs_from", { start: when(message.starts_at) });
    const recurrence = message.recurrence || {};
    const windows = (recurrence.windows || []).map(window => {
      const [start, end] = window.split("-");
      return end === undefined ? window : t("runs_hours", { start: clock(start), end: clock(end) });
    });
    const days = [...new Set((recurrence.weekdays || []).map(d => typeof d === "number" ? d : DAYS.fr.indexOf(d)))]
      .filter(d => d >= 0).sort();
    const dayText = !days.length || days.length === 7 ? t("every_day") : days.map(d => DAYS[lang][d]).join(", ");
    return [dates, windows.length ? windows.join(t("and")) : t("all_day"), dayText].join(" · ");
  }

  /** What a panel shows, in words: a message's title, « Alerte : … », « Commune (repli) »; its item id when
      the controller does not know the item, « rien » when nothing is shown. */
  function onAir(showing) {
    if (!showing || !showing.item_id) return t("nothing");
    const label = showing.label;
    if (!label) return showing.item_id;
    if (label.kind === "alert") return t("alert_label", { text: label.text });
    if (label.kind === "fallback") return t("fallback_label", { text: label.text });
    return label.text;
  }

  /** A datetime-local value ("2026-12-21T18:00"), read as Paris time, as ISO 8601 with its offset. */
  function parisIso(value) {
    if (!value) return null;
    const [date, clock] = value.split("T");
    const [y, m, d] = date.split("-").map(Number);
    const [hh, mm] = clock.split(":").map(Number);
    const wall = Date.UTC(y, m - 1, d, hh, mm);
    let instant = wall;
    for (let i = 0; i < 2; i++) {  // the offset at the guess, then at the corrected instant (DST edges)
      const p = paris(new Date(instant));
      instant = wall - (Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - instant);
    }
    const offset = Math.round((wall - instant) / 60000);
    const sign = offset >= 0 ? "+" : "-";
    const abs = Math.abs(offset);
    return `${date}T${clock.slice(0, 5)}:00${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }
  /** The reverse: an ISO instant as a datetime-local value in Paris time. */
  function parisLocal(iso) {
    if (!iso) return "";
    const p = paris(new Date(iso));
    const two = n => String(n).padStart(2, "0");
    return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
  }

  /** A field no longer marked invalid, described again by its own hint only. */
  function unmark(node) {
    node.removeAttribute("aria-invalid");
    if (node.dataset.hint) node.setAttribute("aria-describedby", node.dataset.hint);
    else node.removeAttribute("aria-describedby");
    delete node.dataset.hint;
  }

  /** Forget the errors shown on a form. */
  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(node => node.remove());
    form.querySelectorAll('[aria-invalid="true"]').forEach(unmark);
    const status = form.querySelector(".status");
    if (status) { status.textContent = ""; status.className = "status"; }
  }

  /** The API's error next to the field it names (keeping what the user typed), or in the form's status line;
      the field's error goes as soon as the user changes that field. */
  function showError(form, body) {
    const error = (body && body.error) || { message: t("network") };
    const field = error.field || "";
    const target = field && (form.querySelector(`[data-field="${field}"]`) ||
      form.querySelector(`[name="${field}"]`) || form.querySelector(`[data-field="${field.split(".")[0]}"]`) ||
      form.querySelector(`[name="${field.split(".")[0]}"]`));
    if (target) {
      const id = "error-" + field.replace(/\W/g, "-");
      const message = el("span", { class: "field-error", id, role: "alert" }, error.message);
      const hint = target.dataset.hint ?? (target.getAttribute("aria-describedby") || "");
      target.dataset.hint = hint;
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", [hint, id].filter(Boolean).join(" "));
      (target.closest(".field") || target).append(message);
      const forget = () => {
        if (message.isConnected) { message.remove(); unmark(target); }
        target.removeEventListener("input", forget);
        target.removeEventListener("change", forget);
      };
      target.addEventListener("input", forget);
      target.addEventListener("change", forget);
      if (target.focus) target.focus();
    } else {
      status(form, `${t("refused")} ${error.message}`, "error");
    }
  }

  function status(form, text, kind = "ok") {
    const line = form.querySelector(".status");
    if (line) { line.textContent = text; line.className = "status " + kind; }
  }

  function badge(kind, text) { return el("span", { class: "badge " + kind }, text); }

  /** A panel's online badge and whether it is up to date; while the controller is cut off from its
   *  broker nobody can know, so the badge says so and keeps the last known state as its title. */
  function panelState(panel) {
    const online = panel.online ? t("online") : t("offline");
    const shown = panel.state_known === false
      ? el("span", { class: "badge unknown", title: `${t("last_known")} ${online}` }, t("state_unknown"))
      : badge(panel.online ? "online" : "offline", online);
    return [shown, panel.up_to_date ? "" : [" ", badge("late", t("update_pending"))]];
  }

  const secondsClock = new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB",
    { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit", second: "2-digit" });

  /** What the schedule the controller signed puts on the panel now, in words: the item, « page 2 sur 3 »,
      until when (to the second: pages turn in seconds), said to come from the schedule; then what the panel
      reported instead where that matters (it has not applied this schedule, a technician's command is up). */
  function onAirNow(panel) {
    const air = panel.on_air;
    if (!air) return [el("div", { class: "hint" }, t("on_air_none"))];
    const parts = [air.item ? onAir({ item_id: air.item, label: air.label }) : t("on_air_blank")];
    if (air.item && air.pages > 1) parts.push(t("on_air_page", { page: air.page, pages: air.pages }));
    if (air.until) parts.push(t("on_air_until", { time: secondsClock.format(new Date(air.until)) }));
    const lines = [el("div", { class: "on-air-now" }, parts.join(" · ")), el("div", { class: "meta" }, t("on_air_source"))];
    const reported = air.reported;
    if (reported && reported.reason === "behind") {
      lines.push(el("div", { class: "on-air-differs" }, t("on_air_behind")));
    } else if (reported && reported.reason === "command") {
      lines.push(el("div", { class: "on-air-differs" }, t("on_air_command",
        { command: t(`override_${reported.command}`), time: secondsClock.format(new Date(reported.until)) })));
    }
    return lines;
  }

  /** The picture of the page on air, drawn by the controller from the frame it signed; null when blank. */
  function onAirPicture(panel, attributes = {}) {
    const air = panel.on_air;
    if (!air || !air.frame) return null;
    return el("img", { class: "frame", width: panel.width, height: panel.height, ...attributes,
      src: `/api/v1/panels/${encodeURIComponent(panel.id)}/on-air.png?frame=${encodeURIComponent(air.frame)}`,
      alt: `${t("on_air_alt")} ${onAir({ item_id: air.item, label: air.label })}` });
  }

  /** What the panel itself last said it shows, and when it said so. */
  function reportedNow(panel) {
    if (!panel.showing.reported_at) return t("reported_never");
    return t("reported_at", { when: when(panel.showing.reported_at), what: onAir(panel.showing) });
  }

  /** Sortable table headers: a button in each <th data-key>, aria-sort tells which and how. */
  function sortable(table, onChange) {
    table.querySelectorAll("th[data-key]").forEach(th => {
      const button = el("button", { type: "button", class: "sort" }, th.textContent);
      th.replaceChildren(button);
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(other => other.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        onChange(th.dataset.key, ascending ? 1 : -1);
      });
    });
  }

  /** The navigation's count of official alerts waiting for a decision, for those who may take it: on
      every page, asked again every few seconds, so that a new one shows without reloading. */
  const pendingOfficial = document.getElementById("official-pending");
  async function countPendingOfficial() {
    if (!pendingOfficial) return;
    const answer = await api("/official-alerts?status=pending&limit=1");
    if (!answer.ok) return;
    const n = answer.body.total;
    pendingOfficial.hidden = !n;
    pendingOfficial.querySelector(".badge").textContent = String(n);
    pendingOfficial.querySelector(".visually-hidden").textContent = pendingOfficial.dataset.label.replace("{n}", n);
  }
  if (pendingOfficial) setInterval(countPendingOfficial, 5000);

  /** A table row's cells, each labelled with its column's heading (the stacked tables of a phone show it). */
  function cells(table, values) {
    const names = [...document.querySelectorAll(`#${table} thead th`)].map(th => th.textContent);
    return values.map((value, index) => el("td", { "data-label": names[index] }, value));
  }

  return { t, api, el, cells, number, when, countPendingOfficial, day, time, onAir, onAirNow, onAirPicture, reportedNow, runs, parisIso, parisLocal, clearErrors, showError, status, badge, panelState,
           sortable, actor, lang };
})();
