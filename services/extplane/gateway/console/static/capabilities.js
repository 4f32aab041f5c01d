// Capabilities: GET /v1/capabilities, with where each key came from and the providers' health.
//
// The snapshot names its configured providers (extplane.providers), the degraded ones
// (extplane.providers.degraded) and the keys they lost (extplane.providers.conflicts).
// A key's source follows the merge rule (docs/capabilities.md): the six service features
// and every extplane.* key are the core's; any other key is a provider's, named here by
// the prefix providers are asked to use ("acme.invoicing" is acme's).

import { getJson } from "./api.js";
import { byId, el, PanelState } from "./dom.js";

const CORE_FEATURES = new Set(["capabilities", "gateway", "metering", "audit", "host", "runner"]);
const CORE_PREFIX = "extplane.";

const state = new PanelState("capabilities");

function list(value, separator = ",") {
  return (value || "").split(separator).map((item) => item.trim()).filter(Boolean);
}

function sourceOf(key, isCore, providers) {
  if (isCore) return "core";
  const owner = providers.find((name) => key.startsWith(`${name}.`));
  return owner ? `provider ${owner}` : "a provider (name has no provider prefix)";
}

function rows(entries, providers, isCore, render) {
  return entries
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => el("tr", { dataset: { key } },
      el("th", { scope: "row", className: "mono", text: key }),
      render(value),
      el("td", { className: "source", text: sourceOf(key, isCore(key), providers) }),
    ));
}

function health(metadata) {
  const providers = list(metadata["extplane.providers"]);
  const degraded = list(metadata["extplane.providers.degraded"]).map((pair) => pair.split("="));
  const conflicts = list(metadata["extplane.providers.conflicts"]);
  const box = byId("capabilities-health");
  box.className = `verdict ${degraded.length ? "tampered" : "intact"}`;
  const parts = [
    el("p", {}, el("strong", { text: "Providers: " }), providers.length ? providers.join(", ") : "none configured"),
  ];
  if (degraded.length) {
    parts.push(el("p", {}, el("strong", { text: "Degraded (left out of the snapshot):" })),
      el("ul", { id: "capabilities-degraded" }, degraded.map(([name, reason]) =>
        el("li", { dataset: { provider: name } }, el("span", { className: "mono", text: name }), ` — ${reason || "unknown reason"}`))));
  } else {
    parts.push(el("p", { text: providers.length ? "Every provider answered." : "The core snapshot only." }));
  }
  if (conflicts.length) {
    parts.push(el("p", {}, el("strong", { text: "Keys a provider may not set (ignored):" })),
      el("ul", {}, conflicts.map((c) => el("li", { className: "mono", text: c }))));
  }
  box.replaceChildren(...parts);
  return providers;
}

export async function loadCapabilities() {
  state.loading();
  try {
    const snapshot = await getJson("/v1/capabilities");
    const features = snapshot.features || {};
    const metadata = snapshot.metadata || {};
    const providers = health(metadata);
    byId("capabilities-features").tBodies[0].replaceChildren(
      ...rows(Object.entries(features), providers, (key) => CORE_FEATURES.has(key),
        (on) => el("td", { className: on ? "on" : "off", text: on ? "yes" : "no" })));
    byId("capabilities-metadata").tBodies[0].replaceChildren(
      ...rows(Object.entries(metadata), providers, (key) => key.startsWith(CORE_PREFIX),
        (value) => el("td", { className: "mono", text: value })));
    state.done(`${Object.keys(features).length} features, ${Object.keys(metadata).length} metadata keys.`);
  } catch (error) {
    state.failed(error);
  }
}

export function setUpCapabilities() {
  byId("capabilities-refresh").addEventListener("click", loadCapabilities);
}
