// The queue page: the specialist's queues with their SLA counts, a filterable list of
// cases in working order, and keyboard work on the list (j/k, arrows, Enter, ?).

import * as api from "./api.js";
import { alertNow, announce } from "./announce.js";
import { openDialog } from "./dialog.js";
import { byId, h, humanize } from "./dom.js";
import { acceptsShortcut, bindShortcutToggle } from "./keyboard.js";
import { claimCase } from "./claims.js";
import { slaClock } from "./sla.js";
import { takeHandoff } from "./handoff.js";

const FILTERS = ["priority", "sla", "claim", "body_site"];
const PER_PAGE = 50;

const state = { queues: [], queue: null, bodySites: new Map(), items: [], total: 0, page: 1, selected: 0 };

function pageParams() {
  return new URLSearchParams(window.location.search);
}

/** Keep the chosen queue and filters in the address, so reload and back work. */
function rememberInAddress() {
  const params = new URLSearchParams();
  if (state.queue) params.set("queue", state.queue);
  for (const name of FILTERS) {
    const value = byId(`filter-${name}`).value;
    if (value) params.set(name, value);
  }
  window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
}

function countText(count, word) {
  return `${count ?? 0} ${word}`;
}

function queueButton(queue) {
  const pressed = queue.name === state.queue;
  const counts = [
    h("span", { class: "count", text: countText(queue.waiting, "waiting") }),
    queue.in_review !== undefined && h("span", { class: "count", text: countText(queue.in_review, "in review") }),
    h("span", { class: `count${queue.due_soon ? " flag flag-due_soon" : ""}`, text: countText(queue.due_soon, "due soon") }),
    h("span", { class: `count${queue.breached ? " flag flag-breached" : ""}`, text: countText(queue.breached, "breached") }),
  ];
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: "queue-button",
        "aria-pressed": String(pressed),
        onclick: () => chooseQueue(queue.name),
      },
      h("span", { class: "queue-label", text: queue.label }),
      h("span", { class: "queue-meta", text: `${humanize(queue.priority)} · SLA ${queue.sla_working_days} working days` }),
      h("span", { class: "queue-counts" }, counts),
    ),
  );
}

function renderQueues() {
  byId("queues").replaceChildren(...state.queues.map(queueButton));
}

function chooseQueue(name) {
  state.queue = name;
  renderQueues();
  rememberInAddress();
  loadCases();
}

function claimText(claim) {
  if (!claim) return null;
  return claim.mine ? "Claimed by you" : `Being reviewed by ${claim.specialist.name}`;
}

function caseRow(item, index) {
  const clock = slaClock(item.sla_state, item.sla_due_at);
  const site = state.bodySites.get(item.body_site) || humanize(item.body_site);
  const patient = item.patient ? `${item.patient.age ?? "?"} y, ${item.patient.sex ?? "sex not given"}` : "";
  const claim = claimText(item.claim);
  const link = h(
    "a",
    {
      href: `/review/cases/${item.id}`,
      class: "case-link",
      tabindex: index === state.selected ? "0" : "-1",
      "data-case-id": item.id,
      onclick: (event) => openCase(event, item),
      onfocus: () => select(index, { focus: false }),
    },
    h("span", { class: `badge priority-${item.priority}`, text: humanize(item.priority) }),
    h("span", { class: "case-site", text: site }),
    h("span", { class: "case-patient", text: patient }),
    h("span", { class: `badge sla sla-${clock.state}`, "data-sla": item.id },
      h("strong", { text: `${clock.label}: ` }), clock.text),
    item.routing_reasons?.length ? h("span", { class: "case-reasons", text: item.routing_reasons.join("; ") }) : null,
    claim && h("span", { class: `case-claim${item.claim.mine ? "" : " claim-other"}`, text: claim }),
  );
  return h("li", { class: "case-row" }, link);
}

function renderCases() {
  const list = byId("cases");
  list.replaceChildren(...state.items.map(caseRow));
  const queue = state.queues.find((q) => q.name === state.queue);
  byId("cases-heading").textContent = queue ? `${queue.label}: cases` : "Cases";
  byId("list-status").textContent = state.items.length
    ? `${state.items.length} of ${state.total} cases shown, most pressing first.`
    : "No cases match.";
  byId("more-cases").hidden = state.items.length >= state.total;
}

function filterValues() {
  return Object.fromEntries(FILTERS.map((name) => [name, byId(`filter-${name}`).value]));
}

function fetchPage(number) {
  const params = api.query({ page: number, per_page: PER_PAGE, ...filterValues() });
  return api.get(`/queues/${encodeURIComponent(state.queue)}/cases${params}`);
}

/** Load the first page of the chosen queue (after a change of queue or filters). */
async function loadCases() {
  if (!state.queue) return;
  try {
    const page = await fetchPage(1);
    Object.assign(state, { items: page.items, total: page.total, page: 1 });
    state.selected = Math.min(state.selected, Math.max(0, state.items.length - 1));
  } catch (error) {
    Object.assign(state, { items: [], total: 0, page: 1 });
    alertNow(`The cases could not be loaded: ${error.message}`);
  }
  renderCases();
}

/** Append the next page and move focus to its first case. */
async function loadMoreCases() {
  try {
    const page = await fetchPage(state.page + 1);
    const first = state.items.length;
    Object.assign(state, { items: [...state.items, ...page.items], total: page.total, page: state.page + 1 });
    renderCases();
    select(first);
  } catch (error) {
    alertNow(`More cases could not be loaded: ${error.message}`);
  }
}

function links() {
  return [...byId("cases").querySelectorAll(".case-link")];
}

/** Move the selection (roving tabindex): the selected row is the list's one tab stop. */
function select(index, { focus = true } = {}) {
  const all = links();
  if (!all.length) return;
  state.selected = Math.max(0, Math.min(index, all.length - 1));
  all.forEach((link, i) => link.setAttribute("tabindex", i === state.selected ? "0" : "-1"));
  if (focus) all[state.selected].focus();
}

async function openCase(event, item) {
  event.preventDefault();
  const target = event.currentTarget.href;
  try {
    await claimCase(item.id);
    window.location.assign(target);
  } catch (error) {
    alertNow(error.message);
    await loadCases();
  }
}

// Arrows, Home and End are ordinary list navigation; letters are switchable shortcuts.
const NAVIGATION = { ArrowDown: (i) => i + 1, ArrowUp: (i) => i - 1, Home: () => 0, End: () => links().length - 1 };
const SHORTCUTS = { j: (i) => i + 1, k: (i) => i - 1 };

function onListKey(event) {
  const plain = !event.altKey && !event.ctrlKey && !event.metaKey;
  const move = plain && (NAVIGATION[event.key] || (acceptsShortcut(event) && SHORTCUTS[event.key]));
  if (move) {
    event.preventDefault();
    select(move(state.selected));
  } else if (event.key === "?" && acceptsShortcut(event)) {
    event.preventDefault();
    openDialog(byId("help-dialog"));
  }
}

/** After an assessment the case page hands over which case to focus and what to say. */
function applyHandoff() {
  const handoff = takeHandoff();
  const wanted = pageParams().get("focus");
  const index = state.items.findIndex((item) => item.id === wanted);
  if (wanted && index >= 0) select(index);
  else if (wanted) links()[0]?.focus();
  if (handoff) announce(handoff);
}

function tickClocks() {
  for (const item of state.items) {
    const badge = document.querySelector(`[data-sla="${item.id}"]`);
    if (!badge) continue;
    const clock = slaClock(item.sla_state, item.sla_due_at);
    badge.replaceChildren(h("strong", { text: `${clock.label}: ` }), clock.text);
  }
}

function fillBodySiteFilter(sites) {
  const select = byId("filter-body_site");
  for (const site of sites) select.append(h("option", { value: site.code, text: site.label }));
}

function restoreFilters() {
  const params = pageParams();
  for (const name of FILTERS) byId(`filter-${name}`).value = params.get(name) || "";
}

async function start() {
  bindShortcutToggle(byId("shortcuts-toggle"));
  byId("help-button").addEventListener("click", () => openDialog(byId("help-dialog")));
  byId("cases").addEventListener("keydown", onListKey);
  byId("more-cases").addEventListener("click", loadMoreCases);
  const [queues, sites] = await Promise.all([api.get("/queues"), api.get("/body-sites")]);
  state.queues = queues;
  state.bodySites = new Map(sites.map((site) => [site.code, site.label]));
  fillBodySiteFilter(sites);
  restoreFilters();
  const wanted = pageParams().get("queue");
  const busiest = queues.find((q) => q.waiting + (q.in_review ?? 0) > 0) || queues[0];
  state.queue = queues.some((q) => q.name === wanted) ? wanted : busiest?.name ?? null;
  renderQueues();
  byId("filters").addEventListener("change", () => {
    rememberInAddress();
    loadCases();
  });
  await loadCases();
  applyHandoff();
  window.setInterval(tickClocks, 60 * 1000);
  document.body.dataset.ready = "true";
}

start().catch((error) => alertNow(`The queues could not be loaded: ${error.message}`));
