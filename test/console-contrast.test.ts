/**
 * The console's colours have enough contrast (WCAG 2.1 AA): 4.5:1 for text on its background, 3:1
 * for chart lines against white (graphics). Read from the stylesheet and the chart palette, so a
 * change of colour that breaks it fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { PALETTE } from '../console/src/charts/palette.js';

const css = readFileSync(path.join(import.meta.dirname, '..', 'console', 'src', 'styles.css'), 'utf8');
const vars = Object.fromEntries(
  [...css.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})/g)].map((m) => [m[1]!, m[2]!]),
);
const color = (c: string) => (c.startsWith('#') ? c : vars[c]!);

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const v = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(color(a)), luminance(color(b))].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

it('text colours reach 4.5:1 on their backgrounds', () => {
  const pairs: [string, string][] = [
    ['text', 'bg'],
    ['text', 'panel'],
    ['muted', 'bg'],
    ['muted', 'panel'],
    ['accent', 'bg'],
    ['accent-text', 'accent'],
    ['#ffffff', 'danger'],
    ['danger', 'bg'],
    ['ok-text', 'ok-bg'],
    ['off-text', 'off-bg'],
    ['warn-text', 'warn-bg'],
    ['error-text', 'error-bg'],
  ];
  for (const [fg, bg] of pairs) expect(contrast(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
});

it('chart lines reach 3:1 against the white chart background', () => {
  for (const c of PALETTE) expect(contrast(c, '#ffffff'), c).toBeGreaterThanOrEqual(3);
});
