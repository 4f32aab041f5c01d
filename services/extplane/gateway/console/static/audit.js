// The audit log: GET /v1/audit/events page by page, the verdict of GET /v1/audit/verify
// for the sequences shown, the checkpoints and the key, and exports of the filter.

import { getBlob, getJson } from "./api.js";
import { byId, el, PanelState } from "./dom.js";
import { download, fromUtcInput, rfc3339, utcText } from "./format.js";

const FILTERS = ["actor", "action", "resource", "namespace", "outcome"];
const KIND_PREFIX = "AUDIT_TAMPER_KIND_";

const state = new PanelState("audit");
let pages = [""]; // page tokens: pages[i] fetches page i + 1
let page = 0;
let nextToken = "";
let checkpointToken = "";
let records = [];

function filterParams() {
  const data = new FormData(byId("audit-form"));
  const params = Object.fromEntries(FILTERS.map((f) => [f, data.get(f).trim()]));
  const start = fromUtcInput(data.get("start"));
  const end = fromUtcInput(data.get("end"));
  if (start) params.start_time = rfc3339(start);
  if (end) params.end_time = rfc3339(end);
  params.order = data.get("order");
  return params;
}

function pageSize() {
  return byId("audit-page-size").value;
}

function row(record) {
  const event = record.event || {};
  const sequence = String(record.sequence || "0");
  return el("tr", { id: `audit-record-${sequence}`, dataset: { sequence } },
    el("th", { scope: "row", text: sequence }),
    el("td", { text: utcText(event.timestamp) }),
    el("td", { text: event.actor || "" }),
    el("td", { text: event.action || "" }),
    el("td", { text: event.resource || "" }),
    el("td", { text: event.namespace || "" }),
    el("td", { className: `outcome ${event.outcome === "denied" ? "denied" : ""}`, text: event.outcome || "" }),
    el("td", {}, el("button", {
      type: "button", className: "link", "aria-controls": "audit-details",
      "aria-label": `Details of record ${sequence}`, text: "Details",
      on: { click: () => showDetails(record) },
    })),
  );
}

function showDetails(record) {
  const event = record.event || {};
  const pairs = [
    ["Sequence", record.sequence], ["Time (UTC)", utcText(event.timestamp)],
    ["Received (UTC)", utcText(record.receiveTime)], ["Actor", event.actor], ["Action", event.action],
    ["Resource", event.resource], ["Namespace", event.namespace], ["Outcome", event.outcome],
    ["Event id", event.eventId], ["Hash", record.hash], ["Previous hash", record.previousHash],
  ];
  const details = Object.entries(event.details || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const list = byId("audit-details-list");
  list.replaceChildren(
    ...pairs.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { className: "mono", text: value ?? "" })]),
    ...details.flatMap(([name, value]) => [el("dt", { text: `details.${name}` }), el("dd", { className: "mono detail-value", text: value })]),
  );
  byId("audit-details-title").textContent = `Record ${record.sequence}`;
  const section = byId("audit-details");
  section.hidden = false;
  section.focus();
}

function showVerdict(verdict, sequences) {
  const box = byId("audit-verdict");
  box.className = "verdict";
  for (const tr of byId("audit-table").tBodies[0].rows) tr.classList.remove("bad");
  if (verdict.intact) {
    box.classList.add("intact");
    box.replaceChildren(
      el("strong", { text: "Intact" }),
      ` — records ${verdict.fromSequence || 0} to ${verdict.toSequence || 0} verified ` +
        `(${verdict.recordsVerified || 0} records, ${verdict.checkpointsVerified || 0} signed checkpoints); ` +
        `this page shows ${sequences[0]} to ${sequences[sequences.length - 1]}.`,
    );
    return;
  }
  const problem = verdict.firstProblem || {};
  const bad = String(problem.sequence || "0");
  const kind = String(problem.kind || "").replace(KIND_PREFIX, "");
  const onPage = byId("audit-table").querySelector(`tr[data-sequence="${CSS.escape(bad)}"]`);
  if (onPage) {
    onPage.classList.add("bad");
    onPage.setAttribute("aria-describedby", "audit-verdict");
  }
  box.classList.add("tampered");
  box.replaceChildren(
    el("strong", { text: "Tampered" }),
    ` — first bad record: ${bad} (${kind})${onPage ? ", highlighted below" : ", not on this page"}. `,
    el("span", { className: "reason", text: problem.detail || "" }),
  );
}

async function verify() {
  const box = byId("audit-verdict");
  const sequences = records.map((r) => Number(r.sequence)).sort((a, b) => a - b);
  if (sequences.length === 0) {
    box.className = "verdict";
    box.textContent = "No records on this page to verify.";
    return;
  }
  box.className = "verdict";
  box.textContent = "Verifying the records shown…";
  try {
    const verdict = await getJson("/v1/audit/verify", {
      from_sequence: sequences[0],
      to_sequence: sequences[sequences.length - 1],
    });
    showVerdict(verdict, sequences);
  } catch (error) {
    box.className = "verdict tampered";
    box.textContent = `Could not verify: ${error.codeName || ""} ${error.message}`;
  }
}

async function loadPage() {
  state.loading();
  byId("audit-details").hidden = true;
  try {
    const answer = await getJson("/v1/audit/events", {
      ...filterParams(), page_size: pageSize(), page_token: pages[page],
    });
    records = answer.events || [];
    nextToken = answer.nextPageToken || "";
    byId("audit-table").tBodies[0].replaceChildren(...records.map(row));
    byId("audit-page").textContent = `Page ${page + 1}`;
    byId("audit-previous").disabled = page === 0;
    byId("audit-next").disabled = !nextToken;
    state.done(records.length === 0 ? "No records match." : `${records.length} records on page ${page + 1}.`);
  } catch (error) {
    state.failed(error);
    return;
  }
  await verify();
}

async function loadCheckpoints(more) {
  const body = byId("audit-checkpoints").tBodies[0];
  try {
    const answer = await getJson("/v1/audit/checkpoints", { page_size: 20, page_token: more ? checkpointToken : "" });
    const rows = (answer.checkpoints || []).map((c) => el("tr", {},
      el("th", { scope: "row", text: String(c.sequence) }),
      el("td", { text: utcText(c.createTime) }),
      el("td", { className: "mono", text: (c.keyId || "").slice(0, 16), title: c.keyId }),
      el("td", { className: "mono", text: (c.hash || "").slice(0, 16), title: c.hash }),
    ));
    if (more) body.append(...rows);
    else body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 4, text: "No checkpoint signed yet." }))]));
    checkpointToken = answer.nextPageToken || "";
    byId("audit-checkpoints-more").hidden = !checkpointToken;
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: `Checkpoints: ${error.codeName || ""} ${error.message}` })));
  }
}

async function loadKey() {
  const key = byId("audit-key");
  try {
    const answer = await getJson("/v1/audit/public-key");
    key.replaceChildren("Signing key: ", answer.algorithm || "", ", key id ", el("code", { id: "audit-key-id", text: answer.keyId || "" }));
  } catch (error) {
    key.textContent = `Signing key: ${error.codeName || ""} ${error.message}`;
  }
}

async function exportAs(format) {
  const params = { ...filterParams(), format };
  state.loading(`Exporting ${format.toUpperCase()}…`);
  try {
    const blob = await getBlob("/v1/audit/export", params);
    download(blob, `audit-export.${format}`);
    state.done(`Exported the current filter as ${format.toUpperCase()}.`);
  } catch (error) {
    state.failed(error);
  }
}

export async function loadAudit() {
  pages = [""];
  page = 0;
  await Promise.all([loadPage(), loadCheckpoints(false), loadKey()]);
}

export function setUpAudit() {
  byId("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit();
  });
  byId("audit-next").addEventListener("click", () => {
    if (!nextToken) return;
    pages = pages.slice(0, page + 1).concat(nextToken);
    page += 1;
    loadPage();
  });
  byId("audit-previous").addEventListener("click", () => {
    if (page === 0) return;
    page -= 1;
    loadPage();
  });
  byId("audit-export-csv").addEventListener("click", () => exportAs("csv"));
  byId("audit-export-jsonl").addEventListener("click", () => exportAs("jsonl"));
  byId("audit-checkpoints-more").addEventListener("click", () => loadCheckpoints(true));
}
