// Config fragments: parsing with line-numbered errors, merge order (later
// wins), verification against the final .config with the reason a symbol did
// not stick, and the menuconfig delta written back as a fragment.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configDelta, renderFragment } from '../../builder/kernel/delta.js';
import {
  applyToConfig,
  explainAll,
  fragmentPath,
  loadFragments,
  mergeFragments,
  parseConfig,
  parseFragment,
  verifyConfig,
} from '../../builder/kernel/fragments.js';
import { InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';

describe('fragments', () => {
  it('parse y/m/n/number/string and "is not set"', () => {
    const f = parseFragment('t', 't.config', '# c\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=16\nCONFIG_E="console=ttyS0"\nCONFIG_F=0x1000\n');
    assert.deepEqual(
      f.entries.map((e) => [e.symbol, e.value, e.line]),
      [
        ['A', 'y', 2],
        ['B', 'm', 3],
        ['C', 'n', 4],
        ['D', '16', 5],
        ['E', '"console=ttyS0"', 6],
        ['F', '0x1000', 7],
      ],
    );
  });

  it('reject a malformed line with file and line number', () => {
    assert.throws(
      () => parseFragment('t', 'frag.config', 'CONFIG_A=y\nCONFIG_B=maybe\nVIRTIO=y\n'),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.deepEqual(
          e.issues.map((i) => [i.file, i.line, i.rule]),
          [
            ['frag.config', 2, 'kconfig-value'],
            ['frag.config', 3, 'kconfig-line'],
          ],
        );
        return true;
      },
    );
  });

  it('let a later fragment win', () => {
    const a = parseFragment('base', 'base.config', 'CONFIG_TUN=y\nCONFIG_X=y\n');
    const b = parseFragment('iohyp', 'iohyp.config', 'CONFIG_TUN=m\n# CONFIG_X is not set\n');
    const m = mergeFragments([a, b]);
    assert.equal(m.get('TUN')?.value, 'm');
    assert.equal(m.get('TUN')?.file, 'iohyp.config');
    assert.equal(m.get('X')?.value, 'n');
  });

  it('write merged values over a .config: replace in place, append new', () => {
    const m = mergeFragments([parseFragment('f', 'f', 'CONFIG_A=m\nCONFIG_NEW=y\n# CONFIG_B is not set\n')]);
    const out = applyToConfig('CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n', m);
    assert.equal(out, 'CONFIG_A=m\n# CONFIG_B is not set\n# CONFIG_C is not set\nCONFIG_NEW=y\n');
    assert.deepEqual(
      [...parseConfig(out)],
      [
        ['A', 'm'],
        ['B', 'n'],
        ['C', 'n'],
        ['NEW', 'y'],
      ],
    );
  });

  it('ship every built-in fragment parseable, with the options the roles need', () => {
    const frags = loadFragments(['base', 'qemu', 'vrio', 'iohyp', 'guest', 'small'], '/');
    // Both roles: base + qemu + vrio + the role's own fragment, the same options for both
    // (so one kernel build serves both roles).
    for (const role of [frags[3], frags[4]]) {
      const merged = mergeFragments([...frags.slice(0, 3), role]);
      for (const s of ['MACVLAN', 'MACVTAP', 'TUN', 'BRIDGE', 'STP', 'LLC']) assert.equal(merged.get(s)?.value, 'm', `${role.name}: ${s}`);
      assert.equal(merged.get('EXT2_FS')?.value, 'y', `${role.name}: EXT2_FS`);
    }
    assert.deepEqual([frags[3].entries, frags[4].entries], [[], []], 'no role-only options: one kernel for both roles');
    const merged = mergeFragments(frags.slice(0, 4));
    for (const s of ['VIRTIO_PCI', 'VIRTIO_NET', 'VIRTIO_BLK', 'BLK_DEV_RAM', 'DEVTMPFS', 'BLK_DEV_INITRD', 'SERIAL_8250_CONSOLE', 'EFI'])
      assert.equal(merged.get(s)?.value, 'y', s);
    for (const s of ['MODULE_SIG', 'FTRACE', 'DEBUG_INFO']) assert.equal(merged.get(s)?.value, 'n', s);
    assert.equal(fragmentPath('base', '/x'), dataPath('kernel-config/fragments/base.config'));
    assert.equal(fragmentPath('extra.config', '/x'), '/x/extra.config');
  });

  it('name an unknown fragment and list the built-in ones', () => {
    assert.throws(
      () => loadFragments(['bsae'], '/'),
      (e: unknown) => e instanceof InputError && /'bsae' not found/.test(e.message) && /base/.test(e.issues[0].hint ?? ''),
    );
  });
  it('say that a name with a dot was read as a path beside the manifest, not as a built-in name', () => {
    assert.throws(
      () => loadFragments(['vrio-6.1'], '/nonexistent-manifest-dir'),
      (e: unknown) =>
        e instanceof InputError &&
        /file 'vrio-6\.1' not found \(a name with a dot or slash is a path relative to the manifest\)/.test(e.message) &&
        e.issues[0].file === '/nonexistent-manifest-dir/vrio-6.1' &&
        /write the file \/nonexistent-manifest-dir\/vrio-6\.1, or name a built-in fragment/.test(e.issues[0].hint ?? ''),
    );
  });
});

describe('verification', () => {
  // A real (tiny) Kconfig tree, read by the same code that reads a kernel's.
  function kconfigTree(): string {
    const dir = mkdtempSync(join(tmpdir(), 'vrio-kconfig-'));
    mkdirSync(join(dir, 'drivers', 'block'), { recursive: true });
    writeFileSync(
      join(dir, 'drivers', 'block', 'Kconfig'),
      [
        'menuconfig BLK_DEV',
        '\tbool "Block devices"',
        '\tdepends on BLOCK',
        '',
        'if BLK_DEV',
        'config VIRTIO_BLK',
        '\ttristate "Virtio block driver"',
        '\tdepends on VIRTIO',
        'endif',
        '',
        'config STP',
        '\ttristate',
        '',
        'config BRIDGE',
        '\ttristate "bridging"',
        '\tselect STP',
        '',
      ].join('\n'),
    );
    return dir;
  }

  it('report the wanted and actual value and the unmet dependency', () => {
    const tree = kconfigTree();
    const wanted = mergeFragments([parseFragment('qemu', 'qemu.config', 'CONFIG_VIRTIO_BLK=y\nCONFIG_BLK_DEV=y\nCONFIG_STP=y\nCONFIG_NOPE=y\n')]);
    const final = 'CONFIG_VIRTIO=y\n# CONFIG_BLOCK is not set\n';
    const mism = verifyConfig(final, wanted);
    assert.deepEqual(mism.map((m) => [m.entry.symbol, m.entry.value, m.actual]).sort(), [
      ['BLK_DEV', 'y', 'n'],
      ['NOPE', 'y', 'n'],
      ['STP', 'y', 'n'],
      ['VIRTIO_BLK', 'y', 'n'],
    ]);
    const why = Object.fromEntries(explainAll(tree, final, mism).map((m) => [m.entry.symbol, m.reason]));
    assert.match(why.BLK_DEV, /unmet dependency: depends on BLOCK \(BLOCK=n\)/);
    assert.match(why.VIRTIO_BLK, /unmet dependency: depends on BLK_DEV \(BLK_DEV=n\)/);
    assert.match(why.STP, /no prompt.*BRIDGE/);
    assert.match(why.NOPE, /no such symbol/);
  });

  it('accept a config that has every wanted value', () => {
    const wanted = mergeFragments([parseFragment('f', 'f', 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n')]);
    assert.deepEqual(verifyConfig('CONFIG_A=y\nCONFIG_C=m\n', wanted), []);
  });
});

describe('menuconfig delta', () => {
  it('turn a .config change into a fragment, merged with an existing one', () => {
    const before = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\nCONFIG_S="x"\n';
    const after = 'CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_S="y"\n';
    const d = configDelta(before, after);
    assert.deepEqual(d, [
      { symbol: 'B', before: 'n', after: 'y' },
      { symbol: 'C', before: 'm', after: 'n' },
      { symbol: 'S', before: '"x"', after: '"y"' },
    ]);
    const text = renderFragment(d, 'test', 'CONFIG_B=m\nCONFIG_Z=y\n');
    assert.equal(text, '# test\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_S="y"\nCONFIG_Z=y\n');
    // What we write is itself a valid fragment.
    assert.equal(parseFragment('w', 'w', text).entries.length, 4);
  });

  it('ship fixes dir with a README only (an empty fixes series is fine)', () => {
    const dir = dataPath('kernel-config/patches/3.10/fixes');
    assert.ok(readdirSync(dir).includes('README.md'));
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /kernel\.fixes/);
  });
});
