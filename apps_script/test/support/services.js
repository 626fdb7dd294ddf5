'use strict';
// Stand-ins for the Apps Script services the Sheets AI script uses, following their documented behaviour:
// PropertiesService (string values, 9 KB per value), CacheService (string values, expiry, 100 KB per value),
// LockService (a lock held by one execution at a time: `shared` is what several executions, e.g. two users'
// clicks, have in common), UrlFetchApp (HTTPResponse, muteHttpExceptions), HtmlService (templates with
// <?= ?>, <?!= ?> and <? ?> scriptlets evaluated with the script's globals), ScriptApp, Session, Utilities.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

function makeProperties(store) {
  const check = (key, value) => {
    if (Buffer.byteLength(String(value)) > 9 * 1024) {
      throw new Error('Exception: You have exceeded the property storage quota.');
    }
  };
  const api = {
    getProperty: (k) => (Object.prototype.hasOwnProperty.call(store, k) ? store[k] : null),
    setProperty(k, v) { check(k, v); store[k] = String(v); return api; },
    deleteProperty(k) { delete store[k]; return api; },
    getProperties: () => ({ ...store }),
    setProperties(obj) { for (const [k, v] of Object.entries(obj)) api.setProperty(k, v); return api; },
    getKeys: () => Object.keys(store),
  };
  return api;
}

function makeCache(store, clock) {
  const api = {
    get(k) {
      const e = store[k];
      if (!e || e.expires <= clock()) return null;
      return e.value;
    },
    put(k, v, ttl = 600) {
      if (Buffer.byteLength(String(v)) > 100 * 1024) throw new Error('Exception: Argument too large: value');
      store[k] = { value: String(v), expires: clock() + Math.min(ttl, 21600) * 1000 };
    },
    remove(k) { delete store[k]; },
    getAll: (keys) => Object.fromEntries(keys.map((k) => [k, api.get(k)]).filter(([, v]) => v !== null)),
  };
  return api;
}

// One lock per scope, shared by every execution that has the same `shared` object. tryLock cannot wait for
// another execution here (each test execution is synchronous), so it answers at once, as when the wait runs out.
function makeLock(locks, scope, owner) {
  return {
    tryLock() {
      if (locks[scope] && locks[scope] !== owner) return false;
      locks[scope] = owner;
      return true;
    },
    waitLock(ms) {
      if (!this.tryLock(ms)) throw new Error('Exception: Lock timeout: another process was holding the lock for too long.');
    },
    hasLock: () => locks[scope] === owner,
    releaseLock() { if (locks[scope] === owner) delete locks[scope]; },
  };
}

class HTTPResponse {
  constructor(code, body, headers) {
    Object.assign(this, { code, body: body === undefined ? '' : String(body), headers: headers || {} });
  }
  getResponseCode() { return this.code; }
  getContentText() { return this.body; }
  getHeaders() { return { ...this.headers }; }
  getAllHeaders() { return { ...this.headers }; }
  getBlob() { return { getDataAsString: () => this.body }; }
}

// UrlFetchApp.fetch(url, params): `transport(request)` answers {code, body, headers}; requests are recorded.
function makeUrlFetchApp(transport, requests) {
  return {
    fetch(url, params = {}) {
      const method = String(params.method || 'get').toUpperCase();
      const headers = { ...(params.headers || {}) };
      if (params.contentType) headers['Content-Type'] = params.contentType;
      const request = { url, method, headers, payload: params.payload === undefined ? null : String(params.payload) };
      requests.push(request);
      const answer = transport(request);
      const response = new HTTPResponse(answer.code, answer.body, answer.headers);
      if (answer.code >= 400 && !params.muteHttpExceptions) {
        throw new Error(
          `Exception: Request failed for ${new URL(url).origin} returned code ${answer.code}. ` +
            `Truncated server response: ${response.body.slice(0, 200)} (use muteHttpExceptions option to examine full response)`
        );
      }
      return response;
    },
  };
}

// Compiles an Apps Script HTML template: <?= expr ?> (HTML-escaped), <?!= expr ?> (as is), <? code ?>.
function compileTemplate(source) {
  let code = 'var __out = [];\n';
  const re = /<\?(!?=)?([\s\S]*?)\?>/g;
  let last = 0;
  let m;
  while ((m = re.exec(source))) {
    code += `__out.push(${JSON.stringify(source.slice(last, m.index))});\n`;
    if (m[1] === '=') code += `__out.push(__escape(${m[2]}));\n`;
    else if (m[1] === '!=') code += `__out.push(String(${m[2]}));\n`;
    else code += m[2] + '\n';
    last = re.lastIndex;
  }
  code += `__out.push(${JSON.stringify(source.slice(last))});\nreturn __out.join('');`;
  return code;
}

const escapeHtml = (v) =>
  String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

class HtmlOutput {
  constructor(content) { this.content = content; this.title = ''; this.width = 600; this.height = 400; }
  getContent() { return this.content; }
  setContent(c) { this.content = c; return this; }
  append(c) { this.content += c; return this; }
  setTitle(t) { this.title = t; return this; }
  getTitle() { return this.title; }
  setWidth(w) { this.width = w; return this; }
  getWidth() { return this.width; }
  setHeight(h) { this.height = h; return this; }
  getHeight() { return this.height; }
  setSandboxMode() { return this; }
  setXFrameOptionsMode() { return this; }
  addMetaTag() { return this; }
}

function makeHtmlService(srcDir, getGlobals) {
  const read = (name) => {
    const file = path.join(srcDir, `${name}.html`);
    if (!fs.existsSync(file)) throw new Error(`Exception: No HTML file named ${name} was found.`);
    return fs.readFileSync(file, 'utf8');
  };
  const service = {
    createHtmlOutput: (html = '') => new HtmlOutput(String(html)),
    createHtmlOutputFromFile: (name) => new HtmlOutput(read(name)),
    createTemplateFromFile(name) {
      const source = read(name);
      const template = {
        evaluate() {
          const vars = { ...getGlobals() };
          for (const [k, v] of Object.entries(template)) if (k !== 'evaluate' && k !== 'getCode') vars[k] = v;
          const names = Object.keys(vars);
          // eslint-disable-next-line no-new-func
          const fn = new Function('__escape', ...names, compileTemplate(source));
          return new HtmlOutput(fn(escapeHtml, ...names.map((n) => vars[n])));
        },
        getCode: () => compileTemplate(source),
      };
      return template;
    },
    SandboxMode: { IFRAME: 'IFRAME' },
    XFrameOptionsMode: { ALLOWALL: 'ALLOWALL', DEFAULT: 'DEFAULT' },
  };
  return service;
}

function makeServices({ transport, shared, user = 'ana@example.com', srcDir, getGlobals, owner }) {
  const clock = shared.clock || (() => Date.now());
  const requests = [];
  return {
    requests,
    services: {
      UrlFetchApp: makeUrlFetchApp(transport, requests),
      PropertiesService: {
        getDocumentProperties: () => makeProperties(shared.documentProperties),
        getScriptProperties: () => makeProperties(shared.scriptProperties),
        getUserProperties: () => makeProperties((shared.userProperties[user] = shared.userProperties[user] || {})),
      },
      CacheService: {
        getDocumentCache: () => makeCache(shared.documentCache, clock),
        getScriptCache: () => makeCache(shared.scriptCache, clock),
        getUserCache: () => makeCache((shared.userCache[user] = shared.userCache[user] || {}), clock),
      },
      LockService: {
        getDocumentLock: () => makeLock(shared.locks, 'document', owner),
        getScriptLock: () => makeLock(shared.locks, 'script', owner),
        getUserLock: () => makeLock(shared.locks, `user:${user}`, owner),
      },
      ScriptApp: {
        getOAuthToken: () => shared.oauthToken,
        AuthMode: { NONE: 'NONE', LIMITED: 'LIMITED', FULL: 'FULL' },
      },
      Session: {
        getActiveUser: () => ({ getEmail: () => user }),
        getEffectiveUser: () => ({ getEmail: () => user }),
        getScriptTimeZone: () => 'Etc/UTC',
        getActiveUserLocale: () => 'en',
      },
      Utilities: {
        getUuid: () => crypto.randomUUID(),
        sleep: () => {},
        formatDate: (d) => new Date(d).toISOString(),
      },
      HtmlService: makeHtmlService(srcDir, getGlobals),
      Logger: { log: () => {} },
    },
  };
}

function newShared() {
  return {
    documentProperties: {},
    scriptProperties: {},
    userProperties: {},
    documentCache: {},
    scriptCache: {},
    userCache: {},
    locks: {},
    oauthToken: 'ya29.test-token',
  };
}

module.exports = { makeServices, newShared, HTTPResponse, compileTemplate };
