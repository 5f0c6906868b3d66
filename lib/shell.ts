// Turning argument arrays into one POSIX sh command line: the one quoting
// module (SSH commands of provision, smoke and the lab, Ansible INI values).
// Every value that reaches a remote shell goes through quote(): commands are
// never built by concatenating user input.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Single-quote a word for POSIX sh (busybox ash, dash, bash). */
export function quote(word: string): string {
  if (word === '') return "''";
  if (SAFE.test(word)) return word;
  if (/[\u0000]/.test(word)) throw new Error('NUL byte in a shell word');
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quote).join(' ');
}

/** argv for running a fixed script with positional arguments: sh -c SCRIPT sh ARG... */
export function shScript(script: string, args: readonly string[] = []): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
