'use strict';
// An in-process answer to UrlFetchApp for the unit tests, in the Cloud Run Admin API v2's wire shapes
// (jobs.run returns an Operation whose metadata is the Execution; executions.list/get return Executions;
// errors are {"error": {"code", "message", "status"}}). The end-to-end test uses the real emulator instead.

const ROOT = 'https://run.googleapis.com/v2/';
const STATUS = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function googleError(code, message) {
  return { code, body: JSON.stringify({ error: { code, message, status: STATUS[code] || 'UNKNOWN' } }), headers: { 'Content-Type': 'application/json' } };
}

class FakeCloudRun {
  constructor({ project = 'my-sheets-ai', region = 'us-central1', job = 'sheets-ai' } = {}) {
    this.jobName = `projects/${project}/locations/${region}/jobs/${job}`;
    this.executions = [];
    this.fail = null; // {code, message, match?: RegExp on "METHOD path"}
    this.seen = 0;
    this.transport = this.transport.bind(this);
  }
  execution(name, fields) {
    return this.executions.find((e) => e.name === name);
  }
  /** Marks an execution finished (all tasks succeeded). */
  finish(name, { failed = 0 } = {}) {
    const e = this.execution(name);
    e.runningCount = 0;
    e.succeededCount = e.taskCount - failed;
    e.failedCount = failed;
    e.completionTime = new Date(Date.parse(e.startTime) + 42000).toISOString();
  }
  transport(req) {
    this.seen += 1;
    if (!req.url.startsWith(ROOT)) return { code: 404, body: 'not the Cloud Run API' };
    const rest = req.url.slice(ROOT.length);
    const [pathPart] = rest.split('?');
    const key = `${req.method} ${pathPart}`;
    if (this.fail && (!this.fail.match || this.fail.match.test(key))) return googleError(this.fail.code, this.fail.message);
    if (!/^Bearer .+/.test(req.headers.Authorization || '')) return googleError(401, 'Request had invalid authentication credentials.');
    if (req.method === 'POST' && pathPart === `${this.jobName}:run`) {
      const body = JSON.parse(req.payload);
      const id = `${this.jobName.split('/').pop()}-${String(this.executions.length + 1).padStart(5, 'x')}`;
      const now = new Date().toISOString();
      const overrides = body.overrides || {};
      const execution = {
        name: `${this.jobName}/executions/${id}`,
        uid: id,
        job: this.jobName.split('/').pop(),
        createTime: now,
        startTime: now,
        taskCount: overrides.taskCount || 1,
        parallelism: overrides.taskCount || 1,
        runningCount: overrides.taskCount || 1,
        succeededCount: 0,
        failedCount: 0,
        cancelledCount: 0,
        logUri: `https://console.cloud.google.com/logs/viewer?advancedFilter=${encodeURIComponent(id)}`,
        template: { taskCount: overrides.taskCount || 1, template: {}, containers: [{ image: 'img', env: (overrides.containerOverrides || [{}])[0].env || [] }] },
      };
      this.executions.unshift(execution);
      return { code: 200, body: JSON.stringify({ name: `${this.jobName.replace('/jobs/' + execution.job, '')}/operations/${id}`, metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Execution', ...execution }, done: false }) };
    }
    if (req.method === 'GET' && pathPart === `${this.jobName}/executions`) {
      return { code: 200, body: JSON.stringify(this.executions.length ? { executions: this.executions } : {}) };
    }
    if (req.method === 'GET' && pathPart.startsWith(`${this.jobName}/executions/`)) {
      const e = this.execution(pathPart);
      return e ? { code: 200, body: JSON.stringify(e) } : googleError(404, `Resource '${pathPart.split('/').pop()}' of kind 'EXECUTION' in region 'us-central1' in project 'my-sheets-ai' does not exist.`);
    }
    if (req.method === 'GET' && pathPart === this.jobName) return { code: 200, body: JSON.stringify({ name: this.jobName }) };
    return googleError(404, `Resource '${pathPart}' does not exist.`);
  }
}

module.exports = { FakeCloudRun, googleError };
