/**
 * Issue 16: `.env` support. `.env.example` lists exactly the variables of the configuration schema
 * (core/config-sections.ts), both ways, and every default it writes is the schema's default. The
 * entrypoints load `.env` from their working directory, and the real environment wins, also an empty
 * value (Node's process.loadEnvFile never overrides a variable that is set).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_SECTIONS, configVariables, loadConfig, sectionVariables } from '../core/config.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** `# NAME=value` or `NAME=value` lines of .env.example. */
function exampleEntries(): Map<string, string> {
  const text = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const entries = new Map<string, string>();
  for (const m of text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=(.*)$/gm))
    entries.set(m[1] as string, m[2] as string);
  return entries;
}

describe('.env.example', () => {
  it('lists every variable of the configuration schema, and no other', () => {
    const listed = [...exampleEntries().keys()].sort();
    const schema = configVariables();
    expect(
      listed.filter((v) => !schema.includes(v)),
      'in .env.example, not in the schema',
    ).toEqual([]);
    expect(
      schema.filter((v) => !listed.includes(v)),
      'in the schema, not in .env.example',
    ).toEqual([]);
  });

  it("writes each variable's real default", () => {
    for (const [variable, value] of exampleEntries()) {
      if (value === '') continue; // unset: documented in words
      for (const section of ALL_SECTIONS.filter((s) => sectionVariables(s).includes(variable))) {
        expect(loadConfig({ [variable]: value }, [section]), `${variable}=${value}`).toEqual(
          loadConfig({}, [section]),
        );
      }
    }
  });
});

describe('.env in the working directory', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dotenv-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tsx = import.meta.resolve('tsx');
  const broker = (env: Record<string, string>) => {
    const { LOG_LEVEL: _a, MQTT_MAX_TOPIC_LEVELS: _b, MQTT_PORT: _c, ...inherited } = process.env;
    return spawnSync(process.execPath, ['--import', tsx, path.join(ROOT, 'main/broker.ts')], {
      cwd: dir,
      env: { ...inherited, DATA_DIR: path.join(dir, 'data'), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  };

  it('is loaded by the entrypoints; the real environment wins, also when empty', () => {
    writeFileSync(path.join(dir, '.env'), 'LOG_LEVEL=loud\nMQTT_MAX_TOPIC_LEVELS=1\nMQTT_PORT="abc"\n');
    const fromFile = broker({});
    expect(fromFile.status).toBe(2);
    expect(fromFile.stderr).toContain('LOG_LEVEL="loud"');
    expect(fromFile.stderr).toContain('MQTT_MAX_TOPIC_LEVELS="1"');
    expect(fromFile.stderr).toContain('MQTT_PORT="abc"');

    const overridden = broker({ LOG_LEVEL: 'warn', MQTT_PORT: '' });
    expect(overridden.status).toBe(2);
    expect(overridden.stderr).toContain('MQTT_MAX_TOPIC_LEVELS="1"');
    expect(overridden.stderr).not.toContain('LOG_LEVEL');
    expect(overridden.stderr).not.toContain('MQTT_PORT');
  });
});
