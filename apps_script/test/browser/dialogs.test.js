'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { world, dialogData, SETTINGS, REVIEWS } = require('../support/world');
const { unavailable, launch, openDialog, screenshotPath } = require('../support/browser');

const missing = unavailable();
if (missing && process.env.CI === 'true') {
  test('headless Chromium is available', () => assert.fail(`browser tests cannot run under CI: ${missing}`));
}
const skip = missing ? `browser tests skipped outside CI: ${missing}` : false;

let browser;
test.before(async () => {
  if (!missing) browser = await launch();
});
test.after(async () => {
  if (browser) await browser.close();
});

const SIDEBAR_WIDTH = 300;

test('Settings dialog: invalid values show their messages, valid ones reach saveSettings and are stored', { skip }, async () => {
  const w = world({ settings: null });
  const ex = w.click('showSettings');
  const { page, calls } = await openDialog(browser, w, ex.ui.dialogs[0].html);
  assert.equal(await page.inputValue('#region'), 'us-central1', 'defaults are filled in');
  await page.fill('#project', 'My Project');
  await page.fill('#job', 'Sheets_AI');
  await page.fill('#maxCost', '0');
  await page.click('#save');
  await page.waitForFunction(() => document.getElementById('banner').textContent.startsWith('Not saved'));
  assert.match(await page.textContent('#error-project'), /project ID is 6-30 lowercase letters/);
  assert.match(await page.textContent('#error-job'), /Cloud Run job name is lowercase/);
  assert.match(await page.textContent('#error-maxCost'), /above 0/);
  assert.equal(await page.textContent('#error-region'), '');
  assert.equal(await page.getAttribute('#project', 'class'), 'invalid');
  await page.screenshot({ path: screenshotPath('settings-invalid.png') });
  assert.equal(w.shared.documentProperties['sheets-ai.settings'], undefined, 'nothing stored');
  assert.equal(await page.evaluate(() => window.__closed), false);

  await page.fill('#project', 'my-sheets-ai');
  await page.fill('#job', 'sheets-ai');
  await page.fill('#maxCost', '2.50');
  await page.fill('#labels', 'good, bad, neutral, mixed');
  await page.screenshot({ path: screenshotPath('settings.png') });
  await page.click('#save');
  await page.waitForFunction(() => window.__closed === true);
  const last = calls[calls.length - 1];
  assert.equal(last.name, 'saveSettings');
  assert.equal(last.args[0].project, 'my-sheets-ai');
  assert.equal(last.args[0].maxCost, '2.50');
  const stored = JSON.parse(w.shared.documentProperties['sheets-ai.settings']);
  assert.equal(stored.maxCost, 2.5);
  assert.equal(stored.labels, 'good,bad,neutral,mixed');
  await page.close();
});

test('Confirmation dialog: shows the plan and estimate; Start sends the run with the cap typed in', { skip }, async () => {
  const w = world({ settings: { ...SETTINGS, rowsPerTask: '500' } });
  w.spreadsheet.select('B2');
  const ex = w.click('analyzeSentiment');
  const { page, calls } = await openDialog(browser, w, ex.ui.dialogs[0].html);
  assert.equal(await page.textContent('#sheet'), 'Reviews (Customer reviews)');
  assert.equal(await page.textContent('#input'), 'B: Review');
  assert.equal(await page.textContent('#output'), 'D: Sentiment (AI) (new column)');
  assert.equal(await page.textContent('#rows'), '4 (rows 2-6; skipped: 1 are empty)');
  assert.equal(await page.textContent('#model'), 'gpt-4.1-mini');
  assert.match(await page.textContent('#estimate'), /^about \$0\.\d{4} \(1 request, ~\d+ prompt and ~\d+ completion tokens\)$/);
  assert.match(await page.textContent('#estimate-note'), /An estimate from approximate token counts, prices as of \d{4}-\d{2}-\d{2}/);
  assert.equal(await page.inputValue('#maxCost'), '2');
  await page.fill('#maxCost', '0.25');
  await page.screenshot({ path: screenshotPath('confirm.png') });
  await page.click('#start');
  await page.waitForFunction(() => document.getElementById('banner').textContent.startsWith('Started'));
  assert.match(await page.textContent('#banner'), /Started sheets-ai-xxxx1\. Results arrive in column D/);
  const start = calls.find((c) => c.name === 'startRun');
  assert.equal(start.args[1].maxCost, '0.25');
  assert.equal(w.cloudRun.executions.length, 1);
  const envs = Object.fromEntries(w.cloudRun.executions[0].template.containers[0].env.map((e) => [e.name, e.value]));
  assert.equal(envs.SHEETS_AI_MAX_COST, '0.25');
  assert.equal(envs.SHEETS_AI_OUTPUT, 'D');
  await page.waitForFunction(() => window.__closed === true);
  await page.close();
});

test('Confirmation dialog: a refused run shows the alert text and Start can be clicked again', { skip }, async () => {
  const w = world();
  w.spreadsheet.select('B2');
  const { page } = await openDialog(browser, w, w.click('analyzeSentiment').ui.dialogs[0].html);
  w.cloudRun.fail = { code: 403, message: "Permission 'run.jobs.runWithOverrides' denied on resource", match: /:run$/ };
  await page.click('#start');
  await page.waitForFunction(() => /403/.test(document.getElementById('banner').textContent));
  assert.match(await page.textContent('#banner'), /run\.jobs\.runWithOverrides.*roles\/run\.developer/s);
  assert.equal(await page.isDisabled('#start'), false);
  await page.screenshot({ path: screenshotPath('confirm-403.png') });
  assert.equal(w.cloudRun.executions.length, 0);
  await page.close();
});

test('Confirmation dialog for Classify: categories change the estimate; missing ones are refused', { skip }, async () => {
  const w = world();
  w.spreadsheet.select('B2');
  const ex = w.click('classify');
  const { page, calls } = await openDialog(browser, w, ex.ui.dialogs[0].html);
  assert.equal(await page.isVisible('#labels'), true);
  assert.equal(await page.isVisible('#prompt'), false);
  await page.click('#start');
  await page.waitForFunction(() => /categories/.test(document.getElementById('banner').textContent));
  const before = await page.textContent('#estimate');
  await page.fill('#labels', 'billing, shipping, quality, packaging, delivery time, refunds, something else entirely');
  await page.waitForFunction((b) => document.getElementById('estimate').textContent !== b, before);
  assert.ok(calls.some((c) => c.name === 'estimateFor'));
  await page.click('#start');
  await page.waitForFunction(() => document.getElementById('banner').textContent.startsWith('Started'));
  const envs = Object.fromEntries(w.cloudRun.executions[0].template.containers[0].env.map((e) => [e.name, e.value]));
  assert.equal(envs.SHEETS_AI_TASK, 'classify');
  assert.equal(envs.SHEETS_AI_LABELS.split(',').length, 7);
  await page.close();
});

test('Recent runs sidebar: lists runs and the run log, refreshes itself until the run has finished', { skip }, async () => {
  const w = world({
    sheets: {
      Reviews: [['Review'], ['good'], ['bad'], ['fine']],
      'sheets-ai log': [
        ['time', 'task', 'model', 'processed', 'failed', 'skipped', 'changed', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'seconds', 'status', 'where'],
        ['2026-11-30 17:02:11 UTC', 'summarize', 'openai:gpt-4.1-mini', 120, 0, 3, 0, 30100, 5200, 0.02036, 48.2, 'ok', 'host'],
      ],
    },
  });
  w.spreadsheet.select('A2');
  w.click('startRun', dialogData(w.click('analyzeSentiment')).token, { maxCost: '1' });
  const ex = w.click('showRecentRuns');
  const { page, calls } = await openDialog(browser, w, ex.ui.sidebars[0].html, { width: SIDEBAR_WIDTH, height: 520 });
  await page.waitForSelector('#executions .run');
  assert.equal(await page.textContent('.run .run-id'), 'sheets-ai-xxxx1');
  assert.equal(await page.textContent('.run .run-state'), 'Running');
  assert.equal(await page.textContent('.run .run-tasks'), '0/2 tasks done');
  assert.match(await page.getAttribute('.run a.run-logs', 'href'), /^https:\/\/console\.cloud\.google\.com\/logs/);
  assert.deepEqual(
    await page.$$eval('#log .log-row', (rows) => rows.map((r) => r.textContent)),
    ['2026-11-30 17:02:11 UTC · summarize120 rows, 0 failed, $0.0204, ok']
  );
  assert.match(await page.textContent('#refreshed'), /refreshing while a run is going/);
  await page.screenshot({ path: screenshotPath('recent-runs.png') });
  w.cloudRun.finish(w.cloudRun.executions[0].name);
  w.shared.clock = () => Date.now() + 60_000;
  await page.waitForFunction(
    () => document.querySelector('.run .run-state').textContent === 'Succeeded',
    null,
    { timeout: 20_000 }
  );
  assert.equal(await page.textContent('.run .run-tasks'), '2/2 tasks done');
  const polls = calls.filter((c) => c.name === 'getRecentRuns').length;
  assert.ok(polls >= 2, 'the sidebar asked again by itself');
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(calls.filter((c) => c.name === 'getRecentRuns').length, polls, 'and stopped once nothing runs');
  await page.close();
});

test('the menu onOpen builds, drawn beside the sheet (a picture for the README, not Google\'s own UI)', { skip }, async () => {
  const w = world({ sheets: { Reviews: REVIEWS.slice(0, 5) } });
  w.spreadsheet.select('B2');
  const ex = w.click('onOpen', {});
  const menu = ex.ui.menus[0];
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = w.values().map((r, i) => `<tr><th>${i + 1}</th>${r.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`).join('');
  const items = menu.items.map((i) => (i.separator ? '<li class="sep"></li>' : `<li>${esc(i.label)}</li>`)).join('');
  const html = `<!DOCTYPE html><html><head><style>
    body { font: 13px Roboto, Arial, sans-serif; margin: 0; }
    .bar { background: #f9fbfd; padding: 6px 10px; border-bottom: 1px solid #dadce0; }
    .bar span { margin-right: 14px; } .bar .open { background: #e8eaed; padding: 3px 6px; border-radius: 4px; }
    table { border-collapse: collapse; margin: 0; } td, th { border: 1px solid #e2e3e3; padding: 3px 8px; min-width: 60px; }
    th { background: #f8f9fa; color: #5f6368; font-weight: normal; min-width: 20px; }
    tr:first-child td { font-weight: 500; } td:nth-child(3) { background: #e8f0fe; }
    ul { position: absolute; top: 28px; left: 318px; list-style: none; margin: 0; padding: 6px 0; background: #fff;
         box-shadow: 0 2px 6px rgba(0,0,0,.3); border-radius: 4px; min-width: 240px; }
    li { padding: 6px 16px; } li.sep { border-top: 1px solid #dadce0; padding: 0; margin: 4px 0; }
    li:first-child { background: #e8eaed; }
  </style></head><body><div class="bar"><span>File</span><span>Edit</span><span>View</span><span>Insert</span>
  <span>Format</span><span>Data</span><span>Tools</span><span>Extensions</span><span class="open">${esc(menu.caption)}</span></div>
  <table>${rows}</table><ul>${items}</ul></body></html>`;
  const page = await browser.newPage({ viewport: { width: 640, height: 330 } });
  await page.setContent(html);
  assert.deepEqual(await page.$$eval('li:not(.sep)', (l) => l.map((x) => x.textContent)), menu.items.filter((i) => !i.separator).map((i) => i.label));
  await page.screenshot({ path: screenshotPath('menu.png') });
  await page.close();
});

test('the screenshots the README shows exist', () => {
  for (const name of ['settings.png', 'settings-invalid.png', 'confirm.png', 'confirm-403.png', 'recent-runs.png', 'menu.png']) {
    assert.ok(fs.existsSync(require('node:path').resolve(__dirname, '..', '..', 'docs', name)), name);
  }
});
