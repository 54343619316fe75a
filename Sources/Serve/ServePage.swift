/// The page at `/`: pick a model, drop or choose images, see each beside its translation.
///
/// One static document with its style and script inline (no CDN, no framework: it works with no
/// network). It learns everything from the API (`/v1/models`, `/healthz`) and writes text into
/// the document only through `textContent`, so nothing from a model name or a server message is
/// ever parsed as HTML. Images are sent one at a time (the server translates one at a time).
enum ServePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>img2img</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #222; background: #fafafa; }
  body { margin: 0 auto; max-width: 1100px; padding: 12px; }
  h1 { font-size: 1.3em; margin: 4px 0 10px; }
  .bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
  select, input, button { font: inherit; padding: 4px 6px; }
  #info { color: #555; font-size: 0.9em; margin-bottom: 8px; }
  #drop { display: block; border: 2px dashed #999; border-radius: 8px; padding: 22px 10px; text-align: center; background: #fff; cursor: pointer; }
  #drop.over { border-color: #2a6; background: #efe; }
  .row { display: flex; flex-wrap: wrap; gap: 10px; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 8px; margin-top: 10px; }
  .cell { flex: 1 1 160px; min-width: 0; }
  .cell img { max-width: 100%; height: auto; display: block; border-radius: 4px; background: #eee; }
  .cap { font-size: 0.85em; color: #444; margin: 4px 0; overflow-wrap: anywhere; }
  .err { color: #b00; }
  #token-box { display: none; }
</style>
</head>
<body>
<h1>img2img</h1>
<div class="bar">
  <label>Model <select id="model"></select></label>
  <label id="dir-box">Direction <select id="direction"></select></label>
  <label>Output <select id="format"><option value="png">PNG</option><option value="jpeg">JPEG</option></select></label>
  <label id="token-box">Token <input id="token" type="password" size="12" autocomplete="off"></label>
</div>
<div id="info">loading models...</div>
<label id="drop">Drop images here, or click to choose (PNG or JPEG)
  <input id="files" type="file" accept="image/png,image/jpeg" multiple hidden>
</label>
<div id="results"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let models = [];
let busy = Promise.resolve();

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function headers() {
  const t = $("token").value;
  return t ? { "Authorization": "Bearer " + t } : {};
}
function current() { return models.find((m) => m.name === $("model").value); }
function showInfo() {
  const m = current();
  const dirSel = $("direction");
  dirSel.textContent = "";
  if (!m) { $("info").textContent = "no model"; return; }
  for (const d of m.directions) dirSel.appendChild(new Option(d, d));
  $("dir-box").style.display = m.directions.length > 1 ? "" : "none";
  $("info").textContent = m.architecture + ", " + m.input_channels + " \u2192 " + m.output_channels +
    " channels, " + m.norm + " norm, ngf " + m.ngf + ", direction " + m.directions.join(" / ") + " (" + m.file + ")";
}
async function loadModels() {
  try {
    const h = await (await fetch("/healthz")).json();
    if (h.token_required) $("token-box").style.display = "";
    const r = await fetch("/v1/models", { headers: headers() });
    if (!r.ok) { $("info").textContent = "models: " + r.status + " " + (await r.text()); return; }
    models = (await r.json()).models;
    const sel = $("model");
    sel.textContent = "";
    for (const m of models) sel.appendChild(new Option(m.name, m.name));
    showInfo();
  } catch (e) { $("info").textContent = "cannot reach the server: " + e; }
}
function translateFile(file) {
  const row = el("div", "row");
  const a = el("div", "cell"), b = el("div", "cell");
  const inImg = el("img"); inImg.alt = file.name; inImg.src = URL.createObjectURL(file);
  a.append(inImg, el("div", "cap", file.name));
  const status = el("div", "cap", "waiting...");
  b.append(status);
  row.append(a, b);
  $("results").prepend(row);
  const m = $("model").value, fmt = $("format").value, dir = $("direction").value || "AtoB";
  busy = busy.then(async () => {
    status.textContent = "translating...";
    const t0 = performance.now();
    try {
      const url = "/v1/models/" + encodeURIComponent(m) + "/translate?format=" + fmt + "&direction=" + encodeURIComponent(dir);
      const r = await fetch(url, { method: "POST", body: file, headers: headers() });
      if (!r.ok) {
        let msg = r.status + " " + r.statusText;
        try { const j = await r.json(); msg += ": " + j.message; } catch (_) {}
        status.textContent = msg; status.className = "cap err"; return;
      }
      const blob = await r.blob();
      const outImg = el("img"); outImg.alt = "translation of " + file.name; outImg.className = "result";
      outImg.src = URL.createObjectURL(blob);
      const secs = r.headers.get("X-Translate-Seconds");
      const total = ((performance.now() - t0) / 1000).toFixed(2);
      status.textContent = m + " (" + dir + "): " + (secs ? Number(secs).toFixed(2) + " s translating, " : "") + total + " s in all ";
      const link = el("a", "", "download");
      link.href = outImg.src;
      link.download = file.name.replace(/\.[^.]*$/, "") + "-" + m + (fmt === "jpeg" ? ".jpg" : ".png");
      status.appendChild(link);
      b.prepend(outImg);
    } catch (e) { status.textContent = "failed: " + e; status.className = "cap err"; }
  });
}
function takeFiles(list) { for (const f of list) translateFile(f); }
$("model").addEventListener("change", showInfo);
$("token").addEventListener("change", loadModels);
$("files").addEventListener("change", (e) => { takeFiles(e.target.files); e.target.value = ""; });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); takeFiles(e.dataTransfer.files); });
loadModels();
</script>
</body>
</html>
"""#
}
