// The annotations of one photo: kept in step with the API and drawn in the viewer.
// A record is one annotation as the user sees it; it keeps its identity across
// undo/redo even though re-creating it on the server gives it a new id.

import * as api from "./api.js";
import { annotationId, shapeOf, textOf, toAnnotation } from "./annotations.js";
import { humanize, s } from "./dom.js";
import { labelElement, shapeElement } from "./shapes.js";

let nextKey = 1;

export class AnnotationLayer extends EventTarget {
  constructor(photo, group, markers) {
    super();
    this.photo = photo;
    this.group = group;
    this.markers = markers;
    this.records = [];
    this.selected = null;
  }

  get path() {
    return `/photos/${this.photo.id}/annotations`;
  }

  /** Replace what is shown with the annotations stored for the photo. */
  async load() {
    const page = await api.get(this.path);
    this.records = page.items.map((annotation) => {
      const record = newRecord(shapeOf(annotation), textOf(annotation));
      this.accept(record, annotation);
      return record;
    });
    this.selected = null;
    this.changed();
  }

  /** Store a record's shape as a new annotation (a first draw, a redo, an undone delete). */
  async add(record) {
    record.pending = true;
    if (!this.records.includes(record)) this.records.push(record);
    this.changed();
    try {
      const saved = await api.post(this.path, toAnnotation(record.shape, this.photo, record.text));
      this.accept(record, saved);
    } catch (error) {
      this.records = this.records.filter((r) => r !== record);
      throw error;
    } finally {
      record.pending = false;
      this.changed();
    }
  }

  async remove(record) {
    await api.del(`${this.path}/${record.id}`);
    this.records = this.records.filter((r) => r !== record);
    if (this.selected === record) this.selected = null;
    record.id = null;
    this.changed();
  }

  async reshape(record, shape) {
    const saved = await api.put(`${this.path}/${record.id}`, toAnnotation(shape, this.photo, record.text));
    this.accept(record, saved);
    this.changed();
  }

  /** Take the server's version: its id, its (rounded) coordinates and its measurement. */
  accept(record, annotation) {
    record.id = annotationId(annotation);
    record.shape = shapeOf(annotation);
    record.text = textOf(annotation);
    record.measurement = annotation.measurement || null;
  }

  select(record) {
    this.selected = record;
    this.changed();
  }

  /** The record drawn by an element (or its descendant), if any. */
  recordFor(element) {
    const group = element instanceof Element ? element.closest(".annotation") : null;
    return group ? this.records.find((r) => String(r.key) === group.dataset.key) || null : null;
  }

  changed() {
    this.render();
    this.dispatchEvent(new Event("change"));
  }

  render() {
    this.group.replaceChildren(...this.records.map((record) => this.draw(record)));
  }

  draw(record) {
    const classes = ["annotation", record === this.selected && "selected", record.pending && "pending"];
    const label = describeMeasure(record);
    return s(
      "g",
      {
        class: classes.filter(Boolean).join(" "),
        "data-key": record.key,
        "data-id": record.id,
        "data-tool": record.shape.tool,
      },
      shapeElement(record.shape, this.markers),
      label && labelElement(record.shape, label),
    );
  }
}

/** A record for a shape that is not stored yet. */
export function newRecord(shape, text = "") {
  return { key: nextKey++, id: null, shape, text, measurement: null, pending: false };
}

function describeMeasure(record) {
  return [record.text, record.measurement?.label].filter(Boolean).join(" — ");
}

/** What kind of annotation a record is: "Ruler", "Text label". */
export function kindOf(record) {
  return record.shape.tool === "text" ? "Text label" : humanize(record.shape.tool);
}

/** A record in words, for lists and announcements: "Ruler: 12.3 mm". */
export function describe(record) {
  const detail = describeMeasure(record) || (record.pending ? "saving…" : "");
  return detail ? `${kindOf(record)}: ${detail}` : kindOf(record);
}
