/** How the CLI prints: data from outside escaped for the terminal, and a closed pipe ends quietly. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, safe, tableCounts, terminalSafe } from '../../scripts/cli/output.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { CLI, runCli } from '../support/run-cli.js';

describe('terminalSafe', () => {
  it('shows every control, bidi and separator character as a visible escape, and leaves text alone', () => {
    expect(terminalSafe('\u001b[2J')).toBe('\\u001b[2J');
    expect(terminalSafe('a\u009bb\u202ec\u2066d\u2028e\u0000f\nñ')).toBe(
      'a\\u009bb\\u202ec\\u2066d\\u2028e\\u0000f\\u000añ',
    );
    expect(terminalSafe('Küche 温度 מזגן')).toBe('Küche 温度 מזגן');
    expect(safe`Device ${'\u001b]0;x\u0007'} is ${'ok'}.`).toBe('Device \\u001b]0;x\\u0007 is ok.');
  });
});

/** Runs the CLI with its stdout closed at once, as `| head -0` would; resolves with exit code and stderr. */
function withClosedStdout(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed pipe', () => {
  let gw: TestGateway;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    gw = await startTestGateway();
    env = { TETHER_HOME: `${gw.dataDir}/cli-home`, TETHER_GATEWAY_URL: gw.baseUrl };
    expect((await runCli(['login', '-e', ADMIN.email, '-p', ADMIN.password], env)).code).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await gw.stop();
  });

  it('ends a command quietly, without an EPIPE stack trace', { timeout: 90_000 }, async () => {
    for (const args of [['--help'], ['org', 'list'], ['user', 'list', '--json']]) {
      const { code, stderr } = await withClosedStdout(args, env);
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
  });
});

describe('counts for people', () => {
  it('says "1 device" and "2 devices", and names tables by what a row is, in the store order', () => {
    expect(countOf(1, 'device')).toBe('1 device');
    expect(countOf(0, 'file')).toBe('0 files');
    expect(tableCounts({ devices: 3, orgs: 1, refreshTokens: 2, users: 0 })).toBe(
      '1 organization, 2 refresh tokens, 3 devices',
    );
    // Keys that are no table (from a hostile or newer file) are not read, and not printed.
    expect(tableCounts(JSON.parse('{"__proto__": 5, "constructor": 2}'))).toBe('');
  });
});
