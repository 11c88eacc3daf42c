/* Administration pages: users and organisations, one's own API tokens, the audit log (read only). */
"use strict";

(() => {
  const { t, api, el, cells, when, parisIso, clearErrors, showError, status, badge } = Relais;
  const pageNode = document.getElementById("page-strings");
  const page = pageNode ? JSON.parse(pageNode.textContent) : {};
  const empty = (table, columns, answer) => el("tr", {}, el("td", { colspan: columns },
    answer.ok ? t("none") : answer.body.error.message));

  // Users and organisations.
  const userForm = document.getElementById("user-form");
  if (userForm) {
    const line = document.getElementById("users-status");
    const patchUser = async (user, change) => {
      const answer = await api(`/users/${user.id}`, { method: "PATCH", body: change });
      line.className = "status " + (answer.ok ? "ok" : "error");
      line.textContent = answer.ok ? t("saved") : `${t("refused")} ${answer.body.error.message}`;
      loadUsers();
    };
    const loadUsers = async () => {
      const answer = await api("/users?limit=200");
      const rows = answer.ok ? answer.body.users.map(user => el("tr", { "data-user": user.name }, cells("users", [
        user.name, page.roles[user.role] || user.role, user.commune ? `${user.commune_name || user.commune} (${user.commune})` : "—",
        user.organisation_name || user.organisation || "—",
        user.disabled ? badge("cancelled", page.disabled) : badge("ok", page.active),
        el("button", { type: "button", class: "secondary", onclick: () => {
          // Disabling revokes the user's tokens for good: only after the administrator said yes.
          if (!user.disabled && !confirm(page.confirm_disable.replace("{name}", user.name))) return;
          patchUser(user, { disabled: !user.disabled });
        } },
          user.disabled ? t("enable") : t("disable")),
      ]))) : [];
      if (answer.ok) rows.forEach((row, index) => row.lastChild.append(" ", editButton(answer.body.users[index])));
      document.querySelector("#users tbody").replaceChildren(...(rows.length ? rows : [empty("users", 6, answer)]));
    };
    // One user's role and password, edited in a section under the list; a generated password is shown once.
    const editSection = document.getElementById("user-edit");
    const editTitle = document.getElementById("edit-title");
    const roleForm = document.getElementById("role-form");
    const passwordForm = document.getElementById("password-form");
    const generated = document.getElementById("generated-password");
    let editing = null;
    const forgetGenerated = () => { generated.hidden = true; generated.replaceChildren(); };
    const openEdit = user => {
      editing = user;
      for (const form of [roleForm, passwordForm]) { clearErrors(form); form.reset(); }
      forgetGenerated();
      roleForm.elements.role.value = user.role;
      roleForm.elements.commune.value = user.commune || "";
      editTitle.textContent = page.edit_title.replace("{name}", user.name);
      editSection.hidden = false;
      editTitle.focus();
    };
    const editButton = user => el("button", { type: "button", class: "secondary",
      "aria-label": `${page.edit} ${user.name}`, onclick: () => openEdit(user) }, page.edit);
    /** PATCH the user being edited; the API's error beside its field, the last administrator's refusal in words. */
    const sendChange = async (form, change) => {
      const answer = await api(`/users/${editing.id}`, { method: "PATCH", body: change });
      if (!answer.ok) {
        showError(form, answer.status === 409 ? { error: { ...answer.body.error, message: page.last_admin } } : answer.body);
      }
      return answer;
    };
    roleForm.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(roleForm);
      const commune = roleForm.elements.commune.value.trim();
      // An empty commune is sent as none: the roles that cover every commune refuse one.
      const answer = await sendChange(roleForm, { role: roleForm.elements.role.value, commune: commune || null });
      if (!answer.ok) return;
      status(roleForm, page.role_changed.replace("{name}", editing.name));
      editing = answer.body;
      loadUsers();
    });
    passwordForm.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(passwordForm);
      forgetGenerated();
      const [password, again] = ["password", "password_again"].map(name => passwordForm.elements[name].value);
      if (!password) { showError(passwordForm, { error: { field: "password", message: page.password_missing } }); return; }
      if (password !== again) { showError(passwordForm, { error: { field: "password_again", message: page.passwords_differ } }); return; }
      if (!(await sendChange(passwordForm, { password })).ok) return;
      passwordForm.reset();
      status(passwordForm, page.password_set.replace("{name}", editing.name));
    });
    document.getElementById("generate-password").addEventListener("click", async () => {
      clearErrors(passwordForm);
      forgetGenerated();
      const bytes = crypto.getRandomValues(new Uint8Array(15));
      const password = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
      if (!(await sendChange(passwordForm, { password })).ok) return;
      passwordForm.reset();
      status(passwordForm, page.password_set.replace("{name}", editing.name));
      generated.replaceChildren(page.password_once.replace("{name}", editing.name), el("br"), el("code", {}, password));
      generated.hidden = false;
    });
    document.getElementById("edit-close").addEventListener("click", () => {
      forgetGenerated();
      editSection.hidden = true;
      editing = null;
    });
    const loadOrganisations = async () => {
      const answer = await api("/organisations?limit=200");
      const toggle = (org, key) => el("label", {}, el("input", { type: "checkbox", checked: org[key],
        "aria-label": `${org.name} · ${page[key]} : ${page.needs_approval}`,
        onchange: async event => {
          const result = await api(`/organisations/${org.id}`, { method: "PATCH", body: { [key]: event.target.checked } });
          const orgLine = document.getElementById("orgs-status");
          orgLine.className = "status " + (result.ok ? "ok" : "error");
          orgLine.textContent = result.ok ? t("saved") : `${t("refused")} ${result.body.error.message}`;
        } }), ` ${page.needs_approval}`);
      const rows = answer.ok ? answer.body.organisations.map(org => el("tr", {}, cells("organisations", [
        org.name, toggle(org, "messages_need_approval"), toggle(org, "alerts_need_approval")]))) : [];
      document.querySelector("#organisations tbody").replaceChildren(...(rows.length ? rows : [empty("organisations", 3, answer)]));
    };
    userForm.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(userForm);
      const value = name => userForm.elements[name].value.trim();
      // A field left empty is not sent: no commune, the default organisation, a token-only account.
      const body = Object.fromEntries(["name", "role", "commune", "organisation", "password"]
        .map(name => [name, value(name)]).filter(([, given]) => given));
      const answer = await api("/users", { method: "POST", body });
      if (!answer.ok) { showError(userForm, answer.body); return; }
      status(userForm, page.created.replace("{name}", value("name")));
      userForm.reset();
      loadUsers();
      loadOrganisations();  // a commune's first user makes its organisation
    });
    loadUsers();
    loadOrganisations();
  }

  // Own API tokens: the secret is shown once, right after creation.
  const tokenForm = document.getElementById("token-form");
  if (tokenForm) {
    const loadTokens = async () => {
      const answer = await api("/tokens?limit=200");
      const rows = answer.ok ? answer.body.tokens.filter(token => !token.revoked_at).map(token => el("tr", {}, cells("tokens", [
        token.label || `#${token.id}`, when(token.created_at), token.last_used_at ? when(token.last_used_at) : t("never"),
        el("button", { type: "button", class: "danger", onclick: async () => {
          const result = await api(`/tokens/${token.id}`, { method: "DELETE" });
          if (!result.ok) status(tokenForm, `${t("refused")} ${result.body.error.message}`, "error");
          loadTokens();
        } }, t("revoke")),
      ]))) : [];
      document.querySelector("#tokens tbody").replaceChildren(...(rows.length ? rows : [empty("tokens", 4, answer)]));
    };
    tokenForm.addEventListener("submit", async event => {
      event.preventDefault();
      clearErrors(tokenForm);
      const answer = await api("/tokens", { method: "POST", body: { label: tokenForm.elements.label.value.trim() } });
      if (!answer.ok) { showError(tokenForm, answer.body); return; }
      const secret = document.getElementById("secret");
      secret.replaceChildren(t("token_once"), el("br"), el("code", {}, answer.body.token));
      secret.hidden = false;
      loadTokens();
    });
    loadTokens();
  }

  // The audit log, filtered; the CSV link carries the same filters.
  const auditForm = document.getElementById("audit-form");
  if (auditForm) {
    const shown = value => (typeof value === "string" ? value : JSON.stringify(value));
    /** What changed, field by field (a creation shows what was made), the whole object a click away. */
    const change = (before, after) => {
      const object = after || before;
      if (!object) return "";
      const keys = Object.keys(object).filter(key => !before || !after || shown(before[key]) !== shown(after[key]));
      const lines = keys.map(key => el("li", {}, el("code", {}, key), " : ",
        before && after ? `${shown(before[key])} → ${shown(after[key])}` : shown(object[key])));
      return el("details", {}, el("summary", {}, page[!before ? "created" : !after ? "removed" : "changed"]
        .replace("{count}", keys.length)), el("ul", { class: "changes" }, lines));
    };
    /** « utilisateur agnes.martin (8) »: the object's kind in words and its name where it has one. */
    const object = entry => {
      const kind = page.kinds[entry.object_type] || entry.object_type;
      if (entry.object_id === null) return kind;
      return entry.object_name ? `${kind} ${entry.object_name} (${entry.object_id})` : `${kind} ${entry.object_id}`;
    };
    const query = () => {
      const params = new URLSearchParams();
      for (const name of ["user", "action", "object_type"]) {
        if (auditForm.elements[name].value.trim()) params.set(name, auditForm.elements[name].value.trim());
      }
      for (const name of ["since", "until"]) {
        const iso = parisIso(auditForm.elements[name].value);
        if (iso) params.set(name, iso);
      }
      return params;
    };
    // The export follows the filters as they stand on screen, « Filtrer » clicked or not.
    const csvLink = document.getElementById("csv");
    const followFilters = () => { csvLink.href = `/api/v1/audit?${query()}&format=csv`; };
    auditForm.addEventListener("input", followFilters);
    auditForm.addEventListener("change", followFilters);
    const loadAudit = async () => {
      clearErrors(auditForm);
      const params = query();
      followFilters();
      params.set("limit", "200");
      const answer = await api(`/audit?${params}`);
      if (!answer.ok) showError(auditForm, answer.body);
      const rows = answer.ok ? answer.body.entries.map(entry => el("tr", { "data-entry": entry.id }, cells("audit", [
        when(entry.at), entry.user || "", entry.action, object(entry),
        change(entry.before, entry.after)]))) : [];
      document.querySelector("#audit tbody").replaceChildren(...(rows.length ? rows : [empty("audit", 5, answer)]));
      document.getElementById("audit-count").textContent = answer.ok
        ? page.count.replace("{shown}", rows.length).replace("{total}", answer.body.total) : "";
    };
    auditForm.addEventListener("submit", event => { event.preventDefault(); loadAudit(); });
    loadAudit();
  }
})();
