// The patient's other cases (newest first): what was found and decided, and their
// photos, each of which can be sent to the comparison.

import * as api from "./api.js";
import { byId, formatDate, h, humanize } from "./dom.js";

export async function loadOtherCases(caseId) {
  const page = await api.get(`/cases/${caseId}/history`);
  return page.items;
}

/** A diagnosis in words, whether the API gives a coded object or plain text. */
function diagnosisText(diagnosis) {
  if (!diagnosis) return "";
  if (typeof diagnosis === "string") return diagnosis;
  return diagnosis.display || diagnosis.text || diagnosis.code || "";
}

function outcome(item) {
  const assessment = item.assessment;
  if (!assessment) return `Status: ${humanize(item.status)}. No assessment yet.`;
  const decision = `${diagnosisText(assessment.diagnosis)} — ${humanize(assessment.management)}`;
  return `Status: ${humanize(item.status)}. Assessed ${formatDate(assessment.created_at)}: ${decision}.`;
}

function photoTile(photo, caseTitle, onCompare) {
  const name = `${humanize(photo.view)} photo, ${caseTitle}`;
  return h(
    "li",
    {},
    h("img", { src: photo.links.thumb, alt: name, loading: "lazy" }),
    h("button", { type: "button", onclick: () => onCompare(photo), "aria-label": `Compare ${name}`, text: "Compare" }),
  );
}

/** Show the other cases; onCompare(photo) is called when one of their photos is chosen. */
export function renderOtherCases(items, bodySites, { onCompare }) {
  const root = byId("other-cases");
  if (!items.length) {
    root.replaceChildren(h("p", { text: "No other cases." }));
    return;
  }
  root.replaceChildren(
    h(
      "ul",
      { class: "other-cases" },
      items.map((item) => {
        const title = `${bodySites.get(item.body_site) || humanize(item.body_site)}, ${formatDate(item.submitted_at)}`;
        return h(
          "li",
          { "data-case-id": item.id },
          h("h3", { text: title }),
          h("p", { text: outcome(item) }),
          h("ul", { class: "thumbs", "aria-label": `Photos of ${title}` }, item.photos.map((p) => photoTile(p, title, onCompare))),
        );
      }),
    ),
  );
}
