'use strict';
// Loads the script's .gs files into a fresh vm context with the stand-in services: one "execution" of the
// script, as Apps Script runs one per menu click or google.script.run call. Executions that share `shared`
// (properties, caches, locks) and the spreadsheet see each other's changes, as in a real document.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { makeServices, newShared } = require('./services');
const { makeSpreadsheetApp } = require('./spreadsheet');

const SRC = path.resolve(__dirname, '..', '..', 'src');
let executions = 0;

function sourceFiles() {
  return fs.readdirSync(SRC).filter((f) => f.endsWith('.gs')).sort();
}

/**
 * A new execution: {ctx (the script's globals), requests (UrlFetchApp calls), ui, spreadsheet}.
 * transport(request) -> {code, body, headers} answers UrlFetchApp.
 */
function execution({ spreadsheet, transport, shared, user }) {
  const owner = `execution-${++executions}`;
  let ctx = null;
  const { services, requests } = makeServices({
    transport: transport || (() => ({ code: 599, body: 'no transport in this test' })),
    shared,
    user,
    srcDir: SRC,
    owner,
    getGlobals: () => ctx,
  });
  ctx = vm.createContext({ ...services, SpreadsheetApp: makeSpreadsheetApp(spreadsheet), console });
  for (const file of sourceFiles()) {
    vm.runInContext(fs.readFileSync(path.join(SRC, file), 'utf8'), ctx, { filename: file });
  }
  return { ctx, requests, ui: spreadsheet.ui, spreadsheet, shared };
}

module.exports = { execution, newShared, SRC, sourceFiles };
