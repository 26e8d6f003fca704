// newsflow dashboard, search timeline panel: draws GET /articles/timeline for the search in its form.
// The search lives in the page's hash (#q=...&interval=day), so a link or a reload reopens it and the
// browser's back button steps through earlier searches. Requests go to the API on the page's own
// origin: with NEWSFLOW_API_KEYS set, the cookie that opening /dashboard?api_key=... left lets them in,
// as it does for /dashboard/data.
"use strict";

(function () {
  const FIELDS = ["q", "entity", "source", "since", "until", "interval", "by"];
  const PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
                   "#ea580c", "#475569", "#0d9488", "#9333ea", "#ca8a04", "#be123c", "#4f46e5"];
  const DATED = "#2563eb";
  const UNDATED = "#f59e0b";
  const OTHER = "#cbd5e1";
  const form = document.getElementById("timeline-form");
  const panel = document.getElementById("timeline");
  const summary = document.getElementById("timeline-summary");
  const errorBox = document.getElementById("timeline-error");
  const table = document.getElementById("timeline-table");
  let asked = 0; // a slow answer to an older search must not overwrite a newer one

  const chart = new Chart(document.getElementById("chart-timeline"), {
    type: "bar",
    data: { labels: [], datasets: [] },
    options: {
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        x: { stacked: true, grid: { display: false }, title: { display: true, text: "day (UTC)" } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "articles" } },
      },
      emptyText: "type a search above",
    },
  });

  // Buckets are UTC (the API's): label them in UTC, not in the browser's zone.
  function bucketLabel(start, interval) {
    const iso = new Date(start).toISOString();
    if (interval === "hour") return iso.slice(0, 10) + " " + iso.slice(11, 16);
    return (interval === "week" ? "week of " : "") + iso.slice(0, 10);
  }

  function searchFromForm() {
    const params = new URLSearchParams();
    for (const name of FIELDS) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    return params;
  }

  function fillForm(params) {
    for (const name of FIELDS) form.elements[name].value = params.get(name) || "";
    if (!form.elements.interval.value) form.elements.interval.value = "day";
  }

  // Only the form's fields: a search drawn is always the one the form shows.
  function hashSearch() {
    const given = new URLSearchParams(location.hash.slice(1));
    const params = new URLSearchParams();
    for (const name of FIELDS) if (given.get(name)) params.set(name, given.get(name));
    return [...params.keys()].length ? params : null;
  }

  // Bars of dated and undated articles, stacked: undated ones sit in the bucket of their ingest time.
  function countDatasets(buckets) {
    const sets = [{ label: "dated (by publication date)", data: buckets.map((b) => b.count - b.undated_count), backgroundColor: DATED, stack: "articles" }];
    if (buckets.some((b) => b.undated_count > 0)) {
      sets.push({ label: "undated (by ingest time)", data: buckets.map((b) => b.undated_count), backgroundColor: UNDATED, stack: "articles" });
    }
    return sets;
  }

  // An article has one source, so sources stack up to the bucket's count (the rest: other or no source).
  // It may name several entities, so entities are lines over the count's bars: stacked, they would overcount.
  function splitDatasets(answer) {
    const buckets = answer.buckets;
    const byEntity = answer.by === "entity";
    const sets = (answer.values || []).map((v, i) => ({
      label: byEntity ? v.name + " (" + v.type + ")" : v.value,
      data: buckets.map((b) => b.split[byEntity ? v.id : v.value] || 0),
      type: byEntity ? "line" : "bar",
      stack: byEntity ? "entity " + i : "articles", // each line its own stack: lines are not summed
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      pointRadius: 2,
    }));
    if (byEntity) {
      // The count's bars paler (hex alpha), so the entities' lines read over them.
      const bars = countDatasets(buckets).map((set) => Object.assign(set, { backgroundColor: set.backgroundColor + "66" }));
      return bars.concat(sets);
    }
    const rest = buckets.map((b) => b.count - Object.values(b.split).reduce((sum, n) => sum + n, 0));
    if (rest.some((n) => n > 0)) sets.push({ label: "other or no source", data: rest, backgroundColor: OTHER, stack: "articles" });
    return sets;
  }

  function cell(row, tagName, text, className) {
    const el = document.createElement(tagName);
    el.textContent = text;
    if (className) el.className = className;
    row.appendChild(el);
  }

  // The same counts as text: for screen readers, for copying, and for reading exact figures.
  function fillTable(answer) {
    const values = answer.values || [];
    const keys = values.map((v) => (answer.by === "entity" ? v.id : v.value));
    const head = document.createElement("tr");
    cell(head, "th", answer.interval + " (UTC)");
    cell(head, "th", "articles", "num");
    cell(head, "th", "undated", "num");
    values.forEach((v) => cell(head, "th", v.name || v.value, "num"));
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceChildren(...answer.buckets.map((b) => {
      const row = document.createElement("tr");
      cell(row, "td", bucketLabel(b.start, answer.interval));
      cell(row, "td", String(b.count), "num");
      cell(row, "td", String(b.undated_count), "num");
      keys.forEach((key) => cell(row, "td", String(b.split[key] || 0), "num"));
      return row;
    }));
  }

  function describe(answer) {
    const n = answer.buckets.length;
    const undated = answer.buckets.reduce((sum, b) => sum + b.undated_count, 0);
    let text = answer.total.toLocaleString() + (answer.total === 1 ? " article" : " articles");
    if (n) text += " over " + n + " " + answer.interval + (n === 1 ? "" : "s") + " (UTC)";
    if (undated) text += "; " + undated.toLocaleString() + " without a publication date, counted when they were ingested";
    if (answer.by === "entity") text += ". An article naming several of these entities is in each of their lines";
    return text + ".";
  }

  function draw(answer) {
    chart.data.labels = answer.buckets.map((b) => bucketLabel(b.start, answer.interval));
    chart.data.datasets = answer.by ? splitDatasets(answer) : countDatasets(answer.buckets);
    chart.options.scales.x.title.text = answer.interval + " (UTC)";
    chart.options.emptyText = "no article matches this search";
    chart.update("none");
    chart.canvas.setAttribute("aria-label", "Timeline: " + describe(answer));
    summary.textContent = describe(answer);
    fillTable(answer);
  }

  function clear(emptyText, interval) {
    chart.data.labels = [];
    chart.options.scales.x.title.text = interval + " (UTC)";
    chart.data.datasets = [];
    chart.options.emptyText = emptyText;
    chart.update("none");
    summary.textContent = "";
    table.tHead.replaceChildren();
    table.tBodies[0].replaceChildren();
  }

  // The API's own words: a 422 names the parameter and what it allows; 404 an unknown entity.
  async function problem(response) {
    try {
      const body = await response.json();
      if (body.message) return body.message;
      if (typeof body.detail === "string") return body.detail;
    } catch (ignored) { /* not JSON: the status says enough */ }
    return "HTTP " + response.status + " " + response.statusText;
  }

  async function run(params) {
    const mine = ++asked;
    summary.textContent = "searching…";
    errorBox.hidden = true;
    let error = null;
    let answer = null;
    try {
      const response = await fetch("/articles/timeline?" + params.toString(), { cache: "no-store" });
      if (response.ok) answer = await response.json();
      else error = await problem(response);
    } catch (failure) {
      error = "Cannot reach the API (" + failure.message + ").";
    }
    if (mine !== asked) return;
    if (error) {
      clear("no timeline: see the message above", params.get("interval") || "day");
      errorBox.textContent = error;
      errorBox.hidden = false;
    } else {
      draw(answer);
    }
    // Answers shown so far, drawn or refused: what a test (or a person in the console) waits on.
    panel.dataset.answers = String(Number(panel.dataset.answers || 0) + 1);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const hash = "#" + searchFromForm().toString();
    // A new hash is drawn by the hashchange handler (and becomes a history entry); the same one, here.
    if (location.hash === hash) run(searchFromForm());
    else location.hash = hash;
  });

  window.addEventListener("hashchange", () => {
    const params = hashSearch();
    if (!params) return;
    fillForm(params);
    run(params);
  });

  const opened = hashSearch();
  if (opened) {
    fillForm(opened);
    panel.scrollIntoView();
    run(opened);
  }
})();
