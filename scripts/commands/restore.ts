import { resolve } from 'node:path';
import type { Command } from 'commander';
import { restoreDataFolder } from '../../gateway/store/data-folder-backup.js';
import { loadConfig } from '../../shared/config.js';
import { countOf, printJson, tableCounts } from '../cli/output.js';

export function restoreCommand(program: Command): void {
  program
    .command('restore')
    .description(
      'Load a backup into an empty data folder (never over existing data), then start a gateway on it. The backup is checked whole first.',
    )
    .argument('<file>', 'a backup from tether backup')
    .option(
      '--data-dir <dir>',
      'the empty folder to restore into (default: the gateway’s, ./data or TETHER_DATA_DIR)',
    )
    .option('-c, --config <file>', 'the gateway’s config file, for its data folder')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { dataDir?: string; config?: string; json?: boolean }) => {
      const config = loadConfig({
        ...(opts.config ? { file: opts.config } : {}),
        overrides: opts.dataDir ? { dataDir: opts.dataDir } : {},
      });
      const summary = await restoreDataFolder(resolve(file), resolve(config.dataDir));
      if (opts.json) {
        printJson(summary);
        return;
      }
      const counts = tableCounts(summary.tables);
      process.stdout.write(
        `Restored the backup of ${summary.createdAt} into ${summary.dataDir}: ${counts || 'no records'}, ${countOf(summary.audit, 'audit event')}, ${countOf(summary.activity, 'device command')}, ${countOf(summary.files, 'file')}.\nStart the gateway on it: tether gateway start --data-dir ${summary.dataDir}\n`,
      );
    });
}
