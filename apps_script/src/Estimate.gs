// The cost estimate shown before a run, of the same kind as `sheets-ai estimate`: the rows are packed into
// requests as the job packs them (sizes from sheets_ai/providers/openai.py), each request's prompt is the task's
// instructions plus the rows, the answers are as long as the job expects, and the tokens are priced with the
// generated PRICING table (sheets_ai/data/pricing.json). Token counts here are approximate: about 4 bytes of
// UTF-8 a token, the same fallback the Python package uses when it has no o200k encoding; the job counts
// exactly and stops at the cost cap whatever this estimate said.

// Tokens of each request's instructions (system message + chat format), measured from sheets_ai.prompts.
var REQUEST_OVERHEAD_TOKENS = { sentiment: 147, summarize: 111, classify: 115, extract: 111 };
var ROW_OVERHEAD_TOKENS = 2; // the row's id and separators in the request
var LABEL_TASKS = { sentiment: true, classify: true };
var DATE_SUFFIX_RE = /^(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{4})$/;

/** Approximate tokens of a text: UTF-8 bytes / 4, at least 1. */
function approxTokens_(text) {
  var bytes = 0;
  var s = String(text);
  for (var i = 0; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return Math.max(1, Math.ceil(bytes / 4));
}

/** The price entry for a model: its own, else (a dated snapshot only) its base name's; null if neither. */
function priceFor_(model) {
  var name = String(model || '').trim().toLowerCase();
  if (PRICING.models[name]) return { model: name, price: PRICING.models[name] };
  var dated = name.match(DATE_SUFFIX_RE);
  if (dated && PRICING.models[dated[1]]) return { model: dated[1], price: PRICING.models[dated[1]] };
  return null;
}

/**
 * Estimate for `texts` (the inputs of the rows to do): {rows, requests, promptTokens, completionTokens,
 * costUsd (null when the model has no price), pricedAs, asOf, source}.
 */
function estimateRun_(task, texts, model, options) {
  var opts = options || {};
  var labelTask = !!LABEL_TASKS[task];
  var batchSize = labelTask ? 100 : 8;
  var maxBatchTokens = labelTask ? 8000 : 6000;
  var maxRowTokens = labelTask ? 1000 : 4000;
  var maxChars = Number(opts.maxChars) || 200;
  var overhead = REQUEST_OVERHEAD_TOKENS[task] || 120;
  if (task === 'classify') overhead += approxTokens_(opts.labels || '') * 2;
  if (task === 'extract') overhead += approxTokens_(opts.prompt || '');
  var requests = 0;
  var prompt = 0;
  var completion = 0;
  var inBatch = 0;
  var batchTokens = 0;
  var batchRows = [];
  function close() {
    if (!inBatch) return;
    requests += 1;
    prompt += overhead + batchTokens;
    if (labelTask) {
      completion += 3 + Math.ceil(batchRows.length * 1.5);
    } else {
      completion += 2;
      batchRows.forEach(function (r) {
        var cap = Math.ceil((maxChars * r.tokens) / Math.max(1, r.chars));
        var answer = task === 'summarize' ? Math.min(r.tokens, cap) : Math.min(r.tokens, cap, 24);
        completion += Math.max(1, answer) + 3;
      });
    }
    inBatch = 0;
    batchTokens = 0;
    batchRows = [];
  }
  texts.forEach(function (text) {
    var t = String(text);
    var tokens = Math.min(approxTokens_(t), maxRowTokens);
    var rowTokens = tokens + ROW_OVERHEAD_TOKENS;
    if (inBatch && (inBatch >= batchSize || batchTokens + rowTokens > maxBatchTokens)) close();
    inBatch += 1;
    batchTokens += rowTokens;
    batchRows.push({ tokens: tokens, chars: t.length });
  });
  close();
  var priced = priceFor_(model);
  var cost = null;
  if (priced) {
    cost = (prompt * priced.price.input + completion * priced.price.output) / 1e6;
  }
  return {
    rows: texts.length,
    requests: requests,
    promptTokens: prompt,
    completionTokens: completion,
    costUsd: cost,
    pricedAs: priced ? priced.model : null,
    asOf: PRICING.asOf,
    source: PRICING.source,
  };
}
