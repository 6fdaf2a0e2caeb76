// The national dashboard: reads everything through /graphql with the analyst's bearer token. The token lives in
// sessionStorage only (gone when the tab closes). Figures arrive already under disclosure control; a suppressed
// figure is shown as suppressed with its reason, never as a number.
"use strict";

const TOKEN_KEY = "alwaysHopeToken";
const HEADLINES = ["referrals", "take_up", "plan_agreed_before_release", "joint_meeting_before_release",
                   "settled_on_release", "recalled_within_12_months"];
const REASONS = { SMALL_COUNT: "small count", SECONDARY: "could reveal a small count",
                  SMALL_DENOMINATOR: "too few records" };
const state = { catalogue: [], tenants: [] };

const $ = (id) => document.getElementById(id);

// The dashboard's queries are the published operations (graphql/operations/Dashboard*.graphql), fetched once, so
// they are accepted where the service takes only trusted documents.
let operations = null;

async function gql(name, variables) {
  if (operations === null) operations = await (await fetch("/dashboard/operations.json")).json();
  const query = operations[name];
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
    body: JSON.stringify({ query, variables: variables || {} }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    const message = (body.errors && body.errors[0] && body.errors[0].message) || "Not signed in.";
    signOut(message);
    throw new Error(message);
  }
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

function metricDef(key) { return state.catalogue.find((m) => m.key === key); }

function formatValue(metric, figure) {
  if (figure.suppressed) return "Suppressed (" + (REASONS[figure.reason] || figure.reason) + ")";
  if (figure.value === null) return "—";
  if (metric.kind === "RATE") return figure.value.toFixed(1) + "%";
  if (metric.kind === "MEDIAN") return figure.value.toFixed(1) + " " + metric.unit;
  return String(figure.value);
}

function formatCount(count) {
  if (!count) return "";
  return count.suppressed ? "Suppressed" : String(count.value);
}

function mark(element, figure) {
  element.dataset.value = figure.value === null ? "" : String(figure.value);
  element.dataset.suppressed = String(figure.suppressed);
  element.dataset.reason = figure.reason || "";
  element.classList.toggle("suppressed", figure.suppressed);
}

function selection() {
  return { metric: $("metric").value, grain: $("grain").value, period: $("period").value };
}

async function loadPeriods() {
  const data = await gql("DashboardPeriods", { g: $("grain").value });
  const select = $("period");
  select.replaceChildren(...data.reportingPeriods.map((p) => new Option(p, p)));
  if (data.reportingPeriods.length) select.value = data.reportingPeriods[data.reportingPeriods.length - 1];
  state.periods = data.reportingPeriods;
}

async function renderHeadlines(sel) {
  const cards = await Promise.all(HEADLINES.map(async (key) => {
    const data = await gql("DashboardHeadline", { m: key, g: sel.grain, p: sel.period });
    const metric = metricDef(key);
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.testid = "headline-" + key;
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = metric.title;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = formatValue(metric, data.nationalMetric.total);
    mark(value, data.nationalMetric.total);
    card.append(title, value);
    return card;
  }));
  $("headlines").replaceChildren(...cards);
}

async function renderSeries(sel) {
  if (!state.periods.length) return;
  // the latest 24 periods (the API caps a series at 120 points)
  const from = state.periods[Math.max(0, state.periods.length - 24)], to = state.periods[state.periods.length - 1];
  const scopes = [["National", {}], ["Regions", { k: "REGION" }], ["Cohorts", { k: "COHORT" }]];
  const series = await Promise.all(scopes.map(async ([label, extra]) => {
    const data = await gql("DashboardSeries", { m: sel.metric, g: sel.grain, f: from, t: to, k: extra.k || null });
    return { label, points: data.nationalSeries.points };
  }));
  window.DashboardCharts.lineChart($("series-chart"), metricDef(sel.metric).title + " over time (gaps: suppressed)",
    series[0].points.map((p) => p.periodStart),
    series.map((s) => ({ label: s.label,
                         points: s.points.map((p) => ({ value: p.value.suppressed ? null : p.value.value })) })));
}

async function renderComparison(sel) {
  const data = await gql("DashboardComparison", { m: sel.metric, g: sel.grain, p: sel.period });
  const metric = metricDef(sel.metric);
  const kinds = Object.fromEntries(state.tenants.map((t) => [t.slug, t.kind]));
  const rows = data.nationalMetric.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "tenant-row-" + row.key;
    const cells = [row.label, kinds[row.key] === "COHORT" ? "Cohort" : "Region", formatValue(metric, row.value),
                   formatCount(row.value.numerator), formatCount(row.value.denominator)];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 2) { td.className = "figure num"; mark(td, row.value); }
      tr.append(td);
    });
    return tr;
  });
  $("tenant-table").tBodies[0].replaceChildren(...rows);
  window.DashboardCharts.barChart($("tenant-chart"), metric.title + " by tenant (" + sel.period + ")",
    data.nationalMetric.rows.map((r) => ({ key: r.key, label: r.label,
                                           value: r.value.suppressed ? null : r.value.value })));
}

async function render() {
  const sel = selection();
  const metric = metricDef(sel.metric);
  $("definition").textContent = metric.title + ": " + metric.numerator
    + (metric.denominator !== "—" ? " Out of: " + metric.denominator : "") + " Period: " + metric.period;
  if (!sel.period) { $("status").textContent = "No figures yet: the rollups have not been refreshed."; return; }
  $("status").textContent = "Loading…";
  await Promise.all([renderHeadlines(sel), renderSeries(sel), renderComparison(sel)]);
  $("status").textContent = "Showing " + sel.grain.toLowerCase() + " starting " + sel.period + ".";
  document.body.dataset.ready = "true";
}

async function exportCsv() {
  const sel = selection();
  const query = new URLSearchParams({ metric: sel.metric, grain: sel.grain, periodStart: sel.period });
  const response = await fetch("/reporting/export.csv?" + query,
                               { headers: { "Authorization": "Bearer " + sessionStorage.getItem(TOKEN_KEY) } });
  if (!response.ok) { $("status").textContent = "The export failed."; return; }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = sel.metric + "-" + sel.grain.toLowerCase() + "-" + sel.period + ".csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

async function start() {
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  $("sign-out").hidden = false;
  const data = await gql("DashboardCatalogue");
  state.catalogue = data.metricCatalogue;
  state.tenants = data.reportingTenants;
  $("metric").replaceChildren(...state.catalogue.map((m) => new Option(m.title, m.key)));
  await loadPeriods();
  await render();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("sign-in").hidden = false;
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in-error").textContent = message || "";
}

function report(error) { $("status").textContent = "Could not load figures: " + error.message; }

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start().catch(report);
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("metric").addEventListener("change", () => render().catch(report));
  $("period").addEventListener("change", () => render().catch(report));
  $("grain").addEventListener("change", () => loadPeriods().then(render).catch(report));
  $("export").addEventListener("click", () => exportCsv().catch(report));
  if (sessionStorage.getItem(TOKEN_KEY)) start().catch(report);
});
