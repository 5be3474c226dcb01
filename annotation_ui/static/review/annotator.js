// One photo in the case page: its viewer, the drawing tools, the annotation list and
// the calibration. Every change goes through the page's undo history.

import { alertNow, announce } from "./announce.js";
import { calibrate, calibrationText, parseLength, removeCalibration } from "./calibration.js";
import { askValue } from "./dialog.js";
import { h, s } from "./dom.js";
import { AnnotationLayer, describe, kindOf, newRecord } from "./annotation-layer.js";
import { acceptsShortcut } from "./keyboard.js";
import { clampShape, markerDefs, shapeElement, translateShape } from "./shapes.js";
import { TOOLS, gestureFor } from "./tools.js";
import { Viewer, zoomControls } from "./viewer.js";

export class Annotator {
  /**
   * @param photo the photo from the case (with width, height, links, calibration)
   * @param options {history, title, dialogs: {text, calibration}}
   */
  constructor(photo, { history, title, dialogs }) {
    this.photo = photo;
    this.history = history;
    this.title = title;
    this.dialogs = dialogs;
    this.tool = "select";
    this.gesture = null;
    this.moving = null;
    this.spaceHeld = false;
    this.element = this.build();
  }

  build() {
    const id = `photo-${this.photo.id}`;
    this.buildViewer(id);
    this.list = h("ul", { class: "annotation-list" });
    this.calibrationStatus = h("p", { class: "calibration-status" });
    this.toolButtons = new Map(TOOLS.map((tool) => [tool.name, this.toolButton(tool)]));
    this.layer.addEventListener("change", () => this.renderList());
    const figure = h(
      "figure",
      { class: "photo", id, "data-photo-id": this.photo.id, "aria-labelledby": `${id}-caption` },
      h("figcaption", { id: `${id}-caption`, text: `${this.title} · ${this.photo.width} × ${this.photo.height} px` }),
      qualityNotes(this.photo),
      h("div", { class: "toolbar", role: "group", "aria-label": `Tools for ${this.title}` }, [...this.toolButtons.values()]),
      h("div", { class: "toolbar", role: "group", "aria-label": `Zoom for ${this.title}` }, zoomControls(this.viewer)),
      this.svg,
      h("p", {
        id: `${id}-hint`,
        class: "hint",
        text: "Wheel or + and − zoom; arrow keys, Space+drag or the Select tool pan. Tool keys are shown on the buttons.",
      }),
      this.calibrationStatus,
      h("h3", { text: `Annotations on ${this.title}` }),
      this.list,
    );
    figure.addEventListener("keydown", (event) => this.onKey(event));
    return figure;
  }

  /** The SVG and its layers, bottom to top: photo, calibration line, annotations, draft. */
  buildViewer(id) {
    // role=application: the viewer handles its own keys (tools, zoom, pan), which a
    // screen reader's browse mode would otherwise take; the list below is the readable view.
    this.svg = s("svg", {
      class: "viewer",
      tabindex: "0",
      role: "application",
      "aria-label": `${this.title}: annotation viewer`,
      "aria-describedby": `${id}-hint`,
      "data-tool": this.tool,
    });
    const { width, height, links } = this.photo;
    this.viewer = new Viewer(this.svg, { width, height, href: links.review });
    this.markers = markerDefs(id);
    this.svg.prepend(this.markers.defs);
    this.calibrationLayer = this.viewer.layer("calibration");
    this.layer = new AnnotationLayer(this.photo, this.viewer.layer("annotations"), this.markers);
    this.draftLayer = this.viewer.layer("draft");
    this.viewer.enableNavigation({
      panWith: (event) => this.pansOn(event),
      onPointer: (phase, event) => this.onPointer(phase, event),
    });
    this.svg.addEventListener("keyup", (event) => {
      if (event.key === " ") this.spaceHeld = false;
    });
  }

  async load() {
    this.renderCalibration();
    await this.layer.load();
  }

  toolButton(tool) {
    return h(
      "button",
      {
        type: "button",
        "aria-pressed": String(tool.name === this.tool),
        "aria-keyshortcuts": tool.key,
        "data-tool": tool.name,
        onclick: () => this.setTool(tool.name),
      },
      `${tool.label} `,
      h("kbd", { text: tool.key }),
    );
  }

  setTool(name) {
    this.tool = name;
    this.gesture = name === "select" ? null : gestureFor(name);
    this.draftLayer.replaceChildren();
    this.svg.dataset.tool = name;
    for (const [toolName, button] of this.toolButtons) button.setAttribute("aria-pressed", String(toolName === name));
  }

  pansOn(event) {
    if (event.button === 1 || this.spaceHeld) return true;
    return this.tool === "select" && !this.layer.recordFor(event.target);
  }

  onPointer(phase, event) {
    const point = this.viewer.toImageInside(event.clientX, event.clientY);
    const unit = this.viewer.unitsPerPixel();
    if (this.tool === "select") {
      this.onSelectPointer(phase, event, point);
      return;
    }
    if (phase === "down") this.svg.setPointerCapture(event.pointerId);
    const handler = this.gesture[phase];
    if (handler) this.onGestureResult(handler.call(this.gesture, point, unit));
  }

  onGestureResult(result) {
    if (!result) return;
    if (result.refused) alertNow(result.refused);
    if (result.draft) this.showDraft(result.draft);
    if (result.cancel || result.done) {
      this.draftLayer.replaceChildren();
      this.gesture = gestureFor(this.tool);
    }
    if (result.done) this.finishShape(clampShape(result.done, this.photo.width, this.photo.height));
  }

  showDraft(shape) {
    this.draftLayer.replaceChildren(shapeElement(shape, this.markers));
  }

  // With Select, pressing an annotation selects it and dragging moves it.
  onSelectPointer(phase, event, point) {
    if (phase === "down") {
      const record = this.layer.recordFor(event.target);
      this.layer.select(record);
      if (record && !record.pending) {
        this.svg.setPointerCapture(event.pointerId);
        this.moving = { record, start: point, shape: record.shape, to: record.shape };
      }
    } else if (phase === "move" && this.moving) {
      const { start, shape } = this.moving;
      const moved = translateShape(shape, point.x - start.x, point.y - start.y);
      this.moving.to = clampShape(moved, this.photo.width, this.photo.height);
      this.showDraft(this.moving.to);
    } else if (phase === "up" && this.moving) {
      const { record, start, shape, to } = this.moving;
      this.moving = null;
      this.draftLayer.replaceChildren();
      const dragged = Math.hypot(point.x - start.x, point.y - start.y) >= 2 * this.viewer.unitsPerPixel();
      if (dragged) this.moveRecord(record, shape, to);
    }
  }

  async finishShape(shape) {
    if (shape.tool === "calibrate") {
      await this.calibrateWith(shape);
      return;
    }
    let text = "";
    if (shape.tool === "text") {
      text = await askValue(this.dialogs.text);
      if (!text) return;
    }
    const record = newRecord(shape, text);
    const done = await this.perform({
      label: `draw ${kindOf(record).toLowerCase()}`,
      run: () => this.layer.add(record),
      revert: () => this.layer.remove(record),
    });
    if (done) announce(`${describe(record)} added to ${this.title}.`);
  }

  async deleteRecord(record) {
    const done = await this.perform({
      label: `delete ${kindOf(record).toLowerCase()}`,
      run: () => this.layer.remove(record),
      revert: () => this.layer.add(record),
    });
    if (done) announce(`${describe(record)} deleted.`);
  }

  moveRecord(record, from, to) {
    return this.perform({
      label: `move ${kindOf(record).toLowerCase()}`,
      run: () => this.layer.reshape(record, to),
      revert: () => this.layer.reshape(record, from),
    });
  }

  /** Run a command through the undo history; false (and an alert) when it failed. */
  async perform(command) {
    try {
      await this.history.perform(command);
      return true;
    } catch (error) {
      alertNow(`Could not ${command.label}: ${error.message}`);
      return false;
    }
  }

  async calibrateWith(line) {
    const answer = await askValue(this.dialogs.calibration);
    if (answer === null) return;
    const length = parseLength(answer);
    if (length === null) {
      alertNow("The length must be a positive number of millimetres.");
      return;
    }
    try {
      this.photo.calibration = await calibrate(this.photo, [line.x1, line.y1, line.x2, line.y2].map(round1), length);
      this.setTool("select");
      await this.load();
      announce(`${this.title} calibrated. Measurements are now in millimetres.`);
    } catch (error) {
      alertNow(`Calibration failed: ${error.message}`);
    }
  }

  async uncalibrate() {
    try {
      await removeCalibration(this.photo);
      this.photo.calibration = null;
      await this.load();
      announce(`Calibration removed from ${this.title}.`);
    } catch (error) {
      alertNow(`Could not remove the calibration: ${error.message}`);
    }
  }

  renderCalibration() {
    const calibration = this.photo.calibration;
    this.calibrationStatus.replaceChildren(calibrationText(calibration));
    this.calibrationLayer.replaceChildren();
    if (!calibration) return;
    const [x1, y1, x2, y2] = calibration.line;
    this.calibrationLayer.append(s("line", { class: "calibration-line", x1, y1, x2, y2 }));
    this.calibrationStatus.append(
      " ",
      h("button", { type: "button", onclick: () => this.uncalibrate(), text: "Remove calibration" }),
    );
  }

  renderList() {
    const items = this.layer.records.map((record) => {
      const name = describe(record);
      return h(
        "li",
        { "data-key": record.key },
        h("button", {
          type: "button",
          class: "measure",
          "aria-pressed": String(record === this.layer.selected),
          onclick: () => this.layer.select(record === this.layer.selected ? null : record),
          text: name,
        }),
        h("button", { type: "button", "aria-label": `Delete ${name}`, onclick: () => this.deleteRecord(record), text: "Delete" }),
      );
    });
    this.list.replaceChildren(...(items.length ? items : [h("li", { class: "hint", text: "No annotations yet." })]));
  }

  onKey(event) {
    if (event.key === " " && event.target === this.svg) {
      event.preventDefault(); // Space+drag pans; it must not scroll the page
      this.spaceHeld = true;
      return;
    }
    if (this.gesture?.active && this.gesture.key) {
      const result = this.gesture.key(event, this.viewer.unitsPerPixel());
      if (result) {
        event.preventDefault();
        this.onGestureResult(result);
        return;
      }
    }
    if (event.key === "Escape") {
      this.setTool(this.tool);
      this.layer.select(null);
      return;
    }
    const selected = this.layer.selected;
    if ((event.key === "Delete" || event.key === "Backspace") && selected && event.target === this.svg) {
      event.preventDefault();
      this.deleteRecord(selected);
      return;
    }
    const tool = acceptsShortcut(event) && TOOLS.find((t) => t.key === event.key);
    if (tool) {
      event.preventDefault();
      this.setTool(tool.name);
      announce(`${tool.label} tool`);
    }
  }
}

function qualityNotes(photo) {
  const reasons = photo.quality_reasons || [];
  if (!reasons.length) return h("p", { class: "hint", text: "Quality check: no problems found." });
  return h(
    "ul",
    { class: "quality-notes", "aria-label": "Quality notes" },
    reasons.map((reason) =>
      h("li", {}, h("strong", { text: reason.severity === "reject" ? "Quality problem: " : "Quality warning: " }), reason.message),
    ),
  );
}

function round1(value) {
  return Math.round(value * 10) / 10;
}
