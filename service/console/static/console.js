// The GraphQL console: pick a published operation (or write one), give variables and a token, see the answer.
// The token stays in this tab's sessionStorage only.
"use strict";

const TOKEN_KEY = "alwaysHopeConsoleToken";
const $ = (id) => document.getElementById(id);
let published = {};

// A starting point for the variables an operation declares without a default: each name with null, to fill in.
function variableSkeleton(text) {
  const header = text.slice(0, text.indexOf("{"));
  const names = [...header.matchAll(/\$(\w+)\s*:\s*[^,)=]+(=)?/g)].filter((m) => !m[2]).map((m) => m[1]);
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, null])), null, 2);
}

function show(text, failed) {
  $("answer").textContent = text;
  $("answer").classList.toggle("failed", failed);
}

async function run() {
  let variables;
  try {
    variables = JSON.parse($("variables").value.trim() || "{}");
  } catch (error) {
    show("The variables are not valid JSON: " + error.message, true);
    $("status").textContent = "";
    return;
  }
  const token = $("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  $("status").textContent = "Running…";
  const started = performance.now();
  try {
    const response = await fetch("/graphql", {
      method: "POST", headers, body: JSON.stringify({ query: $("query").value, variables }),
    });
    const text = await response.text();
    let body;
    try { body = JSON.stringify(JSON.parse(text), null, 2); } catch { body = text; }
    show(body, !response.ok || body.includes('"errors"'));
    $("status").textContent = "HTTP " + response.status + " in " + Math.round(performance.now() - started) + " ms"
      + (response.status === 401 ? ": paste a token from `.venv/bin/always-hope token …`" : "");
  } catch (error) {
    show("The service did not answer: " + error.message, true);
    $("status").textContent = "";
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("console").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("console").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  });
  $("operation").addEventListener("change", () => {
    const operation = published[$("operation").value];
    if (operation === undefined) return;
    $("query").value = operation.document;
    $("variables").value = variableSkeleton(operation.document);
  });
  published = await (await fetch("/console/operations.json")).json();
  // One group per audience (the folder it is published in: practitioners, tenant-admin, national…).
  const groups = {};
  for (const [name, operation] of Object.entries(published)) {
    const audience = operation.audience || "published";
    if (!groups[audience]) {
      groups[audience] = document.createElement("optgroup");
      groups[audience].label = audience;
    }
    groups[audience].append(new Option(name, name));
  }
  $("operation").append(...Object.values(groups));
  document.body.dataset.ready = "true";
});
