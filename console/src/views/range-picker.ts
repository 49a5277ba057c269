/**
 * Which time range to show: live, the last hour, day or week, or a custom range (two local
 * date-time inputs, checked before anything is asked of the API).
 */
import { field, h } from '../dom.js';
import { toLocalInput } from '../format.js';
import { t } from '../i18n/index.js';

export type RangeChoice = { kind: 'live' } | { kind: 'range'; from: number; to: number };

const PRESETS: Record<string, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

export function rangePicker(opts: {
  withLive: boolean;
  initial: string;
  onChange: (choice: RangeChoice) => void;
}): { el: HTMLElement; current(): RangeChoice } {
  const choices: [string, string][] = [
    ...(opts.withLive ? ([['live', t('range.live')]] as [string, string][]) : []),
    ['hour', t('range.hour')],
    ['day', t('range.day')],
    ['week', t('range.week')],
    ['custom', t('range.custom')],
  ];
  const sel = h('select', {}, ...choices.map(([v, label]) => h('option', { value: v }, label)));
  sel.value = opts.initial;
  const now = Date.now();
  const from = h('input', { type: 'datetime-local', value: toLocalInput(now - PRESETS.day!) });
  const to = h('input', { type: 'datetime-local', value: toLocalInput(now) });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const apply = h('button', { type: 'submit', class: 'secondary' }, t('range.apply'));
  const custom = h(
    'form',
    { class: 'custom-range', 'aria-label': t('range.custom') },
    field(t('range.from'), from),
    field(t('range.to'), to),
    h('div', { class: 'actions' }, apply),
    error,
  );

  const current = (): RangeChoice => {
    if (sel.value === 'live') return { kind: 'live' };
    if (sel.value === 'custom')
      return { kind: 'range', from: new Date(from.value).getTime(), to: new Date(to.value).getTime() };
    const end = Date.now();
    return { kind: 'range', from: end - (PRESETS[sel.value] ?? PRESETS.day!), to: end };
  };
  const sync = () => {
    custom.hidden = sel.value !== 'custom';
  };
  sel.addEventListener('change', () => {
    sync();
    error.textContent = '';
    if (sel.value !== 'custom') opts.onChange(current());
  });
  custom.addEventListener('submit', (e) => {
    e.preventDefault();
    const c = current();
    if (c.kind === 'range' && (!Number.isFinite(c.from) || !Number.isFinite(c.to))) {
      error.textContent = t('range.invalid');
    } else if (c.kind === 'range' && c.from >= c.to) {
      error.textContent = t('range.order');
    } else {
      error.textContent = '';
      opts.onChange(c);
    }
  });
  sync();
  return { el: h('div', { class: 'range-picker' }, field(t('range.label'), sel), custom), current };
}
