'use strict';
// Renders the script's HtmlService pages in headless Chromium (Debian's `chromium`, driven by playwright-core)
// with google.script.run and google.script.host stood in: each google.script.run call runs the named server
// function in a new execution of the script (./world.js), with JSON-serialized arguments and result, and
// calls the page's success or failure handler with it, as Apps Script does.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function chromiumPath() {
  return CANDIDATES.find((p) => p && fs.existsSync(p)) || null;
}

/** null when the browser tests can run, else why not (the caller fails under CI, skips otherwise). */
function unavailable() {
  try {
    require.resolve('playwright-core');
  } catch (e) {
    return 'playwright-core is not installed: run `npm ci` in apps_script/';
  }
  if (!chromiumPath()) return 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)';
  return null;
}

const GOOGLE_SCRIPT = `
(() => {
  function runner(success, failure) {
    return new Proxy({}, {
      get(_, name) {
        if (name === 'withSuccessHandler') return (h) => runner(h, failure);
        if (name === 'withFailureHandler') return (h) => runner(success, h);
        if (name === 'withUserObject') return () => runner(success, failure);
        return (...args) => {
          window.__gasRun(String(name), JSON.parse(JSON.stringify(args))).then((r) => {
            if (r.ok) { if (success) success(r.value); }
            else if (failure) { const e = new Error(r.message); e.name = r.name; failure(e); }
          });
        };
      },
    });
  }
  window.__closed = false;
  window.google = { script: {
    run: runner(null, null),
    host: { close() { window.__closed = true; }, setHeight() {}, setWidth() {}, editor: { focus() {} } },
  } };
})();
`;

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
}

/**
 * Opens `htmlOutput` (what the script passed to showModalDialog / showSidebar) in a page of `width` x `height`.
 * Returns {page, calls}: calls lists every google.script.run call that reached the server side.
 */
async function openDialog(browser, w, htmlOutput, { width, height } = {}) {
  const page = await browser.newPage({ viewport: { width: width || htmlOutput.getWidth(), height: height || htmlOutput.getHeight() } });
  const calls = [];
  await page.exposeFunction('__gasRun', (name, args) => {
    calls.push({ name, args });
    try {
      const ex = w.click(name, ...args);
      return { ok: true, value: ex.result === undefined ? null : ex.result };
    } catch (e) {
      return { ok: false, name: e.name || 'Error', message: e.message };
    }
  });
  // Apps Script serves the page with google.script already defined: put the stand-in first in <head>.
  const html = htmlOutput.getContent().replace(/<head>/i, `<head><script>${GOOGLE_SCRIPT}</script>`);
  await page.setContent(html, { waitUntil: 'load' });
  return { page, calls };
}

/** Screenshots go to a temporary folder, or into apps_script/docs/ with UPDATE_SCREENSHOTS=1. */
function screenshotPath(name) {
  const dir = process.env.UPDATE_SCREENSHOTS ? path.resolve(__dirname, '..', '..', 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'gas-shot-'));
  return path.join(dir, name);
}

module.exports = { unavailable, launch, openDialog, screenshotPath, chromiumPath };
