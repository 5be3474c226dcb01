// The automated pre-analysis, shown as decision support: labelled with the model's
// name and version, with its out-of-distribution flag, and never worded as a diagnosis.

import { byId, h, humanize } from "./dom.js";

function percent(p) {
  return `${(p * 100).toFixed(1)} %`;
}

function probabilityList(probabilities) {
  const ranked = Object.entries(probabilities || {}).sort((a, b) => b[1] - a[1]);
  return h(
    "ul",
    { "aria-label": "Model output: class probabilities" },
    ranked.map(([label, p]) => h("li", {}, h("span", { text: `${label}: ` }), h("strong", { text: percent(p) }))),
  );
}

function analysisBlock(analysis, photoTitle) {
  const model = analysis.model || {};
  return h(
    "div",
    { class: "analysis", "data-photo-id": analysis.photo_id },
    h("h3", { text: `Model output for ${photoTitle}` }),
    h("p", {}, "Model: ", h("strong", { text: `${model.name} ${model.version}` })),
    analysis.out_of_distribution
      ? h("p", {
          class: "ood",
          text:
            "Out of distribution: this photo is unlike the images the model learnt from (dermoscopy). " +
            "Give this output little weight.",
        })
      : null,
    h("p", { text: `Malignancy score (model estimate): ${percent(analysis.malignancy_score)}` }),
    probabilityList(analysis.probabilities),
    h("p", { class: "hint", text: analysis.notice }),
  );
}

/** Render the analyses; photoTitles maps photo id -> the photo's title on this page. */
export function renderDecisionSupport(analyses, photoTitles) {
  const root = byId("analysis");
  if (!analyses?.length) {
    root.replaceChildren(h("p", { text: "No automated pre-analysis was made for this case." }));
    return;
  }
  root.replaceChildren(
    h("p", { text: "Decision support from an automated model. It is not a diagnosis; you decide." }),
    ...analyses.map((a) => analysisBlock(a, photoTitles.get(a.photo_id) || humanize("photo"))),
  );
}
