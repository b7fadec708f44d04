// Export jobs on the accounting page: a statement too big to wait for, or the printable
// tickets of a session (catalog.manage), is queued; every job of the caller shows its
// progress in words and as a bar, then a download link (docs/exports.md). Polled every
// second while one is waiting or running.

import { locale, t } from "./i18n.js";
import { h } from "./dom.js";
import { api, can, errorText, notify } from "./session.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const state = { jobs: [], timer: null };

const count = (n) => new Intl.NumberFormat(locale()).format(n);

function label(job) {
  const p = job.params;
  if (job.kind === "tickets") return t("acc.job.tickets", { session: p.session_id, format: p.format.toUpperCase() });
  return t("acc.job.statement", { what: t(`acc.${p.statement}`), format: p.format.toUpperCase() });
}

function progressText(job) {
  if (job.status === "done") return t("acc.job.done", { n: count(job.done) });
  if (job.status === "failed") return t("acc.job.failed", { error: job.error || "" });
  if (job.status === "queued") return t("acc.job.queued");
  if (job.total === null) return t("acc.job.running", { n: count(job.done) });
  const pct = job.total ? Math.floor((100 * job.done) / job.total) : 0;
  return t("acc.job.progress", { done: count(job.done), total: count(job.total), pct });
}

function jobRow(job) {
  const bar = h("progress", { max: job.total || 1, value: job.status === "done" ? job.total || 1 : job.done,
    "aria-label": label(job) });
  if (job.status === "queued" || (job.status === "running" && job.total === null)) bar.removeAttribute("value");
  const link = job.ready ? h("a", { class: "btn btn-small", href: `/api/exports/${job.id}/file`, download: job.file_name,
    "data-testid": "job-download" }, t("acc.job.download", { name: job.file_name })) : null;
  return h("li", { class: `job job-${job.status}`, "data-testid": "export-job", "data-status": job.status },
    h("strong", {}, label(job)), " ", bar, " ",
    h("span", { "data-testid": "job-progress" }, progressText(job)), " ", link);
}

export function renderJobs() {
  const list = $("jobs");
  if (!list) return;
  list.replaceChildren(...(state.jobs.length ? state.jobs.map(jobRow)
    : [h("li", { class: "muted" }, t("acc.job.none"))]));
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    state.jobs = (await api("GET", "/api/exports")).jobs;
    renderJobs();
  } catch (err) {
    notify(errorText(err));
  }
  if (state.jobs.some((j) => j.status === "queued" || j.status === "running")) {
    state.timer = setTimeout(refresh, POLL_MS);
  }
}

async function queue(path, body) {
  try {
    await api("POST", path, body);
    await refresh();
  } catch (err) {
    notify(errorText(err));
  }
}

/** Wire the export forms; ``params`` gives the statement's period and filters. */
export function startExports(user, params) {
  $("job-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams(params());
    q.set("statement", $("job-statement").value);
    q.set("format", $("job-format").value);
    queue(`/api/exports/statements?${q}`);
  });
  const tickets = $("tickets-form");
  if (can(user, "catalog.manage")) {
    tickets.hidden = false;
    tickets.addEventListener("submit", (event) => {
      event.preventDefault();
      queue("/api/exports/tickets", { session_id: Number($("tickets-session").value),
        format: $("tickets-format").value, entry: $("tickets-entry").value });
    });
  }
  refresh();
}
