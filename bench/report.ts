/**
 * What every benchmark part reports and where: the machine it ran on, the figures, the goals met or
 * missed, and the "nothing lost" check. Each part rewrites only its own section of bench/RESULTS.md
 * (sections are merged by their `## ` heading, so sections written by other scripts survive) and its
 * own key of bench/results.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_MD = path.join(BENCH_DIR, 'RESULTS.md');
export const RESULTS_JSON = path.join(BENCH_DIR, 'results.json');
/**
 * Quick (smoke) runs are not measurements: they go here (ignored by git), so a CI smoke run never
 * replaces the published figures.
 */
export const QUICK_DIR = path.join(BENCH_DIR, '..', '.bench-tmp', 'quick');

export interface Machine {
  cores: number;
  cpuModel: string;
  totalMemoryGiB: number;
  os: string;
  node: string;
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export interface Goal {
  what: string;
  /** e.g. ">= 0.7" */
  target: string;
  actual: string;
  met: boolean;
}

export interface LossCheck {
  what: string;
  stored: number;
  expected: number;
  ok: boolean;
  /** Words for the two counts; default "stored" and "acknowledged". */
  storedWord?: string;
  expectedWord?: string;
}

export interface PartResult {
  /** Short id used on the command line and as the key in results.json. */
  id: string;
  /** The RESULTS.md heading (without `## `). */
  title: string;
  date: string;
  machine: Machine;
  command: string;
  quick: boolean;
  /** Label -> value, in display order. Numbers are shown with thousands separators. */
  figures: Record<string, number | string>;
  goals: Goal[];
  /** One line per "stored N of N acknowledged" check; `ok` false means something was lost. */
  lossChecks: LossCheck[];
  notes: string[];
}

/** The middle element of alternating rounds by `key` (the upper one of two). */
export function median<T>(xs: readonly T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
}

/** The fields every result starts with: which part, when, on what machine, by which command. */
export function resultHeader(
  run: { command: string; quick: boolean },
  id: string,
  title: string,
): Pick<PartResult, 'id' | 'title' | 'date' | 'machine' | 'command' | 'quick'> {
  return {
    id,
    title,
    date: new Date().toISOString(),
    machine: machineInfo(),
    command: run.command,
    quick: run.quick,
  };
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A figure for a table: integers with separators, other numbers with at most 2 decimals. */
const figure = (v: number | string) =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : v;

export function lossCheck(
  what: string,
  stored: number,
  expected: number,
  words: { storedWord?: string; expectedWord?: string } = {},
): LossCheck {
  return { what, stored, expected, ok: stored >= expected, ...words };
}

export function lossLine(c: LossCheck): string {
  const verdict = c.ok
    ? 'nothing lost'
    : c.stored > c.expected
      ? `${fmt(c.stored - c.expected)} more than acknowledged: sent but not acknowledged before the end`
      : `**${fmt(c.expected - c.stored)} LOST**`;
  return `${c.what}: ${c.storedWord ?? 'stored'} ${fmt(c.stored)} of ${fmt(c.expected)} ${c.expectedWord ?? 'acknowledged'} (${verdict})`;
}

function sectionMarkdown(r: PartResult): string {
  const m = r.machine;
  const lines = [
    `## ${r.title}`,
    '',
    `Run ${r.date}${r.quick ? ' (**quick mode**: small counts, a smoke test, not a measurement)' : ''}.`,
    `Command: \`${r.command}\`. Machine: ${m.cores} cores (${m.cpuModel}), ${m.totalMemoryGiB} GiB, ${m.os}, Node ${m.node}.`,
    '',
    '| figure | value |',
    '|---|---|',
    ...Object.entries(r.figures).map(([k, v]) => `| ${k} | ${figure(v)} |`),
    '',
  ];
  if (r.goals.length > 0) {
    lines.push('| goal | target | actual | verdict |', '|---|---|---|---|');
    for (const g of r.goals)
      lines.push(`| ${g.what} | ${g.target} | ${g.actual} | ${g.met ? 'met' : '**MISSED**'} |`);
    lines.push('');
  }
  for (const c of r.lossChecks) lines.push(`- ${lossLine(c)}`);
  if (r.lossChecks.length > 0) lines.push('');
  for (const n of r.notes) lines.push(n, '');
  return `${lines.join('\n').trimEnd()}\n`;
}

const PREAMBLE = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts, about 9 minutes); each part rewrites its own section below
and its key in bench/results.json. Run one part with \`npm run bench -- <part>\` (e2e, batched, latency,
connections, isolation, console, commands, cluster, telemetry-query). \`--quick\` is a smoke run with small
counts: its figures are not measurements and go to .bench-tmp/quick/, never here; a bare \`--quick\` run leaves
out the cluster part (it needs Redis and PostgreSQL, and minutes). \`--profile\` attaches the V8 CPU profiler to the
platform process and adds a "where the time goes" note, in sections of their own. \`--keep\` keeps the
run directory (.bench-tmp/) with every child's log. Load generators, the platform and InfluxDB run in
separate processes, but on the same machine: on a 2-core machine they compete for the same cores (and
with anything else running), so the figures are lower bounds of what the platform does on its own
hardware. "CPU: x" rows say how much of a core each process used during the measured interval.
Every run below uses \`DEVICE_MAX_MESSAGES_PER_SECOND=1000000\` (and so a burst of 1,000,000,
\`bench/fixtures.ts\`): the benchmarks push one device far past a real device's rate, and with the
default of 200 the broker would slow that device down to 200 messages per second (it holds messages
over the rate, never drops them), measuring the limit rather than the platform.
`;

/** Splits markdown into the text before the first `## ` heading and the sections by heading. */
function splitSections(text: string): { preamble: string; sections: [string, string][] } {
  const parts = text.split(/^(?=## )/m);
  const preamble = parts[0]?.startsWith('## ') ? '' : (parts.shift() ?? '');
  const sections = parts.map((p): [string, string] => [p.split('\n', 1)[0]!.slice(3).trim(), p]);
  return { preamble, sections };
}

/** Replaces (or appends) this part's section in RESULTS.md and its key in results.json. */
export function writeResult(r: PartResult): void {
  if (r.quick) mkdirSync(QUICK_DIR, { recursive: true });
  const mdFile = r.quick ? path.join(QUICK_DIR, 'RESULTS.md') : RESULTS_MD;
  const jsonFile = r.quick ? path.join(QUICK_DIR, 'results.json') : RESULTS_JSON;
  const existing = existsSync(mdFile) ? readFileSync(mdFile, 'utf8') : '';
  // The preamble is always this module's (it describes the file); sections of other scripts are kept.
  const { sections } = splitSections(existing);
  const body = sectionMarkdown(r);
  const index = sections.findIndex(([heading]) => heading === r.title);
  if (index >= 0) sections[index] = [r.title, body];
  else sections.push([r.title, body]);
  const md = [PREAMBLE.trimEnd(), ...sections.map(([, s]) => s.trimEnd())];
  writeFileSync(mdFile, `${md.join('\n\n')}\n`);

  let json: { parts: Record<string, unknown> } = { parts: {} };
  if (existsSync(jsonFile)) {
    try {
      json = JSON.parse(readFileSync(jsonFile, 'utf8'));
      json.parts ??= {};
    } catch {
      // a broken file is replaced
    }
  }
  json.parts[r.id] = r;
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  writeSummary(mdFile, json.parts as Record<string, PartResult>);
}

export const SUMMARY_TITLE = 'Summary (generated from the sections below)';
/** The parts whose goals the summary lists, in this order; then any other part with goals. */
const SUMMARY_ORDER = [
  'e2e',
  'batched',
  'latency',
  'connections',
  'telemetry-query',
  'batched-v2',
  'console',
];

/**
 * The summary section, rebuilt from results.json after every part: each goal of each part's latest
 * run (plain, not profiled), with the run's date, so the table never disagrees with the sections.
 */
function writeSummary(mdFile: string, parts: Record<string, PartResult>): void {
  const ids = [
    ...SUMMARY_ORDER.filter((id) => parts[id]),
    ...Object.keys(parts).filter((id) => !SUMMARY_ORDER.includes(id) && !id.endsWith('-profiled')),
  ];
  const rows = ids.flatMap((id) => {
    const p = parts[id] as PartResult;
    return (p.goals ?? []).map(
      (g) =>
        `| ${p.title} | ${g.what} | ${g.target} | ${g.actual} | ${g.met ? 'met' : '**MISSED**'} | ${p.date.slice(0, 16)} |`,
    );
  });
  const body = [
    `## ${SUMMARY_TITLE}`,
    '',
    'Each goal of the latest run of each part, rewritten by every `npm run bench` (ratios against baselines',
    'measured in the same run; the sections below have the figures, CPU split and loss checks).',
    '',
    '| part | goal | target | actual | verdict | run (UTC) |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  const { sections } = splitSections(readFileSync(mdFile, 'utf8'));
  const rest = sections.filter(([heading]) => heading !== SUMMARY_TITLE).map(([, text]) => text.trimEnd());
  writeFileSync(mdFile, `${[PREAMBLE.trimEnd(), body, ...rest].join('\n\n')}\n`);
}

/** The part's result as lines for the console. */
export function printResult(r: PartResult): void {
  process.stdout.write(`\n${sectionMarkdown(r)}\n`);
}
