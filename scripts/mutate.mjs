// `npm run mutate`: mutation testing of the pure core with StrykerJS (issue #20).
// One Stryker run per group of scripts/mutate-groups.json. Each run copies the
// tree into a sandbox, inserts every mutant of the group's modules at once
// (mutant schemata: one `tsc -p .` per run, not per mutant), then the command
// runner runs `node --test` over only the group's unit test files with
// __STRYKER_ACTIVE_MUTANT__ set, so a mutant costs about a second.
// Writes reports/mutation/<group>/{index.html,mutation.json} and
// reports/mutation/scores.md (the per-module table the README quotes).
//
//   node scripts/mutate.mjs                 every group
//   node scripts/mutate.mjs cpio semantic   only these groups (the table keeps the others' last results)
//   node scripts/mutate.mjs --table         only rewrite scores.md from the saved reports
//   MUTATE_CONCURRENCY=1 node scripts/mutate.mjs   fewer parallel mutants (default 2: the machine is shared)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'reports', 'mutation');
const { groups } = JSON.parse(readFileSync(join(root, 'scripts', 'mutate-groups.json'), 'utf8'));

const args = process.argv.slice(2);
const tableOnly = args.includes('--table');
const wanted = args.filter((a) => !a.startsWith('--'));
for (const w of wanted) {
  if (!groups.some((g) => g.name === w)) {
    console.error(`scripts/mutate.mjs: no group '${w}' in scripts/mutate-groups.json (groups: ${groups.map((g) => g.name).join(', ')})`);
    process.exit(2);
  }
}
const concurrency = Number(process.env.MUTATE_CONCURRENCY ?? 2);

/** The Stryker options of one group (written next to its report, so a run can be repeated by hand). */
function strykerConfig(g) {
  const dir = join('reports', 'mutation', g.name);
  // Each test file run on its own (node:test runs a file's tests when node runs the file), the first failure
  // ends the run: a mutant is killed by the first file that notices it, usually the first listed.
  const tests = g.tests.map((t) => `node --test-reporter=dot dist/test/unit/${t}.test.js`).join(' && ');
  return {
    mutate: g.mutate,
    testRunner: 'command',
    commandRunner: { command: tests },
    // The instrumented modules do not type-check (Stryker marks them @ts-nocheck); tsc still emits dist/ for the runner.
    buildCommand: 'npx tsc -p .',
    coverageAnalysis: 'off',
    concurrency,
    // A mutant's run may be slowed by the neighbour's; an infinite loop is still cut after baseline x 1.5 + 20 s (the machine is shared: a loaded neighbour must not pass for a timeout).
    timeoutMS: 20_000,
    // Build outputs, caches and reports need no copy in the sandbox (tsc writes a fresh dist/ there).
    // And never the sandboxes of groups running beside this one (.stryker-tmp/<other group>).
    ignorePatterns: ['/dist', '/out', '/.vrio-cache', '/reports', '/bench/results', '*.log', '/.stryker-tmp'],
    // One temp dir per group: two groups may run side by side, and each run deletes its own when done.
    tempDirName: `.stryker-tmp/${g.name}`,
    reporters: ['html', 'json', 'progress'],
    htmlReporter: { fileName: join(dir, 'index.html') },
    jsonReporter: { fileName: join(dir, 'mutation.json') },
    cleanTempDir: 'always',
  };
}

function run(g) {
  const dir = join(out, g.name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'stryker.config.json');
  writeFileSync(config, JSON.stringify(strykerConfig(g), null, 2) + '\n');
  console.log(`== ${g.name}: ${g.mutate.join(', ')} (tests: ${g.tests.join(', ')})`);
  const t0 = Date.now();
  const r = spawnSync(join(root, 'node_modules', '.bin', 'stryker'), ['run', config], { cwd: root, stdio: 'inherit' });
  const seconds = Math.round((Date.now() - t0) / 1000);
  writeFileSync(join(dir, 'time.json'), JSON.stringify({ seconds, concurrency, finished: new Date().toISOString() }) + '\n');
  if (r.status !== 0) {
    console.error(`scripts/mutate.mjs: stryker failed for group ${g.name} (exit ${r.status ?? r.signal})`);
    return false;
  }
  return true;
}

// Detected = killed or timed out; the score is detected / (every mutant that compiled and was not disabled),
// so a mutant no test reaches (NoCoverage) counts as a survivor.
const COUNTED = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'RuntimeError'];
function tally(mutants) {
  const n = (s) => mutants.filter((m) => m.status === s).length;
  const detected = n('Killed') + n('Timeout') + n('RuntimeError');
  const total = mutants.filter((m) => COUNTED.includes(m.status)).length;
  return { total, detected, survived: n('Survived') + n('NoCoverage'), ignored: n('Ignored'), score: total ? (100 * detected) / total : 100 };
}

/** reports/mutation/<group>/survivors.txt: file:line:column, mutator, the line and the replacement; what a new test should kill. */
function survivors(g, files) {
  const lines = [];
  for (const [f, v] of Object.entries(files)) {
    const src = v.source.split('\n');
    for (const m of v.mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')) {
      const at = m.location.start;
      lines.push(`${f}:${at.line}:${at.column} ${m.mutatorName} ${m.status}\n  ${src[at.line - 1].trim()}\n  => ${(m.replacement ?? '').replace(/\s+/g, ' ')}`);
    }
  }
  writeFileSync(join(out, g.name, 'survivors.txt'), lines.join('\n') + '\n');
}

function table() {
  const rows = [];
  let mutants = 0;
  let seconds = 0;
  for (const g of groups) {
    const report = join(out, g.name, 'mutation.json');
    if (!existsSync(report)) {
      rows.push(`| ${g.name} | (not run) | | | | | | |`);
      continue;
    }
    const files = JSON.parse(readFileSync(report, 'utf8')).files;
    survivors(g, files);
    const time = JSON.parse(readFileSync(join(out, g.name, 'time.json'), 'utf8'));
    seconds += time.seconds;
    // The group's wall time, shown on its first row.
    let run = `${(time.seconds / 60).toFixed(1)} min (${time.concurrency} parallel)`;
    for (const f of Object.keys(files).sort()) {
      const t = tally(files[f].mutants);
      mutants += t.total;
      rows.push(`| ${g.name} | ${f} | ${t.total} | ${t.detected} | ${t.survived} | ${t.ignored} | ${t.score.toFixed(1)}% | ${run} |`);
      run = '';
    }
  }
  const text = [
    '| group | module | mutants | killed | survived | disabled | score | run |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    `${mutants} mutants, ${(seconds / 60).toFixed(1)} min in all (the sum of the groups' last runs).`,
    '',
  ].join('\n');
  writeFileSync(join(out, 'scores.md'), text);
  console.log(text);
}

let ok = true;
// In the order asked for (the quick groups first when iterating), else in the file's order.
const chosen = wanted.length === 0 ? groups : wanted.map((w) => groups.find((g) => g.name === w));
if (!tableOnly) for (const g of chosen) ok = run(g) && ok;
table();
process.exit(ok ? 0 : 1);
