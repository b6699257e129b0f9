/** Asking a person for what a command needs, without echoing secrets. */
import { createInterface } from 'node:readline';
import { TetherError } from '../../shared/errors.js';

export async function prompt(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new TetherError(
      'VALIDATION_FAILED',
      `Missing input: ${question.replace(/:\s*$/, '')} (no terminal to ask on; pass it as an option).`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
  }
}

export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new TetherError(
      'VALIDATION_FAILED',
      `Missing input: ${question.replace(/:\s*$/, '')} (no terminal to ask on; pass it as an option).`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  output._writeToOutput = (s: string) => {
    if (!asked) process.stderr.write(s);
    asked = true;
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
