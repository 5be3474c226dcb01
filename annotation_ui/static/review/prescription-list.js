// The case's prescriptions as a list: status, number, pharmacy, dispensed N of M, the
// signed PDF, and what the prescriber may still do with each (review, discard, cancel).

import { alertNow, announce } from "./announce.js";
import { formatDate, h, humanize } from "./dom.js";

const STATUS = {
  draft: "Draft, not signed",
  issued: "Issued",
  accepted: "Accepted by the pharmacy",
  dispensed: "Dispensed",
  cancelled: "Cancelled",
  expired: "Expired",
  rejected: "Rejected by the pharmacy",
};

/** "Doxycycline 100 mg, capsule (oral)" */
export function medicineLine(prescription) {
  return `${prescription.medicine} ${prescription.strength}, ${prescription.form} (${prescription.route})`;
}

const PDF_PENDING = "The signed PDF is still being prepared; try again in a few seconds.";

/**
 * Open the signed PDF in a new tab. The API does not say whether the PDF has been
 * rendered yet, so it is fetched on request (an audited read, as opening it is) and a
 * 409 becomes a "not ready yet" note instead of an error page.
 */
async function openPdf(event, link, note) {
  event.preventDefault();
  note.textContent = "";
  try {
    const response = await fetch(link.dataset.source, { credentials: "same-origin" });
    if (response.status === 409) {
      note.textContent = PDF_PENDING;
      announce(PDF_PENDING);
      return;
    }
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const address = URL.createObjectURL(await response.blob());
    if (!window.open(address, "_blank")) {
      link.href = address; // a blocked pop-up: the next activation opens it directly
      link.removeEventListener("click", link.openHandler);
      note.textContent = "The PDF is ready: activate the link again to open it.";
      announce(note.textContent);
    }
  } catch (error) {
    alertNow(`The PDF could not be opened: ${error.message}`);
  }
}

function pdfLink(prescription) {
  const note = h("span", { class: "hint" }); // announced through the live region
  const link = h("a", {
    href: prescription.links.pdf,
    "data-source": prescription.links.pdf,
    target: "_blank",
    rel: "noopener",
    text: `Signed PDF of ${prescription.number}`,
  });
  link.openHandler = (event) => openPdf(event, link, note);
  link.addEventListener("click", link.openHandler);
  return h("span", { class: "rx-pdf" }, link, " ", note);
}

function facts(prescription) {
  const rows = [
    ["Pharmacy", prescription.pharmacy ? `${prescription.pharmacy.name}, ${prescription.pharmacy.address}` : "None chosen"],
    ["Dose", prescription.instructions],
    ["Quantity", `${prescription.quantity} (${prescription.supply_days} days)`],
  ];
  if (prescription.status !== "draft") {
    rows.push(["Dispensed", `${prescription.dispensed.count} of ${prescription.dispensed.of}`]);
  }
  if (prescription.valid_until) rows.push(["Valid until", formatDate(prescription.valid_until)]);
  return h("dl", { class: "facts" }, rows.flatMap(([term, value]) => [h("dt", { text: term }), h("dd", { text: value })]));
}

/**
 * Render the list. `actions` holds onReview, onDiscard and onCancel, each given the
 * prescription.
 */
export function renderPrescriptions(list, empty, prescriptions, actions) {
  empty.hidden = prescriptions.length > 0;
  list.replaceChildren(
    ...prescriptions.map((prescription) => {
      const status = String(prescription.status);
      const buttons = [];
      const which = h("span", { class: "visually-hidden", text: ` of ${medicineLine(prescription)}` });
      if (status === "draft") {
        buttons.push(
          h("button", { type: "button", onclick: () => actions.onReview(prescription) }, "Review and sign", which.cloneNode(true)),
          h("button", { type: "button", onclick: () => actions.onDiscard(prescription) }, "Discard draft", which.cloneNode(true)),
        );
      }
      if (status === "issued") {
        buttons.push(
          h("button", { type: "button", "aria-haspopup": "dialog", onclick: () => actions.onCancel(prescription) }, "Cancel…", h("span", { class: "visually-hidden", text: ` prescription ${prescription.number}` })),
        );
      }
      return h(
        "li",
        { class: `rx-item rx-${status}`, "data-prescription-id": prescription.id },
        h(
          "p",
          { class: "rx-title", id: `rx-item-${prescription.id}`, tabindex: "-1" },
          h("strong", { text: medicineLine(prescription) }),
        ),
        h(
          "p",
          {},
          h("span", { class: `badge rx-status rx-status-${status}`, text: STATUS[status] || humanize(status) }),
          prescription.number ? h("span", { class: "rx-number", text: ` No. ${prescription.number}` }) : null,
        ),
        facts(prescription),
        prescription.links.pdf ? h("p", {}, pdfLink(prescription)) : null,
        buttons.length ? h("div", { class: "rx-actions" }, buttons) : null,
      );
    }),
  );
}
