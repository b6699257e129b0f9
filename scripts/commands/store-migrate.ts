/**
 * `tether store migrate --to postgres://…`: moves a gateway's data from one store backend to the
 * other (embedded data folder ⇄ PostgreSQL) through the backup format, into an empty target.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  type MigrationProgress,
  migrateStore,
  parseLocation,
  type StoreLocation,
} from '../../gateway/store/store-migration.js';
import { loadConfig } from '../../shared/config.js';
import { TETHER_VERSION } from '../../shared/version.js';
import { countOf, note, printJson, tableCounts } from '../cli/output.js';

const defaultBackup = () => `tether-migrate-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;

interface StoreMigrateOptions {
  to: string;
  from?: string;
  backup?: string;
  dataDir?: string;
  config?: string;
  json?: boolean;
}

export function storeMigrateCommand(store: Command): void {
  store
    .command('migrate')
    .description(
      'Move the gateway’s data into another store: from its data folder into an empty PostgreSQL database, or back into an empty data folder. Goes through a backup (kept); stop the gateway first.',
    )
    .requiredOption(
      '--to <store>',
      'the empty target: postgres://user:password@host:5432/database, or a data folder',
    )
    .option(
      '--from <store>',
      'the source (default: the gateway’s store from its config: its data folder, or store.url)',
    )
    .option('--backup <file>', 'where the backup it goes through is written and kept (mode 0600)')
    .option('--data-dir <dir>', 'the gateway’s data folder (default ./data or TETHER_DATA_DIR)')
    .option('-c, --config <file>', 'the gateway’s config file')
    .option('--json', 'print JSON')
    .action(async (opts: StoreMigrateOptions) => {
      const config = loadConfig({
        ...(opts.config ? { file: opts.config } : {}),
        overrides: opts.dataDir ? { dataDir: opts.dataDir } : {},
      });
      const dataDir = resolve(config.dataDir);
      const from: StoreLocation = opts.from
        ? parseLocation(opts.from)
        : config.store.backend === 'postgres'
          ? parseLocation(config.store.url)
          : { backend: 'embedded', dataDir };
      const to = parseLocation(opts.to);
      const backupFile = resolve(opts.backup ?? defaultBackup());
      // A data folder is locked while it is read (a running gateway refuses the move); a database
      // has no such lock, so say it.
      if (from.backend === 'postgres')
        note('Stop every gateway on that database first: changes made during the move are not carried.');
      const summary = await migrateStore({
        from,
        to,
        backupFile,
        tether: TETHER_VERSION,
        // A PostgreSQL source's signing keys and outbox are in the gateway's data folder.
        ...(from.backend === 'postgres' ? { dataDir } : {}),
        onProgress: progressReporter(),
      });
      if (opts.json) {
        printJson(summary);
        return;
      }
      const counts = tableCounts(summary.tables);
      const next =
        to.backend === 'postgres'
          ? `Point the gateway at it: store.backend = postgres and store.url (or TETHER_STORE_URL) = that URL.${
              from.backend === 'embedded'
                ? ` The signing keys stay in ${from.dataDir}/keys: keep that data folder for the gateway.`
                : ''
            }`
          : `Start the gateway on it: tether gateway start --data-dir ${to.dataDir}`;
      process.stdout.write(
        `Moved ${summary.from} into ${summary.to}: ${counts || 'no records'}, ${countOf(summary.audit, 'audit event')}${
          to.backend === 'embedded' ? `, ${countOf(summary.files, 'file')}` : ''
        }. The backup it went through is kept at ${summary.backup}.\n${next}\n`,
      );
    });
}

/** One line per step, and every 10 % of a long step, on stderr (stdout stays for the result). */
function progressReporter(): (p: MigrationProgress) => void {
  const labels = {
    backup: 'Backing up the source',
    restore: 'Restoring into the target',
    check: 'Checking the target',
  };
  let step: MigrationProgress['step'] | undefined;
  let lastTenth = -1;
  return (p) => {
    if (p.step !== step) {
      step = p.step;
      lastTenth = -1;
      note(`${labels[p.step]}…`);
      return;
    }
    if (!p.total || p.total < 1000) return;
    const tenth = Math.floor((p.done / p.total) * 10);
    if (tenth > lastTenth && tenth < 10) {
      lastTenth = tenth;
      note(`  ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')} records`);
    }
  };
}
