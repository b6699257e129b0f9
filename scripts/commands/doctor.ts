import type { Command } from 'commander';
import { type CheckResult, doctorExitCode, runDoctor } from '../../gateway/doctor/doctor.js';
import { loadConfig } from '../../shared/config.js';
import { printJson } from '../cli/output.js';

const MARK: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check this box for a gateway: clock, data folder and free space, the store, ports, TLS files, mail, the public URL, Wi-Fi tools and Bluetooth. One line per check, with what to fix; exits non-zero when a check fails.',
    )
    .option('-c, --config <file>', 'the JSON config file the gateway starts with (or TETHER_CONFIG)')
    .option('--data-dir <dir>', 'data folder to check (default from the configuration, ./data)')
    .option('--http-port <port>', 'HTTP port the gateway will use')
    .option('--mqtt-port <port>', 'MQTT port the gateway will use')
    .option('--json', 'print JSON: {ok, checks: [{check, status, message, code}]}')
    .action(
      async (opts: {
        config?: string;
        dataDir?: string;
        httpPort?: string;
        mqttPort?: string;
        json?: boolean;
      }) => {
        // The same settings `tether gateway start` would read: file, environment, then these flags.
        const config = loadConfig({
          ...(opts.config ? { file: opts.config } : {}),
          overrides: {
            ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
            ...(opts.httpPort !== undefined ? { http: { port: Number(opts.httpPort) } } : {}),
            ...(opts.mqttPort !== undefined ? { mqtt: { port: Number(opts.mqttPort) } } : {}),
          },
        });
        const checks = await runDoctor(config);
        const code = doctorExitCode(checks);
        if (opts.json) printJson({ ok: code === 0, checks });
        else {
          const width = Math.max(...checks.map((c) => c.check.length));
          for (const c of checks)
            process.stdout.write(`${MARK[c.status]}  ${c.check.padEnd(width)}  ${c.message}\n`);
          const failed = checks.filter((c) => c.status === 'fail').length;
          const warned = checks.filter((c) => c.status === 'warn').length;
          process.stdout.write(
            failed + warned === 0 ? 'All checks passed.\n' : `${failed} to fix, ${warned} to look at.\n`,
          );
        }
        process.exitCode = code;
      },
    );
}
