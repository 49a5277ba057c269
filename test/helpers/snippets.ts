/**
 * Runs the console's ready-to-paste snippets as a user would paste them: in bash, in the system's
 * python3 with paho, and in Node with mqtt.js from this repository. Tools that are missing are
 * reported, not faked (mqtt.js and curl are always there: the first is a dependency).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function has(command: string): Promise<boolean> {
  try {
    await run('bash', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

async function pythonHasPaho(): Promise<boolean> {
  if (!existsSync('/usr/bin/python3')) return false;
  try {
    await run('/usr/bin/python3', ['-c', 'import paho.mqtt.client']);
    return true;
  } catch {
    return false;
  }
}

/** Runs each snippet it can; returns which ran (each must exit 0, or this throws). */
export async function runSnippets(snippets: Record<string, string>): Promise<string[]> {
  const ran: string[] = [];
  const opts = { timeout: 20_000, cwd: process.cwd() };
  await run(process.execPath, ['--input-type=module', '-e', snippets.mqttjs!], opts);
  ran.push('mqttjs');
  if (await has('curl')) {
    const { stdout } = await run('bash', ['-c', snippets.curl!], opts);
    if (!stdout.includes('"accepted":1')) throw new Error(`curl snippet: ${stdout}`);
    ran.push('curl');
  }
  if (await has('mosquitto_pub')) {
    await run('bash', ['-c', snippets.mosquitto!], opts);
    ran.push('mosquitto');
  }
  if (await pythonHasPaho()) {
    await run('/usr/bin/python3', ['-c', snippets.python!], opts);
    ran.push('python');
  }
  return ran;
}
