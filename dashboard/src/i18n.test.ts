import { describe, expect, it } from 'vitest';
import { MESSAGES, translator } from './i18n.js';

const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]/;

describe('the dictionary', () => {
  it('has the same keys in Japanese and English, none empty', () => {
    expect(Object.keys(MESSAGES.en).sort()).toEqual(Object.keys(MESSAGES.ja).sort());
    for (const lang of ['ja', 'en'] as const) {
      for (const [key, text] of Object.entries(MESSAGES[lang])) expect(text.trim(), `${lang} ${key}`).not.toBe('');
    }
  });

  it('uses the same {placeholders} in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(MESSAGES.ja) as (keyof typeof MESSAGES.ja)[]) {
      expect(names(MESSAGES.en[key]), key).toEqual(names(MESSAGES.ja[key]));
    }
  });

  it('has no Japanese in English text, except the names of the other language and the brand', () => {
    const allowed = new Set(['app.name', 'lang.toggle']);
    for (const [key, text] of Object.entries(MESSAGES.en)) if (!allowed.has(key)) expect(text, key).not.toMatch(JAPANESE);
  });

  it('fills placeholders', () => {
    expect(translator('en')('kpi.per100km', { value: '1.5' })).toBe('1.5 per 100 km');
    expect(translator('ja')('error.pilot', { id: 'x' })).toBe('実証「x」を読み込めませんでした。');
  });
});
