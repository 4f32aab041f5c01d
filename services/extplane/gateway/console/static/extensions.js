// Extensions: the installs (GET /v1/admin/installs) and, for the one selected, its
// recent log records (GET /v1/admin/tenants/{tenant}/installs/{install}/logs) and its
// recent capability denials (GET /v1/audit/events, action capability_deny, the actor
// the host names the install by: extension/<extension>@<install>, docs/host.md).
//
// Each part is its own API with its own role, so each shows its own refusal.

import { getJson } from "./api.js";
import { byId, el, errorNodes, PanelState } from "./dom.js";
import { utcText } from "./format.js";

const LEVEL_PREFIX = "EXTENSION_LOG_LEVEL_";
const DENIAL_ACTION = "capability_deny";
// The log API pages forward from the oldest record still held; the newest are kept.
const RECENT_LOGS = 100;
const MAX_LOG_PAGES = 20;
const RECENT_DENIALS = 50;

const state = new PanelState("extensions");
let installs = [];
let nextToken = "";
let selected = null;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function segment(value) {
  return encodeURIComponent(value);
}

function installRow(install) {
  const key = `${install.tenant}/${install.installId}`;
  const granted = install.grantedCapabilities || [];
  return el("tr", { dataset: { install: key } },
    el("th", { scope: "row", text: install.tenant || "" }),
    el("td", { className: "mono", text: install.installId || "" }),
    el("td", { className: "mono", text: `${install.extensionId || ""}@${install.version || ""}` }),
    el("td", { className: install.enabled ? "on" : "off", text: install.enabled ? "yes" : "no" }),
    el("td", { className: "mono grants", text: granted.length ? granted.join(", ") : "none" }),
    el("td", {}, el("button", {
      type: "button", className: "link", "aria-controls": "extensions-install",
      "aria-label": `Logs and denials of ${key}`, text: "Logs and denials",
      on: { click: () => showInstall(install) },
    })),
  );
}

function drawInstalls() {
  const body = byId("extensions-installs").tBodies[0];
  body.replaceChildren(...(installs.length
    ? installs.map(installRow)
    : [el("tr", {}, el("td", { colspan: 6, text: "No installs match." }))]));
  byId("extensions-more").hidden = !nextToken;
}

async function loadInstalls(more) {
  state.loading();
  try {
    const answer = await getJson("/v1/admin/installs", {
      tenant: byId("extensions-tenant").value.trim(),
      page_token: more ? nextToken : "",
    });
    const page = answer.installs || [];
    installs = more ? installs.concat(page) : page;
    nextToken = answer.nextPageToken || "";
    drawInstalls();
    state.done(`${plural(installs.length, "install")}${nextToken ? ", more to load" : ""}.`);
  } catch (error) {
    state.failed(error);
  }
}

// A part of the selected install (its logs, its denials): status, alert and table.
function part(name) {
  return {
    status: byId(`extensions-${name}-status`),
    error: byId(`extensions-${name}-error`),
    table: byId(`extensions-${name}`),
    wrap: byId(`extensions-${name}`).parentElement,
  };
}

function partLoading(p) {
  p.status.textContent = "Loading…";
  p.error.hidden = true;
  p.wrap.hidden = true;
}

function partDone(p, rows, text) {
  p.table.tBodies[0].replaceChildren(...rows);
  p.wrap.hidden = rows.length === 0;
  p.status.textContent = text;
}

function partFailed(p, error) {
  p.status.textContent = "";
  p.table.tBodies[0].replaceChildren();
  p.wrap.hidden = true;
  p.error.replaceChildren(...errorNodes(error));
  p.error.hidden = false;
}

function logRow(record) {
  const level = String(record.level || "").replace(LEVEL_PREFIX, "");
  return el("tr", { dataset: { sequence: String(record.sequence || "0") } },
    el("th", { scope: "row", text: String(record.sequence || "0") }),
    el("td", { text: utcText(record.time) }),
    el("td", { className: `level-${level.toLowerCase()}`, text: level }),
    el("td", { className: "message", text: record.truncated ? `${record.message || ""} …(truncated)` : record.message || "" }),
    el("td", { className: "mono", text: record.requestId || "" }),
  );
}

async function loadLogs(install) {
  const p = part("logs");
  partLoading(p);
  const path = `/v1/admin/tenants/${segment(install.tenant)}/installs/${segment(install.installId)}/logs`;
  try {
    let after = 0;
    let kept = [];
    let missed = false;
    let evicted = "0";
    for (let pages = 0; pages < MAX_LOG_PAGES; pages += 1) {
      const answer = await getJson(path, { after_sequence: after });
      kept = kept.concat(answer.records || []).slice(-RECENT_LOGS);
      missed = missed || Boolean(answer.recordsMissed);
      evicted = answer.evictedCount || evicted;
      after = answer.nextAfterSequence || after;
      if (!answer.hasMore) break;
    }
    if (install !== selected) return;
    const rows = kept.reverse().map(logRow);
    const note = missed ? ` Older records were evicted (${evicted} so far).` : "";
    partDone(p, rows, rows.length ? `${plural(rows.length, "record")}, newest first (the ${RECENT_LOGS} most recent at most).${note}` : `No log records.${note}`);
  } catch (error) {
    if (install === selected) partFailed(p, error);
  }
}

function denialRow(record) {
  const event = record.event || {};
  const details = event.details || {};
  return el("tr", { dataset: { sequence: String(record.sequence || "0") } },
    el("th", { scope: "row", text: utcText(event.timestamp) }),
    el("td", { className: "mono", text: event.resource || "" }),
    el("td", { className: "mono denied", text: details.capability || "" }),
    el("td", { className: "mono", text: details.request_id || "" }),
  );
}

async function loadDenials(install) {
  const p = part("denials");
  partLoading(p);
  try {
    const answer = await getJson("/v1/audit/events", {
      action: DENIAL_ACTION,
      actor: `extension/${install.extensionId}@${install.installId}`,
      namespace: install.tenant,
      order: "descending",
      page_size: RECENT_DENIALS,
    });
    if (install !== selected) return;
    const rows = (answer.events || []).map(denialRow);
    partDone(p, rows, rows.length ? `${plural(rows.length, "denial")}, newest first (the ${RECENT_DENIALS} most recent at most).` : "No capability denied.");
  } catch (error) {
    if (install === selected) partFailed(p, error);
  }
}

async function showInstall(install) {
  selected = install;
  byId("extensions-install-title").textContent =
    `${install.tenant} / ${install.installId} — ${install.extensionId}@${install.version}`;
  const section = byId("extensions-install");
  section.hidden = false;
  section.focus();
  await Promise.all([loadLogs(install), loadDenials(install)]);
}

export async function loadExtensions() {
  selected = null;
  byId("extensions-install").hidden = true;
  await loadInstalls(false);
}

export function setUpExtensions() {
  byId("extensions-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadExtensions();
  });
  byId("extensions-more").addEventListener("click", () => loadInstalls(true));
  byId("extensions-refresh").addEventListener("click", () => {
    if (selected) showInstall(selected);
  });
}
