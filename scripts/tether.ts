#!/usr/bin/env node
/**
 * The `tether` command line. One file per command under commands/; this file only assembles them
 * and turns errors into a message and an exit code that means something (shared/errors.ts).
 */
import { Command, CommanderError } from 'commander';
import { reportError } from './cli/output.js';
import { deviceClaimCommand } from './commands/device-claim.js';
import { deviceDeleteCommand } from './commands/device-delete.js';
import { deviceListCommand } from './commands/device-list.js';
import { deviceMintCommand } from './commands/device-mint.js';
import { deviceReconfigureCommand } from './commands/device-reconfigure.js';
import { deviceRenameCommand } from './commands/device-rename.js';
import { deviceReprovisionCommand } from './commands/device-reprovision.js';
import { deviceShowCommand } from './commands/device-show.js';
import { deviceTransferCommand } from './commands/device-transfer.js';
import { deviceWriteCommand } from './commands/device-write.js';
import { gatewayStartCommand } from './commands/gateway-start.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { provisionCommand } from './commands/provision.js';
import { simDeviceCommand } from './commands/sim-device.js';
import { templateCreateCommand } from './commands/template-create.js';
import { templateEditCommand } from './commands/template-edit.js';
import { templateListCommand } from './commands/template-list.js';
import { templateShowCommand } from './commands/template-show.js';

export function buildProgram(): Command {
  const program = new Command('tether')
    .description(
      'Tether: activate IoT devices and tie each one to the account of the person who activated it.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();

  gatewayStartCommand(program.command('gateway').description('Run the gateway.'));
  loginCommand(program);
  logoutCommand(program);
  const template = program.command('template').description('Templates (products).');
  templateCreateCommand(template);
  templateListCommand(template);
  templateShowCommand(template);
  templateEditCommand(template);
  const device = program
    .command('device')
    .description('Devices: list, inspect, control, transfer, mint, claim.');
  deviceListCommand(device);
  deviceShowCommand(device);
  deviceRenameCommand(device);
  deviceWriteCommand(device);
  deviceDeleteCommand(device);
  deviceTransferCommand(device);
  deviceReconfigureCommand(device);
  deviceReprovisionCommand(device);
  deviceMintCommand(device);
  deviceClaimCommand(device);
  provisionCommand(program);
  const sim = program.command('sim').description('Simulated devices and fleets.');
  simDeviceCommand(sim);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportError(error, { json: argv.includes('--json') });
  }
}

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
