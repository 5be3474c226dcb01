// The photo step, enhanced: resumable tus uploads with a progress bar, optional
// downsizing on the phone (low data), and the quality verdict as soon as it is known.
// Without this module the same forms post the photo whole, and the page refreshes.

const TUS = { "Tus-Resumable": "1.0.0" };
const LOW_DATA_EDGE = 2048;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
const POLL_MS = 1000;

const root = document.getElementById("photo-steps");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const caseId = root.dataset.case;
const chunkSize = Number(root.dataset.chunk);
const maxBytes = Number(root.dataset.maxBytes);
const lowData = document.getElementById("low-data");
const msg = (name) => root.dataset[`msg${name}`];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const base64 = (text) => btoa(unescape(encodeURIComponent(text)));

lowData.checked = localStorage.getItem("casebox.lowData") === "1";
lowData.addEventListener("change", () => {
  localStorage.setItem("casebox.lowData", lowData.checked ? "1" : "0");
});

for (const form of root.querySelectorAll("form[data-upload]")) {
  // Choosing the photo sends it at once; the button is for pages without this script.
  form.querySelector('button[type="submit"]').hidden = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    if (file) send(form, file);
  });
  form.querySelector('input[type="file"]').addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) send(form, file);
  });
  // The guided camera (follow-up photos) hands over the frame it took.
  form.addEventListener("casebox:photo", (event) => send(form, event.detail));
}
root.dataset.ready = "true";

async function send(form, file) {
  const view = form.dataset.upload;
  const status = form.querySelector(".upload-status");
  const bar = form.querySelector("progress");
  const input = form.querySelector('input[type="file"]');
  input.disabled = true;
  try {
    status.textContent = msg("Preparing");
    const shrink = lowData.checked;
    const blob = shrink ? await downsize(file) : file;
    if (blob.size > maxBytes) throw new Error(msg("TooBig"));
    bar.hidden = false;
    const photoUrl = await upload(blob, { view, shrink, file }, (sent) => {
      const percent = Math.floor((100 * sent) / blob.size);
      bar.value = percent;
      status.textContent = msg("Sending").replace("{percent}", percent);
    }, status);
    status.textContent = msg("Checking");
    const photo = await verdict(photoUrl);
    bar.hidden = true;
    status.textContent = "";
    showPhoto(form, view, photo, photoUrl);
    form.reset();
  } catch (error) {
    bar.hidden = true;
    status.textContent = `${msg("Failed")} ${error.message}`;
  } finally {
    input.disabled = false;
  }
}

// Low data: at most 2048 px on the long edge, re-encoded as JPEG (which also drops
// the phone's metadata before it leaves the phone). Smaller photos go as they are.
async function downsize(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, LOW_DATA_EDGE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === "image/jpeg") return file;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("JPEG"))), "image/jpeg", 0.9);
  });
}

// tus 1.0 core + creation. The upload's address is remembered, so that a dropped
// connection, or even a reload of the page, continues from the last byte received.
async function upload(blob, { view, shrink, file }, progress, status) {
  const key = `casebox.upload.${caseId}.${view}.${file.name}.${file.size}.${file.lastModified}.${shrink}`;
  let location = localStorage.getItem(key);
  let offset = location ? await serverOffset(location) : null;
  if (offset === null) {
    location = await create(blob.size, view, shrink);
    localStorage.setItem(key, location);
    offset = 0;
  }
  let failures = 0;
  while (offset < blob.size) {
    try {
      const answer = await patch(location, blob, offset, progress);
      offset = Number(answer.getResponseHeader("Upload-Offset"));
      failures = 0;
      if (offset >= blob.size) {
        localStorage.removeItem(key);
        return answer.getResponseHeader("Casebox-Photo");
      }
    } catch (error) {
      if (error.final) throw error;
      status.textContent = msg("Offline");
      await sleep(RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]);
      failures += 1;
      const known = await serverOffset(location).catch(() => null);
      if (known !== null) offset = known;
    }
  }
  localStorage.removeItem(key);
  const head = await fetch(location, { method: "HEAD", headers: TUS, credentials: "same-origin" });
  return head.headers.get("Casebox-Photo");
}

async function create(length, view, shrink) {
  const metadata = [
    `case_id ${base64(caseId)}`,
    `view ${base64(view)}`,
    `low_data ${base64(shrink ? "1" : "0")}`,
  ].join(",");
  const response = await fetch("/api/v1/uploads", {
    method: "POST",
    credentials: "same-origin",
    headers: { ...TUS, "Upload-Length": String(length), "Upload-Metadata": metadata, "X-CSRF-Token": csrf },
  });
  if (!response.ok) throw await problem(response);
  return response.headers.get("Location");
}

async function serverOffset(location) {
  const response = await fetch(location, {
    method: "HEAD", headers: TUS, credentials: "same-origin", cache: "no-store",
  });
  if (!response.ok) return null;
  return Number(response.headers.get("Upload-Offset"));
}

function patch(location, blob, offset, progress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PATCH", location);
    request.setRequestHeader("Tus-Resumable", "1.0.0");
    request.setRequestHeader("Upload-Offset", String(offset));
    request.setRequestHeader("Content-Type", "application/offset+octet-stream");
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.timeout = 60000;
    request.upload.onprogress = (event) => progress(offset + event.loaded);
    request.onload = () => {
      if (request.status === 204) return resolve(request);
      let detail = request.statusText;
      try { detail = JSON.parse(request.responseText).detail || detail; } catch { /* not JSON */ }
      const error = new Error(detail);
      error.final = request.status >= 400 && request.status < 500 && request.status !== 409;
      reject(error);
    };
    request.onerror = () => reject(new Error("network"));
    request.ontimeout = () => reject(new Error("timeout"));
    request.send(blob.slice(offset, Math.min(offset + chunkSize, blob.size)));
  });
}

async function problem(response) {
  try {
    const body = await response.json();
    const error = new Error(body.detail || response.statusText);
    error.final = true;
    return error;
  } catch {
    return Object.assign(new Error(response.statusText), { final: true });
  }
}

async function verdict(photoUrl) {
  for (;;) {
    const response = await fetch(photoUrl, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) {
      const photo = await response.json();
      if (photo.status !== "processing") return photo;
    }
    await sleep(POLL_MS);
  }
}

function showPhoto(form, view, photo, photoUrl) {
  const list = root.querySelector(`[data-photos="${view}"]`);
  const card = document.getElementById("photo-card").content.firstElementChild.cloneNode(true);
  card.dataset.photo = photo.id;
  card.dataset.status = photo.status;
  const warned = photo.quality_reasons && photo.quality_reasons.length > 0;
  const heading = card.querySelector(".status");
  if (photo.status === "rejected") {
    heading.textContent = msg("Bad");
    heading.classList.add("verdict-bad");
  } else if (warned) {
    heading.textContent = msg("Warn");
    heading.classList.add("verdict-warn");
  } else {
    heading.textContent = msg("Good");
    heading.classList.add("verdict-good");
  }
  heading.setAttribute("role", "status");
  for (const reason of photo.quality_reasons || []) {
    const item = document.createElement("li");
    item.textContent = reason.message;
    card.querySelector(".reasons").append(item);
  }
  if (photo.status === "ready") {
    const image = document.createElement("img");
    image.src = photo.links.thumb;
    image.width = image.height = 96;
    image.alt = "";
    card.prepend(image);
  }
  if (photo.status === "rejected" || warned) {
    const retake = document.createElement("button");
    retake.type = "button";
    retake.textContent = msg("Retake");
    retake.addEventListener("click", async () => {
      const answer = await fetch(photoUrl, {
        method: "DELETE", credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
      });
      if (answer.ok || answer.status === 404) {
        card.remove();
        form.querySelector('input[type="file"]').click();
      }
    });
    card.querySelector(".actions").append(retake);
  }
  list.append(card);
  heading.focus?.();
}
