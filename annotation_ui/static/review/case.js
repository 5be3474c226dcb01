// The case page: claim the case, then show it (patient, questionnaire, photos with
// annotation tools, decision support, the patient's other cases, comparison, assessment,
// prescriptions). If the claim is refused, no clinical content is fetched or shown.

import * as api from "./api.js";
import { alertNow, announce } from "./announce.js";
import { Annotator } from "./annotator.js";
import { AssessmentForm } from "./assessment.js";
import { ClaimLease } from "./claims.js";
import { renderExchange, renderHeader, renderPatient, renderQuestionnaire } from "./case-details.js";
import { ComparePanel } from "./compare.js";
import { renderDecisionSupport } from "./decision-support.js";
import { openDialog } from "./dialog.js";
import { byId, formatDate, humanize } from "./dom.js";
import { loadOtherCases, renderOtherCases } from "./other-cases.js";
import { leaveHandoff } from "./handoff.js";
import { acceptsShortcut, bindShortcutToggle, isTyping } from "./keyboard.js";
import { PrescribingSection } from "./prescribing.js";
import { UndoHistory } from "./undo.js";

const page = byId("case-page");
const caseId = page.dataset.caseId;
const queueUrl = page.dataset.queueUrl;

function showBlocked(message) {
  byId("loading").hidden = true;
  byId("case-content").replaceChildren();
  byId("case-content").hidden = true;
  byId("return-button").hidden = true;
  byId("blocked-detail").textContent = message;
  byId("blocked").hidden = false;
}

function showClaim(claim) {
  const until = new Date(claim.expires_at).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  byId("claim-status").textContent = `Claimed by you until ${until}; renewed while you work.`;
}

function queueAddress(queue, focusId) {
  const params = new URLSearchParams();
  if (queue) params.set("queue", queue);
  if (focusId) params.set("focus", focusId);
  return `${queueUrl}?${params}`;
}

/** Undo/redo for the whole page, from the buttons and Ctrl/Cmd+Z, Ctrl+Shift+Z, Ctrl+Y. */
function bindUndo(history) {
  const undoButton = byId("undo-button");
  const redoButton = byId("redo-button");
  const run = async (step, verb) => {
    try {
      const command = await step();
      if (command) announce(`${verb}: ${command.label}.`);
    } catch (error) {
      alertNow(`${verb} failed: ${error.message}`);
    }
  };
  const undo = () => run(() => history.undo(), "Undone");
  const redo = () => run(() => history.redo(), "Redone");
  undoButton.addEventListener("click", undo);
  redoButton.addEventListener("click", redo);
  history.addEventListener("change", () => {
    undoButton.disabled = !history.canUndo;
    redoButton.disabled = !history.canRedo;
  });
  document.addEventListener("keydown", (event) => {
    // Inside text fields the browser's own text undo applies.
    if (!(event.ctrlKey || event.metaKey) || isTyping(event)) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if ((key === "z" && event.shiftKey) || key === "y") {
      event.preventDefault();
      redo();
    }
  });
}

function photoTitle(photo, index) {
  return `${humanize(photo.view)} photo ${index + 1}`;
}

async function showPhotos(caseData, history) {
  const dialogs = { text: byId("text-dialog"), calibration: byId("calibration-dialog") };
  const annotators = caseData.photos.map(
    (photo, index) => new Annotator(photo, { history, title: photoTitle(photo, index), dialogs }),
  );
  byId("photos").replaceChildren(...annotators.map((annotator) => annotator.element));
  byId("photos").addEventListener("keydown", (event) => movePhotoFocus(event, annotators));
  await Promise.all(
    annotators.map((annotator) =>
      annotator.load().catch((error) => alertNow(`Annotations of ${annotator.title} could not be loaded: ${error.message}`)),
    ),
  );
}

/** j/k in a photo viewer move to the next or previous photo (the arrow keys pan it). */
function movePhotoFocus(event, annotators) {
  const step = { j: 1, k: -1 }[event.key];
  if (!step || !acceptsShortcut(event)) return;
  const index = annotators.findIndex((annotator) => annotator.svg === event.target);
  const next = annotators[index + step];
  if (index < 0 || !next) return;
  event.preventDefault();
  next.svg.focus();
  announce(`${next.title}, ${index + step + 1} of ${annotators.length}`);
}

async function showOtherCasesAndCompare(caseData, bodySites) {
  let others = [];
  try {
    others = await loadOtherCases(caseId);
  } catch (error) {
    alertNow(`Other cases could not be loaded: ${error.message}`);
  }
  const entries = caseData.photos.map((photo, index) => ({
    photo,
    title: `This case: ${photoTitle(photo, index)}`,
    group: "This case",
  }));
  for (const item of others) {
    const group = `${bodySites.get(item.body_site) || humanize(item.body_site)}, ${formatDate(item.submitted_at)}`;
    item.photos.forEach((photo, index) => entries.push({ photo, title: `${group}: ${photoTitle(photo, index)}`, group }));
  }
  const compare = new ComparePanel(entries);
  compare.start();
  openBaselineComparison(caseData, compare);
  renderOtherCases(others, bodySites, { onCompare: (photo) => compare.compareWith(photo.id) });
}

/** A follow-up case opens compared with its baseline (the baseline's close-up if any). */
function openBaselineComparison(caseData, compare) {
  const photos = caseData.follow_up_of?.photos || [];
  const baseline = photos.find((photo) => photo.view === "close_up") || photos[0];
  if (baseline && compare.compareWith(baseline.id, { focus: false })) {
    byId("compare").dataset.baseline = baseline.id;
    announce(`Follow-up case: compared with its baseline of ${formatDate(caseData.follow_up_of.submitted_at)}.`);
  }
}

/** Where the specialist goes after an assessment: the queue, with the next case focused. */
async function nextCaseAfter(queue) {
  if (!queue) return null;
  const page = await api.get(`/queues/${encodeURIComponent(queue)}/cases${api.query({ per_page: 20 })}`);
  return page.items.find((item) => item.id !== caseId && (!item.claim || item.claim.mine)) || null;
}

async function afterAssessment(caseData, lease) {
  lease.stop();
  const queue = caseData.triage?.queue;
  let next = null;
  try {
    next = await nextCaseAfter(queue);
  } catch {
    // The queue page will load the list itself; only the focus hint is lost.
  }
  leaveHandoff(
    next
      ? "Assessment submitted. The next case in the queue has focus: press Enter to open it."
      : "Assessment submitted. No more cases wait in this queue.",
  );
  window.location.assign(queueAddress(queue, next?.id));
}

async function showCase(caseData, lease) {
  const sites = await api.get("/body-sites");
  const bodySites = new Map(sites.map((site) => [site.code, site.label]));
  renderHeader(caseData, bodySites.get(caseData.body_site) || humanize(caseData.body_site));
  renderPatient(caseData);
  renderExchange(caseData);
  renderQuestionnaire(caseData);
  const titles = new Map(caseData.photos.map((photo, index) => [photo.id, photoTitle(photo, index)]));
  renderDecisionSupport(caseData.analysis, titles);
  new AssessmentForm(byId("assessment-form"), {
    caseId,
    hasAnalysis: Boolean(caseData.analysis?.length),
    onSubmitted: () => afterAssessment(caseData, lease),
  });
  byId("loading").hidden = true;
  byId("case-content").hidden = false;
  const history = new UndoHistory();
  bindUndo(history);
  const prescribing = new PrescribingSection({ caseId });
  await Promise.all([
    showPhotos(caseData, history),
    showOtherCasesAndCompare(caseData, bodySites),
    prescribing.start(),
  ]);
}

function bindReturn(lease, queue) {
  const button = byId("return-button");
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await lease.release();
      leaveHandoff("Case returned to the queue.");
      window.location.assign(queueAddress(queue, caseId));
    } catch (error) {
      alertNow(`The case could not be returned: ${error.message}`);
    }
  });
}

async function start() {
  bindShortcutToggle(byId("shortcuts-toggle"));
  byId("help-button").addEventListener("click", () => openDialog(byId("help-dialog")));
  const lease = new ClaimLease(caseId, {
    onLost: (error) => showBlocked(`Your claim on this case ended: ${error.message}`),
  });
  let caseData;
  try {
    showClaim(await lease.take());
    caseData = await api.get(`/cases/${caseId}`);
  } catch (error) {
    lease.stop();
    showBlocked(error.message);
    return;
  }
  bindReturn(lease, caseData.triage?.queue);
  await showCase(caseData, lease);
  document.body.dataset.ready = "true";
}

start().catch((error) => alertNow(`The case could not be shown: ${error.message}`));
