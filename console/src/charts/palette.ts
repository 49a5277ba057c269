/** Series colours: distinct, each at least 3:1 against white as WCAG asks of graphics (test/console-contrast.test.ts). */
export const PALETTE = [
  '#0b5cad',
  '#c2410c',
  '#047857',
  '#7c3aed',
  '#b91c1c',
  '#0e7490',
  '#a16207',
  '#be185d',
  '#4d7c0f',
  '#475569',
];
