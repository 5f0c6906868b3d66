// Every verb, one module each. A verb is listed here by the change that
// implements it: there are no placeholder verbs.
import type { Command } from '../command.js';
import { configSchemaCommand, configShowCommand } from './config.js';
import { doctorCommand } from './doctor.js';
import { fetchCommand } from './fetch.js';
import { kernelBuildCommand, kernelConfigCommand, kernelMenuconfigCommand } from './kernel.js';
import { cleanCommand } from './clean.js';
import { inventoryCheckCommand, inventoryImportCommand, inventorySchemaCommand } from './inventory.js';
import { provisionApplyCommand, provisionPlanCommand, provisionStatusCommand, provisionTeardownCommand } from './provision.js';
import { buildCommand } from './build.js';
import { imageCommand } from './image.js';
import { inspectCommand } from './inspect.js';
import { smokeCommand } from './smoke.js';
import { labDownCommand, labSshCommand, labStatusCommand, labUpCommand } from './lab.js';
import { benchCommand } from './bench.js';

export const commands: Command[] = [configShowCommand, configSchemaCommand, doctorCommand, fetchCommand, kernelBuildCommand, kernelConfigCommand, kernelMenuconfigCommand, cleanCommand, inventoryCheckCommand, inventorySchemaCommand, inventoryImportCommand, provisionPlanCommand, provisionApplyCommand, provisionTeardownCommand, provisionStatusCommand, buildCommand, imageCommand, inspectCommand, smokeCommand, labUpCommand, labDownCommand, labStatusCommand, labSshCommand, benchCommand];
