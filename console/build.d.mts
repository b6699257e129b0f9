import type { BuildOptions } from 'esbuild';

/** How browser code is bundled: the console, and tests that run its protocol code as the page does. */
export function consoleBuildOptions(): BuildOptions;

export function buildConsole(options?: { outDir?: string; quiet?: boolean }): Promise<{
  outDir: string;
  script: string;
  style: string;
}>;
