#!/usr/bin/env node
/** The `tether` process: the command line (cli/program.ts), or one shard of a simulated fleet. */
import { runFleetWorker } from '../firmware-sim/fleet-worker.js';
import { main } from './cli/program.js';

// In a worker thread of `tether sim fleet --workers N`, this bundle runs one shard of the fleet.
if (!(await runFleetWorker())) {
  const code = await main(process.argv);
  if (code !== 0) process.exitCode = code;
}
