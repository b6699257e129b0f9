/** What a scenario hands back, and how it is written: a Markdown table and the same as JSON. */
import { REPO_DIR } from './paths.js';
import { fmt, type Summary, summarize } from './stats.js';

export interface Row {
  metric: string;
  subject: string;
  unit: string;
  summary: Summary;
}

export interface Target {
  text: string;
  value: string;
  met: boolean | null;
}

export interface ScenarioResult {
  id: string;
  title: string;
  commands: string[];
  config: Record<string, unknown>;
  rows: Row[];
  targets: Target[];
  notes: string[];
}

export class ResultBuilder {
  readonly result: ScenarioResult;
  readonly #values = new Map<string, { metric: string; subject: string; unit: string; runs: number[] }>();

  constructor(id: string, title: string) {
    this.result = { id, title, commands: [], config: {}, rows: [], targets: [], notes: [] };
  }

  /** Records a command as run, with the repository's own folder cut out: records name relative paths. */
  command(run: string): void {
    const line = run.split(`${REPO_DIR}/`).join('');
    if (!this.result.commands.includes(line)) {
      this.result.commands.push(line);
      console.log(`  $ ${line}`);
    }
  }

  add(metric: string, subject: string, unit: string, value: number): void {
    const key = `${metric}\u0000${subject}`;
    const entry = this.#values.get(key) ?? { metric, subject, unit, runs: [] };
    entry.runs.push(value);
    this.#values.set(key, entry);
  }

  summary(metric: string, subject: string): Summary | undefined {
    const entry = this.#values.get(`${metric}\u0000${subject}`);
    return entry ? summarize(entry.runs) : undefined;
  }

  note(text: string): void {
    this.result.notes.push(text);
  }

  target(text: string, value: string, met: boolean | null): void {
    this.result.targets.push({ text, value, met });
  }

  finish(): ScenarioResult {
    this.result.rows = [...this.#values.values()].map((v) => ({
      metric: v.metric,
      subject: v.subject,
      unit: v.unit,
      summary: summarize(v.runs),
    }));
    return this.result;
  }
}

export function markdown(result: ScenarioResult): string {
  const out = [`### ${result.title}`, ''];
  out.push('Commands:', '', '```', ...result.commands, '```', '');
  out.push(`Configuration: \`${JSON.stringify(result.config)}\``, '');
  out.push('| metric | subject | median | range | runs | unit |', '|---|---|---:|---|---|---|');
  for (const r of result.rows) {
    const s = r.summary;
    out.push(
      `| ${r.metric} | ${r.subject} | **${fmt(s.median)}** | ${fmt(s.min)} – ${fmt(s.max)} | ${s.runs.map(fmt).join(', ')} | ${r.unit} |`,
    );
  }
  if (result.targets.length) {
    out.push('', '| target | reached | met |', '|---|---|---|');
    for (const t of result.targets)
      out.push(`| ${t.text} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  }
  if (result.notes.length) out.push('', ...result.notes.map((n) => `- ${n}`));
  out.push('');
  return out.join('\n');
}
