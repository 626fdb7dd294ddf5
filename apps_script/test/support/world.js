'use strict';
// A spreadsheet, its document's shared state and a fake Cloud Run API: `world.click(fn, ...args)` runs one
// execution of the script (a menu click or a google.script.run call) and returns it.
const { execution, newShared } = require('./gas');
const { Spreadsheet, memoryBackend } = require('./spreadsheet');
const { FakeCloudRun } = require('./cloudrun_fake');

const REVIEWS = [
  ['Date', 'Review', 'Stars'],
  ['2024-05-01', 'Great product, arrived early.', 5],
  ['2024-05-02', 'Broke after two days.', 1],
  ['2024-05-03', '', 3],
  ['2024-05-04', 'It works. Packaging was damaged.', 3],
  ['2024-05-05', '思ったより良かった', 4],
];

const SETTINGS = {
  project: 'my-sheets-ai', region: 'us-central1', job: 'sheets-ai', model: 'gpt-4.1-mini', maxCost: '2',
  labels: '', output: '', logSheet: 'sheets-ai log', headerRow: '1', rowsPerTask: '2', maxTasks: '5',
};

function world({ sheets = { Reviews: REVIEWS }, settings = SETTINGS, transport } = {}) {
  const spreadsheet = new Spreadsheet({ id: '1AbCdEfGhIjK', name: 'Customer reviews', backend: memoryBackend(sheets) });
  const shared = newShared();
  const cloudRun = new FakeCloudRun();
  const w = {
    spreadsheet,
    shared,
    cloudRun,
    transport: transport || cloudRun.transport,
    click(fn, ...args) {
      const ex = execution({ spreadsheet, transport: w.transport, shared });
      const result = ex.ctx[fn](...args);
      // google.script.run hands the page a serialized copy; so do we (plain objects of this realm).
      ex.result = result === undefined ? undefined : JSON.parse(JSON.stringify(result));
      return ex;
    },
    /** Runs fn and returns the error it throws (as google.script.run's failure handler would get it). */
    fails(fn, ...args) {
      const ex = execution({ spreadsheet, transport: w.transport, shared });
      try {
        ex.ctx[fn](...args);
      } catch (e) {
        ex.error = e;
        return ex;
      }
      throw new Error(`${fn} did not fail`);
    },
    values(sheet = 'Reviews') {
      return spreadsheet.getSheetByName(sheet).getDataRange().getValues();
    },
  };
  if (settings) w.click('saveSettings', settings);
  return w;
}

/** The data of the last modal dialog the script opened (the JSON it printed into the page). */
function dialogData(ex, variable = 'VIEW') {
  const html = ex.ui.dialogs[ex.ui.dialogs.length - 1].html.getContent();
  const m = new RegExp(`var ${variable} = (.*);\\n`).exec(html);
  return JSON.parse(m[1]);
}

module.exports = { world, dialogData, REVIEWS, SETTINGS };
