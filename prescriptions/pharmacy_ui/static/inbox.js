// The pharmacy inbox: prescriptions addressed to this pharmacy, filtered by status; one
// opened with its history and the pharmacist's actions (accept, dispense, reject).
// Everything goes through the JSON API with the session cookie and the CSRF header.

import * as api from "workspace/api.js";
import { alertNow, announce } from "workspace/announce.js";
import { openDialog } from "workspace/dialog.js";
import { byId, formatDate, h, humanize } from "workspace/dom.js";

const state = { items: [], openId: null, detail: null, busy: false };

function remember() {
  const params = new URLSearchParams();
  const status = byId("filter-status").value;
  if (status) params.set("status", status);
  if (state.openId) params.set("open", state.openId);
  const text = params.toString();
  window.history.replaceState(null, "", text ? `${window.location.pathname}?${text}` : window.location.pathname);
}

function formatMoment(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

const dispensedText = (rx) => `Dispensed ${rx.dispensed.count} of ${rx.dispensed.of}`;
const statusBadge = (status) => h("span", { class: `status status-${status}`, text: humanize(status) });

// ----------------------------------------------------------------------- the list

function listItem(rx) {
  const open = rx.id === state.openId;
  return h(
    "li",
    { class: `rx-item${open ? " open" : ""}`, "data-id": rx.id },
    h("button", {
      type: "button",
      class: "rx-open",
      "aria-controls": "detail",
      "aria-current": open ? "true" : false,
      text: rx.number,
      onclick: () => openPrescription(rx.id),
    }),
    h(
      "p",
      { class: "rx-summary" },
      h("strong", { text: `${rx.medicine} ${rx.strength} ${rx.form}` }),
      h("span", { text: rx.quantity }),
      statusBadge(rx.status),
      h("span", { class: "rx-dispensed", text: dispensedText(rx) }),
    ),
    h("p", { class: "rx-instructions", text: rx.instructions }),
    h("p", {
      class: "hint",
      text: `Prescribed by ${rx.prescriber} · issued ${formatDate(rx.issued_at)} · valid until ${formatDate(rx.valid_until)}`,
    }),
  );
}

function renderList() {
  byId("prescriptions").replaceChildren(...state.items.map(listItem));
  const status = byId("filter-status").value;
  const count = state.items.length;
  byId("list-status").textContent = count
    ? `${count} prescription${count === 1 ? "" : "s"}${status ? ` ${status}` : ""}.`
    : `No prescriptions${status ? ` ${status}` : ""} for your pharmacy.`;
}

async function loadList() {
  const status = byId("filter-status").value;
  try {
    state.items = await api.get(`/pharmacy/prescriptions${api.query({ status })}`);
    renderList();
  } catch (error) {
    state.items = [];
    byId("prescriptions").replaceChildren();
    byId("list-status").textContent = error.message;
  }
}

// ----------------------------------------------------------------------- one prescription

function fact(term, value) {
  return [h("dt", { text: term }), h("dd", {}, value)];
}

function historyLine(event) {
  const what = event.dispense_number ? `Dispensed (${event.dispense_number})` : humanize(event.action);
  const who = [event.by && ` by ${event.by}`, event.pharmacy && `, ${event.pharmacy}`].filter(Boolean).join("");
  return h(
    "li",
    {},
    h("time", { datetime: event.at, text: formatMoment(event.at) }),
    ` — ${what}${who}`,
    event.reason ? `: “${event.reason}”` : "",
  );
}

function actionButton(label, onclick) {
  return h("button", { type: "button", text: label, onclick: (event) => onclick(event.currentTarget) });
}

function actionsOf(rx) {
  const { count, of } = rx.dispensed;
  const buttons = [];
  if (rx.status === "issued") buttons.push(actionButton("Accept", accept));
  if (rx.status === "accepted" && count < of) buttons.push(actionButton(`Dispense ${count + 1} of ${of}`, dispense));
  if ((rx.status === "issued" || rx.status === "accepted") && count === 0) {
    buttons.push(actionButton("Reject…", askRejection));
  }
  if (!buttons.length) buttons.push(h("p", { class: "hint", text: `Nothing to do: the prescription is ${rx.status}.` }));
  return buttons;
}

function renderDetail() {
  const rx = state.detail;
  const panel = byId("detail");
  panel.hidden = !rx;
  if (!rx) return;
  byId("detail-heading").textContent = `Prescription ${rx.number}`;
  byId("detail-facts").replaceChildren(
    ...fact("Status", statusBadge(rx.status)),
    // Who the medicine is for: checked against the person collecting it.
    ...fact("Patient", `${rx.patient.name}, born ${formatDate(rx.patient.date_of_birth)}`),
    ...fact("Medicine", rx.medicine),
    ...fact("Strength and form", `${rx.strength} ${rx.form} (${rx.route})`),
    ...fact("Quantity", `${rx.quantity} (${rx.supply_days} days)`),
    ...fact("Instructions", rx.instructions),
    ...fact("Repeats", String(rx.repeats)),
    ...fact("Dispensed", `${rx.dispensed.count} of ${rx.dispensed.of}`),
    ...fact("Substitution", rx.substitution_allowed ? "Allowed" : "Not allowed"),
    ...fact("Prescriber", rx.prescriber),
    ...fact("Issued", formatMoment(rx.issued_at)),
    ...fact("Valid until", formatDate(rx.valid_until)),
  );
  byId("detail-actions").replaceChildren(...actionsOf(rx));
  byId("detail-links").replaceChildren(
    rx.links.pdf && h("a", { href: rx.links.pdf, target: "_blank", rel: "noopener", text: "Signed PDF" }),
    rx.links.fhir && h("a", { href: rx.links.fhir, target: "_blank", rel: "noopener", text: "FHIR document (JSON)" }),
  );
  byId("detail-history").replaceChildren(...rx.history.map(historyLine));
  for (const element of byId("prescriptions").children) {
    const open = element.dataset.id === rx.id;
    element.classList.toggle("open", open);
    const button = element.querySelector("button");
    if (open) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

function focusNextStep() {
  const next = byId("detail-actions").querySelector("button");
  (next || byId("detail-heading")).focus();
}

function closeDetail() {
  state.openId = null;
  state.detail = null;
  renderDetail();
  renderList();
  remember();
}

async function openPrescription(id, { focus = true } = {}) {
  byId("detail-error").textContent = "";
  try {
    state.detail = await api.get(`/prescriptions/${encodeURIComponent(id)}`);
  } catch (error) {
    closeDetail();
    alertNow(error.status === 404 ? "This prescription is no longer addressed to your pharmacy." : error.message);
    return;
  }
  state.openId = id;
  remember();
  renderDetail();
  if (focus) {
    byId("detail-heading").focus();
    announce(`Prescription ${state.detail.number} opened: ${state.detail.status}, ${dispensedText(state.detail).toLowerCase()}.`);
  }
}

/** Run one pharmacy action with its button disabled, so a double click sends one request. */
async function act(button, path, body, describe) {
  if (state.busy) return;
  state.busy = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  byId("detail-error").textContent = "";
  const id = state.detail.id;
  try {
    state.detail = await api.post(`/pharmacy/prescriptions/${encodeURIComponent(id)}/${path}`, body);
    await loadList();
    renderDetail();
    focusNextStep();
    announce(describe(state.detail));
  } catch (error) {
    byId("detail-error").textContent = error.message;
    alertNow(error.message);
    // The prescription moved on (another tab, another pharmacist): show where it is now.
    if (error.status === 409) {
      await loadList();
      await openPrescription(id, { focus: false });
      byId("detail-error").textContent = error.message;
    }
  } finally {
    state.busy = false;
    if (button.isConnected) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

function accept(button) {
  return act(button, "accept", {}, (rx) => `Prescription ${rx.number} accepted. ${nextStep(rx)}`);
}

function dispense(button) {
  const number = state.detail.dispensed.count + 1;
  return act(button, "dispense", { dispense_number: number }, (rx) => `Dispense ${number} of ${rx.dispensed.of} recorded. ${nextStep(rx)}`);
}

function nextStep(rx) {
  const { count, of } = rx.dispensed;
  if (rx.status === "accepted" && count < of) return `Dispense ${count + 1} of ${of} is next.`;
  if (rx.status === "dispensed") return "Fully dispensed.";
  return "";
}

// ----------------------------------------------------------------------- rejection

function askRejection() {
  const dialog = byId("reject-dialog");
  byId("reject-reason").value = "";
  byId("reject-reason").removeAttribute("aria-invalid");
  byId("reject-error").textContent = "";
  openDialog(dialog);
}

async function submitRejection(event) {
  event.preventDefault();
  if (state.busy) return;
  const field = byId("reject-reason");
  const reason = field.value.trim();
  const error = byId("reject-error");
  if (reason.length < 3) {
    field.setAttribute("aria-invalid", "true");
    error.textContent = "Give the reason for the prescriber (at least 3 characters).";
    alertNow(error.textContent);
    field.focus();
    return;
  }
  const confirm = byId("reject-confirm");
  state.busy = true;
  confirm.disabled = true;
  const { id, number } = state.detail;
  try {
    await api.post(`/pharmacy/prescriptions/${encodeURIComponent(id)}/reject`, { reason });
  } catch (problem) {
    const message = problem.errors?.reason?.join(" ") || problem.message;
    field.setAttribute("aria-invalid", "true");
    error.textContent = message;
    alertNow(message);
    return;
  } finally {
    state.busy = false;
    confirm.disabled = false;
  }
  const dialog = byId("reject-dialog");
  dialog.addEventListener("close", () => byId("list-heading").focus(), { once: true });
  dialog.close();
  closeDetail();
  await loadList();
  announce(`Prescription ${number} rejected and returned to the prescriber; it has left your inbox.`);
}

// ----------------------------------------------------------------------- start

async function start() {
  const params = new URLSearchParams(window.location.search);
  const filter = byId("filter-status");
  if ([...filter.options].some((option) => option.value === params.get("status"))) {
    filter.value = params.get("status");
  }
  filter.addEventListener("change", async () => {
    remember();
    await loadList();
    announce(byId("list-status").textContent);
  });
  byId("filters").addEventListener("submit", (event) => event.preventDefault());
  byId("reject-form").addEventListener("submit", submitRejection);
  byId("reject-cancel").addEventListener("click", () => byId("reject-dialog").close());
  await loadList();
  if (params.get("open")) await openPrescription(params.get("open"), { focus: false });
  document.body.dataset.ready = "true";
}

start();
