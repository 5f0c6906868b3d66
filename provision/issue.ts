// An inventory problem as the checks find it: file, JSON pointer, rule and
// message, no position yet. The loader (inventory.ts) adds line:column from the
// parsed YAML. Its own module so the semantic checks and the files: checks they
// call can both name it without importing each other.
import type { InputIssue } from '../lib/errors.js';

export type Issue = Omit<InputIssue, 'line' | 'column'>;
