import type { Command } from 'commander';
import { type QrFormat, writeMintExport } from '../../gateway/devices/static-token-export.js';
import { MAX_MINT_PER_REQUEST, type MintedDevice } from '../../gateway/devices/static-token-service.js';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

/**
 * A one-line progress bar on stderr (stdout stays for --json). On a terminal it redraws in place;
 * piped, it prints a line at each tenth so logs show progress without a flood.
 */
export class ProgressBar {
  readonly #startedAt = Date.now();
  #lastTenth = -1;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const ratio = this.total === 0 ? 1 : done / this.total;
    const seconds = (Date.now() - this.#startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const text = `${this.label} ${done}/${this.total} ${Math.floor(ratio * 100)}% ${rate}/s`;
    if (this.stream.isTTY) {
      const width = 30;
      const filled = Math.round(ratio * width);
      this.stream.write(`\r\u001b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`);
      if (done >= this.total) this.stream.write('\n');
      return;
    }
    const tenth = Math.floor(ratio * 10);
    if (tenth !== this.#lastTenth) {
      this.#lastTenth = tenth;
      this.stream.write(`${text}\n`);
    }
  }
}

export function deviceMintCommand(device: Command): void {
  device
    .command('mint')
    .description(
      'Mint static-token devices into your org’s pool and export their tokens (CSV) and claim codes (QR images).',
    )
    .requiredOption('-t, --template <id>', 'template of the devices')
    .requiredOption('-c, --count <n>', 'how many devices')
    .requiredOption('-o, --out <dir>', 'folder for tokens.csv and one QR image per device')
    .option('--format <format>', 'QR image format: png or svg', 'png')
    .option('--name-prefix <prefix>', 'device names: "<prefix> 0001"… (default: the template name)')
    .option('--batch <n>', 'devices per request', '100')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print a JSON summary')
    .action(
      async (opts: {
        template: string;
        count: string;
        out: string;
        format: string;
        namePrefix?: string;
        batch: string;
        gateway?: string;
        json?: boolean;
      }) => {
        const count = Number(opts.count);
        const batch = Math.min(Number(opts.batch), MAX_MINT_PER_REQUEST);
        if (!Number.isInteger(count) || count < 1)
          throw new TetherError('VALIDATION_FAILED', '--count must be a positive integer.');
        if (!Number.isInteger(batch) || batch < 1)
          throw new TetherError('VALIDATION_FAILED', '--batch must be a positive integer.');
        if (opts.format !== 'png' && opts.format !== 'svg')
          throw new TetherError('VALIDATION_FAILED', '--format is png or svg.');
        const client = await sessionClient(opts.gateway);
        const bar = new ProgressBar(count, 'minting');
        bar.update(0);
        let minted = 0;
        let csv = '';
        while (minted < count) {
          const n = Math.min(batch, count - minted);
          const { devices } = await client.request<{ devices: MintedDevice[] }>(
            'POST',
            '/api/static-tokens',
            {
              templateId: opts.template,
              count: n,
              ...(opts.namePrefix ? { namePrefix: opts.namePrefix } : {}),
            },
          );
          // Written batch by batch: a failure half-way leaves every minted secret on disk.
          const written = await writeMintExport(opts.out, devices, {
            format: opts.format as QrFormat,
            append: minted > 0,
          });
          csv = written.csv;
          minted += devices.length;
          bar.update(minted);
        }
        if (opts.json) printJson({ minted, out: opts.out, csv });
        else
          say(
            safe`Minted ${minted} ${minted === 1 ? 'device' : 'devices'}; tokens in ${csv}, claim QR codes in ${opts.out}.`,
          );
      },
    );
}
