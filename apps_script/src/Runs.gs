// The Recent runs sidebar: the job's latest executions (state, tasks done, start, duration, logs link) and the
// run-log sheet's rows the job appends (--log-sheet). The sidebar asks again every few seconds while a run is going.

var RECENT_RUNS_CACHE_SECONDS = 5;

function showRecentRuns() {
  var html = HtmlService.createTemplateFromFile('RecentRuns').evaluate().setTitle('Sheets AI: recent runs');
  SpreadsheetApp.getUi().showSidebar(html);
}

/** {executions, log, running, error, refreshed} for the sidebar; errors come back as a message, not thrown. */
function getRecentRuns() {
  var s = getSettings();
  var cache = CacheService.getDocumentCache();
  var out = { executions: [], log: { sheet: s.logSheet, headers: [], rows: [] }, running: false, error: '' };
  if (!settingsComplete_(s)) {
    out.error = 'Sheets AI is not set up yet: open Sheets AI > Settings… and name the Cloud Run job.';
    return out;
  }
  try {
    var cached = cache.get('recent-runs');
    var executions = cached ? JSON.parse(cached) : null;
    if (!executions) {
      executions = listExecutions_(s, 10).map(executionSummary_);
      executions.forEach(function (e) {
        delete e.env;
      });
      cache.put('recent-runs', JSON.stringify(executions), RECENT_RUNS_CACHE_SECONDS);
    }
    out.executions = executions;
    out.running = executions.some(function (e) {
      return e.running;
    });
  } catch (e) {
    out.error = e instanceof CloudRunError ? e.message : 'Could not list the runs: ' + (e && e.message ? e.message : e);
  }
  out.log = readRunLog_(s.logSheet, 10);
  out.refreshed = new Date().toISOString();
  return out;
}

/** The last `n` runs of the run-log sheet (newest first): the columns a person reads first. The sheet is also the
 * ledger of --monthly-budget: its `claim` rows (a run's share of the month, written before it starts) are not runs. */
function readRunLog_(name, n) {
  var result = { sheet: name, headers: [], rows: [] };
  if (!name) return result;
  var sheet = SpreadsheetApp.getActiveSpreadsheet().getSheetByName(name);
  if (!sheet || sheet.getLastRow() < 2) return result;
  var width = sheet.getLastColumn();
  var headers = sheet.getRange(1, 1, 1, width).getValues()[0].map(String);
  var wanted = ['time', 'task', 'processed', 'failed', 'cost_usd', 'status'];
  var cols = wanted.map(function (w) {
    return headers.indexOf(w);
  });
  var status = headers.indexOf('status');
  var first = Math.max(2, sheet.getLastRow() - 3 * n + 1); // a run may have a claim row beside its log row
  var values = sheet.getRange(first, 1, sheet.getLastRow() - first + 1, width).getValues();
  result.headers = wanted;
  result.rows = values
    .filter(function (row) {
      return status < 0 || row[status] !== 'claim';
    })
    .slice(-n)
    .map(function (row) {
      return cols.map(function (i) {
        var v = i < 0 ? '' : row[i];
        return v instanceof Date ? v.toISOString() : v;
      });
    })
    .reverse();
  return result;
}
