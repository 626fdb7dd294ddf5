'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world, dialogData } = require('../support/world');

function startWith(fail) {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  w.cloudRun.fail = fail;
  const ex = w.fails('startRun', view.token, { maxCost: '1', options: {} });
  return { w, ex, message: ex.error.message };
}

const RUN = /^POST .*:run$/;

test('401: sign-in not accepted, with what to do', () => {
  const { message, w } = startWith({ code: 401, message: 'Request had invalid authentication credentials.', match: RUN });
  assert.match(message, /401/);
  assert.match(message, /authorize the script again/);
  assert.equal(w.spreadsheet.getSheetByName('Reviews').getRange('D1').getValue(), '', 'the header written for the run is taken back when the run did not start');
});

test('403 on jobs.run names run.jobs.runWithOverrides, roles/run.developer and the command to grant it', () => {
  const { message } = startWith({
    code: 403,
    message: "Permission 'run.jobs.runWithOverrides' denied on resource 'projects/my-sheets-ai/locations/us-central1/jobs/sheets-ai' (or resource may not exist).",
    match: RUN,
  });
  assert.match(message, /permission run\.jobs\.runWithOverrides/);
  assert.match(message, /role roles\/run\.developer/);
  assert.match(message, /gcloud run jobs add-iam-policy-binding sheets-ai --project my-sheets-ai --region us-central1 --member user:ana@example\.com --role roles\/run\.developer/);
});

test('403 on listing executions names run.executions.list and roles/run.viewer', () => {
  const { message } = startWith({ code: 403, message: 'The caller does not have permission', match: /^GET / });
  assert.match(message, /permission run\.executions\.list/);
  assert.match(message, /roles\/run\.viewer/);
});

test('403 when the message names run.jobs.run (no overrides) points at roles/run.invoker', () => {
  const { message } = startWith({ code: 403, message: "Permission 'run.jobs.run' denied on resource", match: RUN });
  assert.match(message, /run\.jobs\.run\b/);
  assert.match(message, /roles\/run\.invoker/);
});

test('403 for a disabled Cloud Run Admin API says to enable it', () => {
  const { message } = startWith({
    code: 403,
    message: 'Cloud Run Admin API has not been used in project 123 before or it is disabled.',
    match: RUN,
  });
  assert.match(message, /gcloud services enable run\.googleapis\.com --project my-sheets-ai/);
});

test('404: the job was not found, check Settings', () => {
  const { message } = startWith({ code: 404, message: "Resource 'sheets-ai' of kind 'JOB' does not exist.", match: RUN });
  assert.match(message, /Cloud Run job "sheets-ai" \(project my-sheets-ai, region us-central1\) was not found \(404\)/);
  assert.match(message, /Settings/);
});

test('429: too many requests, wait and retry', () => {
  const { message } = startWith({ code: 429, message: 'Quota exceeded', match: RUN });
  assert.match(message, /429/);
  assert.match(message, /wait a minute/);
});

for (const code of [500, 503]) {
  test(`${code}: a server error, nothing started`, () => {
    const { message, w } = startWith({ code, message: 'backend error', match: RUN });
    assert.match(message, new RegExp(`server error \\(${code}: backend error\\)`));
    assert.match(message, /Nothing was started/);
    assert.equal(w.cloudRun.executions.length, 0);
  });
}

test('an answer that is not JSON and a network failure are explained', () => {
  const w = world({ transport: () => ({ code: 502, body: '<html>Bad gateway</html>' }) });
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  assert.match(w.fails('startRun', view.token, { maxCost: '1' }).error.message, /server error \(502\)/);
  w.transport = () => {
    throw new Error('Exception: Address unavailable: https://run.googleapis.com');
  };
  assert.match(w.fails('startRun', view.token, { maxCost: '1' }).error.message, /Could not reach the Cloud Run API/);
});

test('the Recent runs sidebar shows an API error as a message instead of failing', () => {
  const w = world();
  w.cloudRun.fail = { code: 403, message: 'denied' };
  const data = w.click('getRecentRuns').result;
  assert.match(data.error, /run\.executions\.list/);
  assert.deepEqual(data.executions, []);
});
