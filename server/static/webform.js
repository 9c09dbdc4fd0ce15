// The web form page: ODK Web Forms (a Vue component) mounted with a render function, so Vue's runtime-only
// build is enough (no template compiler, no eval). Submissions are written to an outbox in IndexedDB before
// they are sent and removed only once the server answered 201, so a failed send is never lost: the page says
// it has not been sent and offers to send it again (the server ignores a copy it already has: same instanceID).
// A submission larger than the server accepts in one POST is split as ODK Collect splits it (see split()).
import { createApp, h } from "vue";
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from "@getodk/web-forms";

const config = JSON.parse(document.getElementById("webform-config").textContent);

// --- the base map of map questions -----------------------------------------------------------------------------

// Web Forms 0.22 draws geo questions on an OpenLayers map over OpenStreetMap tiles and has no setting for another
// source. Sending tile requests there would tell a third party where the field work is, which the administrator
// never chose: each tile's address is rewritten, as OpenLayers sets it on the tile's <img>, to the configured
// base map (KNN_BASEMAP_URL), or to an empty image (a plain background) when there is none. The page's CSP does
// not allow OpenStreetMap, so a tile that escaped this would be refused, not sent.
const OSM_TILE = /^https:\/\/tile\.openstreetmap\.org\/(\d+)\/(\d+)\/(\d+)\.png$/;
const NO_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
const imageSrc = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");

function tileUrl(url) {
  const tile = OSM_TILE.exec(String(url));
  if (!tile) return url;
  if (!config.basemap) return NO_TILE;
  const [, z, x, y] = tile;
  return config.basemap.replace("{z}", z).replace("{x}", x).replace("{y}", y);
}

Object.defineProperty(HTMLImageElement.prototype, "src", {
  ...imageSrc,
  set(url) {
    imageSrc.set.call(this, tileUrl(url));
  },
});
const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
const outboxBox = document.getElementById("webform-outbox");
const sentNote = document.getElementById("webform-sent");

// --- the outbox --------------------------------------------------------------------------------------------

function openOutbox() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("knn-webforms", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("outbox", { keyPath: "key", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function outbox(mode, action) {
  const db = await openOutbox();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", mode);
    const request = action(tx.objectStore("outbox"));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
  });
}

const keep = (item) => outbox("readwrite", (store) => store.add(item));
const update = (item) => outbox("readwrite", (store) => store.put(item));
const forget = (key) => outbox("readwrite", (store) => store.delete(key));
const pending = async () =>
  (await outbox("readonly", (store) => store.getAll())).filter((item) => item.submitUrl === config.submitUrl);

// --- splitting ---------------------------------------------------------------------------------------------

const XML_PART = "xml_submission_file";
const MOST_FILES = 100; // Collect starts a new POST once one holds more than this many files

// Web Forms can split a submission itself (onSubmitChunked), but when one file and the XML together exceed the
// limit it throws inside the library and hands over nothing, so those answers would be lost. The page takes the
// whole submission (onSubmit) and splits it as Collect does (OkHttpConnection.uploadSubmissionAndFiles): every
// POST holds the XML and the next files in order while they stay within the accepted length, a file that does not
// fit starts the next POST, and all POSTs but the last carry *isIncomplete*=yes. Ingest merges the parts by
// instanceID. Each part is a list of Files, the XML first.
function split(instance, files, limit) {
  const parts = [];
  let part = null;
  let bytes = 0;
  for (const file of files) {
    if (part === null || part.length - 1 > MOST_FILES || bytes + file.size > limit) {
      part = [instance];
      bytes = instance.size;
      parts.push(part);
    }
    part.push(file);
    bytes += file.size;
  }
  return parts.length > 0 ? parts : [[instance]];
}

// --- sending -----------------------------------------------------------------------------------------------

class Refused extends Error {}

// A file larger than the server accepts for one file (its 413): refused here, before anything is sent, so that no
// part of the submission goes out and the whole of it stays in the outbox until the limit is raised.
class TooLarge extends Error {
  constructor(file) {
    super(file.name);
    this.file = file;
  }
}

async function sendPart(files, incomplete) {
  const body = new FormData();
  for (const file of files) body.append(file.name, file, file.name);
  if (incomplete) body.append("*isIncomplete*", "yes");
  const headers = { "X-OpenRosa-Version": "1.0" };
  if (csrf) headers["X-CSRFToken"] = csrf;
  const response = await fetch(config.submitUrl, { method: "POST", body, headers, credentials: "same-origin" });
  if (response.status === 201 || response.status === 202) return;
  const text = await response.text();
  const message = new DOMParser().parseFromString(text, "text/xml").querySelector("message")?.textContent;
  throw new Refused(message || `${response.status} ${response.statusText}`);
}

// Sends the item's parts in order; each part sent is dropped from the stored item, so a retry after a lost signal
// does not send its photos again.
async function send(item) {
  const tooLarge = item.parts.flat().find((file) => file.name !== XML_PART && file.size > config.maxSize);
  if (tooLarge) throw new TooLarge(tooLarge);
  while (item.parts.length > 1) {
    await sendPart(item.parts[0], true);
    item.parts = item.parts.slice(1);
    await update(item);
  }
  await sendPart(item.parts[0], false);
  await forget(item.key);
}

async function showOutbox(detail) {
  const items = await pending();
  outboxBox.hidden = items.length === 0;
  outboxBox.querySelector(".count").textContent = String(items.length);
  outboxBox.querySelector(".detail").textContent = detail || "";
}

async function sendAll() {
  let failure = null;
  for (const item of await pending()) {
    try {
      await send(item);
    } catch (error) {
      failure = error;
    }
  }
  await showOutbox(failure && describe(failure));
  return failure === null;
}

function bytes(size) {
  const unit = size < 1_000_000 ? ["kilobyte", 1_000] : ["megabyte", 1_000_000];
  return new Intl.NumberFormat("th-TH", { style: "unit", unit: unit[0], maximumFractionDigits: 1 }).format(
    size / unit[1],
  );
}

function describe(error) {
  if (error instanceof TooLarge) {
    const fill = (template) =>
      template
        .replace("{name}", error.file.name)
        .replace("{size}", bytes(error.file.size))
        .replace("{limit}", bytes(config.maxSize));
    return `${fill(config.tooLarge.th)} · ${fill(config.tooLarge.en)}`;
  }
  return error instanceof Refused
    ? `เซิร์ฟเวอร์ตอบว่า: ${error.message}`
    : "ส่งไม่สำเร็จ ตรวจสอบสัญญาณอินเทอร์เน็ตแล้วกดส่งอีกครั้ง · Could not reach the server: check the connection and send again.";
}

document.getElementById("webform-retry").addEventListener("click", async () => {
  sentNote.hidden = true;
  if (await sendAll()) sentNote.hidden = false;
});

async function onSubmit(payload, callback) {
  sentNote.hidden = true;
  const [data] = payload.data; // one FormData: the XML and every attached file
  const files = Array.from(data.entries(), ([, file]) => file);
  const instance = files.find((file) => file.name === XML_PART);
  const parts = split(instance, files.filter((file) => file !== instance), config.maxSize);
  const item = { submitUrl: config.submitUrl, formId: config.formId, at: Date.now(), parts };
  item.key = await keep(item);
  try {
    await send(item);
  } catch (error) {
    await showOutbox(describe(error));
    callback(config.edit ? {} : { next: POST_SUBMIT__NEW_INSTANCE });
    return;
  }
  await showOutbox();
  if (config.edit) {
    window.location.assign(config.edit.done);
    return;
  }
  sentNote.hidden = false;
  window.scrollTo(0, 0);
  callback({ next: POST_SUBMIT__NEW_INSTANCE });
}

// --- the form ----------------------------------------------------------------------------------------------

function fetchFormAttachment(url) {
  const name = decodeURIComponent(String(url.href ?? url).split("/").pop());
  return fetch(config.mediaBase + encodeURIComponent(name), { credentials: "same-origin" });
}

function editInstance() {
  if (!config.edit) return undefined;
  const { instanceUrl, fileBase, files } = config.edit;
  return {
    resolveInstance: () => fetch(instanceUrl, { credentials: "same-origin" }),
    attachmentFileNames: files,
    resolveAttachment: (name) => fetch(fileBase + encodeURIComponent(name), { credentials: "same-origin" }),
  };
}

async function start() {
  await showOutbox();
  const response = await fetch(config.formUrl, { credentials: "same-origin" });
  const formXml = await response.text();
  const app = createApp({
    render: () =>
      h(OdkWebForm, {
        formXml,
        fetchFormAttachment,
        missingResourceBehavior: "BLANK",
        editInstance: editInstance(),
        onSubmit,
      }),
  });
  app.use(webFormsPlugin);
  app.mount("#webform");
  document.getElementById("webform-loading").hidden = true;
}

window.addEventListener("online", () => sendAll());
start();
