/** Asking a person for what a command needs, without echoing secrets, and confirming what cannot be undone. */
import { createInterface } from 'node:readline';
import { TetherError } from '../../shared/errors.js';
import { terminalSafe } from './output.js';

/** What to tell a person who runs the command without a terminal: the option that answers instead. */
export interface Ask {
  /** e.g. `--password`; with `env`, also the variable that may hold it. */
  option: string;
  env?: string;
}

function noTerminal(question: string, ask: Ask): TetherError {
  const what = question.replace(/[:?]?\s*$/, '');
  return new TetherError(
    'VALIDATION_FAILED',
    `${what}: there is no terminal to ask on; pass ${ask.option}${ask.env ? ` (or set ${ask.env})` : ''}.`,
    { details: { option: ask.option } },
  );
}

export async function prompt(question: string, ask: Ask): Promise<string> {
  if (!process.stdin.isTTY) throw noTerminal(question, ask);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((resolve) => rl.question(terminalSafe(question), resolve));
  } finally {
    rl.close();
  }
}

export async function promptHidden(question: string, ask: Ask): Promise<string> {
  if (!process.stdin.isTTY) throw noTerminal(question, ask);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  output._writeToOutput = (s: string) => {
    if (!asked) process.stderr.write(s);
    asked = true;
  };
  try {
    return await new Promise<string>((resolve) => rl.question(terminalSafe(question), resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/**
 * Confirms an action that cannot be undone: `--yes` answers for scripts; a person at a terminal
 * is asked; with neither, nothing happens and the message says how to confirm.
 */
export async function confirm(what: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `${what} Nothing was done: confirm with --yes (there is no terminal to ask on).`,
      { details: { option: '--yes' } },
    );
  }
  const answer = await prompt(`${what} Continue? [y/N] `, { option: '--yes' });
  if (!/^y(es)?$/i.test(answer.trim())) {
    throw new TetherError('VALIDATION_FAILED', 'Cancelled: nothing was done.');
  }
}
