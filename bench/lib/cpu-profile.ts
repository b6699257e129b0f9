/** Top frames of a V8 .cpuprofile (from `node --cpu-prof`) by self time, for RESULTS.md analyses. */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_DIR } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * Self time per frame, as a share of the busy (non-idle) samples; `window` (monotonic µs, the
 * profile's own clock) keeps only the measured stretch, not start-up and module loading.
 */
export function topFrames(
  file: string,
  limit = 15,
  window?: [number, number],
): { busyPct: number; frames: Array<{ frame: string; selfPct: number }> } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const byNode = new Map<number, number>();
  let t = profile.startTime;
  let inWindow = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) return;
    inWindow++;
    if (idle.has(id)) return;
    busy++;
    byNode.set(id, (byNode.get(id) ?? 0) + 1);
  });
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = byNode.get(node.id) ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(REPO_DIR, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const frame = `${functionName || '(anonymous)'} ${where}`.trim();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
  }
  const frames = [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, hits]) => ({ frame, selfPct: (hits / busy) * 100 }));
  return { busyPct: (busy / Math.max(1, inWindow)) * 100, frames };
}
