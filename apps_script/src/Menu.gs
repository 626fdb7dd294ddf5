// The Sheets AI menu. A bound script (Extensions > Apps Script in the spreadsheet) gets onOpen as a simple
// trigger. As an add-on, onInstall runs it too, and the menu would be built with createAddonMenu() instead
// of createMenu(); everything else stays as it is (see README.md, "As an add-on").
//
// Scopes (appsscript.json lists them explicitly so nobody is asked for more than this):
//   spreadsheets.currentonly  read the selected column and the run log, write the output column's header:
//                             only this spreadsheet, never the user's other files
//   script.container.ui       the menu, the dialogs and the Recent runs sidebar
//   script.external_request   UrlFetchApp, to call the Cloud Run Admin API
//   cloud-platform            the Cloud Run Admin API accepts no narrower scope
//   userinfo.email            the address to put in the IAM command of a permission-denied alert

function onOpen(e) {
  SpreadsheetApp.getUi()
    .createMenu('Sheets AI')
    .addItem('Analyze sentiment', 'analyzeSentiment')
    .addItem('Summarize…', 'summarize')
    .addItem('Classify…', 'classify')
    .addItem('Extract…', 'extract')
    .addSeparator()
    .addItem('Run again with the last settings', 'runAgain')
    .addSeparator()
    .addItem('Settings…', 'showSettings')
    .addItem('Recent runs', 'showRecentRuns')
    .addItem('Help', 'showHelp')
    .addToUi();
}

function onInstall(e) {
  onOpen(e);
}

function analyzeSentiment() {
  openRunDialog_('sentiment');
}

function summarize() {
  openRunDialog_('summarize');
}

function classify() {
  openRunDialog_('classify');
}

function extract() {
  openRunDialog_('extract');
}

function showHelp() {
  var ui = SpreadsheetApp.getUi();
  ui.alert(
    'Sheets AI',
    'Select the column to analyze (it needs a header), then choose a task from the Sheets AI menu. A dialog ' +
      'shows the rows to do, the model and an estimate of the cost; Start runs the sheets-ai job on Cloud ' +
      'Run, which writes one result per row into a new column on the right. Rows that already have a result ' +
      'are skipped, so running again only does new rows.\n\n' +
      'Settings… names the Cloud Run job (project, region, job) and the default cost cap. Recent runs shows ' +
      'the latest runs and the run log. Clicking Start needs the role roles/run.developer on the job.',
    ui.ButtonSet.OK
  );
}

/** HtmlService templates include shared CSS with <?!= include('Styles') ?>. */
function include(name) {
  return HtmlService.createHtmlOutputFromFile(name).getContent();
}
