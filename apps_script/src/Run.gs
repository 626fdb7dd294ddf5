// Starting a run: the confirmation dialog, then jobs.run with the sheet, columns, task and options in the
// container's environment (the SHEETS_AI_* names `sheets-ai run` reads), under a document lock so a second
// click cannot start a second run on the same sheet and column while one is going.

var LAST_RUN_KEY = 'sheets-ai.last-run';
var ACTIVE_RUNS_KEY = 'sheets-ai.active-runs';
var PLAN_TTL_SECONDS = 1800;

/** Menu entry point for every task: plan from the selection (or the last run) and show the confirmation. */
function openRunDialog_(task, target, preset) {
  var s = getSettings();
  if (!settingsComplete_(s)) {
    SpreadsheetApp.getUi().alert(
      'Sheets AI is not set up yet',
      'Open Sheets AI > Settings… and enter the Google Cloud project, region and Cloud Run job name of the ' +
        'sheets-ai job (see deploy/README.md).',
      SpreadsheetApp.getUi().ButtonSet.OK
    );
    return;
  }
  var plan;
  try {
    plan = planFromSelection_(task, s, target);
  } catch (e) {
    alertError_(e);
    return;
  }
  var options = preset && preset.options ? preset.options : defaultOptions_(task, s);
  var maxCost = preset && preset.maxCost ? preset.maxCost : s.maxCost;
  var token = Utilities.getUuid();
  plan.task = task;
  // The dialog's later calls re-read the sheet from this (a cache value holds at most 100 KB: no row texts).
  var stored = {
    task: task,
    output: plan.output.letter,
    target: {
      sheet: plan.sheet,
      column: plan.input.column,
      rowsSpec: plan.rowsSpec,
      first: plan.rows.first,
      last: plan.rows.last,
    },
  };
  CacheService.getUserCache().put('plan:' + token, JSON.stringify(stored), PLAN_TTL_SECONDS);
  var view = confirmView_(plan, s, options, maxCost);
  view.token = token;
  var t = HtmlService.createTemplateFromFile('ConfirmDialog');
  t.data = jsonForHtml_(view);
  var html = t.evaluate().setWidth(480).setHeight(560);
  SpreadsheetApp.getUi().showModalDialog(html, 'Sheets AI: ' + TASK_TITLES[task]);
}

function defaultOptions_(task, s) {
  if (task === 'sentiment') return { labels: s.labels || '' };
  if (task === 'summarize') return { maxChars: 200 };
  if (task === 'classify') return { labels: '' };
  return { prompt: '' };
}

/** What the confirmation dialog shows (no row text leaves the server side but the counts). */
function confirmView_(plan, s, options, maxCost) {
  return {
    task: plan.task,
    title: TASK_TITLES[plan.task],
    spreadsheetName: plan.spreadsheetName,
    sheet: plan.sheet,
    input: plan.input,
    output: plan.output,
    rows: plan.rows,
    rowsSpec: plan.rowsSpec,
    model: s.model,
    options: options,
    maxCost: maxCost,
    estimate: estimateRun_(plan.task, plan.texts, s.model, options),
    taskCount: taskCountFor_(plan.rows.todo, s),
  };
}

function taskCountFor_(rows, s) {
  return Math.max(1, Math.min(Number(s.maxTasks) || 1, Math.ceil(rows / (Number(s.rowsPerTask) || 500))));
}

/** The dialog's plan, read again from the sheet (rows filled meanwhile are no longer counted). */
function loadPlan_(token, s) {
  var raw = CacheService.getUserCache().get('plan:' + String(token));
  if (!raw) throw new UserError('This dialog has expired. Close it and choose the menu entry again.');
  var stored = JSON.parse(raw);
  var plan = planFromSelection_(stored.task, s, stored.target);
  if (plan.output.letter !== stored.output) {
    throw new UserError(
      'The sheet has changed since this dialog opened (the results would now go to column ' + plan.output.letter +
        ', not ' + stored.output + '). Close it and choose the menu entry again.'
    );
  }
  plan.task = stored.task;
  return plan;
}

/** The confirmation dialog asks again when the task options change (they change the estimate). */
function estimateFor(token, options) {
  var s = getSettings();
  var plan = loadPlan_(token, s);
  return estimateRun_(plan.task, plan.texts, s.model, checkOptions_(plan.task, options || {}, false));
}

/** Task options from the dialog, checked; `strict` also requires what the task needs (labels, a question). */
function checkOptions_(task, options, strict) {
  var o = {};
  if (task === 'summarize') {
    o.maxChars = Number(options.maxChars || 200);
    if (!(o.maxChars >= 20 && o.maxChars <= 5000)) {
      throw new UserError('The summary length is a number of characters from 20 to 5000.');
    }
  }
  if (task === 'classify' || task === 'sentiment') {
    o.labels = String(options.labels || '')
      .split(',')
      .map(function (x) { return x.trim(); })
      .filter(function (x) { return x; })
      .join(',');
    if (strict && task === 'classify' && o.labels.split(',').length < 2) {
      throw new UserError('Give at least two categories, separated by commas (e.g. billing, shipping, other).');
    }
    if (strict && task === 'sentiment' && o.labels && o.labels.split(',').length !== 4) {
      throw new UserError('Sentiment labels are four names (positive, negative, neutral, mixed), or none.');
    }
  }
  if (task === 'extract') {
    o.prompt = String(options.prompt || '').trim();
    if (strict && !o.prompt) throw new UserError('Write the question to answer from each row (e.g. Which product?).');
  }
  return o;
}

/** The cost cap each task gets: `sheets-ai job` applies SHEETS_AI_MAX_COST per task, so the run's cap is split. */
function perTaskCap_(maxCost, taskCount) {
  return Math.floor((maxCost / taskCount) * 1e6) / 1e6;
}

/**
 * The container environment of a run: the SHEETS_AI_* options `sheets-ai job` reads. Options this run does not
 * use are sent empty (`sheets-ai` ignores an empty variable), so a value in the job's own configuration (say
 * SHEETS_AI_ROWS or SHEETS_AI_LABELS) cannot leak into a run started from the menu.
 */
function runEnv_(plan, s, options, maxCost, taskCount) {
  var env = [
    ['SHEETS_AI_SOURCE', plan.spreadsheetId],
    ['SHEETS_AI_SHEET', plan.sheet],
    ['SHEETS_AI_INPUT', plan.input.letter],
    ['SHEETS_AI_OUTPUT', plan.output.letter],
    ['SHEETS_AI_HEADER_ROW', String(plan.headerRow)],
    ['SHEETS_AI_TASK', plan.task],
    ['SHEETS_AI_PROVIDER', 'openai'],
    ['SHEETS_AI_MODEL', s.model],
    ['SHEETS_AI_MAX_COST', String(perTaskCap_(maxCost, taskCount))],
    ['SHEETS_AI_ROWS', plan.rowsSpec || ''],
    ['SHEETS_AI_LABELS', options.labels || ''],
    ['SHEETS_AI_MAX_CHARS', options.maxChars ? String(options.maxChars) : ''],
    ['SHEETS_AI_PROMPT', options.prompt || ''],
    ['SHEETS_AI_LOG_SHEET', s.logSheet || ''],
  ];
  return env.map(function (p) { return { name: p[0], value: p[1] }; });
}

/** The running execution on this sheet and output column, or null (our records, then Cloud Run's list). */
function runningOn_(s, plan) {
  var props = PropertiesService.getDocumentProperties();
  var active = JSON.parse(props.getProperty(ACTIVE_RUNS_KEY) || '[]');
  var still = [];
  var found = null;
  active.forEach(function (a) {
    var same = a.sheet === plan.sheet && a.output === plan.output.letter && a.spreadsheetId === plan.spreadsheetId;
    if (!same) {
      still.push(a);
      return;
    }
    var e = executionSummary_(getExecution_(s, a.execution));
    if (e.running) {
      still.push(a);
      found = found || e;
    }
  });
  props.setProperty(ACTIVE_RUNS_KEY, JSON.stringify(still));
  if (found) return found;
  var listed = listExecutions_(s, 20).map(executionSummary_);
  for (var i = 0; i < listed.length; i++) {
    var e = listed[i];
    if (
      e.running &&
      e.env.SHEETS_AI_SOURCE === plan.spreadsheetId &&
      e.env.SHEETS_AI_SHEET === plan.sheet &&
      e.env.SHEETS_AI_OUTPUT === plan.output.letter
    ) {
      return e;
    }
  }
  return null;
}

/**
 * Starts the run the confirmation dialog shows (called by its Start button). Returns {execution, id,
 * taskCount, logUri}. Throws UserError / CloudRunError with the message the dialog shows.
 */
function startRun(token, choices) {
  var s = getSettings();
  var plan = loadPlan_(token, s);
  var c = choices || {};
  var options = checkOptions_(plan.task, c.options || {}, true);
  var maxCost = Number(c.maxCost);
  if (!(isFinite(maxCost) && maxCost > 0)) {
    throw new UserError('The cost cap is a number of US dollars above 0 (the run stops before spending more).');
  }
  if (plan.rows.todo === 0) throw new UserError('Nothing to do: every row with text already has a result.');
  var lock = LockService.getDocumentLock();
  if (!lock.tryLock(5000)) {
    throw new UserError('Another Sheets AI run is being started in this spreadsheet. Wait a moment, then look at Recent runs.');
  }
  try {
    var running = runningOn_(s, plan);
    if (running) {
      throw new UserError(
        'A run on sheet "' + plan.sheet + '", column ' + plan.output.letter + ' is still going (' + running.id +
          ', ' + running.tasksDone + '/' + running.taskCount + ' tasks done). Wait until it ends (Sheets AI > ' +
          'Recent runs), then run again: it only does the rows still empty.'
      );
    }
    var sheet = SpreadsheetApp.getActiveSpreadsheet().getSheetByName(plan.sheet);
    var headerCell = sheet.getRange(plan.headerRow, plan.output.column);
    var wroteHeader = false;
    if (isBlank_(headerCell.getValue())) {
      headerCell.setValue(plan.output.header);
      wroteHeader = true;
    }
    var taskCount = taskCountFor_(plan.rows.todo, s);
    var operation;
    try {
      // clearArgs: arguments configured on the job would win over these variables (flags > environment).
      operation = runJob_(s, {
        containerOverrides: [{ env: runEnv_(plan, s, options, maxCost, taskCount), clearArgs: true }],
        taskCount: taskCount,
      });
    } catch (e) {
      if (wroteHeader) headerCell.clearContent();
      throw e;
    }
    var execution = (operation && operation.metadata) || {};
    var name = execution.name || '';
    var props = PropertiesService.getDocumentProperties();
    var active = JSON.parse(props.getProperty(ACTIVE_RUNS_KEY) || '[]');
    active.push({
      execution: name,
      spreadsheetId: plan.spreadsheetId,
      sheet: plan.sheet,
      output: plan.output.letter,
      started: new Date().toISOString(),
    });
    props.setProperty(ACTIVE_RUNS_KEY, JSON.stringify(active.slice(-20)));
    props.setProperty(
      LAST_RUN_KEY,
      JSON.stringify({ task: plan.task, sheet: plan.sheet, column: plan.input.column, options: options, maxCost: maxCost })
    );
    CacheService.getDocumentCache().remove('recent-runs');
    var id = name.split('/').pop();
    SpreadsheetApp.getActiveSpreadsheet().toast(
      'Started ' + id + ' on ' + plan.rows.todo + ' rows (' + taskCount + (taskCount === 1 ? ' task' : ' tasks') +
        '). Results arrive in column ' + plan.output.letter + '; see Sheets AI > Recent runs.',
      'Sheets AI',
      10
    );
    return { execution: name, id: id, taskCount: taskCount, logUri: execution.logUri || '' };
  } finally {
    lock.releaseLock();
  }
}

/** "Run again with the last settings": the same task, sheet, column, options and cap as the last run. */
function runAgain() {
  var raw = PropertiesService.getDocumentProperties().getProperty(LAST_RUN_KEY);
  if (!raw) {
    SpreadsheetApp.getUi().alert('Nothing to run again yet: start a run from the Sheets AI menu first.');
    return;
  }
  var last = JSON.parse(raw);
  openRunDialog_(last.task, { sheet: last.sheet, column: last.column }, last);
}

/** JSON safe to print inside a <script> block of an HtmlService template. */
function jsonForHtml_(value) {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function alertError_(e) {
  var ui = SpreadsheetApp.getUi();
  var known = e instanceof UserError || e instanceof CloudRunError;
  ui.alert('Sheets AI', known ? e.message : 'Something went wrong: ' + (e && e.message ? e.message : e), ui.ButtonSet.OK);
}
