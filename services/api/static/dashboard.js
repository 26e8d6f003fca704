// newsflow dashboard: polls /dashboard/data and redraws the charts, tiles and tables.
// Rates and quantiles are computed by the API from its kept samples; this page only draws them.
"use strict";

(function () {
  const DATA_URL = "/dashboard/data";
  const FALLBACK_REFRESH_SECONDS = 5;
  const PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
                   "#ea580c", "#475569", "#0d9488", "#9333ea", "#ca8a04", "#be123c", "#4f46e5"];
  const charts = {};
  let refreshSeconds = FALLBACK_REFRESH_SECONDS;

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 11;
  Chart.defaults.color = "#66768a";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  // "No data yet" instead of an empty grid, so an idle pipeline does not look broken.
  const emptyNotice = {
    id: "emptyNotice",
    afterDraw(chart) {
      const hasData = chart.data.datasets.some((ds) => ds.data.some((p) => p !== null && (typeof p !== "object" || p.y !== null)));
      if (hasData) return;
      const { ctx, chartArea } = chart;
      if (!chartArea) return;
      ctx.save();
      ctx.fillStyle = "#94a3b8";
      ctx.textAlign = "center";
      ctx.font = "13px " + Chart.defaults.font.family;
      ctx.fillText(chart.options.emptyText || "no data yet", (chartArea.left + chartArea.right) / 2, (chartArea.top + chartArea.bottom) / 2);
      ctx.restore();
    },
  };
  Chart.register(emptyNotice);

  // 24-hour ISO 8601 times in the browser's time zone, whatever its locale would print.
  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function clock(ms) {
    const d = new Date(ms);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function isoDateTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return "–";
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + clock(d.getTime());
  }

  function zoneName() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "-" : "+";
    const offset = "UTC" + sign + pad(Math.floor(Math.abs(minutes) / 60)) + ":" + pad(Math.abs(minutes) % 60);
    const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return name && name !== "UTC" && name !== "Etc/UTC" ? name + ", " + offset : offset;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 0 : digits });
  }

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    return value < 1 ? fmt(value * 1000) + " ms" : fmt(value, 2) + " s";
  }

  function duration(totalSeconds) {
    if (!totalSeconds) return "since the API started";
    const minutes = Math.round(totalSeconds / 60);
    return minutes < 1 ? "last " + Math.round(totalSeconds) + " s" : "last " + minutes + " min";
  }

  function lineChart(id, yTitle, extra) {
    const yAxes = { y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle }, grid: { color: "#eef1f5" } } };
    Object.assign(yAxes, (extra && extra.scales) || {});
    charts[id] = new Chart(document.getElementById(id), {
      type: "line",
      data: { datasets: [] },
      options: {
        parsing: false,
        spanGaps: false,
        elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 2, tension: 0.2 } },
        interaction: { mode: "index", intersect: false },
        // Legend in the order the series are given, whatever their drawing order.
        // Line-shaped legend keys (dashed where the line is): a box of a thick or dashed border reads as garbage.
        plugins: {
          legend: {
            position: "bottom",
            labels: { usePointStyle: true, pointStyle: "line", boxWidth: 24, sort: (a, b) => a.datasetIndex - b.datasetIndex },
          },
        },
        scales: Object.assign({ x: { type: "linear", ticks: { maxTicksLimit: 6, callback: (v) => clock(v) }, grid: { display: false } } }, yAxes),
        emptyText: (extra && extra.emptyText) || "no data yet",
      },
    });
  }

  function barChart(id, unit, emptyText) {
    charts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: [], datasets: [{ label: unit, data: [], backgroundColor: PALETTE }] },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: unit } },
          y: { grid: { display: false } },
        },
        emptyText: emptyText,
      },
    });
  }

  function setLines(id, times, series, options) {
    const chart = charts[id];
    chart.data.datasets = series.map((s, i) => ({
      label: s.label,
      data: times.map((t, j) => ({ x: t, y: s.values[j] === undefined ? null : s.values[j] })),
      borderColor: s.color || PALETTE[i % PALETTE.length],
      backgroundColor: s.color || PALETTE[i % PALETTE.length],
      yAxisID: s.axis || "y",
      borderDash: s.dash || [],
      borderWidth: s.width || 2,
      order: series.length - i, // Chart.js draws lower orders on top: the thinnest line last
    }));
    if (times.length) {
      chart.options.scales.x.min = times[0];
      chart.options.scales.x.max = times[times.length - 1];
    }
    chart.update("none");
  }

  function setBars(id, totals) {
    const chart = charts[id];
    const entries = Object.entries(totals).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    chart.data.labels = entries.map(([k]) => k);
    chart.data.datasets[0].data = entries.map(([, v]) => v);
    chart.update("none");
  }

  function lastValue(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function tag(parent, text, className) {
    const span = document.createElement("span");
    span.className = "tag " + (className || "");
    span.textContent = text;
    parent.appendChild(span);
  }

  function renderServices(services) {
    const box = document.getElementById("services");
    box.replaceChildren();
    for (const s of services) {
      const pill = document.createElement("span");
      pill.className = "pill" + (s.up ? "" : " down");
      pill.title = s.address + (s.error ? " — " + s.error : "");
      const dot = document.createElement("span");
      dot.className = "dot";
      pill.appendChild(dot);
      pill.appendChild(document.createTextNode(s.service + (s.up ? " up" : " down")));
      box.appendChild(pill);
    }
  }

  function renderArticles(items) {
    const body = document.querySelector("#latest-articles tbody");
    body.replaceChildren();
    for (const a of items) {
      const row = document.createElement("tr");
      const title = cell(row, a.title || "(untitled)", "title");
      const file = document.createElement("span");
      file.className = "file";
      file.textContent = a.source_file;
      title.appendChild(file);
      cell(row, a.source || "–");
      cell(row, a.published_at || "–", "when");
      cell(row, isoDateTime(a.ingested_at), "when");
      cell(row, String(a.entity_count), "num");
      const status = cell(row, "");
      if (a.duplicate_of) tag(status, a.duplicate_kind === "exact" ? "duplicate" : "reprint", "reprint");
      else tag(status, "original");
      body.appendChild(row);
    }
    document.getElementById("latest-empty").hidden = items.length > 0;
  }

  function renderEntities(items, hours) {
    const body = document.querySelector("#top-entities tbody");
    body.replaceChildren();
    for (const e of items) {
      const row = document.createElement("tr");
      cell(row, e.name);
      tag(cell(row, ""), e.type, "type");
      cell(row, String(e.articles), "num");
      body.appendChild(row);
    }
    document.getElementById("top-entities-window").textContent = "last " + hours + " h";
    document.getElementById("entities-empty").hidden = items.length > 0;
  }

  // A story links to its record in the API; its headline (when any) is the row's tooltip.
  function renderStories(items, hours, breaking) {
    const body = document.querySelector("#top-stories tbody");
    body.replaceChildren();
    const fired = new Set(breaking.map((b) => b.story_id));
    for (const s of items) {
      const row = document.createElement("tr");
      const label = cell(row, "");
      const link = document.createElement("a");
      link.href = "/stories/" + encodeURIComponent(s.id);
      link.textContent = s.label;
      if (s.headline) link.title = s.headline;
      label.appendChild(link);
      if (fired.has(s.id)) {
        const mark = document.createElement("span");
        mark.className = "breaking";
        mark.textContent = "breaking";
        label.append(" ", mark);
      }
      cell(row, String(s.articles) + " of " + String(s.article_count), "num");
      cell(row, String(s.source_count), "num");
      body.appendChild(row);
    }
    document.getElementById("top-stories-window").textContent = "last " + hours + " h";
    document.getElementById("stories-empty").hidden = items.length > 0;
    const list = document.getElementById("breaking-stories");
    list.replaceChildren();
    for (const b of breaking) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "/stories/" + encodeURIComponent(b.story_id);
      link.textContent = b.story_id;
      item.append(link, " - " + String(b.sources) + " sources, " + new Date(b.fired_at).toLocaleTimeString());
      list.appendChild(item);
    }
    document.getElementById("breaking-none").hidden = breaking.length > 0;
  }

  function render(data) {
    const c = data.charts;
    const t = c.times_ms;
    renderServices(data.services);

    const archive = data.archive;
    document.getElementById("kpi-articles").textContent = archive ? fmt(archive.articles) : "–";
    document.getElementById("kpi-originals").textContent = archive ? fmt(archive.originals) : "–";
    document.getElementById("kpi-reprints").textContent = archive ? fmt(archive.reprints) : "–";
    document.getElementById("kpi-entities").textContent = archive ? fmt(archive.entities) : "–";
    document.getElementById("kpi-rejected").textContent = archive ? fmt(archive.rejected_files) : "–";
    document.getElementById("kpi-dead-letters").textContent = archive ? fmt(archive.dead_letters) : "–";
    const inbox = lastValue(c.inbox_backlog_files);
    const claimed = lastValue(c.claimed_files);
    document.getElementById("kpi-backlog").textContent =
      inbox === null && claimed === null ? "–" : fmt((inbox || 0) + (claimed || 0));
    const stuck = lastValue(c.stuck_files);
    const quarantined = lastValue(c.quarantined_files);
    document.getElementById("kpi-stuck").textContent =
      stuck === null && quarantined === null ? "–" : fmt(stuck || 0) + " · " + fmt(quarantined || 0);
    document.getElementById("kpi-stuck-tile").classList.toggle("alert", (stuck || 0) + (quarantined || 0) > 0);
    document.getElementById("kpi-latency").textContent = seconds(lastValue(c.latency_seconds.p95));

    // In a healthy pipeline the three stages run level: decreasing widths keep overlapping lines visible.
    setLines("chart-throughput", t, [
      { label: "ingest (published)", values: c.throughput.ingest, width: 5 },
      { label: "enrich (enriched)", values: c.throughput.enrich, width: 3 },
      { label: "store (committed)", values: c.throughput.store, width: 1.5 },
    ]);
    setLines("chart-latency", t, [
      { label: "p50", values: c.latency_seconds.p50 },
      { label: "p95", values: c.latency_seconds.p95 },
      { label: "p99", values: c.latency_seconds.p99 },
      { label: "backfill & replay p95", values: c.catchup_p95_seconds, color: "#94a3b8", dash: [4, 3] },
    ]);
    setLines("chart-lag", t, Object.entries(c.lag).map(([group, values]) => ({ label: group, values })));
    setLines("chart-backlog", t, [
      { label: "in the inbox", values: c.inbox_backlog_files },
      { label: "claimed by ingest", values: c.claimed_files },
      { label: "stuck", values: c.stuck_files, color: "#dc2626" },
      { label: "quarantined", values: c.quarantined_files, color: "#7c3aed" },
      { label: "oldest in inbox (s)", values: c.inbox_oldest_age_seconds, axis: "y2", dash: [4, 3] },
      { label: "oldest claim (s)", values: c.oldest_claim_age_seconds, axis: "y2", dash: [1, 3], color: "#475569" },
    ]);
    setLines("chart-reprints", t, [
      { label: "reprints + duplicates (%)", values: c.reprint_rate.map((v) => (v === null ? null : v * 100)) },
    ]);
    setLines("chart-api", t, [
      { label: "requests / s", values: c.api_requests_per_second },
      { label: "5xx / s (probes left out)", values: c.api_errors_per_second, color: "#dc2626" },
      { label: "p95 latency (ms)", values: c.api_p95_seconds.map((v) => (v === null ? null : v * 1000)), axis: "y2", dash: [4, 3] },
    ]);
    setBars("chart-rejects", archive ? archive.rejected_by_reason : {});
    setBars("chart-entities", data.window.entities_by_type);
    document.getElementById("window-entities").textContent =
      "tags in articles enriched for the first time (one per article and entity; replays not counted again) · " +
      duration(data.window.seconds);
    document.getElementById("rate-window").textContent = fmt(c.window_seconds);
    document.getElementById("history-note").textContent = data.history_kept
      ? "This history is kept across restarts of the API (in its data dir)."
      : "This history starts afresh when the API restarts (its data dir cannot keep it).";
    document.getElementById("time-zone").textContent = zoneName();

    const attention = document.getElementById("attention");
    const reasons = data.attention || [];
    attention.hidden = reasons.length === 0;
    attention.replaceChildren(...reasons.map((reason) => {
      const line = document.createElement("p");
      line.textContent = "Needs attention — " + reason;
      return line;
    }));

    renderArticles(data.latest_articles);
    renderEntities(data.top_entities, data.top_entities_hours);
    renderStories(data.top_stories || [], data.top_stories_hours, data.breaking_stories || []);

    const banner = document.getElementById("banner");
    banner.hidden = !data.database_error;
    banner.textContent = data.database_error ? "Database unavailable: " + data.database_error + " (metrics are still live)." : "";
    document.getElementById("updated").textContent =
      "updated " + clock(Date.parse(data.generated_at)) + " · every " + fmt(refreshSeconds) + " s";
    document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
  }

  async function poll() {
    try {
      const response = await fetch(DATA_URL, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      refreshSeconds = data.refresh_seconds || FALLBACK_REFRESH_SECONDS;
      render(data);
    } catch (error) {
      const banner = document.getElementById("banner");
      banner.hidden = false;
      banner.textContent = "Cannot reach the dashboard data (" + error.message + "); retrying.";
    } finally {
      setTimeout(poll, refreshSeconds * 1000);
    }
  }

  lineChart("chart-throughput", "articles / s");
  lineChart("chart-latency", "seconds", { emptyText: "no article stored in the window" });
  lineChart("chart-lag", "messages");
  lineChart("chart-backlog", "files", {
    scales: { y2: { position: "right", beginAtZero: true, title: { display: true, text: "seconds" }, grid: { display: false } } },
  });
  lineChart("chart-reprints", "%", { emptyText: "no article enriched in the window" });
  charts["chart-reprints"].options.scales.y.suggestedMax = 100;
  lineChart("chart-api", "requests / s", {
    scales: { y2: { position: "right", beginAtZero: true, title: { display: true, text: "ms" }, grid: { display: false } } },
  });
  barChart("chart-rejects", "files", "no rejected files");
  barChart("chart-entities", "tags", "no entities tagged");
  poll();
})();
