// One option table per verb drives parsing, help, completion and the man page
// (issue #18): every short flag means one thing in every verb, lists take
// commas and repeats, help fits 80 columns, -V, -C DIR, VRIO_MANIFEST,
// --set KEY=VALUE checked like the manifest file, `lab ssh NAME cmd -x` without
// `--`, and the generated completion scripts and man page work in the real
// shells and man.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAllCommands } from '../../cli/commands/index.js';
import { commands } from '../../cli/commands/index.js';
import { optionsOf, RESERVED_SHORTS, withPassthrough } from '../../cli/options.js';
import { which } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { eventOf, tempDir, vrio } from '../support/cli.js';

const tmp = tempDir('vrio-cli-options-');
after(tmp.cleanup);
const bin = join(packageRoot(), 'dist/cli/bin.js');

describe('option tables', () => {
  it('gives every short flag one meaning across all verbs (the reserved one)', async () => {
    const meanings = new Map<string, Set<string>>();
    for (const c of await loadAllCommands()) {
      for (const [long, o] of Object.entries(optionsOf(c))) {
        if (!o.short) continue;
        meanings.set(o.short, (meanings.get(o.short) ?? new Set()).add(`--${long}`));
      }
    }
    for (const [short, longs] of meanings) {
      assert.equal(longs.size, 1, `-${short} means ${[...longs].join(' and ')}`);
      assert.equal([...longs][0], `--${RESERVED_SHORTS[short]}`, `-${short} is reserved for --${RESERVED_SHORTS[short] ?? '(nothing)'}`);
    }
  });

  it('keeps every help line within 80 columns', () => {
    const pages = [['--help'], ['lab'], ['provision'], ...commands.map((c) => [...c.name.split(' '), '--help'])];
    for (const args of pages) {
      const r = vrio(args);
      for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, `vrio ${args.join(' ')}: ${line.length} columns: ${line}`);
    }
  });

  it('groups options under headings', () => {
    const r = vrio(['build', '--help']);
    assert.match(r.stdout, /\nOptions:\n[\s\S]*\nManifest options:\n[\s\S]*\nGlobal options:\n/);
  });

  it('prints the version with -V and --version', () => {
    const v = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
    for (const f of ['-V', '--version']) assert.equal(vrio([f]).stdout.trim(), v, f);
  });
});

describe('list options take commas and repeats', () => {
  it('--for a,b is --for a --for b', () => {
    const tools = (args: string[]) =>
      (eventOf(vrio(['doctor', '--json', ...args]).stdout, 'doctor') as { tools: { name: string }[] }).tools.map((t) => t.name).sort();
    const comma = tools(['--for', 'build,smoke']);
    assert.deepEqual(tools(['--for', 'build', '--for', 'smoke']), comma);
    assert.ok(comma.length > tools(['--for', 'smoke']).length);
  });

  it('--role a,b names each role', () => {
    const r = vrio(['image', '--role', 'guest,gust', '-o', join(tmp.dir, 'out'), '--cache-dir', join(tmp.dir, 'cache')], { cwd: tmp.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no role 'gust'/);
  });

  it("--firmware bios,uefi (the README's form) is accepted; an unknown item is exit 2 naming it", () => {
    const ok = vrio(['smoke', join(tmp.dir, 'no-such-image'), '--firmware', 'bios,uefi', '--media', 'cdrom']);
    assert.doesNotMatch(ok.stderr, /--firmware|--media/);
    const bad = vrio(['smoke', join(tmp.dir, 'no-such-image'), '--firmware', 'bios,floppy']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--firmware floppy: must be bios, uefi or both/);
  });
});

describe('-C DIR, VRIO_MANIFEST and --set', () => {
  const proj = join(tmp.dir, 'proj');
  mkdirSync(proj, { recursive: true });
  writeFileSync(join(proj, 'vrio.yaml'), 'kernel:\n  jobs: 3\n');
  const other = join(tmp.dir, 'other.yaml');
  writeFileSync(other, 'kernel:\n  jobs: 5\n');
  const show = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = vrio([...args, 'config', 'show', '--json'], { cwd: tmp.dir, env });
    assert.equal(r.code, 0, r.stderr);
    return eventOf(r.stdout, 'config') as {
      manifest: string | null;
      config: { kernel: { jobs?: number }; image: { formats: string[] } };
      origins: Record<string, string>;
    };
  };

  it('-C DIR reads DIR/vrio.yaml as if started there', () => {
    const j = show(['-C', proj]);
    assert.equal(j.manifest, join(proj, 'vrio.yaml'));
    assert.equal(j.config.kernel.jobs, 3);
    const bad = vrio(['-C', join(tmp.dir, 'nope'), 'config', 'show']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-C .*nope: not a directory/);
  });

  it('VRIO_MANIFEST names the manifest; --manifest wins over it', () => {
    assert.equal(show([], { VRIO_MANIFEST: other }).config.kernel.jobs, 5);
    assert.equal(show(['-m', join(proj, 'vrio.yaml')], { VRIO_MANIFEST: other }).config.kernel.jobs, 3);
  });

  it('--set overrides a value, records where it came from, and parses YAML values', () => {
    const j = show(['-C', proj], {});
    assert.equal(j.config.kernel.jobs, 3);
    const r = vrio(['-C', proj, 'config', 'show', '--json', '--set', 'kernel.jobs=7', '--set', 'image.formats=[iso, tar]']);
    assert.equal(r.code, 0, r.stderr);
    const k = eventOf(r.stdout, 'config');
    assert.equal(k.config.kernel.jobs, 7);
    assert.deepEqual(k.config.image.formats, ['iso', 'tar']);
    assert.equal(k.origins['/kernel/jobs'], 'command line (--set kernel.jobs=7)');
  });

  it('a bad --set is exit 2 naming --set, the JSON pointer and the rule', () => {
    const cases: [string, RegExp][] = [
      ['kernel.jobs=x', /--set kernel\.jobs=x: \/kernel\/jobs: must be integer \[type\]/],
      [
        'image.compresion=gzip',
        /--set image\.compresion=gzip: \/image\/compresion: unknown key 'compresion' \[additionalProperties\][\s\S]*did you mean 'compression'/,
      ],
      ['image.compression=lz4', /--set image\.compression=lz4: \/image\/compression: must be one of: gzip, zstd, none \[enum\]/],
      ['kernel.jobs', /--set kernel\.jobs: \(root\): expected KEY=VALUE \[key=value\]/],
    ];
    for (const [arg, re] of cases) {
      const r = vrio(['config', 'show', '--set', arg], { cwd: tmp.dir });
      assert.equal(r.code, 2, arg);
      assert.match(r.stderr, re, arg);
    }
    const j = vrio(['--json', 'config', 'show', '--set', 'kernel.jobs=-1'], { cwd: tmp.dir });
    const ev = eventOf(j.stdout, 'error');
    assert.deepEqual([ev.issues[0].file, ev.issues[0].pointer], ['--set kernel.jobs=-1', '/kernel/jobs']);
  });
});

describe('vrio lab ssh NAME COMMAND... without --', () => {
  it('passes the remote command and its options to ssh untouched', () => {
    const state = join(tmp.dir, 'lab');
    const fake = join(tmp.dir, 'fakebin');
    mkdirSync(state, { recursive: true });
    mkdirSync(fake, { recursive: true });
    // A stand-in ssh that prints its arguments, one a line.
    writeFileSync(join(fake, 'ssh'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n');
    chmodSync(join(fake, 'ssh'), 0o755);
    const vm = { name: 'guest1', role: 'guest', image: '', pid: 1, sshPort: 2222, serialLog: '', qemuLog: '', memoryMiB: 1, nics: [], pins: [] };
    writeFileSync(
      join(state, 'lab.json'),
      JSON.stringify({ format: 'vrio-lab-state/1', dir: state, clientKey: join(state, 'id'), vms: [vm], hubs: [], phase: 'verified', timings: {} }),
    );
    const r = vrio(['lab', 'ssh', '--state-dir', state, 'guest1', 'ls', '-la', '--color', '-v', '/tmp'], { env: { PATH: `${fake}:${process.env.PATH}` } });
    assert.equal(r.code, 0, r.stderr);
    const args = r.stdout.trim().split('\n');
    assert.deepEqual(args.slice(args.indexOf('root@127.0.0.1')), ['root@127.0.0.1', 'ls', '-la', '--color', '-v', '/tmp']);
  });

  it('inserts -- after the first positional only', () => {
    const o = { 'state-dir': { type: 'string' as const, description: '' }, json: { type: 'boolean' as const, description: '' } };
    assert.deepEqual(withPassthrough(['--state-dir', 'x', '--json', 'g1', 'ls', '-l'], o), ['--state-dir', 'x', '--json', 'g1', '--', 'ls', '-l']);
    assert.deepEqual(withPassthrough(['--state-dir=x', 'g1'], o), ['--state-dir=x', 'g1', '--']);
  });
});

describe('generated completion scripts and man page', () => {
  const script = (shell: string) => {
    const r = vrio(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    const f = join(tmp.dir, `vrio.${shell}`);
    writeFileSync(f, r.stdout);
    return f;
  };
  // Each case: the words typed (the last one being completed) -> what must be offered.
  const cases: [string[], string[]][] = [
    [
      ['vrio', ''],
      ['build', 'lab', 'provision', 'completion'],
    ],
    [
      ['vrio', 'lab', ''],
      ['up', 'down', 'status', 'ssh'],
    ],
    [
      ['vrio', '-C', '/tmp', 'lab', 's'],
      ['status', 'ssh'],
    ],
    [
      ['vrio', 'smoke', '--firmware', ''],
      ['bios', 'uefi', 'both'],
    ],
    [['vrio', 'smoke', '--media', 'cdrom,'], ['cdrom,disk']],
    [
      ['vrio', 'provision', 'apply', '-'],
      ['-i', '--limit', '-f', '--forks', '--json'],
    ],
    [['vrio', 'kernel', 'menuconfig', '--fr'], ['--fragment']],
    [['vrio', 'doctor', '--for', 'sm'], ['smoke']],
  ];

  it('bash: registers a completion and completes verbs, options and values', () => {
    const f = script('bash');
    const sim = cases
      .map(([w]) => `COMP_WORDS=(${w.map((x) => `'${x}'`).join(' ')}); COMP_CWORD=${w.length - 1}; COMPREPLY=(); _vrio; echo "\${COMPREPLY[*]}"`)
      .join('\n');
    const r = spawnSync('bash', ['-c', `source ${f}; complete -p vrio; ${sim}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [reg, ...outs] = r.stdout.split('\n');
    assert.equal(reg, 'complete -F _vrio vrio');
    cases.forEach(([w, want], i) => {
      for (const x of want) assert.ok(outs[i].split(' ').includes(x), `${w.join(' ')} -> ${outs[i]} lacks ${x}`);
    });
    const source = spawnSync('bash', ['-c', `source <(${process.execPath} ${bin} completion bash); complete -p vrio`], { encoding: 'utf8' });
    assert.equal(source.stdout.trim(), 'complete -F _vrio vrio', source.stderr);
  });

  it('zsh: the same completion through bashcompinit', { skip: which('zsh') ? false : 'zsh not installed (scripts/apt-packages.txt)' }, () => {
    const f = script('zsh');
    const sim = cases
      .map(([w]) => `COMP_WORDS=(${w.map((x) => `'${x}'`).join(' ')}); COMP_CWORD=${w.length - 1}; COMPREPLY=(); _vrio; print -r -- "\${COMPREPLY[*]}"`)
      .join('\n');
    // compinit, then the script; ksharrays as zsh's _bash_complete sets it when TAB runs _vrio.
    const r = spawnSync(
      'zsh',
      ['-f', '-c', `autoload -U compinit && compinit -u -d ${tmp.dir}/zcompdump; source ${f}; print -r -- \${_comps[vrio]}; setopt ksharrays; ${sim}`],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const [reg, ...outs] = r.stdout.split('\n');
    assert.equal(reg, '_bash_complete -F _vrio');
    cases.forEach(([w, want], i) => {
      for (const x of want) assert.ok(outs[i].split(' ').includes(x), `${w.join(' ')} -> ${outs[i]} lacks ${x}`);
    });
  });

  it('fish: completes verbs, options and values', { skip: which('fish') ? false : 'fish not installed (scripts/apt-packages.txt)' }, () => {
    const f = script('fish');
    const sim = cases.map(([w]) => `echo (complete -C '${w.join(' ')}' | string split -f1 \\t)`).join('; ');
    const r = spawnSync('fish', ['--no-config', '-c', `source ${f}; ${sim}`], { encoding: 'utf8', env: { ...process.env, HOME: tmp.dir } });
    assert.equal(r.status, 0, r.stderr);
    const outs = r.stdout.split('\n');
    cases.forEach(([w, want], i) => {
      // fish lists a short option as -x; a list value after a comma is not offered (fish completes whole words).
      for (const x of want.filter((y) => !y.includes(','))) assert.ok(outs[i].split(' ').includes(x), `${w.join(' ')} -> ${outs[i]} lacks ${x}`);
    });
  });

  it('the man page renders without warnings and lists every verb and option', async () => {
    const r = vrio(['man']);
    assert.equal(r.code, 0, r.stderr);
    const f = join(tmp.dir, 'vrio.1');
    writeFileSync(f, r.stdout);
    const g = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', f], { encoding: 'utf8' });
    assert.equal(g.status, 0);
    assert.equal(g.stderr, '', 'groff warnings');
    const m = spawnSync('man', ['-l', f], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
    assert.equal(m.status, 0, m.stderr);
    const text = m.stdout.replace(/.\x08/g, '');
    for (const c of await loadAllCommands()) {
      assert.ok(text.includes(`vrio ${c.name}`), c.name);
      for (const long of Object.keys(c.options ?? {})) assert.ok(text.includes(`--${long}`), `${c.name} --${long}`);
    }
  });
});
