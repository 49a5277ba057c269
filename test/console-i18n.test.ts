/**
 * The console's two languages stay complete (issue 14): both have exactly the same keys, the same
 * placeholders, no empty text; every key the console's code uses exists; and every error reason and
 * field code the API can send (api/error-codes.ts) has a message, so an API change without a
 * translation fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { en } from '../console/src/i18n/en.js';
import { zh } from '../console/src/i18n/zh.js';
import { ApiError } from '../core/api-error.js';
import { idKindOf } from '../core/secrets.js';

const SRC = path.join(import.meta.dirname, '..', 'console', 'src');
const languages = { en, zh } as Record<string, Record<string, string>>;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The string literals of `export type Name = | 'a' | 'b';` in a source file. */
function unionMembers(file: string, name: string): string[] {
  const text = readFileSync(file, 'utf8');
  const body = new RegExp(`export type ${name} =([^;]+);`).exec(text)?.[1] ?? '';
  return [...body.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
}

describe('console translations', () => {
  it('have the same keys in English and Chinese', () => {
    const enKeys = Object.keys(en).sort();
    for (const [lang, messages] of Object.entries(languages)) {
      const keys = Object.keys(messages).sort();
      expect(
        enKeys.filter((k) => !keys.includes(k)),
        `missing in ${lang}`,
      ).toEqual([]);
      expect(
        keys.filter((k) => !enKeys.includes(k)),
        `unknown in ${lang}`,
      ).toEqual([]);
    }
  });

  it('have the same placeholders and no empty text', () => {
    for (const key of Object.keys(en)) {
      for (const [lang, messages] of Object.entries(languages)) {
        expect(messages[key]?.trim(), `${lang} ${key}`).toBeTruthy();
        expect(placeholders(messages[key]!), `${lang} ${key}`).toEqual(
          placeholders(en[key as keyof typeof en]),
        );
      }
    }
  });

  it('are actually Chinese in zh (no English left behind by mistake)', () => {
    // Product names and samples may stay as they are; labels must not.
    const untranslated = Object.keys(en).filter(
      (k) =>
        zh[k as keyof typeof zh] === en[k as keyof typeof en] &&
        !/[\u4e00-\u9fff]/.test(zh[k as keyof typeof zh]),
    );
    expect(untranslated).toEqual([]);
  });

  it('cover every key the console code uses', () => {
    const used = new Set<string>();
    const prefixes = new Set<string>();
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) used.add(m[1]!);
      for (const m of text.matchAll(/\bt\(\s*`([a-zA-Z.]+)\$\{/g)) prefixes.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((k) => !(k in en))).toEqual([]);
    for (const prefix of prefixes) {
      expect(
        Object.keys(en).some((k) => k.startsWith(prefix)),
        `no messages for ${prefix}*`,
      ).toBe(true);
    }
  });

  it('name what an id pasted as a key is (details.looksLike), in both languages', async () => {
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
    vi.stubGlobal('document', { documentElement: {} });
    // Imported by name at run time: these modules use DOM types, which the root tsconfig leaves out
    // (console/tsconfig.json type-checks them).
    const consoleModule = (file: string) => import(/* @vite-ignore */ path.join(SRC, 'i18n', `${file}.ts`));
    const { describeError } = (await consoleModule('api-errors')) as { describeError(err: unknown): string };
    const { setLang } = (await consoleModule('index')) as { setLang(lang: 'en' | 'zh'): void };
    const refusal = (looksLike?: string) =>
      new ApiError(401, 'unauthorized', 'invalid API key', { reason: 'api_key_invalid', looksLike });
    const kinds = ['prt', 'plt', 'dev'].map((p) => idKindOf(`${p}_${'a'.repeat(20)}`) as string);
    expect(kinds).toEqual(['partner_id', 'pilot_id', 'device_id']);
    for (const [lang, words] of [
      ['en', ['a partner id', 'a pilot id', 'a device id']],
      ['zh', ['合作伙伴 ID', '试点项目 ID', '设备 ID']],
    ] as const) {
      setLang(lang);
      const plain = describeError(refusal());
      expect(plain).toBe(
        lang === 'en' ? en['error.reason.api_key_invalid'] : zh['error.reason.api_key_invalid'],
      );
      kinds.forEach((kind, i) => {
        const text = describeError(refusal(kind));
        expect(text.startsWith(plain), text).toBe(true);
        expect(text).toContain(words[i]);
        expect(text).toContain('pk_');
      });
    }
    setLang('en');
    vi.unstubAllGlobals();
  });

  it('cover every error reason and field code the API sends', () => {
    const codes = path.join(import.meta.dirname, '..', 'api', 'error-codes.ts');
    const reasons = unionMembers(codes, 'ErrorReason');
    const fieldCodes = unionMembers(codes, 'FieldCode');
    expect(reasons.length).toBeGreaterThan(10);
    expect(fieldCodes.length).toBeGreaterThan(10);
    expect(reasons.filter((r) => !(`error.reason.${r}` in en))).toEqual([]);
    expect(fieldCodes.filter((c) => !(`fieldError.${c}` in en))).toEqual([]);
    for (const code of [
      'validation_error',
      'unauthorized',
      'not_found',
      'conflict',
      'rate_limited',
      'internal',
      'unavailable',
    ]) {
      expect(`error.code.${code}` in en, code).toBe(true);
    }
  });
});
