// The console's entry: sign-in, the tabs, and each panel loaded when first shown.

import { signIn, signOut, token } from "./api.js";
import { loadAudit, setUpAudit } from "./audit.js";
import { loadCapabilities, setUpCapabilities } from "./capabilities.js";
import { byId } from "./dom.js";
import { loadExtensions, setUpExtensions } from "./extensions.js";
import { browserZone } from "./format.js";
import { loadUsage, setUpUsage } from "./usage.js";

const PANELS = { usage: loadUsage, audit: loadAudit, capabilities: loadCapabilities, extensions: loadExtensions };
const loaded = new Set();

function tabs() {
  return [...document.querySelectorAll('[role="tab"]')];
}

function select(tab, focus) {
  for (const other of tabs()) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    byId(other.getAttribute("aria-controls")).hidden = !on;
  }
  if (focus) tab.focus();
  const name = tab.id.replace("tab-", "");
  if (!loaded.has(name)) {
    loaded.add(name);
    PANELS[name]();
  }
}

function onTabKey(event) {
  const all = tabs();
  const at = all.indexOf(event.currentTarget);
  const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  select(all[(moves[event.key] + all.length) % all.length], true);
}

function showApp() {
  byId("login").hidden = true;
  byId("app").hidden = false;
  byId("sign-out").hidden = false;
  select(tabs().find((t) => t.getAttribute("aria-selected") === "true") || tabs()[0], false);
}

function start() {
  byId("zone").textContent = `Times are in UTC. Your browser's zone: ${browserZone()}.`;
  setUpUsage();
  setUpAudit();
  setUpCapabilities();
  setUpExtensions();
  for (const tab of tabs()) {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", onTabKey);
  }
  byId("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId("token");
    const value = input.value.trim();
    input.value = "";
    if (!value) return;
    signIn(value);
    showApp();
  });
  byId("sign-out").addEventListener("click", () => {
    signOut();
    // A fresh page: nothing read with the token stays on screen.
    window.location.replace("/console");
  });
  if (token()) showApp();
  else byId("token").focus();
}

start();
