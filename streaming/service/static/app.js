// Influencer Scout web page: search, one influencer's profile, similar influencers, live feed.
// The discovery tools (topic search, filters, roster lookalikes, CSV, history chart) are in
// discover.js, loaded first.
// Plain browser JavaScript over the service's JSON API; text is always set with textContent.
//
// API token: a service with service.api_token wants `Authorization: Bearer TOKEN` on every call
// but /health. Open the page as /#token=TOKEN: the token is kept in this tab's sessionStorage and
// taken off the address bar (a URL fragment never reaches the server or its logs). Without one, the
// first 401 asks for it. Every call sends it: JSON by fetch, the live feed by a streamed fetch
// (EventSource cannot send headers) and the post images as fetched blobs.
"use strict";

const PAGE_SIZE = 25;
const SIMILAR_K = 8;
const FEED_MAX = 50;

const FEED_RETRY_MS = 2000;
const TOKEN_KEY = "scout-api-token";

const $ = (id) => document.getElementById(id);
const state = { offset: 0, selected: null, searchTimer: null, refreshTimer: null, askedToken: false,
  calibratedModel: null, searches: 0 };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (p) => `${(100 * p).toFixed(1)}%`;

// ---- API token -----------------------------------------------------------------------------

function takeTokenFromHash() {
  const match = window.location.hash.match(/^#token=(.+)$/);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

const currentToken = () => sessionStorage.getItem(TOKEN_KEY);

function withToken(headers, token) {
  return token ? { ...headers, Authorization: `Bearer ${token}` } : { ...headers };
}

// fetch with the token. On a 401 the page asks for a token once (a call that raced another one's
// answer just retries with the new token); after that a 401 stands and its message is shown.
async function apiFetch(url, options = {}) {
  const sent = currentToken();
  const response = await fetch(url, { ...options, headers: withToken(options.headers, sent) });
  if (response.status !== 401) return response;
  if (currentToken() === sent) {
    if (state.askedToken) return response;
    state.askedToken = true;
    const typed = window.prompt("This Influencer Scout needs its API token (service.api_token):");
    if (!typed || !typed.trim()) return response;
    sessionStorage.setItem(TOKEN_KEY, typed.trim());
  }
  return fetch(url, { ...options, headers: withToken(options.headers, currentToken()) });
}

async function getJSON(url) {
  const response = await apiFetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.json();
}

// ---- search --------------------------------------------------------------------------------

// A profile's confidence, said to be calibrated only when the model that wrote it is the service's
// own and its folder holds a post-count calibration (the job then tempers it by the post count).
function confidenceText(profile) {
  const calibrated = state.calibratedModel && profile.model_version === state.calibratedModel;
  return `${pct(profile.confidence)} confidence${calibrated ? " (calibrated)" : " (uncalibrated)"}`;
}

async function search(append) {
  state.offset = append ? state.offset + PAGE_SIZE : 0;
  const asked = ++state.searches; // an answer to an earlier search that comes late is dropped
  const request = listRequest(state.offset, PAGE_SIZE);
  const response = await apiFetch(request.url, { ...request.options,
    headers: { Accept: "application/json", ...(request.options.headers || {}) } });
  let answer;
  try { answer = await response.json(); } catch (_) { answer = { detail: response.statusText }; }
  if (asked !== state.searches) return;
  const list = $("results");
  if (!append) list.replaceChildren();
  if (!response.ok) {
    $("result-count").textContent = answer.detail || response.statusText;
    $("more").hidden = true;
    return;
  }
  const { items, total, paged, note } = listItems(answer);
  for (const item of items) {
    const li = el("li");
    li.dataset.influencer = item.influencer;
    li.append(rosterBox(item.influencer), el("span", "name", item.influencer), el("span", "badge", item.category));
    const score = item.score !== undefined ? `match ${item.score.toFixed(3)} · ` : "";
    li.append(el("span", "detail", `${score}${confidenceText(item)} · ${item.post_count} posts`));
    const reach = reachText(item);
    if (reach) li.append(el("span", "detail reach", reach));
    li.addEventListener("click", () => openInfluencer(item.influencer));
    if (item.influencer === state.selected) li.classList.add("selected");
    list.append(li);
  }
  $("result-count").textContent = `${total} influencer${total === 1 ? "" : "s"}${note}`;
  $("more").hidden = !paged || state.offset + items.length >= total;
}

async function loadCategories() {
  const select = $("category");
  const categories = await getJSON("/api/categories");
  // Read the choice after the fetch: one made while it was in flight must survive the refill.
  const chosen = select.value;
  select.replaceChildren(el("option", "", "All categories"));
  select.firstChild.value = "";
  for (const c of categories) {
    const option = el("option", "", `${c.category} (${c.influencers})`);
    option.value = c.category;
    select.append(option);
  }
  select.value = chosen;
}

// ---- one influencer ------------------------------------------------------------------------

function renderBars(probabilities, category) {
  const bars = $("probabilities");
  bars.replaceChildren();
  for (const [label, p] of Object.entries(probabilities)) {
    const track = el("div", "bar-track");
    const fill = el("div", "bar-fill");
    fill.style.width = pct(p);
    track.append(fill);
    const row = [el("span", "bar-label", label), track, el("span", "bar-value", pct(p))];
    for (const cell of row) {
      cell.classList.add("bar");
      if (label === category) cell.classList.add("top");
      bars.append(cell);
    }
  }
}

// An <img src> cannot send the token: fetch the image and show it as a blob URL.
async function showImage(img, url) {
  try {
    const response = await apiFetch(url);
    if (!response.ok) throw new Error(response.statusText);
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
    img.src = URL.createObjectURL(await response.blob());
  } catch (_) {
    img.alt = "image unavailable";
  }
}

function renderPosts(posts) {
  const box = $("top-posts");
  box.replaceChildren();
  for (const post of posts) {
    const card = el("figure", "post");
    card.style.margin = "0";
    if (post.image_url) {
      const img = el("img");
      img.alt = post.caption.slice(0, 80);
      showImage(img, post.image_url);
      card.append(img);
    } else {
      card.append(el("div", "no-image", "no image"));
    }
    const caption = el("p", "", post.caption || "(no caption)");
    const weight = el("p", "weight", `attention ${pct(post.weight)}`);
    card.append(caption, weight);
    box.append(card);
  }
  if (!posts.length) box.append(el("p", "muted", "no posts recorded"));
}

function renderSimilar(result) {
  const box = $("similar");
  box.replaceChildren();
  for (const other of result.similar) {
    const card = el("button", "card");
    card.type = "button";
    card.dataset.influencer = other.influencer;
    card.append(el("span", "name", other.influencer));
    card.append(el("span", "score", `similarity ${other.score.toFixed(3)}`));
    card.append(el("span", "detail", `${other.category} · ${other.post_count} posts`));
    card.addEventListener("click", () => openInfluencer(other.influencer));
    box.append(card);
  }
  if (!result.similar.length) box.append(el("p", "muted", "no other influencer profiled by this model yet"));
}

async function openInfluencer(name, fromHash) {
  if (!fromHash) {
    window.location.hash = `#/influencer/${encodeURIComponent(name)}`;
    return; // the hashchange handler renders it
  }
  state.selected = name;
  for (const li of $("results").children) li.classList.toggle("selected", li.dataset.influencer === name);
  $("profile-empty").hidden = true;
  $("profile-view").hidden = false;
  $("profile-name").textContent = name;
  try {
    const [profile, similar, history] = await Promise.all([
      getJSON(`/api/influencers/${encodeURIComponent(name)}`),
      getJSON(`/api/influencers/${encodeURIComponent(name)}/similar?k=${SIMILAR_K}`),
      getJSON(`/api/influencers/${encodeURIComponent(name)}/history`),
    ]);
    if (state.selected !== name) return; // another one was opened meanwhile
    $("profile-category").textContent = profile.category;
    $("profile-meta").textContent = `${confidenceText(profile)} · ${profile.post_count} posts · ` +
      `updated ${new Date(profile.updated).toLocaleString()} · model ${profile.model_version}`;
    $("profile-reach").textContent = reachText(profile);
    renderBars(profile.probabilities, profile.category);
    renderHistory(history);
    renderPosts(profile.top_posts);
    renderSponsorship(profile.sponsorship, filterByBrand);
    renderSimilar(similar);
  } catch (error) {
    $("profile-category").textContent = "";
    $("profile-meta").textContent = error.message;
    for (const id of ["probabilities", "top-posts", "similar", "history", "sponsorship-brands",
      "sponsorship-likely"]) $(id).replaceChildren();
  }
}

// A brand of the sponsorship panel: list the influencers who worked with it.
function filterByBrand(brand) {
  $("brand").value = brand;
  search(false);
}

function routeFromHash() {
  const match = window.location.hash.match(/^#\/influencer\/(.+)$/);
  if (match) openInfluencer(decodeURIComponent(match[1]), true);
}

// ---- live feed -----------------------------------------------------------------------------

function addFeedItem(event) {
  const li = el("li", "new");
  li.dataset.influencer = event.influencer;
  li.append(el("span", "name", event.influencer));
  li.append(el("span", "change", `${event.previous_category} → ${event.category}`));
  const time = el("time", "", new Date(event.processing_time).toLocaleTimeString());
  time.dateTime = event.processing_time;
  li.append(time);
  li.addEventListener("click", () => openInfluencer(event.influencer));
  const feed = $("feed");
  feed.prepend(li);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
}

function onReclassified(event) {
  addFeedItem(event);
  // The profile update travels on its own topic; give it a moment, then refresh what is shown.
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    loadCategories();
    search(false);
    if (state.selected) openInfluencer(state.selected, true);
  }, 500);
}

// One server-sent event block -> { event, id, data } (the fields this feed uses).
function parseEvent(block) {
  const message = { event: "message", id: null, data: [] };
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (!line || line.startsWith(":")) continue; // comments keep the connection alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") message.data.push(value);
    else if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
  }
  return { ...message, data: message.data.join("\n") };
}

// Read an event stream from a fetch response, calling onEvent for each complete event.
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const separator = /\r\n\r\n|\n\n|\r\r/;
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let match;
    while ((match = separator.exec(buffer))) {
      onEvent(parseEvent(buffer.slice(0, match.index)));
      buffer = buffer.slice(match.index + match[0].length);
    }
  }
}

// The live feed over fetch, so it carries the token; resumes after the last event id it saw.
function connectFeed() {
  let lastId = null;
  const follow = async () => {
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await apiFetch("/api/feed", { headers });
      if (!response.ok) throw new Error(response.statusText);
      $("feed-state").textContent = "live";
      await readEvents(response, (message) => {
        if (message.id !== null) lastId = message.id;
        if (message.event === "reclassified" && message.data) onReclassified(JSON.parse(message.data));
      });
    } catch (_) {
      // the stream broke or was refused: try again shortly
    }
    $("feed-state").textContent = "reconnecting…";
    setTimeout(follow, FEED_RETRY_MS);
  };
  follow();
}

// ---- health --------------------------------------------------------------------------------

async function refreshStatus() {
  try {
    const health = await getJSON("/health");
    state.calibratedModel = health.model_calibrated ? health.model_version : null;
    const model = health.serving_model_version ? ` · model ${health.serving_model_version}` : "";
    $("status").textContent = `${health.status} · ${health.profiles - health.held_back} profiles${model}`;
    $("status").className = `status ${health.status}`;
  } catch (error) {
    $("status").textContent = "service unreachable";
    $("status").className = "status degraded";
  }
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  takeTokenFromHash();
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
  $("search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => search(false), 200);
  });
  $("category").addEventListener("change", () => search(false));
  $("sort").addEventListener("change", () => search(false));
  $("mode").addEventListener("change", () => {
    discovery.view = $("mode").value;
    $("search").placeholder = discovery.view === "topic" ? "What their posts are about…" : "Name starts with…";
    search(false);
  });
  for (const id of ["followers-min", "followers-max", "engagement-min", "posts-min", "sponsored-max", "brand"]) {
    $(id).addEventListener("change", () => search(false));
  }
  $("lookalikes").addEventListener("click", () => { discovery.view = "roster"; search(false); });
  $("roster-clear").addEventListener("click", () => {
    discovery.roster.clear();
    discovery.view = $("mode").value;
    showRoster();
    search(false);
  });
  $("export").addEventListener("click", downloadCSV);
  $("more").addEventListener("click", () => search(true));
  window.addEventListener("hashchange", routeFromHash);
  connectFeed();
  // the status first: it says whether the model's confidences are calibrated
  refreshStatus().then(() => {
    loadCategories().then(() => search(false));
    routeFromHash();
  });
  setInterval(refreshStatus, 5000);
  setInterval(loadCategories, 30000);
}

document.addEventListener("DOMContentLoaded", start);
