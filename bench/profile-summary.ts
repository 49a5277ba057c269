/**
 * "Where the time goes": reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function
 * and by package/file, so a result can say what the platform process spent its CPU on.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

/**
 * The newest main-thread .cpuprofile in `dir` written after `since` (ms), if any. Node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (tsx's loader hooks
 * run in a worker thread with a profile of its own).
 */
export function newestProfile(dir: string, since: number): string | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
      .map((f) => path.join(dir, f))
      .filter((f) => statSync(f).mtimeMs >= since)
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

/** Where a frame comes from: an npm package, one of our folders, node internals, or V8 itself. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  const m = /\/(core|broker|ingest|api|platform|device-sim|bench)\/(.+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : path.basename(url);
}

/** A markdown note with the top self-time entries by origin and by function. */
export function summariseProfile(file: string, top = 10): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const o = origin(n.callFrame.url, n.callFrame.functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + hits);
    const f = `${n.callFrame.functionName || '(anonymous)'} (${o}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''})`;
    byFunction.set(f, (byFunction.get(f) ?? 0) + hits);
  }
  const pct = (h: number) => `${((h / total) * 100).toFixed(1)}%`;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, h]) => `${pct(h)} ${k}`)
      .join('; ');
  const secs = ((profile.endTime - profile.startTime) / 1e6).toFixed(0);
  return (
    `Where the time goes (V8 CPU profile of the platform process over its ${secs} s life, self time, ` +
    `\`${path.basename(file)}\`): by origin: ${rank(byOrigin)}. Top functions: ${rank(byFunction)}.`
  );
}
