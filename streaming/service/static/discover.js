// Influencer Scout: the discovery tools of the page (loaded before app.js, which calls them).
// A list is one of three views: names (prefix search), topic (search by words) and lookalikes (of
// the roster the user picked); each takes the same filters, and each downloads as CSV.
"use strict";

const TOPIC_K = 50; // at most service.max_k (100 by default)
const LOOKALIKE_K = 20;

const discovery = { roster: new Set(), view: "names" };

// The filter controls, as the API's parameter names (engagement and sponsored share in percent).
function filterValues() {
  const values = {};
  const category = document.getElementById("category").value;
  if (category) values.category = category;
  for (const [id, key] of [["followers-min", "followers_min"], ["followers-max", "followers_max"],
    ["posts-min", "posts_min"]]) {
    const text = document.getElementById(id).value.trim();
    if (text !== "" && Number.isFinite(Number(text))) values[key] = Math.max(0, Math.round(Number(text)));
  }
  const rate = document.getElementById("engagement-min").value.trim();
  if (rate !== "" && Number.isFinite(Number(rate))) values.engagement_min = Math.max(0, Number(rate)) / 100;
  const sponsored = document.getElementById("sponsored-max").value.trim();
  if (sponsored !== "" && Number.isFinite(Number(sponsored))) {
    values.sponsored_max = Math.min(100, Math.max(0, Number(sponsored))) / 100;
  }
  const brand = document.getElementById("brand").value.trim();
  if (brand) values.brand = brand;
  return values;
}

// The request of the list shown now: { url, options, name } (options for POST bodies).
function listRequest(offset, pageSize) {
  const filters = filterValues();
  const words = document.getElementById("search").value.trim();
  if (discovery.view === "roster") {
    const body = { roster: [...discovery.roster], k: LOOKALIKE_K, ...filters };
    return { url: "/api/similar", name: "lookalikes", options: {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } };
  }
  if (discovery.view === "topic" && words) {
    const params = new URLSearchParams({ q: words, k: String(TOPIC_K), ...filters });
    return { url: `/api/search?${params}`, name: "search", options: {} };
  }
  const sort = document.getElementById("sort").value;
  const params = new URLSearchParams({ q: discovery.view === "names" ? words : "", sort,
    order: sort === "name" ? "asc" : "desc", offset: String(offset), limit: String(pageSize), ...filters });
  return { url: `/api/influencers?${params}`, name: "influencers", options: {} };
}

// Any answer of the three views -> { items, total, paged, note }.
function listItems(answer) {
  if (answer.items) {
    const held = answer.held_back ? ` · ${answer.held_back} of other models not shown` : "";
    return { items: answer.items, total: answer.total, paged: true,
      note: answer.model_version ? ` · model ${answer.model_version}${held}` : "" };
  }
  const items = answer.results || answer.similar || [];
  const note = answer.results ? ` about “${answer.query}”` : ` like ${(answer.roster || []).join(", ")}`;
  return { items, total: items.length, paged: false, note };
}

function reachText(item) {
  const parts = [];
  if (item.followers !== null && item.followers !== undefined) parts.push(`${item.followers.toLocaleString()} followers`);
  if (item.engagement_rate !== null && item.engagement_rate !== undefined) {
    parts.push(`${(100 * item.engagement_rate).toFixed(2)}% engagement`);
  }
  if (item.posts_per_week !== null && item.posts_per_week !== undefined) parts.push(`${item.posts_per_week.toFixed(1)}/week`);
  return parts.join(" · ");
}

// ---- sponsorship panel --------------------------------------------------------------------

const share = (p) => `${(100 * p).toFixed(1)}%`;

// The profile's sponsorship figures: shares, brands (a click filters the list by one), and the posts
// the model finds most likely to be undisclosed paid posts, with the brands they name.
function renderSponsorship(figures, onBrand) {
  const brands = document.getElementById("sponsorship-brands");
  const likely = document.getElementById("sponsorship-likely");
  brands.replaceChildren();
  likely.replaceChildren();
  const summary = document.getElementById("sponsorship-summary");
  const shares = document.getElementById("sponsorship-shares");
  if (!figures) {
    summary.textContent = "· not known";
    shares.textContent = "no sponsorship figures for this profile";
    return;
  }
  summary.textContent = `· ${share(figures.sponsored_share)} of posts`;
  const estimated = figures.estimated_undisclosed_share === null
    ? "undisclosed not estimated (the model has no sponsored head)"
    : `${share(figures.estimated_undisclosed_share)} estimated undisclosed ` +
      `(${figures.flagged_posts} post${figures.flagged_posts === 1 ? "" : "s"} over ${share(figures.threshold)})`;
  shares.textContent = `${share(figures.disclosed_share)} disclosed (${figures.disclosed_posts} posts) · ${estimated}`;
  for (const item of figures.brands.slice(0, 10)) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "brand";
    button.dataset.brand = item.brand;
    button.title = "influencers who worked with this brand";
    button.textContent = `@${item.brand}`;
    button.addEventListener("click", () => onBrand(item.brand));
    const count = document.createElement("span");
    count.className = "muted";
    count.textContent = ` ${item.posts} post${item.posts === 1 ? "" : "s"} (${item.disclosed} disclosed)`;
    li.append(button, count);
    brands.append(li);
  }
  if (!figures.brands.length) brands.append(Object.assign(document.createElement("li"), { textContent: "none yet" }));
  for (const post of figures.likely_undisclosed) {
    const li = document.createElement("li");
    li.dataset.post = post.post_id;
    const named = post.brands.length ? ` · names ${post.brands.map((b) => `@${b}`).join(", ")}` : "";
    li.textContent = `${post.post_id}: ${share(post.probability)} paid · ` +
      `${new Date(post.ts).toLocaleDateString()}${named}`;
    likely.append(li);
  }
  if (!figures.likely_undisclosed.length) {
    likely.append(Object.assign(document.createElement("li"), { textContent: "none flagged" }));
  }
}

// ---- roster --------------------------------------------------------------------------------

function rosterBox(name) {
  const box = document.createElement("input");
  box.type = "checkbox";
  box.className = "pick";
  box.title = "add to the roster";
  box.setAttribute("aria-label", `add ${name} to the roster`);
  box.checked = discovery.roster.has(name);
  box.addEventListener("click", (event) => event.stopPropagation());
  box.addEventListener("change", () => {
    if (box.checked) discovery.roster.add(name); else discovery.roster.delete(name);
    showRoster();
  });
  return box;
}

function showRoster() {
  const names = [...discovery.roster];
  document.getElementById("roster").hidden = names.length === 0;
  document.getElementById("roster-names").textContent = names.join(", ");
  document.getElementById("lookalikes").disabled = names.length === 0;
}

// ---- CSV -----------------------------------------------------------------------------------

async function downloadCSV() {
  const request = listRequest(0, 200);
  const url = request.url + (request.url.includes("?") ? "&" : "?") + "format=csv";
  const response = await apiFetch(url, request.options);
  if (!response.ok) {
    document.getElementById("result-count").textContent = `export failed: ${response.statusText}`;
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `${request.name}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// ---- history chart -------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

// The probability of the current category against the post count; a tick at each change.
function renderHistory(history) {
  const chart = document.getElementById("history");
  chart.replaceChildren();
  const note = document.getElementById("history-note");
  const points = history.points;
  if (!points.length) {
    note.textContent = "no updates recorded yet";
    return;
  }
  const [width, height, pad] = [320, 110, 18];
  const first = points[0].post_count;
  const span = Math.max(1, points[points.length - 1].post_count - first);
  const x = (count) => pad + ((count - first) / span) * (width - 2 * pad);
  const y = (p) => height - pad - p * (height - 2 * pad);
  chart.append(svg("line", { x1: pad, y1: y(0.5), x2: width - pad, y2: y(0.5), class: "half" }));
  for (const change of history.changes) {
    if (change.post_count < first) continue;
    const tick = svg("line", { x1: x(change.post_count), y1: pad / 2, x2: x(change.post_count), y2: height - pad,
      class: "change" });
    const title = svg("title", {});
    title.textContent = `${change.previous_category} → ${change.category} at ${change.post_count} posts`;
    tick.append(title);
    chart.append(tick);
  }
  const line = points.map((p) => `${x(p.post_count).toFixed(1)},${y(p.probability).toFixed(1)}`).join(" ");
  chart.append(svg("polyline", { points: line, class: "probability" }));
  for (const p of points) chart.append(svg("circle", { cx: x(p.post_count), cy: y(p.probability), r: 2.5 }));
  note.textContent = `probability of ${history.category} over ${points.length} updates ` +
    `(${first}–${points[points.length - 1].post_count} posts); ${history.changes.length} category changes`;
}
