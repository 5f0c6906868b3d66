// vrio schema events: publish the --json event contract (cli/events.schema.json).
import { readFileSync } from 'node:fs';
import { dataPath } from '../../lib/paths.js';
import type { Command } from '../command.js';

export const schemaEventsCommand: Command = {
  name: 'schema events',
  summary: 'print the JSON Schema of the --json event stream (every line of every verb validates against it)',
  description:
    'With --json every verb writes one JSON event per line on stdout, each with \'type\' and the contract version \'v\', ending in exactly one {"type":"result","exitCode":N} line. This prints the schema those lines follow.',
  examples: ['vrio schema events > events.schema.json'],
  async run(ctx) {
    const text = readFileSync(dataPath('cli/events.schema.json'), 'utf8');
    if (ctx.global.json) ctx.log.event('schema', { name: 'events', schema: JSON.parse(text) });
    else ctx.log.print(text);
    return 0;
  },
};
