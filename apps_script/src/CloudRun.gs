// A small client for the Cloud Run Admin API v2 (https://cloud.google.com/run/docs/reference/rest):
// jobs.run with overrides, executions.list / get. Calls go out as the person who clicked the menu
// (ScriptApp.getOAuthToken(), scope cloud-platform: the Admin API accepts no narrower one).

var CLOUD_RUN_ROOT = 'https://run.googleapis.com/v2/';

// The permission each call needs and the smallest predefined role that holds it (Cloud Run IAM docs: running
// a job with overrides needs run.jobs.runWithOverrides, which Cloud Run Developer has; Cloud Run Invoker only
// runs a job as it is configured, which is not enough for the menu, since every run names its sheet and columns).
var PERMISSION_ROLES = {
  'run.jobs.runWithOverrides': 'roles/run.developer',
  'run.jobs.run': 'roles/run.invoker',
  'run.jobs.get': 'roles/run.viewer',
  'run.executions.list': 'roles/run.viewer',
  'run.executions.get': 'roles/run.viewer',
  'run.executions.cancel': 'roles/run.developer',
};

var OPERATION_PERMISSIONS = {
  run: 'run.jobs.runWithOverrides',
  getJob: 'run.jobs.get',
  listExecutions: 'run.executions.list',
  getExecution: 'run.executions.get',
  cancelExecution: 'run.executions.cancel',
};

/** An error whose message is the alert a user sees. */
function CloudRunError(message, status) {
  this.name = 'CloudRunError';
  this.message = message;
  this.status = status;
  this.stack = new Error(message).stack;
}
CloudRunError.prototype = Object.create(Error.prototype);
CloudRunError.prototype.constructor = CloudRunError;

function jobName_(s) {
  return 'projects/' + s.project + '/locations/' + s.region + '/jobs/' + s.job;
}

/** The message for an error answer of the Admin API: what happened and what to do about it. */
function cloudRunErrorMessage_(code, body, operation, s) {
  var err = (body && body.error) || {};
  var said = err.message ? String(err.message) : '';
  var job = 'Cloud Run job "' + s.job + '" (project ' + s.project + ', region ' + s.region + ')';
  if (code === 401) {
    return (
      'Google did not accept your sign-in for the Cloud Run API (401 Unauthenticated). Reload the ' +
      'spreadsheet and try again; if it keeps happening, open Extensions > Apps Script and run onOpen once ' +
      'to authorize the script again.'
    );
  }
  if (code === 403) {
    if (/has not been used|is disabled|SERVICE_DISABLED/i.test(said + ' ' + (err.status || ''))) {
      return (
        'The Cloud Run Admin API is not enabled in project ' + s.project + ' (403). A project owner can ' +
        'enable it: gcloud services enable run.googleapis.com --project ' + s.project + '.'
      );
    }
    var named = said.match(/\b(run\.[a-zA-Z]+\.[a-zA-Z]+)\b/);
    var permission = named ? named[1] : OPERATION_PERMISSIONS[operation];
    var role = PERMISSION_ROLES[permission] || 'roles/run.developer';
    var who = '';
    try {
      who = Session.getActiveUser().getEmail();
    } catch (e) {
      who = '';
    }
    return (
      'You do not have permission ' + permission + ' on the ' + job + ' (403 Permission denied). Ask a ' +
      'project owner to grant you the role ' + role + ' on that job:\n' +
      'gcloud run jobs add-iam-policy-binding ' + s.job + ' --project ' + s.project + ' --region ' +
      s.region + ' --member user:' + (who || 'YOUR-EMAIL') + ' --role ' + role
    );
  }
  if (code === 404) {
    return (
      'The ' + job + ' was not found (404). Check the project, region and job name in Sheets AI > ' +
      'Settings; `gcloud run jobs list` shows the jobs that exist.'
    );
  }
  if (code === 429) {
    return (
      'The Cloud Run API is receiving too many requests (429 Too many requests). Nothing was changed: ' +
      'wait a minute and try again.'
    );
  }
  if (code >= 500) {
    return (
      'Cloud Run had a server error (' + code + (said ? ': ' + said : '') + '). Nothing was started ' +
      'by this click: try again in a few minutes.'
    );
  }
  return 'Cloud Run refused the request (' + code + (said ? ': ' + said : '') + ').';
}

/** One Admin API call; returns the parsed answer or throws a CloudRunError with the user's message. */
function cloudRunCall_(operation, method, path, s, body) {
  var options = {
    method: method,
    headers: { Authorization: 'Bearer ' + ScriptApp.getOAuthToken() },
    muteHttpExceptions: true,
  };
  if (body !== undefined) {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(body);
  }
  var response;
  try {
    response = UrlFetchApp.fetch(CLOUD_RUN_ROOT + path, options);
  } catch (e) {
    throw new CloudRunError('Could not reach the Cloud Run API: ' + (e && e.message ? e.message : e), 0);
  }
  var code = response.getResponseCode();
  var text = response.getContentText();
  var parsed = null;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (e) {
    parsed = null;
  }
  if (code >= 200 && code < 300) {
    if (parsed === null) throw new CloudRunError('The Cloud Run API answered with something not JSON.', code);
    return parsed;
  }
  throw new CloudRunError(cloudRunErrorMessage_(code, parsed, operation, s), code);
}

/** jobs.run with overrides; returns the Operation (its metadata is the new Execution). */
function runJob_(s, overrides) {
  return cloudRunCall_('run', 'post', jobName_(s) + ':run', s, { overrides: overrides });
}

function getJob_(s) {
  return cloudRunCall_('getJob', 'get', jobName_(s), s);
}

/** The newest executions of the job (the API lists newest first). */
function listExecutions_(s, pageSize) {
  var answer = cloudRunCall_('listExecutions', 'get', jobName_(s) + '/executions?pageSize=' + (pageSize || 10), s);
  return answer.executions || [];
}

function getExecution_(s, name) {
  return cloudRunCall_('getExecution', 'get', name, s);
}

/** A short summary of an Execution resource for the sidebar and the checks before a run. */
function executionSummary_(e) {
  var taskCount = e.taskCount || 0;
  var succeeded = e.succeededCount || 0;
  var failed = e.failedCount || 0;
  var cancelled = e.cancelledCount || 0;
  var state;
  if (e.completionTime) {
    if (cancelled > 0) state = 'Cancelled';
    else if (failed > 0 || succeeded < taskCount) state = 'Failed';
    else state = 'Succeeded';
  } else {
    state = (e.runningCount || 0) > 0 ? 'Running' : 'Pending';
  }
  var start = e.startTime || e.createTime || '';
  var end = e.completionTime || '';
  var seconds = null;
  if (start) {
    var t0 = Date.parse(start);
    var t1 = end ? Date.parse(end) : Date.now();
    if (isFinite(t0) && isFinite(t1)) seconds = Math.max(0, Math.round((t1 - t0) / 1000));
  }
  var env = {};
  var containers = (e.template && e.template.containers) || [];
  ((containers[0] && containers[0].env) || []).forEach(function (v) {
    env[v.name] = v.value;
  });
  return {
    name: e.name,
    id: String(e.name || '').split('/').pop(),
    state: state,
    running: !e.completionTime,
    taskCount: taskCount,
    tasksDone: succeeded + failed + cancelled,
    succeeded: succeeded,
    failed: failed,
    start: start,
    seconds: seconds,
    logUri: e.logUri || '',
    env: env,
  };
}
