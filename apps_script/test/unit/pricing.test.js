'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { render, PRICING_JSON, TARGET } = require('../../tools/gen-pricing');
const { world } = require('../support/world');

test('src/Pricing.gs is exactly what tools/gen-pricing.js makes of sheets_ai/data/pricing.json', () => {
  const table = JSON.parse(fs.readFileSync(PRICING_JSON, 'utf8'));
  assert.equal(fs.readFileSync(TARGET, 'utf8'), render(table));
  const check = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'tools', 'gen-pricing.js'), '--check']);
  assert.equal(check.status, 0, String(check.stderr));
});

test('the price table in the script has every model of pricing.json at its prices', () => {
  const table = JSON.parse(fs.readFileSync(PRICING_JSON, 'utf8'));
  const ex = world().click('getSettings');
  const PRICING = ex.ctx.PRICING;
  assert.equal(PRICING.asOf, table.as_of);
  for (const [name, p] of Object.entries(table.models)) {
    assert.equal(PRICING.models[name].input, p.input, name);
    assert.equal(PRICING.models[name].output, p.output, name);
  }
});

test('--check fails on a stale Pricing.gs', () => {
  const original = fs.readFileSync(TARGET, 'utf8');
  try {
    fs.writeFileSync(TARGET, original.replace('"input": 0.4', '"input": 0.5'));
    const check = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'tools', 'gen-pricing.js'), '--check']);
    assert.equal(check.status, 1);
    assert.match(String(check.stderr), /out of date/);
  } finally {
    fs.writeFileSync(TARGET, original);
  }
});

test('the estimate prices like the Python package: exact name, then a dated snapshot\'s base, else no price', () => {
  const ex = world().click('getSettings');
  const texts = Array.from({ length: 250 }, (_, i) => `Review number ${i}: the delivery was fine but the box was damaged.`);
  const mini = ex.ctx.estimateRun_('sentiment', texts, 'gpt-4.1-mini', {});
  assert.equal(mini.requests, 3, '100 rows a request for a label task');
  const p = ex.ctx.PRICING.models['gpt-4.1-mini'];
  assert.ok(Math.abs(mini.costUsd - (mini.promptTokens * p.input + mini.completionTokens * p.output) / 1e6) < 1e-12);
  const dated = ex.ctx.estimateRun_('sentiment', texts, 'gpt-4.1-mini-2025-04-14', {});
  assert.equal(dated.pricedAs, 'gpt-4.1-mini');
  assert.equal(dated.costUsd, mini.costUsd);
  assert.equal(ex.ctx.estimateRun_('sentiment', texts, 'my-local-model', {}).costUsd, null);
  const summaries = ex.ctx.estimateRun_('summarize', texts, 'gpt-4.1-mini', {});
  assert.equal(summaries.requests, 32, '8 rows a request for a free-text task');
});
