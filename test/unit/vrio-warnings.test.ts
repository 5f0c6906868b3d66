// The warning list the 6.1 W=1/sparse guard (lab-61.test.ts) asserts empty:
// real lines of a `make C=2 W=1 M=...` log of the vRIO drivers before the
// port's 0009/0010, compiler and sparse, with their context lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kbuildWarnings } from '../support/vrio-warnings.js';

const LOG = `make[1]: Entering directory '/o/obj'
  CC [M]  /tmp/x/vrio/eth/eth.c
  CHECK   /tmp/x/vrio/eth/eth.c
/tmp/x/vrio/eth/eth.c:45:5: warning: symbol 'extensive_unit_test' was not declared. Should it be static?
/tmp/x/vrio/eth/eth.c:74:21: warning: no previous prototype for ‘rx_handler’ [-Wmissing-prototypes]
   74 | rx_handler_result_t rx_handler(struct sk_buff **pskb) {
      |                     ^~~~~~~~~~
In file included from /tmp/x/vrio/eth/eth.c:20:
/src/include/linux/vrio/trace.h: In function ‘tprintk’:
/src/include/linux/vrio/trace.h:136:9: warning: variable ‘len’ set but not used [-Wunused-but-set-variable]
/src/include/linux/vrio/trace.h:136:9: warning: variable ‘len’ set but not used [-Wunused-but-set-variable]
/tmp/x/vrio/eth/eth.c:186:15: warning: incorrect type in assignment (different address spaces)
/tmp/x/vrio/eth/eth.c:186:15:    expected struct in_ifaddr *ifap
/tmp/x/vrio/eth/eth.c:186:15:    got struct in_ifaddr [noderef] __rcu *ifa_list
/tmp/x/vrio/eth/eth.c:53:12: error: static declaration of ‘is_using_rdtsc’ follows non-static declaration
/tmp/x/vrio/eth/eth.c:60:6: note: previous declaration of ‘is_using_rdtsc’ with type ‘int’
  LD [M]  /tmp/x/vrio/eth/vrio_eth.ko
`;

describe('kbuildWarnings', () => {
  it('lists each compiler and sparse warning or error once, paths relative to the module copy and the tree, without context lines', () => {
    assert.deepEqual(kbuildWarnings(LOG, ['/tmp/x', '/src']), [
      'include/linux/vrio/trace.h:136:9: warning: variable ‘len’ set but not used [-Wunused-but-set-variable]',
      'vrio/eth/eth.c:186:15: warning: incorrect type in assignment (different address spaces)',
      "vrio/eth/eth.c:45:5: warning: symbol 'extensive_unit_test' was not declared. Should it be static?",
      'vrio/eth/eth.c:53:12: error: static declaration of ‘is_using_rdtsc’ follows non-static declaration',
      'vrio/eth/eth.c:74:21: warning: no previous prototype for ‘rx_handler’ [-Wmissing-prototypes]',
    ]);
  });

  it('a clean build has none', () => {
    assert.deepEqual(
      kbuildWarnings('  CC [M]  /tmp/x/vrio/eth/eth.c\n  CHECK   /tmp/x/vrio/eth/eth.c\n  LD [M]  /tmp/x/vrio/eth/vrio_eth.ko\n', ['/tmp/x']),
      [],
    );
  });
});
