/**
 * The `tether` command line. One file per command under commands/; this file only assembles them
 * and turns errors into a message and an exit code that means something (shared/errors.ts).
 * scripts/tether.ts runs it as a process; tests may call main() in their own.
 */
import { Command, CommanderError } from 'commander';
import { TETHER_VERSION } from '../../shared/version.js';
import { accountDeleteCommand } from '../commands/account-delete.js';
import { accountPasswordCommand } from '../commands/account-password.js';
import { accountShowCommand } from '../commands/account-show.js';
import { auditCommand } from '../commands/audit-list.js';
import { backupCommand } from '../commands/backup.js';
import { deviceClaimCommand } from '../commands/device-claim.js';
import { deviceDeleteCommand } from '../commands/device-delete.js';
import { deviceDisclaimCommand } from '../commands/device-disclaim.js';
import { deviceEventsCommand } from '../commands/device-events.js';
import { deviceListCommand } from '../commands/device-list.js';
import { deviceMintCommand } from '../commands/device-mint.js';
import { devicePingCommand } from '../commands/device-ping.js';
import { deviceReconfigureCommand } from '../commands/device-reconfigure.js';
import { deviceRedirectCommand } from '../commands/device-redirect.js';
import { deviceRenameCommand } from '../commands/device-rename.js';
import { deviceReprovisionCommand } from '../commands/device-reprovision.js';
import { deviceRevokeCommand } from '../commands/device-revoke.js';
import { deviceShowCommand } from '../commands/device-show.js';
import { deviceTransferCommand } from '../commands/device-transfer.js';
import { deviceWatchCommand } from '../commands/device-watch.js';
import { deviceWriteCommand } from '../commands/device-write.js';
import { doctorCommand } from '../commands/doctor.js';
import { gatewayServiceCommand } from '../commands/gateway-service.js';
import { gatewayStartCommand } from '../commands/gateway-start.js';
import { invitationListCommand } from '../commands/invitation-list.js';
import { invitationResendCommand } from '../commands/invitation-resend.js';
import { invitationRevokeCommand } from '../commands/invitation-revoke.js';
import { loginCommand } from '../commands/login.js';
import { logoutCommand } from '../commands/logout.js';
import { orgCreateCommand } from '../commands/org-create.js';
import { orgDeleteCommand } from '../commands/org-delete.js';
import { orgListCommand } from '../commands/org-list.js';
import { orgRegistrationCommand } from '../commands/org-registration.js';
import { orgUpdateCommand } from '../commands/org-update.js';
import { provisionCommand } from '../commands/provision.js';
import { provisionScanCommand } from '../commands/provision-scan.js';
import { provisionTokenCommand } from '../commands/provision-token.js';
import { restoreCommand } from '../commands/restore.js';
import { roleCreateCommand } from '../commands/role-create.js';
import { roleDeleteCommand } from '../commands/role-delete.js';
import { roleEditCommand } from '../commands/role-edit.js';
import { roleListCommand } from '../commands/role-list.js';
import { rolePermissionsCommand } from '../commands/role-permissions.js';
import { sessionEndCommand } from '../commands/session-end.js';
import { sessionListCommand } from '../commands/session-list.js';
import { shareAddCommand } from '../commands/share-add.js';
import { shareListCommand } from '../commands/share-list.js';
import { shareRemoveCommand } from '../commands/share-remove.js';
import { simDeviceCommand } from '../commands/sim-device.js';
import { simFleetCommand } from '../commands/sim-fleet.js';
import { storeMigrateCommand } from '../commands/store-migrate.js';
import { templateCreateCommand } from '../commands/template-create.js';
import { templateEditCommand } from '../commands/template-edit.js';
import { templateListCommand } from '../commands/template-list.js';
import { templateShowCommand } from '../commands/template-show.js';
import { userAcceptCommand } from '../commands/user-accept.js';
import { userDeleteCommand } from '../commands/user-delete.js';
import { userInviteCommand } from '../commands/user-invite.js';
import { userListCommand } from '../commands/user-list.js';
import { userLogoutCommand } from '../commands/user-logout.js';
import { userMoveCommand } from '../commands/user-move.js';
import { userRegisterCommand } from '../commands/user-register.js';
import { userResetPasswordCommand } from '../commands/user-reset-password.js';
import { userVerifyCommand } from '../commands/user-verify.js';
import { quietOnClosedPipes, reportError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('tether')
    .description(
      'Tether: activate IoT devices and tie each one to the account of the person who activated it.',
    )
    .version(TETHER_VERSION)
    .showHelpAfterError()
    .enablePositionalOptions()
    .exitOverride();

  const gateway = program.command('gateway').description('Run the gateway, or install it as a service.');
  gatewayStartCommand(gateway);
  gatewayServiceCommand(gateway);
  backupCommand(program);
  restoreCommand(program);
  storeMigrateCommand(program.command('store').description('The gateway’s store: move it between backends.'));
  doctorCommand(program);
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
  deviceRedirectCommand(device);
  devicePingCommand(device);
  deviceEventsCommand(device);
  deviceReprovisionCommand(device);
  deviceMintCommand(device);
  deviceClaimCommand(device);
  deviceDisclaimCommand(device);
  deviceRevokeCommand(device);
  deviceWatchCommand(device);
  const provision = provisionCommand(program);
  provisionScanCommand(provision);
  provisionTokenCommand(provision);
  const share = program.command('share').description('Sharing devices with other people, by email.');
  shareAddCommand(share);
  shareListCommand(share);
  shareRemoveCommand(share);
  const org = program
    .command('org')
    .description('Organizations: list, create, rename, move, set plan, self-registration, delete.');
  orgListCommand(org);
  orgCreateCommand(org);
  orgUpdateCommand(org);
  orgRegistrationCommand(org);
  orgDeleteCommand(org);
  const user = program
    .command('user')
    .description('Users: invite, list, reset passwords, log out, move, delete; sign up and verify.');
  userInviteCommand(user);
  userListCommand(user);
  userAcceptCommand(user);
  userRegisterCommand(user);
  userVerifyCommand(user);
  userResetPasswordCommand(user);
  userLogoutCommand(user);
  userMoveCommand(user);
  userDeleteCommand(user);
  const invitation = program.command('invitation').description('Invitations: list, revoke, send again.');
  invitationListCommand(invitation);
  invitationRevokeCommand(invitation);
  invitationResendCommand(invitation);
  const role = program.command('role').description('Roles and their permissions, per organization.');
  roleListCommand(role);
  rolePermissionsCommand(role);
  roleCreateCommand(role);
  roleEditCommand(role);
  roleDeleteCommand(role);
  auditCommand(program);
  const session = program.command('session').description('Your sessions: list them, end one.');
  sessionListCommand(session);
  sessionEndCommand(session);
  const account = program
    .command('account')
    .description('Your own account: show it, change your password, delete it.');
  accountShowCommand(account);
  accountPasswordCommand(account);
  accountDeleteCommand(account);
  const sim = program.command('sim').description('Simulated devices and fleets.');
  simDeviceCommand(sim);
  simFleetCommand(sim);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipes();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportError(error, { json: argv.includes('--json') });
  }
}
