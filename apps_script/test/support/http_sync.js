'use strict';
// Synchronous HTTP for the stand-ins (UrlFetchApp.fetch and SpreadsheetApp are synchronous in Apps Script): a
// worker thread runs fetch() and this thread blocks on Atomics.wait until the answer is in shared memory.
const { Worker } = require('node:worker_threads');

const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ req, signal, data }) => {
  let answer;
  try {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body === null ? undefined : req.body,
                                       signal: AbortSignal.timeout(req.timeoutMs) });
    answer = { code: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
  } catch (e) {
    answer = { error: String(e && e.cause ? e.cause.message || e.cause : e) };
  }
  const bytes = Buffer.from(JSON.stringify(answer));
  const view = new Uint8Array(data);
  const len = Math.min(bytes.length, view.length);
  view.set(bytes.subarray(0, len));
  const flag = new Int32Array(signal);
  Atomics.store(flag, 1, bytes.length > view.length ? -1 : len);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

const MAX_BYTES = 32 * 1024 * 1024;
let worker = null;
let data = null;

function request({ method = 'GET', url, headers = {}, body = null, timeoutMs = 60000 }) {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true });
    worker.unref();
    data = new SharedArrayBuffer(MAX_BYTES);
  }
  const signal = new SharedArrayBuffer(8);
  const flag = new Int32Array(signal);
  worker.postMessage({ req: { method, url, headers, body, timeoutMs }, signal, data });
  if (Atomics.wait(flag, 0, 0, timeoutMs + 5000) === 'timed-out') throw new Error(`HTTP ${method} ${url}: no answer`);
  const len = Atomics.load(flag, 1);
  if (len < 0) throw new Error(`HTTP ${method} ${url}: answer larger than ${MAX_BYTES} bytes`);
  const answer = JSON.parse(Buffer.from(new Uint8Array(data, 0, len)).toString('utf8'));
  if (answer.error) throw new Error(`Exception: Address unavailable: ${url} (${answer.error})`);
  return answer;
}

module.exports = { request };
