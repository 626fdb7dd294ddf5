'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { world } = require('../support/world');

test('onOpen builds the Sheets AI menu, every item naming a function the script has', () => {
  const w = world();
  const ex = w.click('onOpen', { authMode: 'LIMITED' });
  assert.equal(ex.ui.menus.length, 1);
  const menu = ex.ui.menus[0];
  assert.equal(menu.caption, 'Sheets AI');
  const labels = menu.items.filter((i) => !i.separator).map((i) => i.label);
  assert.deepEqual(labels, [
    'Analyze sentiment', 'Summarize…', 'Classify…', 'Extract…', 'Run again with the last settings',
    'Settings…', 'Recent runs', 'Help',
  ]);
  for (const item of menu.items.filter((i) => !i.separator)) {
    assert.equal(typeof ex.ctx[item.functionName], 'function', `${item.label} -> ${item.functionName}`);
  }
});

test('onInstall (the add-on path) builds the same menu', () => {
  const ex = world().click('onInstall', {});
  assert.equal(ex.ui.menus[0].caption, 'Sheets AI');
});

test('Help explains the flow and the role a user needs', () => {
  const ex = world().click('showHelp');
  assert.match(ex.ui.alerts[0].prompt, /Select the column/);
  assert.match(ex.ui.alerts[0].prompt, /roles\/run\.developer/);
});

test('a task before Settings are filled asks for them instead of opening the dialog', () => {
  const w = world({ settings: null });
  w.spreadsheet.select('B1');
  const ex = w.click('analyzeSentiment');
  assert.equal(ex.ui.dialogs.length, 0);
  assert.match(ex.ui.alerts[0].title, /not set up/);
  assert.match(ex.ui.alerts[0].prompt, /Settings/);
  assert.equal(ex.requests.length, 0);
});
