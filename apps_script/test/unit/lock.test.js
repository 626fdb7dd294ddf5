'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world, dialogData } = require('../support/world');
const { execution } = require('../support/gas');

test('a second run on the same sheet and column is refused while the first is running', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const first = dialogData(w.click('analyzeSentiment'));
  const second = dialogData(w.click('analyzeSentiment')); // a second dialog opened before the first started
  w.click('startRun', first.token, { maxCost: '1' });
  assert.equal(w.cloudRun.executions.length, 1);
  const refused = w.fails('startRun', second.token, { maxCost: '1' });
  assert.match(refused.error.message, /still going \(sheets-ai-xxxx1, 0\/2 tasks done\)/);
  assert.equal(w.cloudRun.executions.length, 1);
  w.cloudRun.finish(w.cloudRun.executions[0].name);
  w.click('startRun', second.token, { maxCost: '1' });
  assert.equal(w.cloudRun.executions.length, 2, 'once the first has finished, a run starts');
});

test('a run started elsewhere (another copy of the script) is found in Cloud Run\'s running executions', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  w.click('startRun', view.token, { maxCost: '1' });
  w.shared.documentProperties['sheets-ai.active-runs'] = '[]'; // our own record is gone
  const again = dialogData(w.click('analyzeSentiment'));
  assert.match(w.fails('startRun', again.token, { maxCost: '1' }).error.message, /still going/);
});

test('another column of the same sheet can run at the same time', () => {
  const w = world();
  w.spreadsheet.select('B2');
  w.click('startRun', dialogData(w.click('analyzeSentiment')).token, { maxCost: '1' });
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('summarize'));
  assert.equal(view.output.letter, 'E');
  w.click('startRun', view.token, { maxCost: '1' });
  assert.equal(w.cloudRun.executions.length, 2);
});

test('while another execution holds the document lock, Start is refused and nothing is sent', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  const other = execution({ spreadsheet: w.spreadsheet, transport: w.transport, shared: w.shared });
  const held = other.ctx.LockService.getDocumentLock();
  assert.equal(held.tryLock(1000), true);
  const refused = w.fails('startRun', view.token, { maxCost: '1' });
  assert.match(refused.error.message, /being started/);
  assert.equal(refused.requests.length, 0);
  held.releaseLock();
  w.click('startRun', view.token, { maxCost: '1' });
  assert.equal(w.cloudRun.executions.length, 1);
  assert.deepEqual(w.shared.locks, {}, 'the lock is released after a start');
});

test('the lock is released when the run fails to start', () => {
  const w = world();
  w.spreadsheet.select('B2');
  const view = dialogData(w.click('analyzeSentiment'));
  w.cloudRun.fail = { code: 500, message: 'x', match: /:run$/ };
  w.fails('startRun', view.token, { maxCost: '1' });
  assert.deepEqual(w.shared.locks, {});
});
