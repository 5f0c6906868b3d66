// Docs that match the code: every `vrio ...` command in a code block of the
// READMEs and docs/ (and every `run:` of the CI example) is parsed against the
// verbs' option tables, so renaming or removing a flag breaks this test until
// the docs follow.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkInvocation } from '../../cli/main.js';
import { packageRoot } from '../../lib/paths.js';

const root = packageRoot();

function walk(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), ext) : ext.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Shell lines of the code blocks of a Markdown file: fenced (any shell-ish info string) and indented. */
export function markdownShellLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  let fence: string | undefined;
  let shell = false;
  let prevBlank = true;
  let indented = false;
  lines.forEach((l, i) => {
    const f = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(l);
    if (f && (!fence || l.trim().startsWith(fence))) {
      if (fence) fence = undefined;
      else {
        fence = f[1];
        shell = ['', 'sh', 'bash', 'shell', 'console', 'shell-session'].includes(f[2]);
      }
      prevBlank = false;
      return;
    }
    if (fence) {
      if (shell) out.push({ line: i + 1, text: l });
      return;
    }
    // An indented code block starts after a blank line (not inside a list item's text).
    if (/^ {4}\S/.test(l) && (prevBlank || indented)) {
      indented = true;
      out.push({ line: i + 1, text: l.slice(4) });
    } else if (l.trim() !== '') indented = false;
    prevBlank = l.trim() === '';
  });
  return out;
}

/** Words of one shell command line, quotes removed; stops at a comment. `$VAR` stays literal. */
export function shellWords(line: string): string[][] {
  const commands: string[][] = [[]];
  let word = '';
  let has = false;
  let q: '"' | "'" | undefined;
  const end = () => {
    if (has) commands[commands.length - 1].push(word);
    word = '';
    has = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      has = true;
    } else if (/\s/.test(c)) end();
    else if (c === '#' && !has) break;
    else if (c === ';' || c === '|' || c === '&') {
      end();
      if (line[i + 1] === c) i++;
      commands.push([]);
    } else if (c === '>' || c === '<') {
      // A redirection ends the arguments: drop it and its target.
      end();
      if (/[0-9]/.test(commands[commands.length - 1].at(-1) ?? '')) commands[commands.length - 1].pop();
      while (line[i + 1] === '>' || line[i + 1] === '&') i++;
      while (i + 1 < line.length && /\s/.test(line[i + 1])) i++;
      while (i + 1 < line.length && !/[\s;|&]/.test(line[i + 1])) i++;
    } else {
      word += c;
      has = true;
    }
  }
  end();
  return commands.filter((c) => c.length);
}

/** `vrio` argument lists in a block of shell lines (continuations joined; env, sudo, npx dropped). */
export function vrioCommands(lines: { line: number; text: string }[]): { line: number; argv: string[]; text: string }[] {
  const out: { line: number; argv: string[]; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = lines[i].line;
    let text = lines[i].text.replace(/^\s*\$ /, '');
    while (/\\$/.test(text) && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i].text;
    for (let words of shellWords(text)) {
      while (words.length && (/^[A-Z_][A-Z0-9_]*=/.test(words[0]) || ['sudo', 'npx', 'exec', 'time'].includes(words[0]))) words = words.slice(1);
      // Synopses mark optional parts: `[--limit P]`, `IMAGE...` are checked as the words inside.
      if (words[0] === 'vrio')
        out.push({
          line: start,
          argv: words
            .slice(1)
            .map((w) => w.replace(/^\[+|\]+$|\.\.\.\]*$/g, ''))
            .filter(Boolean),
          text: text.trim(),
        });
    }
  }
  return out;
}

/** Inline code spans that start with `vrio ` and give options (verb tables, prose); `\\|` separates alternatives, the first is checked. */
export function inlineCommands(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    if (fenced) return;
    // Only spans with options: a bare `vrio smoke` in prose names the verb, it is not a command line.
    for (const m of l.matchAll(/`(vrio [^`]+)`/g)) if (/\s\[?-/.test(m[1])) out.push({ line: i + 1, text: m[1].split('\\|')[0] });
  });
  return out;
}

function docFiles(): string[] {
  return [
    join(root, 'README.md'),
    ...walk(join(root, 'docs'), /\.md$/),
    ...['bench', 'rootfs', 'kernel-config', 'provision'].map((d) => join(root, d, 'README.md')).filter(existsSync),
  ];
}

/** Every `run:` script of the YAML workflows under docs/, as shell lines. */
function workflowLines(file: string): { line: number; text: string }[] {
  const text = readFileSync(file, 'utf8');
  const runs: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === 'run' && typeof x === 'string' ? runs.push(x) : visit(x);
  };
  visit(parse(text));
  const all = text.split('\n');
  return runs.flatMap((r) => r.split('\n').map((l) => ({ line: all.findIndex((x) => x.includes(l.trim())) + 1, text: l })));
}

describe('vrio commands in the docs', () => {
  it('the extractor finds commands in fences, indented blocks, chains and continuations', () => {
    const md = [
      'text',
      '```sh',
      'sudo ./setup.sh && npx vrio build   # comment',
      'vrio lab status; vrio lab ssh guest1',
      'X=1 vrio smoke a \\',
      '  --firmware "bios,uefi" > out.jsonl',
      '```',
      '',
      '    vrio doctor --json',
      '',
    ].join('\n');
    assert.deepEqual(
      vrioCommands(markdownShellLines(md)).map((c) => c.argv),
      [['build'], ['lab', 'status'], ['lab', 'ssh', 'guest1'], ['smoke', 'a', '--firmware', 'bios,uefi'], ['doctor', '--json']],
    );
  });

  it('every command parses against the option tables', async () => {
    const failures: string[] = [];
    let n = 0;
    const files = [
      ...docFiles().map((f) => ({ f, lines: [...markdownShellLines(readFileSync(f, 'utf8')), ...inlineCommands(readFileSync(f, 'utf8'))] })),
      ...walk(join(root, 'docs'), /\.ya?ml$/).map((f) => ({ f, lines: workflowLines(f) })),
    ];
    for (const { f, lines } of files) {
      for (const c of vrioCommands(lines)) {
        n++;
        const err = await checkInvocation(c.argv);
        if (err) failures.push(`${relative(root, f)}:${c.line}: ${c.text}\n    ${err}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${n} documented commands are refused:\n${failures.join('\n')}`);
    assert.ok(n >= 20, `found ${n} documented vrio commands (the extractor broke?)`);
  });

  it("every verb's --help example parses against the option tables", async () => {
    const { loadAllCommands } = await import('../../cli/commands/index.js');
    const failures: string[] = [];
    for (const c of await loadAllCommands()) {
      for (const ex of vrioCommands(c.examples.map((text, i) => ({ line: i + 1, text })))) {
        const err = await checkInvocation(ex.argv);
        if (err) failures.push(`vrio ${c.name} --help: ${ex.text}\n    ${err}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('a changed flag is caught', async () => {
    assert.match((await checkInvocation(['smoke', 'img', '--check', 'true'])) ?? '', /Unknown option '--check'/);
    assert.match((await checkInvocation(['lab', 'up', '--checks', 'all'])) ?? '', /--checks all: must be basic or fixes/);
    assert.equal(await checkInvocation(['smoke', 'img', '--firmware', 'bios,uefi']), undefined);
  });
});
