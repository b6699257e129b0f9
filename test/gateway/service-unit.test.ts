/**
 * `tether gateway service`: the systemd unit it prints passes `systemd-analyze verify` (CI
 * installs systemd; a missing systemd-analyze fails under CI=true), restarts on failure, logs to
 * the journal, runs as its own user, and gives the gateway's shutdown the time it needs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_LIMIT_MS } from '../../gateway/shutdown.js';
import { ExitCode } from '../../shared/errors.js';
import { removeAll, tempDir } from '../store/store-files-support.js';
import { runCli } from '../support/run-cli.js';

const run = promisify(execFile);
const HAS_SYSTEMD_ANALYZE = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
if (!HAS_SYSTEMD_ANALYZE && process.env.CI === 'true') {
  throw new Error('systemd-analyze is missing: CI must install the Debian package systemd.');
}

async function verify(unit: string, dir: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, 'tether.service');
  await writeFile(file, unit);
  try {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', file]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('tether gateway service', () => {
  const dirs: string[] = [];
  afterAll(() => removeAll(dirs));

  it.runIf(HAS_SYSTEMD_ANALYZE)(
    'prints a unit that systemd-analyze verify accepts',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir('tether-unit-');
      dirs.push(dir);
      const printed = await runCli(['gateway', 'service']);
      expect(printed.code, printed.stderr).toBe(0);
      const unit = printed.stdout;
      const result = await verify(unit, dir);
      expect(result.ok, result.output).toBe(true);
      expect(result.output).not.toMatch(/tether\.service:\d+:/); // no line systemd complained about

      const settings = new Map(
        unit
          .split('\n')
          .filter((l) => /^[A-Za-z]+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(settings.get('Restart')).toBe('on-failure');
      expect(settings.get('StandardOutput')).toBe('journal');
      expect(settings.get('User')).toBe('tether');
      expect(settings.get('StateDirectory')).toBe('tether');
      expect(settings.get('ExecStart')).toMatch(/ gateway start$/);
      expect(Number(settings.get('TimeoutStopSec')) * 1000).toBeGreaterThan(SHUTDOWN_LIMIT_MS);

      // Another user and folder, as an operator would choose them: still a unit systemd takes.
      const other = await runCli(['gateway', 'service', '--user', 'gw', '--data-dir', '/srv/tether-100%']);
      expect(other.code, other.stderr).toBe(0);
      expect(other.stdout).toContain('ReadWritePaths=/srv/tether-100%%');
      expect(other.stdout).toContain('install -d -o gw -g gw -m 0700 /srv/tether-100%');
      const second = await verify(other.stdout, dir);
      expect(second.ok, second.output).toBe(true);
    },
  );

  it('refuses a user or a folder systemd cannot take', { timeout: 60_000 }, async () => {
    const user = await runCli(['gateway', 'service', '--user', 'root; rm -rf /']);
    expect(user.code).toBe(ExitCode.usage);
    expect(user.stderr).toContain('VALIDATION_FAILED');
    const folder = await runCli(['gateway', 'service', '--data-dir', '/srv/my tether']);
    expect(folder.code).toBe(ExitCode.usage);
    expect(folder.stderr).toContain('without spaces');
  });
});
