// From the selection to a plan: input column (the selected one, named by its header), output column (the
// configured one, an existing column already headed with this task's header, or the first free column right
// of every used cell, as `sheets-ai run` places a new output column: never a column that holds data),
// and the rows to do (non-empty input, empty output).

var TASK_HEADERS = {
  sentiment: 'Sentiment (AI)',
  summarize: 'Summary (AI)',
  classify: 'Category (AI)',
  extract: 'Answer (AI)',
};

var TASK_TITLES = {
  sentiment: 'Analyze sentiment',
  summarize: 'Summarize',
  classify: 'Classify',
  extract: 'Extract',
};

/** An error whose message is shown to the user as it is (no "Exception:" prefix, no stack). */
function UserError(message) {
  this.name = 'UserError';
  this.message = message;
  this.stack = new Error(message).stack;
}
UserError.prototype = Object.create(Error.prototype);
UserError.prototype.constructor = UserError;

function columnLetter_(index) {
  var s = '';
  var n = index;
  while (n > 0) {
    var m = (n - 1) % 26;
    s = String.fromCharCode(65 + m) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

function columnIndex_(letters) {
  var n = 0;
  for (var i = 0; i < letters.length; i++) n = n * 26 + (letters.charCodeAt(i) - 64);
  return n;
}

function isBlank_(v) {
  return v === null || v === undefined || String(v).trim() === '';
}

/**
 * The plan for running `task` on the active selection (or on `target`: {sheet, column, rowsSpec, first, last}): {spreadsheetId, sheet, headerRow, input: {column,
 * letter, header}, output: {column, letter, header, exists}, rows: {first, last, todo, empty, filled},
 * texts (the inputs to do, for the estimate), rowsSpec (a --rows range when only part of the column is
 * selected, else '')}. Throws UserError with what to select when the selection cannot be used.
 */
function planFromSelection_(task, s, target) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet;
  var range;
  if (target) {
    // "Run again": the sheet and column of the last run, whatever is selected now.
    sheet = ss.getSheetByName(target.sheet);
    if (!sheet) throw new UserError('The sheet "' + target.sheet + '" no longer exists.');
    range = target.rowsSpec
      ? sheet.getRange(target.first, target.column, target.last - target.first + 1, 1)
      : sheet.getRange(columnLetter_(target.column) + ':' + columnLetter_(target.column));
  } else {
    sheet = ss.getActiveSheet();
    range = sheet.getActiveRange();
  }
  if (!range) throw new UserError('Select the column to analyze first (click its header letter or a cell in it).');
  if (range.getNumColumns() !== 1) {
    throw new UserError(
      'Select one column: the selection covers ' + range.getNumColumns() + ' columns (' + range.getA1Notation() +
        '). The selected column is the input; the results go into a new column on the right.'
    );
  }
  var headerRow = Number(s.headerRow) || 1;
  var lastRow = sheet.getLastRow();
  var lastColumn = sheet.getLastColumn();
  var inputColumn = range.getColumn();
  if (lastRow <= headerRow) {
    throw new UserError('The sheet "' + sheet.getName() + '" has no rows below the header row ' + headerRow + '.');
  }
  var width = Math.max(lastColumn, inputColumn);
  var values = sheet.getRange(headerRow, 1, lastRow - headerRow + 1, width).getValues();
  var headers = values[0];
  var inputHeader = String(headers[inputColumn - 1] === undefined ? '' : headers[inputColumn - 1]).trim();
  if (!inputHeader) {
    throw new UserError(
      'Column ' + columnLetter_(inputColumn) + ' has no header in row ' + headerRow + '. Give the input column a ' +
        'header (e.g. Review), or change the header row in Settings.'
    );
  }
  var outHeader = TASK_HEADERS[task];
  var output = chooseOutputColumn_(s.output, outHeader, headers, values, width, inputColumn);
  // Rows: the whole column, or only the selected rows when a block below the header is selected.
  var first = headerRow + 1;
  var last = lastRow;
  var rowsSpec = '';
  var r0 = range.getRow();
  var r1 = r0 + range.getNumRows() - 1;
  if (range.getNumRows() > 1 && r0 > headerRow && !(r0 === first && r1 >= lastRow)) {
    first = r0;
    last = Math.min(r1, lastRow);
    rowsSpec = first + ':' + last;
  }
  var texts = [];
  var empty = 0;
  var filled = 0;
  for (var row = first; row <= last; row++) {
    var line = values[row - headerRow];
    var text = line[inputColumn - 1];
    var result = output.column <= line.length ? line[output.column - 1] : '';
    if (isBlank_(text)) empty++;
    else if (!isBlank_(result)) filled++;
    else texts.push(String(text));
  }
  return {
    spreadsheetId: ss.getId(),
    spreadsheetName: ss.getName(),
    sheet: sheet.getName(),
    headerRow: headerRow,
    input: { column: inputColumn, letter: columnLetter_(inputColumn), header: inputHeader },
    output: output,
    rows: { first: first, last: last, todo: texts.length, empty: empty, filled: filled },
    rowsSpec: rowsSpec,
    texts: texts,
  };
}

/** The output column: {column, letter, header, exists}. Mirrors sheets_ai.tables.base.resolve_output_column. */
function chooseOutputColumn_(configured, outHeader, headers, values, width, inputColumn) {
  function holdsData(col) {
    for (var i = 1; i < values.length; i++) if (!isBlank_(values[i][col - 1])) return true;
    return false;
  }
  function headerAt(col) {
    return col <= headers.length ? String(headers[col - 1] === undefined ? '' : headers[col - 1]).trim() : '';
  }
  if (configured) {
    var col = columnIndex_(configured);
    var letter = columnLetter_(col);
    if (col === inputColumn) {
      throw new UserError(
        'The output column in Settings (' + letter + ') is the selected input column: the results would ' +
          'replace the texts. Choose another output column in Settings, or leave it empty.'
      );
    }
    var h = headerAt(col);
    if (h && h.toLowerCase() !== outHeader.toLowerCase()) {
      throw new UserError(
        'The output column in Settings (' + letter + ') is headed "' + h + '", not "' + outHeader + '": it holds ' +
          'something else. Choose an empty column in Settings, or leave it empty for the first free column.'
      );
    }
    if (!h && col <= width && holdsData(col)) {
      throw new UserError(
        'The output column in Settings (' + letter + ') has no header but holds data, which would be taken as ' +
          'finished results. Choose an empty column in Settings, or leave it empty for the first free column.'
      );
    }
    return { column: col, letter: letter, header: h || outHeader, exists: !!h };
  }
  for (var c = 1; c <= headers.length; c++) {
    if (headerAt(c).toLowerCase() === outHeader.toLowerCase() && c !== inputColumn) {
      return { column: c, letter: columnLetter_(c), header: headerAt(c), exists: true };
    }
  }
  // Right of every used cell: getLastColumn() counts header and data rows alike, so a column of notes with
  // a blank header is never taken.
  var free = width + 1;
  return { column: free, letter: columnLetter_(free), header: outHeader, exists: false };
}
