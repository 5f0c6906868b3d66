// The statistics every benchmark figure goes through: medians (not means),
// ranges, the Ansible/vrio ratio and the build overhead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, overheadPercent, speedup, summarize } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('takes the middle sample, or the mean of the middle two', () => {
    assert.equal(median([3.2, 1.1, 2.5]), 2.5);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });

  it('is not moved by one run disturbed by a concurrent kernel build', () => {
    // Three warm Ansible runs, the last one hit by a parallel `make -j2`.
    const s = summarize([20.1, 19.8, 61.0]);
    assert.equal(s.median, 20.1);
    assert.equal(s.min, 19.8);
    assert.equal(s.max, 61.0);
    assert.deepEqual(s.runs, [20.1, 19.8, 61.0]);
  });

  it('refuses no samples and values that are not durations', () => {
    assert.throws(() => summarize([]), /no samples/);
    assert.throws(() => summarize([1, -0.5]), /not a duration/);
    assert.throws(() => summarize([1, Number.NaN]), /not a duration/);
  });

  it('states the ratio as how many times faster vrio is than Ansible', () => {
    const vrio = summarize([1.0, 1.2, 1.1]);
    const ansible = summarize([20.0, 22.0, 21.0]);
    assert.equal(speedup(vrio, ansible), 21 / 1.1);
    assert.equal(speedup(undefined, ansible), undefined, 'no vrio samples: no ratio');
    assert.equal(speedup(vrio, undefined), undefined, 'no Ansible samples: no ratio');
  });

  it('gives the build overhead in percent of the raw make time', () => {
    assert.equal(overheadPercent(110, 100), 10);
    assert.equal(overheadPercent(95, 100), -5);
    assert.throws(() => overheadPercent(1, 0), /positive/);
  });
});
