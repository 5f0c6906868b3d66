// The fake kernel (test/support/fake-kernel.ts) gives the same output as the
// real 3.10 kernel with kmod 30 for every step in kmod-checks.ts (module
// dependencies and use counts, rmmod of a module in use, Y/N bools, refused
// parameters), over real SSH. provision-qemu.test.ts runs the same steps on
// the real kernel under QEMU, so a fake that drifts fails here or there.
import { after, before, describe, it } from 'node:test';
import type { Connection } from '../../lib/ssh/client.js';
import { KERNEL_310_MODULES, startFakeKernelHost, type FakeKernelHost } from '../support/fake-kernel.js';
import { checkKmodStepsOn } from '../support/kmod-checks.js';
import { prerequisite } from '../support/prereq.js';
import { netnsSupport, sshdSupport } from '../support/sshd.js';

const skip = prerequisite(!sshdSupport().ok ? sshdSupport().reason : !netnsSupport().ok ? netnsSupport().reason : false);

describe('fake kernel: module behaviour as on the real 3.10 kernel', { skip }, () => {
  let host: FakeKernelHost;
  before(async () => {
    host = await startFakeKernelHost(KERNEL_310_MODULES);
  });
  after(async () => {
    await host?.stop();
  });

  it("every kmod step gives the real kernel's output", async (t) => {
    const s = host.sshd;
    const conn: Connection = {
      name: 'fake',
      address: s.host,
      port: s.port,
      user: s.user,
      identityFile: s.identityFile,
      hostKeys: { knownHostsFiles: [], pins: [s.hostKeyFingerprint] },
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 30_000,
      keepaliveMs: 5000,
      retries: 0,
    };
    await checkKmodStepsOn(conn, (l) => t.diagnostic(l));
  });
});
