// Building the page: nodes and text only. Nothing is ever parsed as HTML, so a
// value from the API (an audit detail holding "<script>") is always shown as text.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the console page has no #${id}`);
  return node;
}

// One panel's loading, empty and error states, in its status line and alert box.
export class PanelState {
  constructor(prefix) {
    this.panel = byId(`panel-${prefix}`);
    this.status = byId(`${prefix}-status`);
    this.error = byId(`${prefix}-error`);
    this.result = byId(`${prefix}-result`);
  }

  loading(text = "Loading…") {
    this.panel.setAttribute("aria-busy", "true");
    this.status.textContent = text;
    this.error.hidden = true;
  }

  done(text = "") {
    this.panel.setAttribute("aria-busy", "false");
    this.status.textContent = text;
    this.result.hidden = false;
  }

  failed(error) {
    this.panel.setAttribute("aria-busy", "false");
    this.status.textContent = "";
    this.result.hidden = true;
    this.error.replaceChildren(...errorNodes(error));
    this.error.hidden = false;
  }
}

// A refusal's nodes: the HTTP status, the gRPC code's name and the API's message, verbatim.
export function errorNodes(error) {
  if (error && error.grpcCode !== undefined) {
    return [
      el("strong", { text: `${error.httpStatus} ${error.codeName}` }),
      ": ",
      el("span", { className: "error-message", text: error.message }),
      ...error.fieldViolations
        .filter((v) => `${v.field}: ${v.description}` !== error.message)
        .map((v) => el("div", { className: "violation", text: `${v.field}: ${v.description}` })),
    ];
  }
  return [el("strong", { text: "Request failed" }), ": ", el("span", { className: "error-message", text: String(error && error.message ? error.message : error) })];
}
