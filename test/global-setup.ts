/** Starts one influxd for the whole test run (see test/helpers/influxd.ts) and stops it by PID. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startManagedInfluxd } from '../core/influx/managed.js';

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'influxd-shared-'));
  const server = await startManagedInfluxd({ dir, auth: false });
  project.provide('influxUrl', server.url);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
