// Settings: where the Cloud Run job is and how runs are started. Stored in the document's properties (every
// editor of this spreadsheet shares them). No OpenAI key ever lives here: the job reads it from Secret Manager.

var SETTINGS_KEY = 'sheets-ai.settings';

var SETTINGS_DEFAULTS = {
  project: '',
  region: 'us-central1',
  job: 'sheets-ai',
  model: 'gpt-4.1-mini',
  maxCost: 1,
  labels: '',
  output: '',
  headerRow: 1,
  logSheet: 'sheets-ai log',
  rowsPerTask: 500,
  maxTasks: 5,
};

// Formats Google documents: project ids are 6-30 characters of lowercase letters, digits and hyphens, starting
// with a letter and not ending with a hyphen; Cloud Run job names are at most 63 characters of the same kind.
var PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
var REGION_RE = /^[a-z]+(-[a-z]+)+[0-9]+$/;
var JOB_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
var MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._:\/-]{0,99}$/;
var COLUMN_RE = /^[A-Z]{1,3}$/;
var KEY_LIKE_RE = /(sk-[A-Za-z0-9_-]{8,}|sk_[A-Za-z0-9]{8,})/;

/** The saved settings merged over the defaults (the defaults alone before the first save). */
function getSettings() {
  var raw = PropertiesService.getDocumentProperties().getProperty(SETTINGS_KEY);
  var saved = {};
  if (raw) {
    try {
      saved = JSON.parse(raw);
    } catch (e) {
      saved = {};
    }
  }
  var out = {};
  Object.keys(SETTINGS_DEFAULTS).forEach(function (k) {
    out[k] = saved[k] === undefined ? SETTINGS_DEFAULTS[k] : saved[k];
  });
  return out;
}

/**
 * Checks a settings form and returns {ok, settings, errors}: errors maps each field to the message shown next
 * to it. Values are trimmed and normalized (numbers as numbers, column letters upper case).
 */
function validateSettings(form) {
  var f = form || {};
  var s = {};
  var errors = {};
  function text(name) {
    var v = f[name] === undefined || f[name] === null ? '' : String(f[name]);
    return v.trim();
  }
  s.project = text('project');
  if (!PROJECT_RE.test(s.project)) {
    errors.project =
      'A project ID is 6-30 lowercase letters, digits or hyphens, starting with a letter (e.g. my-sheets-ai); ' +
      'copy it from the Google Cloud console, not the project name or number.';
  }
  s.region = text('region');
  if (!REGION_RE.test(s.region)) {
    errors.region = 'A region looks like us-central1 or europe-west1: the region of the Cloud Run job.';
  }
  s.job = text('job');
  if (!JOB_RE.test(s.job)) {
    errors.job =
      'A Cloud Run job name is lowercase letters, digits and hyphens, starts with a letter, at most 63 ' +
      'characters (the name from `gcloud run jobs list`).';
  }
  s.model = text('model');
  if (!MODEL_RE.test(s.model)) {
    errors.model = 'Give an OpenAI model name such as gpt-4.1-mini.';
  }
  s.maxCost = Number(text('maxCost'));
  if (!text('maxCost') || !isFinite(s.maxCost) || s.maxCost <= 0 || s.maxCost > 10000) {
    errors.maxCost = 'The default cost cap is a number of US dollars above 0 (e.g. 1 or 0.50).';
  }
  s.labels = text('labels')
    .split(',')
    .map(function (x) { return x.trim(); })
    .filter(function (x) { return x; })
    .join(',');
  if (s.labels && s.labels.split(',').length !== 4) {
    errors.labels =
      'Sentiment labels are four names, in the order positive, negative, neutral, mixed (or leave it empty).';
  }
  s.output = text('output').toUpperCase();
  if (s.output && !COLUMN_RE.test(s.output)) {
    errors.output = 'Give a column letter such as H, or leave it empty for the first free column on the right.';
  }
  s.headerRow = Number(text('headerRow') || 1);
  if (!(s.headerRow >= 1 && s.headerRow <= 1000 && Math.floor(s.headerRow) === s.headerRow)) {
    errors.headerRow = 'The header row is a row number from 1 to 1000.';
  }
  s.logSheet = text('logSheet');
  if (s.logSheet.length > 100 || /[\[\]*?:\/\\]/.test(s.logSheet)) {
    errors.logSheet = 'A sheet name of at most 100 characters without [ ] * ? : / \\ (or empty: no run log).';
  }
  s.rowsPerTask = Number(text('rowsPerTask') || SETTINGS_DEFAULTS.rowsPerTask);
  if (!(s.rowsPerTask >= 1 && Math.floor(s.rowsPerTask) === s.rowsPerTask)) {
    errors.rowsPerTask = 'Rows per task is a whole number of at least 1.';
  }
  s.maxTasks = Number(text('maxTasks') || SETTINGS_DEFAULTS.maxTasks);
  if (!(s.maxTasks >= 1 && s.maxTasks <= 100 && Math.floor(s.maxTasks) === s.maxTasks)) {
    errors.maxTasks = 'Tasks at most is a whole number from 1 to 100.';
  }
  Object.keys(f).forEach(function (k) {
    if (KEY_LIKE_RE.test(String(f[k]))) {
      errors[k] =
        'This looks like an API key. Keys never go in the script or the sheet: the Cloud Run job reads the ' +
        'OpenAI key from Secret Manager (see deploy/README.md).';
    }
  });
  return { ok: Object.keys(errors).length === 0, settings: s, errors: errors };
}

/** Validates and stores the settings (called by the Settings dialog). Throws with every message when invalid. */
function saveSettings(form) {
  var result = validateSettings(form);
  if (result.ok) {
    PropertiesService.getDocumentProperties().setProperty(SETTINGS_KEY, JSON.stringify(result.settings));
  }
  return result;
}

/** True when the settings name a job (project, region and job pass validation). */
function settingsComplete_(s) {
  return PROJECT_RE.test(s.project || '') && REGION_RE.test(s.region || '') && JOB_RE.test(s.job || '');
}

function showSettings() {
  var t = HtmlService.createTemplateFromFile('SettingsDialog');
  t.settings = jsonForHtml_(getSettings());
  var html = t.evaluate().setWidth(460).setHeight(720);
  SpreadsheetApp.getUi().showModalDialog(html, 'Sheets AI settings');
}
