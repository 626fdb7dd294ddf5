'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world, dialogData } = require('../support/world');

function env(request) {
  const body = JSON.parse(request.payload);
  return Object.fromEntries(body.overrides.containerOverrides[0].env.map((v) => [v.name, v.value]));
}

test('Analyze sentiment on a selected column: the dialog shows the plan, Start sends the run', () => {
  const w = world();
  w.spreadsheet.select('B3'); // one cell of the Review column
  const ex = w.click('analyzeSentiment');
  assert.equal(ex.ui.dialogs.length, 1);
  assert.equal(ex.ui.dialogs[0].title, 'Sheets AI: Analyze sentiment');
  const view = dialogData(ex);
  assert.equal(view.sheet, 'Reviews');
  assert.deepEqual(view.input, { column: 2, letter: 'B', header: 'Review' });
  assert.deepEqual(view.output, { column: 4, letter: 'D', header: 'Sentiment (AI)', exists: false });
  assert.deepEqual(view.rows, { first: 2, last: 6, todo: 4, empty: 1, filled: 0 });
  assert.equal(view.model, 'gpt-4.1-mini');
  assert.equal(view.maxCost, 2);
  assert.ok(view.estimate.costUsd > 0 && view.estimate.costUsd < 0.01, JSON.stringify(view.estimate));
  assert.equal(ex.requests.length, 0, 'nothing is sent before Start');
  assert.ok(!JSON.stringify(view).includes('Great product'), 'no row text goes into the page');

  const start = w.click('startRun', view.token, { maxCost: '1.5', options: { labels: '' } });
  const runs = start.requests.filter((r) => r.method === 'POST');
  assert.equal(runs.length, 1);
  const run = runs[0];
  assert.equal(run.url, 'https://run.googleapis.com/v2/projects/my-sheets-ai/locations/us-central1/jobs/sheets-ai:run');
  assert.equal(run.headers.Authorization, 'Bearer ya29.test-token');
  assert.equal(run.headers['Content-Type'], 'application/json');
  const body = JSON.parse(run.payload);
  assert.deepEqual(Object.keys(body), ['overrides']);
  assert.equal(body.overrides.taskCount, 2, '4 rows at 2 rows per task');
  // SHEETS_AI_MAX_COST is per task in `sheets-ai job`: the cap of 1.5 for the run is 0.75 for each of 2 tasks.
  assert.deepEqual(env(run), {
    SHEETS_AI_SOURCE: '1AbCdEfGhIjK',
    SHEETS_AI_SHEET: 'Reviews',
    SHEETS_AI_INPUT: 'B',
    SHEETS_AI_OUTPUT: 'D',
    SHEETS_AI_HEADER_ROW: '1',
    SHEETS_AI_TASK: 'sentiment',
    SHEETS_AI_PROVIDER: 'openai',
    SHEETS_AI_MODEL: 'gpt-4.1-mini',
    SHEETS_AI_MAX_COST: '0.75',
    SHEETS_AI_ROWS: '',
    SHEETS_AI_LABELS: '',
    SHEETS_AI_MAX_CHARS: '',
    SHEETS_AI_PROMPT: '',
    SHEETS_AI_LOG_SHEET: 'sheets-ai log',
  });
  assert.equal(body.overrides.containerOverrides[0].clearArgs, true, "the job's own args cannot override the run");
  assert.ok(!/OPENAI_API_KEY|sk-/.test(run.payload), 'no key in the request');
  assert.equal(w.values()[0][3], 'Sentiment (AI)', 'the output column is headed before the job starts');
  assert.equal(start.result.id, 'sheets-ai-xxxx1');
  assert.match(w.spreadsheet.toasts[0].msg, /Started sheets-ai-xxxx1 on 4 rows \(2 tasks\).*column D/);
});

test('the output column is the first free one right of every used cell, never a column with data', () => {
  const w = world({
    sheets: { Reviews: [['Review', '', 'Notes'], ['good', 'x', ''], ['bad', '', 'call back']] },
  });
  w.spreadsheet.select('A1');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.equal(view.output.letter, 'D', 'B holds data under a blank header; C is Notes');
});

test('a rerun finds its own output column and only counts the rows still empty', () => {
  const w = world({
    sheets: { Reviews: [['Review', 'Sentiment (AI)', 'Note'], ['good', 'positive', ''], ['bad', '', ''], ['', '', 'n/a']] },
  });
  w.spreadsheet.select('A:A');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.deepEqual(view.output, { column: 2, letter: 'B', header: 'Sentiment (AI)', exists: true });
  assert.deepEqual(view.rows, { first: 2, last: 4, todo: 1, empty: 1, filled: 1 });
});

test('a configured output column that holds other data is refused', () => {
  const w = world();
  w.click('saveSettings', { ...require('../support/world').SETTINGS, output: 'C' });
  w.spreadsheet.select('B2');
  const ex = w.click('analyzeSentiment');
  assert.equal(ex.ui.dialogs.length, 0);
  assert.match(ex.ui.alerts[0].prompt, /\(C\) is headed "Stars"/);
});

test('a selection of several columns, or a column without header, is explained', () => {
  const w = world({ sheets: { Reviews: [['Review', ''], ['good', 'x']] } });
  w.spreadsheet.select('A1:B2');
  assert.match(w.click('analyzeSentiment').ui.alerts[0].prompt, /Select one column/);
  w.spreadsheet.ui.alerts.length = 0;
  w.spreadsheet.select('B2');
  assert.match(w.click('analyzeSentiment').ui.alerts[0].prompt, /Column B has no header/);
});

test('selected rows below the header become a --rows range', () => {
  const w = world();
  w.spreadsheet.select('B3:B5');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.equal(view.rowsSpec, '3:5');
  assert.deepEqual(view.rows, { first: 3, last: 5, todo: 2, empty: 1, filled: 0 });
  const start = w.click('startRun', view.token, { maxCost: '1', options: {} });
  assert.equal(env(start.requests.find((r) => r.method === 'POST')).SHEETS_AI_ROWS, '3:5');
});

test('Summarize, Classify and Extract send their options; missing ones are asked for', () => {
  const w = world();
  w.spreadsheet.select('B2');
  let view = dialogData(w.click('classify'));
  const noLabels = w.fails('startRun', view.token, { maxCost: '1', options: { labels: 'only-one' } });
  assert.match(noLabels.error.message, /at least two categories/);
  assert.equal(noLabels.requests.length, 0);
  let ex = w.click('startRun', view.token, { maxCost: '1', options: { labels: ' billing, shipping ,other' } });
  let sent = env(ex.requests.find((r) => r.method === 'POST'));
  assert.equal(sent.SHEETS_AI_TASK, 'classify');
  assert.equal(sent.SHEETS_AI_LABELS, 'billing,shipping,other');
  assert.equal(sent.SHEETS_AI_OUTPUT, 'D');

  w.cloudRun.executions.forEach((e) => w.cloudRun.finish(e.name));
  view = dialogData(w.click('extract'));
  assert.match(w.fails('startRun', view.token, { maxCost: '1', options: { prompt: ' ' } }).error.message, /question/);
  ex = w.click('startRun', view.token, { maxCost: '1', options: { prompt: 'Which product?' } });
  assert.equal(env(ex.requests.find((r) => r.method === 'POST')).SHEETS_AI_PROMPT, 'Which product?');

  view = dialogData(w.click('summarize'));
  assert.equal(view.options.maxChars, 200);
  const est = w.click('estimateFor', view.token, { maxChars: 50 }).result;
  assert.ok(est.completionTokens <= view.estimate.completionTokens);
  ex = w.click('startRun', view.token, { maxCost: '1', options: { maxChars: '120' } });
  assert.equal(env(ex.requests.find((r) => r.method === 'POST')).SHEETS_AI_MAX_CHARS, '120');
});

test('the cost cap from the dialog is checked and sent', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  for (const bad of ['', '0', '-1', 'abc']) {
    assert.match(w.fails('startRun', view.token, { maxCost: bad }).error.message, /cost cap/);
  }
  assert.equal(w.cloudRun.executions.length, 0);
});

test('Run again with the last settings reopens the same task, column, options and cap', () => {
  const w = world();
  assert.match(w.click('runAgain').ui.alerts[0].prompt, /Nothing to run again/);
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('classify'));
  w.click('startRun', view.token, { maxCost: '0.75', options: { labels: 'a,b' } });
  w.cloudRun.executions.forEach((e) => w.cloudRun.finish(e.name));
  w.spreadsheet.select('A1'); // the selection moved meanwhile
  const again = dialogData(w.click('runAgain'));
  assert.equal(again.task, 'classify');
  assert.equal(again.input.letter, 'B');
  assert.equal(again.maxCost, 0.75);
  assert.equal(again.options.labels, 'a,b');
});

test('an expired dialog says so instead of starting anything', () => {
  const w = world();
  assert.match(w.fails('startRun', 'no-such-token', { maxCost: '1' }).error.message, /expired/);
});

test('a large sheet: the dialog keeps no row text in the cache (100 KB a value) and counts rows when Start is clicked', () => {
  const rows = [['Review']];
  for (let i = 0; i < 3000; i++) rows.push([`Review ${i}: `.padEnd(120, 'lorem ipsum dolor sit amet ')]);
  const w = world({ sheets: { Reviews: rows } });
  w.spreadsheet.select('A2');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.equal(view.rows.todo, 3000);
  assert.equal(view.taskCount, 5, '3000 rows at 2 rows per task, at most 5 tasks');
  assert.ok(view.estimate.requests >= 30);
  w.spreadsheet.getSheetByName('Reviews').getRange('B1:B3').setValues([['Sentiment (AI)'], ['positive'], ['negative']]);
  const ex = w.click('startRun', view.token, { maxCost: '5' });
  assert.equal(ex.result.taskCount, 5);
  assert.match(w.spreadsheet.toasts[0].msg, /on 2998 rows/, 'rows filled while the dialog was open are not counted');
});

test('a sheet changed under the dialog (its output column moved) is not started', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.equal(view.output.letter, 'D');
  w.spreadsheet.getSheetByName('Reviews').getRange('D1').setValue('Notes');
  const refused = w.fails('startRun', view.token, { maxCost: '1' });
  assert.match(refused.error.message, /changed since this dialog opened \(the results would now go to column E, not D\)/);
  assert.equal(w.cloudRun.executions.length, 0);
});
