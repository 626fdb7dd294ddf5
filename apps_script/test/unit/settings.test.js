'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world, SETTINGS } = require('../support/world');

test('settings round trip: saved in document properties, read back normalized, shown in the dialog', () => {
  const w = world({ settings: null });
  const defaults = w.click('getSettings').result;
  assert.equal(defaults.project, '');
  assert.equal(defaults.region, 'us-central1');
  const saved = w.click('saveSettings', { ...SETTINGS, project: '  my-sheets-ai ', output: 'h', maxCost: '0.50', labels: 'good, bad , so-so,both' });
  assert.equal(saved.result.ok, true, JSON.stringify(saved.result.errors));
  const stored = JSON.parse(w.shared.documentProperties['sheets-ai.settings']);
  assert.equal(stored.project, 'my-sheets-ai');
  assert.equal(stored.output, 'H');
  assert.equal(stored.maxCost, 0.5);
  assert.equal(stored.labels, 'good,bad,so-so,both');
  const again = w.click('getSettings').result;
  assert.deepEqual({ ...again }, { ...stored });
  const dialog = w.click('showSettings');
  assert.equal(dialog.ui.dialogs[0].title, 'Sheets AI settings');
  assert.match(dialog.ui.dialogs[0].html.getContent(), /"project":"my-sheets-ai"/);
});

const BAD = {
  project: ['My Project', '123456', 'ab', 'proj-', 'a'.repeat(31)],
  region: ['us central', 'US-CENTRAL1', 'uscentral1', ''],
  job: ['Sheets_AI', '-job', 'job-', 'a'.repeat(64), ''],
  model: ['', 'gpt 4'],
  maxCost: ['', '0', '-2', 'ten', '100000'],
  labels: ['only,three,labels'],
  output: ['7', 'A1', 'ABCD'],
  logSheet: ['runs/log'],
};

for (const [field, values] of Object.entries(BAD)) {
  test(`settings: an invalid ${field} is refused with a message and nothing is stored`, () => {
    const w = world({ settings: null });
    for (const value of values) {
      const r = w.click('saveSettings', { ...SETTINGS, [field]: value }).result;
      assert.equal(r.ok, false, `${field}=${JSON.stringify(value)} was accepted`);
      assert.ok(r.errors[field], `no message for ${field}=${JSON.stringify(value)}`);
      assert.deepEqual(Object.keys(r.errors), [field]);
    }
    assert.equal(w.shared.documentProperties['sheets-ai.settings'], undefined);
  });
}

test('settings: valid formats Google uses are accepted', () => {
  const w = world({ settings: null });
  for (const [project, region, job] of [
    ['my-sheets-ai', 'europe-west1', 'sheets-ai'],
    ['proj123', 'northamerica-northeast1', 'a'],
    ['a'.repeat(30), 'asia-northeast1', 'a'.repeat(63)],
  ]) {
    const r = w.click('saveSettings', { ...SETTINGS, project, region, job }).result;
    assert.equal(r.ok, true, JSON.stringify(r.errors));
  }
});

test('settings: something that looks like an OpenAI key is refused in any field', () => {
  const w = world({ settings: null });
  const r = w.click('saveSettings', { ...SETTINGS, labels: 'sk-proj-abcdefghijklmnop1234' }).result;
  assert.equal(r.ok, false);
  assert.match(r.errors.labels, /Secret Manager/);
  assert.ok(!JSON.stringify(w.shared).includes('sk-proj'));
});

test('no OpenAI key anywhere in the script sources', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const src = path.resolve(__dirname, '..', '..', 'src');
  for (const f of fs.readdirSync(src)) {
    const text = fs.readFileSync(path.join(src, f), 'utf8');
    assert.ok(!/OPENAI_API_KEY|sk-[A-Za-z0-9]{8,}/.test(text), f);
  }
});
