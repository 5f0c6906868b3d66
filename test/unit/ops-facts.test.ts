// The facts script is plain POSIX sh: run it (read-only) on this machine with
// dash and busybox ash and compare with what Node reads directly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { describe, it } from 'node:test';
import { factsCommand, parseFacts } from '../../provision/facts.js';
import { prerequisite } from '../support/prereq.js';

const shells: [string, string[]][] = [
  ['dash', ['sh']],
  ['busybox ash', ['busybox', 'sh']],
];

describe('facts script on this machine', () => {
  for (const [name, prefix] of shells) {
    const skip = prerequisite(existsSync('/bin/busybox') || name === 'dash' ? false : 'busybox not installed');
    it(`${name}: kernel, NICs and sysctls match what the kernel reports`, { skip }, () => {
      const argv = factsCommand({ modules: [], ethtool: ['lo'] });
      const out = execFileSync(prefix[0], [...prefix.slice(1), ...argv.slice(1)], { encoding: 'utf8' });
      const f = parseFacts(out);
      assert.equal(f.kernel, release());
      assert.equal(f.modulesSupported, existsSync('/proc/modules'));
      for (const n of readdirSync('/sys/class/net')) {
        assert.equal(f.nics[n]?.mtu, Number(readFileSync(`/sys/class/net/${n}/mtu`, 'utf8')), `${n} mtu`);
        assert.equal(f.nics[n]?.mac, readFileSync(`/sys/class/net/${n}/address`, 'utf8').trim(), `${n} mac`);
      }
      const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' })) as {
        ifname: string;
        addr_info: { local: string; prefixlen: number }[];
      }[];
      for (const a of addrs)
        assert.deepEqual(
          f.nics[a.ifname].ipv4,
          a.addr_info.map((x) => `${x.local}/${x.prefixlen}`),
          `${a.ifname} addresses`,
        );
      for (const s of ['net.core.rmem_max', 'net.core.wmem_default'])
        assert.equal(f.sysctls[s], readFileSync(`/proc/sys/${s.replace(/\./g, '/')}`, 'utf8').trim(), s);
      assert.deepEqual(f.blockDevices.sort(), readdirSync('/sys/block').sort());
      assert.ok(f.memAvailableKiB > 0 && f.memTotalKiB >= f.memAvailableKiB);
    });
  }
  it('rejects truncated output (a host that died mid-script)', () => {
    assert.throws(() => parseFacts('@kernel 6.1\n@mem MemTotal: 1\n'), /incomplete/);
  });
});
