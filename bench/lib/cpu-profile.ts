/** Top frames of a V8 .cpuprofile (from `node --cpu-prof`) by self time, for RESULTS.md analyses. */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_DIR } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function topFrames(file: string, limit = 15): Array<{ frame: string; selfPct: number }> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byNode = new Map<number, number>();
  for (const id of profile.samples) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = byNode.get(node.id) ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(REPO_DIR, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const frame = `${functionName || '(anonymous)'} ${where}`.trim();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
  }
  const total = profile.samples.length;
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, hits]) => ({ frame, selfPct: (hits / total) * 100 }));
}
