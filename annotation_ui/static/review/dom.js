// Building DOM from data: every value goes in as text, never as HTML, so nothing a
// patient typed can become markup in a specialist's browser.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** An HTML element: h("li", {class: "x", text: "y"}, ...children). */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, same calling convention as h(). */
export function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

export function byId(id) {
  return document.getElementById(id);
}

/** A date as the specialist reads it, e.g. "3 Mar 2025". */
export function formatDate(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}

/** A duration in words, largest two units: "2 d 4 h", "3 h 20 min", "12 min". */
export function formatDuration(milliseconds) {
  const minutes = Math.max(0, Math.round(Math.abs(milliseconds) / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days) return hours ? `${days} d ${hours} h` : `${days} d`;
  if (hours) return rest ? `${hours} h ${rest} min` : `${hours} h`;
  return `${rest} min`;
}

/** Codes as words: "close_up" -> "Close up", "benign-neoplasm" -> "Benign neoplasm". */
export function humanize(code) {
  if (!code) return "";
  const words = String(code).replace(/[_-]/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
