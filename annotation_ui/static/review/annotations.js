// W3C Web Annotation <-> shapes. A rectangle is a media-fragment selector
// (xywh=pixel:...); every other tool is an SvgSelector with one element, and
// data-tool tells apart the kinds that share an element (point/text, arrow/ruler).

const CONTEXT = "http://www.w3.org/ns/anno.jsonld";
const SVG_NS = "http://www.w3.org/2000/svg";

/** Coordinates go to the API at 0.01 px, the precision it stores, so a round trip is exact. */
function num(value) {
  return String(Math.round(value * 100) / 100);
}

function svgSelector(element) {
  return { type: "SvgSelector", value: `<svg xmlns="${SVG_NS}">${element}</svg>` };
}

function selectorFor(shape) {
  const points = () => shape.points.map(([x, y]) => `${num(x)},${num(y)}`).join(" ");
  const line = (tool) =>
    `<line x1="${num(shape.x1)}" y1="${num(shape.y1)}" x2="${num(shape.x2)}" y2="${num(shape.y2)}" data-tool="${tool}"/>`;
  switch (shape.tool) {
    case "rectangle":
      return {
        type: "FragmentSelector",
        conformsTo: "http://www.w3.org/TR/media-frags/",
        value: `xywh=pixel:${[shape.x, shape.y, shape.w, shape.h].map(num).join(",")}`,
      };
    case "ellipse":
      return svgSelector(`<ellipse cx="${num(shape.cx)}" cy="${num(shape.cy)}" rx="${num(shape.rx)}" ry="${num(shape.ry)}"/>`);
    case "polygon":
      return svgSelector(`<polygon points="${points()}"/>`);
    case "freehand":
      return svgSelector(`<polyline points="${points()}"/>`);
    case "point":
    case "text":
      return svgSelector(`<circle cx="${num(shape.cx)}" cy="${num(shape.cy)}" r="0" data-tool="${shape.tool}"/>`);
    case "arrow":
    case "ruler":
      return svgSelector(line(shape.tool));
    default:
      throw new Error(`No selector for tool ${shape.tool}`);
  }
}

/** The annotation to POST or PUT for a shape drawn on `photo` (text is the label or note). */
export function toAnnotation(shape, photo, text = "") {
  // No motivation: the server gives each tool its own (highlighting, describing, assessing).
  const annotation = {
    "@context": CONTEXT,
    type: "Annotation",
    target: { source: photo.links.self || new URL(photo.links.original, window.location.href).href, selector: selectorFor(shape) },
  };
  if (text) annotation.body = [{ type: "TextualBody", value: text, purpose: "describing", format: "text/plain" }];
  return annotation;
}

function parsePoints(text) {
  return text
    .trim()
    .split(/\s+/)
    .map((pair) => pair.split(",").map(Number));
}

function fromFragment(value) {
  const [x, y, w, h] = value.replace(/^xywh=(pixel:)?/, "").split(",").map(Number);
  return { tool: "rectangle", x, y, w, h };
}

function fromSvg(value) {
  const element = new DOMParser().parseFromString(value, "image/svg+xml").documentElement.firstElementChild;
  const attr = (name) => Number(element.getAttribute(name));
  switch (element.localName) {
    case "ellipse":
      return { tool: "ellipse", cx: attr("cx"), cy: attr("cy"), rx: attr("rx"), ry: attr("ry") };
    case "polygon":
      return { tool: "polygon", points: parsePoints(element.getAttribute("points")) };
    case "polyline":
      return { tool: "freehand", points: parsePoints(element.getAttribute("points")) };
    case "circle":
      return { tool: element.getAttribute("data-tool") === "text" ? "text" : "point", cx: attr("cx"), cy: attr("cy") };
    case "line":
      return {
        tool: element.getAttribute("data-tool") === "arrow" ? "arrow" : "ruler",
        x1: attr("x1"),
        y1: attr("y1"),
        x2: attr("x2"),
        y2: attr("y2"),
      };
    default:
      throw new Error(`Unsupported SVG selector element <${element.localName}>`);
  }
}

/** The shape an annotation from the API describes. */
export function shapeOf(annotation) {
  const selector = annotation.target.selector;
  return selector.type === "FragmentSelector" ? fromFragment(selector.value) : fromSvg(selector.value);
}

/** The annotation's text (a text tool's label, or a note), or "". */
export function textOf(annotation) {
  const body = [annotation.body || []].flat().find((b) => b.type === "TextualBody");
  return body ? body.value : "";
}

/** The annotation's id for URLs: the API gives a full URL, whose last segment is the id. */
export function annotationId(annotation) {
  return String(annotation.id).split("/").filter(Boolean).pop();
}
