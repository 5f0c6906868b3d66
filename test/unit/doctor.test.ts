// `vrio doctor` names what is missing and which Debian package brings it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { doctor } from '../../builder/doctor.js';
import { which } from '../../lib/exec.js';
import { eventOf, tempDir, vrio } from '../support/cli.js';

const tmp = tempDir('vrio-doctor-');
after(tmp.cleanup);

/** A PATH holding links to every tool on the real PATH except `drop`. */
function pathWithout(drop: string[]): string {
  const bin = join(tmp.dir, `bin-${drop.join('-')}`);
  mkdirSync(bin, { recursive: true });
  for (const dir of (process.env.PATH ?? '').split(':')) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (drop.includes(n)) continue;
      try {
        symlinkSync(join(dir, n), join(bin, n));
      } catch {
        /* first one on PATH wins */
      }
    }
  }
  return bin;
}

describe('vrio doctor', () => {
  it('finds the tools this machine has', async () => {
    const r = await doctor(['build']);
    const make = r.tools.find((t) => t.name === 'make');
    assert.ok(make?.found && make.path === which('make'));
    assert.ok(r.gcc && r.gcc.major >= 4, 'gcc version is reported');
  });

  it('reports a removed tool with its Debian package and exits 3', () => {
    const path = pathWithout(['xorriso', 'bison']);
    const r = vrio(['doctor', '--for', 'build,image'], { env: { PATH: path } });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^xorriso +MISSING +xorriso /m);
    assert.match(r.stdout, /^bison +MISSING +bison /m);
    assert.match(r.stdout, /apt-get install -y .*bison.*xorriso/);
  });

  it('only checks the tools of the chosen verbs', () => {
    const path = pathWithout(['xorriso']);
    const r = vrio(['doctor', '--for', 'build', '--json'], { env: { PATH: path } });
    const report = eventOf(r.stdout, 'doctor');
    assert.equal(
      report.tools.some((t: { name: string }) => t.name === 'xorriso'),
      false,
    );
    assert.equal(r.code, 0);
  });

  it('rejects an unknown verb group', () => {
    const r = vrio(['doctor', '--for', 'bulid']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bulid/);
  });
});
