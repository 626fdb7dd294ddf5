#!/usr/bin/env node
// Runs every test/**/*.test.js with node:test (Node 20 has no glob for --test), after checking the Node version.
//   node tools/run-tests.js [unit|browser|e2e ...]   only those folders of test/
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const major = Number(process.versions.node.split('.')[0]);
if (major < 18) {
  console.error(`Node ${process.versions.node} is too old: the Apps Script tests need Node 18 or newer (node:test).`);
  process.exit(1);
}
const root = path.resolve(__dirname, '..', 'test');
const only = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'support') walk(full);
    else if (entry.isFile() && entry.name.endsWith('.test.js')) files.push(full);
  }
})(root);
const chosen = files
  .filter((f) => !only.length || only.some((o) => path.relative(root, f).split(path.sep)[0] === o))
  .sort();
if (!chosen.length) {
  console.error('No test files found under test/.');
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--test', ...chosen], { stdio: 'inherit' });
process.exit(run.status === null ? 1 : run.status);
