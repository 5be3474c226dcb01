// The case as read, not edited: patient context, the questionnaire and the triage line.

import { byId, formatDate, h, humanize } from "./dom.js";
import { slaClock } from "./sla.js";

// Questionnaire answers in the order a dermatologist takes a history.
const QUESTIONS = [
  ["duration", "How long"],
  ["changed_size", "Changed in size"],
  ["changed_shape", "Changed in shape"],
  ["changed_colour", "Changed in colour"],
  ["itch", "Itching"],
  ["itching", "Itching"], // the contract's name for "itch"
  ["bleeding", "Bleeding"],
  ["pain", "Painful"],
  ["scaly", "Scaly"],
  ["description", "In the patient's words", (text) => text || "Nothing written"],
];

const HISTORY_ITEMS = [
  ["previous_skin_cancer", "Previous skin cancer"],
  ["family_history_melanoma", "Family history of melanoma"],
  ["medications", "Medications"],
  ["allergies", "Allergies"],
  ["pregnant_or_breastfeeding", "Pregnant or breastfeeding"],
];

function answerText(value) {
  if (value === true) return "Yes";
  if (value === false) return "No";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "None";
  if (value === null || value === undefined || value === "") return "Not answered";
  return humanize(value);
}

function facts(pairs) {
  return pairs.flatMap(([term, value]) => [h("dt", { text: term }), h("dd", { text: value })]);
}

function answered(questionnaire, questions) {
  return questions
    .filter(([key]) => key in questionnaire)
    .map(([key, label, format = answerText]) => [label, format(questionnaire[key])]);
}

/** Age, sex, skin type and the history items the questionnaire asks about. */
export function renderPatient(caseData) {
  const patient = caseData.patient || {};
  const questionnaire = caseData.questionnaire || {};
  const fitzpatrick = patient.fitzpatrick || questionnaire.fitzpatrick;
  byId("patient-facts").replaceChildren(
    ...facts([
      ["Age", patient.age !== undefined && patient.age !== null ? `${patient.age} years` : "Not known"],
      ["Sex", answerText(patient.sex)],
      ["Fitzpatrick skin type", fitzpatrick ? `Type ${fitzpatrick}` : "Not given"],
      ...answered(questionnaire, HISTORY_ITEMS),
    ]),
  );
}

export function renderQuestionnaire(caseData) {
  byId("questionnaire").replaceChildren(...facts(answered(caseData.questionnaire || {}, QUESTIONS)));
}

/** The heading and the triage line: body site, queue, priority, SLA, routing reasons. */
export function renderHeader(caseData, bodySiteLabel) {
  byId("case-title").textContent = `${bodySiteLabel} · submitted ${formatDate(caseData.submitted_at)}`;
  const triage = caseData.triage || {};
  const parts = [];
  if (triage.priority) parts.push(h("span", { class: `badge priority-${triage.priority}`, text: humanize(triage.priority) }));
  if (triage.queue) parts.push(` Queue: ${humanize(triage.queue)}. `);
  if (triage.sla_due_at) {
    const clock = slaClock(stateOf(triage.sla_due_at), triage.sla_due_at);
    parts.push(h("span", { class: `badge sla sla-${clock.state}` }, h("strong", { text: `${clock.label}: ` }), clock.text));
  }
  if (triage.routing_reasons?.length) parts.push(` Routed because: ${triage.routing_reasons.join("; ")}.`);
  byId("triage").replaceChildren(...parts);
}

// The case view has no sla_state; the queue's 24-hour "due soon" rule is applied here.
function stateOf(dueAt) {
  const left = new Date(dueAt).getTime() - Date.now();
  if (left < 0) return "breached";
  return left < 24 * 3600 * 1000 ? "due_soon" : "ok";
}

/** What came before this review: the follow-up it answers, requests and the patient's replies. */
export function renderExchange(caseData) {
  const entries = [];
  const baseline = caseData.follow_up_of;
  if (baseline) {
    const asked = baseline.instructions ? ` Instructions: ${baseline.instructions}` : "";
    entries.push([baseline.submitted_at || "", `Follow-up of the case submitted ${formatDate(baseline.submitted_at)}.${asked}`]);
  }
  for (const assessment of caseData.assessments || []) {
    if (assessment.management !== "more_information") continue;
    const who = assessment.specialist?.name || "The specialist";
    entries.push([assessment.created_at, `${formatDate(assessment.created_at)} — ${who} asked: ${assessment.information_request}`]);
  }
  for (const reply of caseData.replies || []) {
    entries.push([reply.created_at, `${formatDate(reply.created_at)} — the patient replied: ${reply.message}`]);
  }
  entries.sort(([a], [b]) => a.localeCompare(b));
  byId("exchange-items").replaceChildren(...entries.map(([, text]) => h("li", { text })));
  byId("exchange").hidden = entries.length === 0;
}
