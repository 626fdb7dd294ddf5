#!/usr/bin/env node
'use strict';
// End to end, driven by tests/test_apps_script_e2e.py: the script runs against the Sheets emulator (its
// SpreadsheetApp reads and writes through the Sheets API) and its UrlFetchApp makes real HTTP requests to the
// Cloud Run emulator, which runs `sheets-ai job` tasks against the same sheet and the fake OpenAI server.
// A user selects a cell of the Review column, clicks Sheets AI > Analyze sentiment, clicks Start, clicks
// again (refused: a run is going), and keeps Recent runs open until the run has finished.
// Prints one JSON object with what each step showed.
//
// Env: E2E_CLOUDRUN_URL, E2E_SHEETS_URL, E2E_SPREADSHEET_ID, E2E_PROJECT, E2E_REGION, E2E_JOB.
const { execution, newShared } = require('../support/gas');
const { Spreadsheet } = require('../support/spreadsheet');
const { sheetsApiBackend } = require('../support/sheets_api');
const { request } = require('../support/http_sync');

const env = process.env;
const CLOUD_RUN = 'https://run.googleapis.com/';

// UrlFetchApp's requests go out over real HTTP; only the host of run.googleapis.com is swapped for the emulator's.
function transport(req) {
  if (!req.url.startsWith(CLOUD_RUN)) throw new Error(`unexpected request to ${req.url}`);
  const url = env.E2E_CLOUDRUN_URL.replace(/\/$/, '') + '/' + req.url.slice(CLOUD_RUN.length);
  return request({ method: req.method, url, headers: req.headers, body: req.payload });
}

function main() {
  const spreadsheet = new Spreadsheet({
    id: env.E2E_SPREADSHEET_ID,
    name: 'Customer reviews',
    backend: sheetsApiBackend(env.E2E_SHEETS_URL, env.E2E_SPREADSHEET_ID),
  });
  const shared = newShared();
  const click = (fn, ...args) => {
    const ex = execution({ spreadsheet, transport, shared });
    try {
      const value = ex.ctx[fn](...args);
      return { ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)), ex };
    } catch (e) {
      return { ok: false, error: e.message, ex };
    }
  };
  const t0 = Date.now();
  const out = { steps: {}, seconds: {} };
  const mark = (name) => (out.seconds[name] = (Date.now() - t0) / 1000);
  const saved = click('saveSettings', {
    project: env.E2E_PROJECT, region: env.E2E_REGION, job: env.E2E_JOB, model: 'gpt-4.1-mini', maxCost: '1',
    labels: '', output: '', logSheet: 'sheets-ai log', headerRow: '1', rowsPerTask: '4', maxTasks: '3',
  });
  out.steps.settings = saved.value;
  click('onOpen', {});
  spreadsheet.select('B3', 'Reviews');
  const menu = click('analyzeSentiment');
  const dialog = menu.ex.ui.dialogs[menu.ex.ui.dialogs.length - 1];
  const view = JSON.parse(/var VIEW = (.*);\n/.exec(dialog.html.getContent())[1]);
  mark('dialog');
  out.steps.dialog = { title: dialog.title, view, alerts: menu.ex.ui.alerts };
  const start = click('startRun', view.token, { maxCost: '0.50', options: {} });
  mark('start');
  out.steps.start = { ok: start.ok, value: start.value, error: start.error, toasts: spreadsheet.toasts.slice() };
  const again = click('analyzeSentiment');
  const againView = JSON.parse(/var VIEW = (.*);\n/.exec(again.ex.ui.dialogs[again.ex.ui.dialogs.length - 1].html.getContent())[1]);
  const second = click('startRun', againView.token, { maxCost: '0.50', options: {} });
  mark('second');
  out.steps.second = { ok: second.ok, error: second.error };
  // Recent runs, as the sidebar asks for it while a run is going (every 5 s there; every second here).
  const deadline = Date.now() + Number(env.E2E_TIMEOUT_S || 240) * 1000;
  const seen = [];
  let runs;
  for (;;) {
    shared.documentCache = {}; // the sidebar's 5-second cache would only slow this loop down
    runs = click('getRecentRuns').value;
    const states = runs.executions.map((e) => e.state).join(',');
    if (seen[seen.length - 1] !== states) seen.push(states);
    if (!runs.running && runs.executions.length) break;
    if (Date.now() > deadline) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  mark('finished');
  out.steps.recentRuns = { final: runs, seen };
  out.steps.sheet = spreadsheet.getSheetByName('Reviews').getDataRange().getValues();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
