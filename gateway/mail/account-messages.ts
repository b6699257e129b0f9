/** The words of every account message, in one place. Plain text: nothing to render or escape. */
import type { MailMessage } from './mailer.js';

export interface LinkContext {
  to: string;
  link: string;
  /** The raw token, shown for people who finish from the command line. */
  token: string;
  /** ` --gateway <url>` when this gateway is not the command line's default, else ''. */
  gatewayOption: string;
}

export const invitationMessage = (
  c: LinkContext & { orgName: string; invitedBy: string; days: number },
): MailMessage => ({
  kind: 'invitation',
  to: c.to,
  subject: `You are invited to ${c.orgName} on Tether`,
  text: [
    `${c.invitedBy} invited you to the organization "${c.orgName}" on Tether.`,
    '',
    'Open this link to choose a password and activate your account:',
    c.link,
    '',
    `Or from a terminal: tether user accept --token ${c.token}${c.gatewayOption}`,
    '',
    `The link works once and expires in ${c.days} days. If you did not expect it, ignore this message.`,
  ].join('\n'),
});

export const verificationMessage = (c: LinkContext & { orgName: string; hours: number }): MailMessage => ({
  kind: 'verify-email',
  to: c.to,
  subject: `Confirm your email for ${c.orgName}`,
  text: [
    `Someone (we hope you) signed up to ${c.orgName} on Tether with this address.`,
    '',
    'Open this link to confirm the address and choose a password:',
    c.link,
    '',
    `Or from a terminal: tether user verify --token ${c.token}${c.gatewayOption}`,
    '',
    `The link works once and expires in ${c.hours} hours. If it was not you, ignore this message.`,
  ].join('\n'),
});

export const resetMessage = (c: LinkContext & { minutes: number; byAdmin: boolean }): MailMessage => ({
  kind: 'reset-password',
  to: c.to,
  subject: 'Reset your Tether password',
  text: [
    c.byAdmin
      ? 'Your administrator reset your Tether password; your sessions were ended.'
      : 'Someone (we hope you) asked to reset the password of this Tether account.',
    '',
    'Open this link to choose a new password:',
    c.link,
    '',
    `Or from a terminal: tether user reset-password --token ${c.token}${c.gatewayOption}`,
    '',
    `The link works once and expires in ${c.minutes} minutes.${c.byAdmin ? '' : ' If it was not you, ignore this message: your password stays as it is.'}`,
  ].join('\n'),
});

/** An administrator chose a new password for this person: they learn of it, never the password. */
export const passwordSetMessage = (c: {
  to: string;
  setBy: string;
  orgName: string;
  gatewayOption: string;
}): MailMessage => ({
  kind: 'password-set',
  to: c.to,
  subject: 'Your Tether password was changed by an administrator',
  text: [
    `${c.setBy}, an administrator of "${c.orgName}" on Tether, set a new password for your account.`,
    'Your sessions were ended: log in again with the new password, which they will give you.',
    '',
    'If you did not expect this, choose a password of your own from a terminal:',
    `tether user reset-password --email ${c.to}${c.gatewayOption}`,
  ].join('\n'),
});
