import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { backupDataFolder, verifyBackup } from '../../gateway/store/data-folder-backup.js';
import { TETHER_VERSION } from '../../shared/version.js';
import { sessionClient } from '../cli/cli-context.js';
import { countOf, printJson } from '../cli/output.js';

const defaultName = () => `tether-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;

export function backupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      'Save a consistent copy of a gateway (every organization, the signing keys): from a running gateway (you must be an admin of its root organization), or with --data-dir from a data folder no gateway is using.',
    )
    .option('-o, --out <file>', 'where to write it (default tether-backup-<time>.jsonl here); mode 0600')
    .option('--outbox', 'also the mail outbox (.eml files)')
    .option('--data-dir <dir>', 'offline: read this data folder directly (refused while a gateway holds it)')
    .option('-g, --gateway <url>', 'gateway URL (online backup)')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        out?: string;
        outbox?: boolean;
        dataDir?: string;
        gateway?: string;
        json?: boolean;
      }) => {
        const out = resolve(opts.out ?? defaultName());
        let summary: {
          file: string;
          bytes?: number;
          rows: number;
          audit: number;
          activity: number;
          files: number;
        };
        if (opts.dataDir) {
          summary = await backupDataFolder(resolve(opts.dataDir), out, {
            tether: TETHER_VERSION,
            ...(opts.outbox ? { outbox: true } : {}),
          });
        } else {
          const client = await sessionClient(opts.gateway);
          const body = await client.download(`/api/backup${opts.outbox ? '?outbox=true' : ''}`);
          const partial = `${out}.part`;
          try {
            await pipeline(
              Readable.fromWeb(body as never),
              createWriteStream(partial, { mode: 0o600, flags: 'wx' }),
            );
            // A download cut short, or changed on the way, is not kept as a backup.
            const checked = await verifyBackup(partial);
            await rename(partial, out);
            summary = { file: out, ...checked.counts };
          } finally {
            await rm(partial, { force: true });
          }
        }
        if (opts.json) printJson(summary);
        else
          process.stdout.write(
            `Backup written to ${summary.file}: ${countOf(summary.rows, 'record')}, ${countOf(summary.audit, 'audit event')}, ${countOf(summary.activity, 'device command')}, ${countOf(summary.files, 'file')}. Keep it safe: it holds password hashes and the signing key.\n`,
          );
      },
    );
}
