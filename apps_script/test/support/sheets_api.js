'use strict';
// A SpreadsheetApp backend that reads and writes cells through the Google Sheets API v4 (in tests, the Sheets
// emulator sheets_ai.testing.sheets_server): what the script sees is what the job wrote, and the reverse.
const { request } = require('./http_sync');
const { indexToLetter } = require('./spreadsheet');

function sheetsApiBackend(endpoint, spreadsheetId) {
  const base = `${endpoint.replace(/\/$/, '')}/v4/spreadsheets/${encodeURIComponent(spreadsheetId)}`;
  const quote = (name) => `'${name.replace(/'/g, "''")}'`;
  const call = (method, path, body) => {
    const r = request({
      method,
      url: base + path,
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer emulator' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    if (r.code >= 300) throw new Error(`Sheets API ${method} ${path}: ${r.code} ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body || '{}');
  };
  return {
    sheetNames: () => call('GET', '?fields=sheets.properties.title').sheets.map((s) => s.properties.title),
    read(name) {
      const r = call('GET', `/values/${encodeURIComponent(quote(name))}?valueRenderOption=UNFORMATTED_VALUE`);
      return r.values || [];
    },
    write(name, row, col, values) {
      const a1 = `${quote(name)}!${indexToLetter(col)}${row}:${indexToLetter(col + values[0].length - 1)}${row + values.length - 1}`;
      call('PUT', `/values/${encodeURIComponent(a1)}?valueInputOption=RAW`, { range: a1, majorDimension: 'ROWS', values });
    },
    addSheet(name) {
      call('POST', ':batchUpdate', { requests: [{ addSheet: { properties: { title: name } } }] });
    },
  };
}

module.exports = { sheetsApiBackend };
