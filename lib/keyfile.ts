// Reading an SSH private key file the way OpenSSH does: a key file of ours that
// group or others may access is refused ("UNPROTECTED PRIVATE KEY FILE!").
//
// Refused, not just warned about: OpenSSH ignores such a key, so every setup
// that works with `ssh -i` works here too, and a key that leaked through its
// mode is noticed (and chmod'ed) instead of being used quietly by automation
// that nobody watches. Like OpenSSH, only files owned by the user are checked
// (a root-owned key readable through a group is the administrator's choice).
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ExitCode, VrioError } from './errors.js';

export class UnprotectedKeyError extends VrioError {
  constructor(file: string, mode: number) {
    super(
      `UNPROTECTED PRIVATE KEY FILE: permissions ${modeText(mode)} of ${file} are too open (group or others may access it); refusing to use it, as ssh does`,
      {
        exitCode: ExitCode.USAGE,
        hint: `chmod 600 ${file}`,
      },
    );
    this.name = 'UnprotectedKeyError';
  }
}

const modeText = (mode: number) => '0' + (mode & 0o777).toString(8).padStart(3, '0');

/** The key file's bytes; throws UnprotectedKeyError if its mode lets others at it, fs errors as they are. */
export function readPrivateKeyFile(file: string): Buffer {
  // One open file for the check and the read: the mode checked is the file read.
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.uid === process.getuid?.() && (st.mode & 0o077) !== 0) throw new UnprotectedKeyError(file, st.mode);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
