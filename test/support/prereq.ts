// What a test does when something it needs is missing. Outside CI it skips
// with the reason (a developer without QEMU or the vRIO sources still gets a
// useful run). Under CI=true a missing prerequisite is a failure: CI installs
// and starts everything the suite needs, so a skip there means a broken CI
// setup, and it must not come out green. scripts/test.sh also lists every
// skipped test at the end of the run and fails a CI run that has any.
import type { TestContext } from 'node:test';

export function strictPrerequisites(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export class MissingPrerequisite extends Error {
  constructor(reason: string) {
    super(`missing prerequisite under CI=true (a skip outside CI): ${reason}`);
    this.name = 'MissingPrerequisite';
  }
}

/**
 * For `describe(name, { skip: prerequisite(reason) })`: the reason (a skip)
 * outside CI; under CI a thrown error, which fails the test file at once.
 */
export function prerequisite(reason: string | false | undefined): string | false {
  if (!reason) return false;
  if (strictPrerequisites()) throw new MissingPrerequisite(reason);
  return reason;
}

/** Inside a test: skip with the reason outside CI, fail under CI. Returns true when the test must stop. */
export function lacks(t: TestContext, reason: string | false | undefined): boolean {
  if (!reason) return false;
  if (strictPrerequisites()) throw new MissingPrerequisite(reason);
  t.skip(reason);
  return true;
}
