// tm_crosscheck.js: runs the TextMate grammar of editors/vscode over psync
// files (every example, the stdlib, the lit inputs) and checks it against the
// real lexer, token by token (psync-dump-tokens): a keyword of PSync.g4 gets
// a keyword-like scope, an identifier never does, numbers, durations,
// comments and operators get theirs, and no operator, word or number is cut
// in two. A keyword added to the grammar but not to the TextMate grammar
// fails here, naming the file, line and word.
// usage: NODE_PATH=<node_modules> node tm_crosscheck.js GRAMMAR DUMP_TOKENS FILE...
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const [grammarPath, dumpTokens, ...files] = process.argv.slice(2);

async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm')).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p) => new oniguruma.OnigScanner(p),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === 'source.psync' ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath) : null,
  });
  return registry.loadGrammar('source.psync');
}

// The innermost scope of every UTF-16 unit of every line, and where the
// TextMate tokens start.
function tokenize(grammar, text) {
  const lines = text.split('\n');
  let stack = vsctm.INITIAL;
  return lines.map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const scopes = new Array(line.length).fill('');
    const starts = new Set();
    for (const t of r.tokens) {
      starts.add(t.startIndex);
      for (let i = t.startIndex; i < t.endIndex && i < line.length; ++i) scopes[i] = t.scopes.join(' ');
    }
    return { scopes, starts };
  });
}

const allowed = {
  keyword: /(^| )(keyword|storage|support|constant\.language|variable\.language)\.|(^| )(entity\.name\.function\.member|variable\.other\.member)\./,
  identifier: /(^| )(variable|entity\.name|support\.function)\./,
  integer: /(^| )constant\.numeric\./,
  duration: /(^| )constant\.numeric\.duration\./,
  punctuation: /(^| )(keyword\.operator|punctuation)\./,
  comment: /(^| )comment\./,
  'doc-comment': /(^| )comment\.line\.documentation\./,
  other: /(^| )string\./,
};
const forbidden = {
  identifier: /(^| )(keyword|storage|constant)\./,
};
const whole = new Set(['keyword', 'identifier', 'integer', 'punctuation']);

(async () => {
  const grammar = await loadGrammar();
  const out = execFileSync(dumpTokens, files, { maxBuffer: 256 << 20 }).toString();
  const byFile = new Map();
  for (const l of out.split('\n')) {
    if (!l) continue;
    const t = JSON.parse(l);
    if (!byFile.has(t.file)) byFile.set(t.file, []);
    byFile.get(t.file).push(t);
  }
  let failures = 0, checked = 0;
  for (const file of files) {
    const buf = fs.readFileSync(file);
    const text = buf.toString('utf8');
    const lines = tokenize(grammar, text);
    // Byte offset -> (line, UTF-16 column).
    const lineStarts = [0];
    for (let i = 0; i < buf.length; ++i) if (buf[i] === 10) lineStarts.push(i + 1);
    const where = (off) => {
      let lo = 0, hi = lineStarts.length - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStarts[mid] <= off) lo = mid; else hi = mid - 1; }
      return { line: lo, col: buf.slice(lineStarts[lo], off).toString('utf8').length };
    };
    for (const t of byFile.get(file) || []) {
      if (t.kind === 'error') continue;
      const a = where(t.begin), b = where(t.end);
      const span = [];
      for (let ln = a.line; ln <= b.line; ++ln) {
        const from = ln === a.line ? a.col : 0;
        const to = ln === b.line ? b.col : lines[ln].scopes.length;
        for (let c = from; c < to; ++c) span.push({ ln, c, scope: lines[ln].scopes[c] });
      }
      if (span.length === 0) continue;
      checked++;
      const fail = (why) => {
        failures++;
        console.log(`${file}:${a.line + 1}:${a.col + 1}: ${t.kind} '${t.text.slice(0, 40)}' ${why}`);
      };
      const bad = span.find((s) => !allowed[t.kind].test(s.scope) || (forbidden[t.kind] && forbidden[t.kind].test(s.scope)));
      if (bad) { fail(`has scope '${bad.scope}'`); continue; }
      if (whole.has(t.kind) && span.slice(1).some((s) => lines[s.ln].starts.has(s.c)))
        fail('is cut in two by the TextMate grammar');
    }
  }
  console.log(`${files.length} files, ${checked} tokens checked against the lexer, ${failures} mismatches`);
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
