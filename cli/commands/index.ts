// Every verb, one module each. A verb is listed here by the change that
// implements it: there are no placeholder verbs.
import type { Command } from '../command.js';
import { configSchemaCommand, configShowCommand } from './config.js';
import { doctorCommand } from './doctor.js';

export const commands: Command[] = [configShowCommand, configSchemaCommand, doctorCommand];
