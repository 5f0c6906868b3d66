// `vrio lab ssh NAME --json -- CMD`: the remote command's own output as typed
// events, so the stream stays one JSON event per line (cli/events.schema.json):
// each line it writes becomes a `remote-output` event naming its stream, in
// the order the lines arrive; the caller ends the stream with the result line
// carrying the command's exit code. Interactive sessions cannot be wrapped.
import { spawn } from 'node:child_process';
import type { Logger } from '../lib/log.js';

/** Runs `cmd args`, each output line as a `remote-output` event; resolves to its exit code (signal: 128+n). */
export function runAsEvents(cmd: string, args: string[], log: Logger): Promise<number> {
  return new Promise((resolveCode, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
    const emit = (stream: 'stdout' | 'stderr', text: string) => log.event('remote-output', { stream, text });
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        const lines = (pending[stream] + chunk).split('\n');
        pending[stream] = lines.pop()!;
        for (const l of lines) emit(stream, l);
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // A last line without a newline is still output.
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) emit(stream, pending[stream]);
      resolveCode(code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 1));
    });
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
