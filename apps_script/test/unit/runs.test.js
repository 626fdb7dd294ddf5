'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world, dialogData } = require('../support/world');

test('Recent runs lists executions (state, tasks done, start, duration, logs) and the run log without budget claims', () => {
  const w = world({
    sheets: {
      Reviews: [['Review'], ['good'], ['bad']],
      'sheets-ai log': [
        ['time', 'task', 'model', 'processed', 'failed', 'skipped', 'changed', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'seconds', 'status', 'where'],
        ['2026-12-01 04:59:59 UTC', 'sentiment', 'openai:gpt-4.1-mini', '', '', '', '', '', '', '', '', 'claim', 'host'],
        ['2026-12-01 05:00:00 UTC', 'sentiment', 'openai:gpt-4.1-mini', 2, 0, 0, 0, 300, 10, 0.000136, 1.2, 'ok', 'host'],
        ['2026-12-01 05:01:00 UTC', 'summarize', 'openai:gpt-4.1-mini', '', '', '', '', '', '', '', '', 'claim', 'host'],
      ],
    },
  });
  w.spreadsheet.select('A2');
  w.click('startRun', dialogData(w.click('analyzeSentiment')).token, { maxCost: '1' });
  const sidebar = w.click('showRecentRuns');
  assert.equal(sidebar.ui.sidebars[0].title, 'Sheets AI: recent runs');
  let data = w.click('getRecentRuns').result;
  assert.equal(data.running, true);
  assert.equal(data.executions[0].state, 'Running');
  assert.equal(data.executions[0].id, 'sheets-ai-xxxx1');
  assert.match(data.executions[0].logUri, /^https:\/\/console\.cloud\.google\.com\/logs/);
  assert.deepEqual(data.log.rows, [['2026-12-01 05:00:00 UTC', 'sentiment', 2, 0, 0.000136, 'ok']]);
  w.cloudRun.finish(w.cloudRun.executions[0].name);
  w.shared.clock = () => Date.now() + 60_000; // past the sidebar's short cache
  data = w.click('getRecentRuns').result;
  assert.equal(data.running, false);
  assert.equal(data.executions[0].state, 'Succeeded');
  assert.equal(data.executions[0].tasksDone, 1);
  assert.equal(data.executions[0].seconds, 42);
});

test('executionSummary_ reads failed and cancelled executions', () => {
  const ex = world().click('getSettings');
  const base = { name: 'projects/p/locations/l/jobs/j/executions/j-1', taskCount: 3, startTime: '2026-12-01T05:00:00Z', completionTime: '2026-12-01T05:02:00Z' };
  assert.equal(ex.ctx.executionSummary_({ ...base, succeededCount: 2, failedCount: 1 }).state, 'Failed');
  assert.equal(ex.ctx.executionSummary_({ ...base, succeededCount: 1, cancelledCount: 2 }).state, 'Cancelled');
  assert.equal(ex.ctx.executionSummary_({ ...base, succeededCount: 3 }).seconds, 120);
  assert.equal(ex.ctx.executionSummary_({ ...base, completionTime: undefined, runningCount: 0 }).state, 'Pending');
});
