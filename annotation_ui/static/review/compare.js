// Comparing two of the patient's photos: side by side with linked zoom and pan,
// overlay with adjustable opacity, a swipe divider, and (once an alignment is
// accepted) the server's difference image. Overlay and swipe draw the moving photo
// through the accepted alignment; without one the photos only share a frame.

import * as api from "./api.js";
import { alertNow, announce } from "./announce.js";
import { byId, h, s } from "./dom.js";
import { affineAt, invertAffine, mapBox, stretch, svgMatrix } from "./homography.js";
import { Viewer, zoomControls } from "./viewer.js";

const CLIP_ID = "compare-swipe-clip";

export class ComparePanel {
  /** @param entries [{photo, title, group}] every photo the specialist may compare */
  constructor(entries) {
    this.entries = new Map(entries.map((entry) => [entry.photo.id, entry]));
    this.mode = "side";
    this.alignment = null;
    this.fixed = byId("compare-fixed");
    this.moving = byId("compare-moving");
    this.stage = byId("compare-stage");
    this.opacity = byId("overlay-opacity");
    this.swipe = byId("swipe-position");
    this.movingImage = null;
    this.swipeParts = null;
  }

  start() {
    for (const select of [this.fixed, this.moving]) {
      fillOptions(select, [...this.entries.values()]);
      select.addEventListener("change", () => this.pairChanged());
    }
    const [first, ...others] = this.entries.keys();
    const otherCase = others.find((id) => this.entries.get(id).group !== this.entries.get(first).group);
    this.fixed.value = first;
    this.moving.value = otherCase || others[0] || first;
    for (const radio of document.querySelectorAll('input[name="compare-mode"]')) {
      radio.addEventListener("change", () => this.setMode(radio.value));
    }
    byId("align-button").addEventListener("click", () => this.align());
    this.opacity.addEventListener("input", () => this.movingImage?.setAttribute("opacity", this.opacity.value / 100));
    this.swipe.addEventListener("input", () => this.placeDivider());
    this.pairChanged();
  }

  /** Put another photo (e.g. an earlier case's) in the moving slot and show the comparison. */
  compareWith(photoId, { focus = true } = {}) {
    if (!this.entries.has(photoId)) return false;
    this.moving.value = photoId;
    this.pairChanged();
    if (focus) byId("compare-heading").focus();
    return true;
  }

  get pair() {
    return { fixed: this.entries.get(this.fixed.value).photo, moving: this.entries.get(this.moving.value).photo };
  }

  pairChanged() {
    this.alignment = null;
    this.renderAlignment();
    byId("align-button").disabled = this.fixed.value === this.moving.value;
    if (this.mode === "difference") this.setMode("side");
    else this.render();
  }

  setMode(mode) {
    this.mode = mode;
    document.querySelector(`input[name="compare-mode"][value="${mode}"]`).checked = true;
    byId("opacity-control").hidden = mode !== "overlay";
    byId("swipe-control").hidden = mode !== "swipe";
    this.render();
  }

  get accepted() {
    return this.alignment?.accepted === true;
  }

  /** Moving -> fixed pixels for display: the accepted alignment, or a plain stretch. */
  movingToFixed() {
    const { fixed, moving } = this.pair;
    if (this.accepted) return affineAt(this.alignment.matrix, moving.width / 2, moving.height / 2);
    return stretch(moving.width, moving.height, fixed.width, fixed.height);
  }

  render() {
    this.movingImage = null;
    this.swipeParts = null;
    const { fixed, moving } = this.pair;
    const renderers = {
      side: () => this.renderSide(fixed, moving),
      overlay: () => this.renderOverlay(fixed, moving),
      swipe: () => this.renderOverlay(fixed, moving),
      difference: () => this.renderDifference(fixed),
    };
    this.stage.className = `compare-stage ${this.mode}`;
    this.stage.replaceChildren();
    renderers[this.mode]();
    byId("compare-note").textContent = this.note();
  }

  note() {
    if (this.mode === "side") return "Zoom or pan either photo; the other follows.";
    if (this.mode === "difference") return "Difference of the registered photos: bright areas changed.";
    const registration = this.accepted
      ? "Registered with the accepted alignment (shown as an affine approximation of the homography, exact at the photo's centre)."
      : "Not registered: the moving photo is only stretched to the reference's frame. Align and accept to register it.";
    return this.mode === "swipe" ? `Left of the divider: reference; right: moving photo. ${registration}` : registration;
  }

  viewerFigure(photo, caption, href = photo.links.review) {
    // Like the annotation viewers: an application, because it takes zoom and pan keys.
    const svg = s("svg", { class: "viewer", tabindex: "0", role: "application", "aria-label": caption });
    const viewer = new Viewer(svg, { width: photo.width, height: photo.height, href });
    viewer.enableNavigation();
    const figure = h(
      "figure",
      {},
      h("figcaption", { text: caption }),
      h("div", { class: "toolbar", role: "group", "aria-label": `Zoom for ${caption}` }, zoomControls(viewer)),
      svg,
    );
    this.stage.append(figure);
    return viewer;
  }

  renderSide(fixed, moving) {
    const left = this.viewerFigure(fixed, `Reference: ${this.entries.get(fixed.id).title}`);
    const right = this.viewerFigure(moving, `Moving: ${this.entries.get(moving.id).title}`);
    const toFixed = this.movingToFixed();
    linkViews(left, right, invertAffine(toFixed));
    linkViews(right, left, toFixed);
  }

  renderOverlay(fixed, moving) {
    const what = `${this.entries.get(moving.id).title} on ${this.entries.get(fixed.id).title}`;
    const viewer = this.viewerFigure(fixed, `${this.mode === "swipe" ? "Swipe" : "Overlay"}: ${what}`);
    this.movingImage = s("image", {
      href: moving.links.review,
      width: moving.width,
      height: moving.height,
      preserveAspectRatio: "none",
      opacity: this.mode === "overlay" ? this.opacity.value / 100 : 1,
    });
    const registered = s("g", { transform: svgMatrix(this.movingToFixed()) }, this.movingImage);
    const layer = viewer.layer("moving");
    if (this.mode === "overlay") {
      layer.append(registered);
      return;
    }
    const clip = s("rect", { y: 0, height: fixed.height });
    const divider = s("line", { class: "swipe-line", y1: 0, y2: fixed.height });
    const clipped = s("g", { "clip-path": `url(#${CLIP_ID})` }, registered);
    layer.append(s("defs", {}, s("clipPath", { id: CLIP_ID }, clip)), clipped, divider);
    this.swipeParts = { clip, divider, width: fixed.width };
    this.placeDivider();
  }

  placeDivider() {
    if (!this.swipeParts) return;
    const { clip, divider, width } = this.swipeParts;
    const x = (this.swipe.value / 100) * width;
    clip.setAttribute("x", x);
    clip.setAttribute("width", width - x);
    divider.setAttribute("x1", x);
    divider.setAttribute("x2", x);
  }

  renderDifference(fixed) {
    this.viewerFigure(fixed, "Difference after registration", this.alignment.links.difference);
  }

  async align() {
    const { fixed, moving } = this.pair;
    const result = byId("alignment-result");
    result.replaceChildren(h("p", { text: "Aligning…" }));
    try {
      this.alignment = await api.post("/alignments", { fixed_photo_id: fixed.id, moving_photo_id: moving.id });
      this.renderAlignment();
      announce(`Alignment found with ${this.alignment.inliers} inliers. Accept or reject it.`);
    } catch (error) {
      this.alignment = null;
      result.replaceChildren(h("p", { class: "field-error", text: `These photos could not be aligned: ${error.message}` }));
    }
  }

  async decide(accepted) {
    try {
      this.alignment = await api.patch(`/alignments/${this.alignment.id}`, { accepted });
      this.renderAlignment();
      this.render();
      announce(accepted ? "Alignment accepted: overlay and swipe are registered; difference view available." : "Alignment rejected.");
    } catch (error) {
      alertNow(`Could not record the decision: ${error.message}`);
    }
  }

  renderAlignment() {
    const result = byId("alignment-result");
    const difference = document.querySelector('input[name="compare-mode"][value="difference"]');
    difference.disabled = !this.accepted;
    byId("difference-hint").hidden = this.accepted;
    if (!this.alignment) {
      result.replaceChildren();
      return;
    }
    const a = this.alignment;
    const status = a.accepted === null ? "Not reviewed yet." : a.accepted ? "Accepted." : "Rejected.";
    result.replaceChildren(
      h("p", { text: `${a.inliers} inliers of ${a.matches} matches (${a.method}). ${status}` }),
      h(
        "figure",
        {},
        h("figcaption", { text: "Transform, moving to reference pixels (homography)" }),
        h("pre", { class: "matrix", text: a.matrix.map((row) => row.map((n) => n.toFixed(4).padStart(11)).join(" ")).join("\n") }),
      ),
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", onclick: () => this.decide(true), disabled: a.accepted === true, text: "Accept alignment" }),
        h("button", { type: "button", onclick: () => this.decide(false), disabled: a.accepted === false, text: "Reject alignment" }),
      ),
    );
  }
}

/**
 * The follower shows what the leader shows. Only the user's own changes are passed
 * on (a follower's update is not byUser), so two linked viewers cannot echo forever.
 */
function linkViews(leader, follower, leaderToFollower) {
  leader.addEventListener("viewchange", (event) => {
    if (event.detail.byUser) follower.setViewBox(mapBox(leaderToFollower, event.detail.box));
  });
}

function fillOptions(select, entries) {
  const groups = new Map();
  for (const entry of entries) {
    if (!groups.has(entry.group)) groups.set(entry.group, h("optgroup", { label: entry.group }));
    groups.get(entry.group).append(h("option", { value: entry.photo.id, text: entry.title }));
  }
  select.replaceChildren(...groups.values());
}
