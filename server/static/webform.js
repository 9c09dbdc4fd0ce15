// The web form page: ODK Web Forms (a Vue component) mounted with a render function, so Vue's runtime-only
// build is enough (no template compiler, no eval). Submissions are written to an outbox in IndexedDB before
// they are sent and removed only once the server answered 201, so a failed send is never lost: the page says
// it has not been sent and offers to send it again (the server ignores a copy it already has: same instanceID).
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
const forget = (key) => outbox("readwrite", (store) => store.delete(key));
const pending = async () =>
  (await outbox("readonly", (store) => store.getAll())).filter((item) => item.submitUrl === config.submitUrl);

// --- sending -----------------------------------------------------------------------------------------------

class Refused extends Error {}

async function sendPart(files) {
  const body = new FormData();
  for (const file of files) body.append(file.name, file, file.name);
  const headers = { "X-OpenRosa-Version": "1.0" };
  if (csrf) headers["X-CSRFToken"] = csrf;
  const response = await fetch(config.submitUrl, { method: "POST", body, headers, credentials: "same-origin" });
  if (response.status === 201 || response.status === 202) return;
  const text = await response.text();
  const message = new DOMParser().parseFromString(text, "text/xml").querySelector("message")?.textContent;
  throw new Refused(message || `${response.status} ${response.statusText}`);
}

async function send(item) {
  for (const part of item.parts) await sendPart(part);
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

function describe(error) {
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
  const parts = payload.data.map((data) => Array.from(data.values()));
  const key = await keep({ submitUrl: config.submitUrl, formId: config.formId, at: Date.now(), parts });
  try {
    await send({ key, parts });
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
        submissionMaxSize: config.maxSize,
        editInstance: editInstance(),
        onSubmitChunked: onSubmit,
      }),
  });
  app.use(webFormsPlugin);
  app.mount("#webform");
  document.getElementById("webform-loading").hidden = true;
}

window.addEventListener("online", () => sendAll());
start();
