'use strict';
// A stand-in for SpreadsheetApp: a spreadsheet of sheets of cells, with the behaviour the Sheets AI script relies
// on as Apps Script documents it: getValues() gives '' for empty cells, getLastRow()/getLastColumn() the last
// row/column with content, A1 and (row, column, rows, columns) ranges, whole-column ranges, toasts, a Ui with
// menus, alerts, dialogs and sidebars. Cells live in a backend: memoryBackend() here, or sheetsApiBackend()
// (./sheets_api.js) that reads and writes through the Google Sheets API v4 (the Sheets emulator in tests).

function memoryBackend(sheets) {
  const data = {};
  for (const [name, rows] of Object.entries(sheets)) data[name] = rows.map((r) => r.slice());
  return {
    sheetNames: () => Object.keys(data),
    read: (name) => data[name].map((r) => r.slice()),
    write(name, row, col, values) {
      const grid = data[name];
      values.forEach((line, i) => {
        line.forEach((v, j) => {
          while (grid.length < row + i) grid.push([]);
          const r = grid[row + i - 1];
          while (r.length < col + j) r.push('');
          r[col + j - 1] = v;
        });
      });
    },
    addSheet(name) {
      data[name] = [];
    },
  };
}

function letterToIndex(letters) {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

function indexToLetter(n) {
  let s = '';
  while (n > 0) {
    const m = (n - 1) % 26;
    s = String.fromCharCode(65 + m) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

const blank = (v) => v === '' || v === null || v === undefined;

class Range {
  constructor(sheet, row, col, rows, cols) {
    if (row < 1 || col < 1 || rows < 1 || cols < 1) {
      throw new Error('Exception: The coordinates of the range are outside the dimensions of the sheet.');
    }
    Object.assign(this, { sheet, row, col, rows, cols });
  }
  getRow() { return this.row; }
  getColumn() { return this.col; }
  getLastRow() { return this.row + this.rows - 1; }
  getLastColumn() { return this.col + this.cols - 1; }
  getNumRows() { return this.rows; }
  getNumColumns() { return this.cols; }
  getSheet() { return this.sheet; }
  getA1Notation() {
    const a = indexToLetter(this.col) + this.row;
    const b = indexToLetter(this.col + this.cols - 1) + (this.row + this.rows - 1);
    return this.rows === 1 && this.cols === 1 ? a : `${a}:${b}`;
  }
  getValues() {
    const grid = this.sheet.grid();
    const out = [];
    for (let i = 0; i < this.rows; i++) {
      const src = grid[this.row - 1 + i] || [];
      const line = [];
      for (let j = 0; j < this.cols; j++) {
        const v = src[this.col - 1 + j];
        line.push(blank(v) ? '' : v);
      }
      out.push(line);
    }
    return out;
  }
  getValue() { return this.getValues()[0][0]; }
  getDisplayValues() { return this.getValues().map((r) => r.map(String)); }
  setValues(values) {
    if (values.length !== this.rows || values.some((r) => r.length !== this.cols)) {
      throw new Error(
        `Exception: The number of rows in the data does not match the number of rows in the range. ` +
          `The data has ${values.length} but the range has ${this.rows}.`
      );
    }
    this.sheet.backend.write(this.sheet.name, this.row, this.col, values);
    return this;
  }
  setValue(value) { return this.setValues([[value]]); }
  clearContent() {
    return this.setValues(Array.from({ length: this.rows }, () => Array(this.cols).fill('')));
  }
  activate() { this.sheet.spreadsheet.setActiveRange(this); return this; }
}

class Sheet {
  constructor(spreadsheet, backend, name) {
    Object.assign(this, { spreadsheet, backend, name });
    this.maxRows = 1000;
    this.maxColumns = 26;
  }
  grid() { return this.backend.read(this.name); }
  getName() { return this.name; }
  getLastRow() {
    const g = this.grid();
    for (let r = g.length; r >= 1; r--) if ((g[r - 1] || []).some((v) => !blank(v))) return r;
    return 0;
  }
  getLastColumn() {
    let last = 0;
    for (const row of this.grid()) row.forEach((v, j) => { if (!blank(v)) last = Math.max(last, j + 1); });
    return last;
  }
  getMaxRows() { return Math.max(this.maxRows, this.grid().length); }
  getMaxColumns() { return Math.max(this.maxColumns, this.getLastColumn()); }
  getRange(a, b, c, d) {
    if (typeof a === 'string') return this.rangeA1(a);
    return new Range(this, a, b, c === undefined ? 1 : c, d === undefined ? 1 : d);
  }
  rangeA1(a1) {
    const m = /^([A-Z]+)(\d*)(?::([A-Z]+)(\d*))?$/i.exec(a1.trim());
    if (!m) throw new Error(`Exception: Range not found: ${a1}`);
    const c0 = letterToIndex(m[1]);
    const c1 = m[3] ? letterToIndex(m[3]) : c0;
    const r0 = m[2] ? Number(m[2]) : 1;
    const r1 = m[4] ? Number(m[4]) : m[2] && !m[3] ? r0 : this.getMaxRows();
    return new Range(this, r0, c0, r1 - r0 + 1, c1 - c0 + 1);
  }
  getDataRange() {
    return new Range(this, 1, 1, Math.max(1, this.getLastRow()), Math.max(1, this.getLastColumn()));
  }
  getActiveRange() {
    const r = this.spreadsheet.activeRange;
    return r && r.sheet === this ? r : null;
  }
  activate() { this.spreadsheet.activeSheet = this; return this; }
}

class Ui {
  constructor() {
    this.menus = [];
    this.alerts = [];
    this.dialogs = [];
    this.sidebars = [];
    this.ButtonSet = { OK: 'OK', OK_CANCEL: 'OK_CANCEL', YES_NO: 'YES_NO', YES_NO_CANCEL: 'YES_NO_CANCEL' };
    this.Button = { OK: 'OK', CANCEL: 'CANCEL', YES: 'YES', NO: 'NO', CLOSE: 'CLOSE' };
  }
  createMenu(caption) {
    const ui = this;
    const menu = { caption, items: [] };
    const api = {
      addItem(label, functionName) { menu.items.push({ label, functionName }); return api; },
      addSeparator() { menu.items.push({ separator: true }); return api; },
      addSubMenu(sub) { menu.items.push({ submenu: sub }); return api; },
      addToUi() { ui.menus.push(menu); },
    };
    return api;
  }
  createAddonMenu() { return this.createMenu('Add-on'); }
  // alert(prompt) or alert(title, prompt, buttons): Apps Script's two forms.
  alert(a, b, c) {
    const entry = b === undefined ? { title: '', prompt: String(a), buttons: 'OK' } : { title: a, prompt: String(b), buttons: c };
    this.alerts.push(entry);
    return this.Button.OK;
  }
  showModalDialog(html, title) { this.dialogs.push({ html, title }); }
  showModelessDialog(html, title) { this.dialogs.push({ html, title, modeless: true }); }
  showSidebar(html) { this.sidebars.push({ html, title: html.getTitle() }); }
}

class Spreadsheet {
  constructor({ id = 'sheet-id-1', name = 'Reviews', backend }) {
    Object.assign(this, { id, name, backend });
    this.toasts = [];
    this.ui = new Ui();
    this.sheetObjects = {};
    this.activeSheet = this.getSheets()[0];
    this.activeRange = null;
  }
  getId() { return this.id; }
  getName() { return this.name; }
  getUrl() { return `https://docs.google.com/spreadsheets/d/${this.id}/edit`; }
  getSheets() { return this.backend.sheetNames().map((n) => this.sheet(n)); }
  sheet(name) {
    if (!this.sheetObjects[name]) this.sheetObjects[name] = new Sheet(this, this.backend, name);
    return this.sheetObjects[name];
  }
  getSheetByName(name) { return this.backend.sheetNames().includes(name) ? this.sheet(name) : null; }
  insertSheet(name) { this.backend.addSheet(name); return this.sheet(name); }
  getActiveSheet() { return this.activeSheet; }
  setActiveSheet(sheet) { this.activeSheet = sheet; return sheet; }
  getActiveRange() { return this.activeRange; }
  setActiveRange(range) { this.activeSheet = range.sheet; this.activeRange = range; return range; }
  /** Test helper: select an A1 range on a sheet, as a click would. */
  select(a1, sheetName) {
    const sheet = sheetName ? this.getSheetByName(sheetName) : this.activeSheet;
    return this.setActiveRange(sheet.getRange(a1));
  }
  toast(msg, title, timeoutSeconds) { this.toasts.push({ msg: String(msg), title, timeoutSeconds }); }
}

function makeSpreadsheetApp(spreadsheet) {
  return {
    getActiveSpreadsheet: () => spreadsheet,
    getActive: () => spreadsheet,
    getActiveSheet: () => spreadsheet.getActiveSheet(),
    getActiveRange: () => spreadsheet.getActiveRange(),
    getUi: () => spreadsheet.ui,
    flush: () => {},
  };
}

module.exports = { Spreadsheet, memoryBackend, makeSpreadsheetApp, letterToIndex, indexToLetter };
