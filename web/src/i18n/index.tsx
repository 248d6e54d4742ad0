import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { formatBtc, formatDay, formatDuration, formatMoscowTime, formatPercent, formatRub, formatDecimal, type Locale } from '../format';
import { en } from './en';
import { ru, type MessageKey } from './ru';

/**
 * Russian first, English second. Every string the app shows is in the two catalogues (ru.ts is
 * the reference; en.ts must have every key, which the type checker enforces), so a missing
 * translation fails the build. A small context rather than an i18n library: the catalogues are
 * flat, with `{name}` placeholders and no plural rules beyond what the sentences avoid, and typed
 * keys catch a typo at build time, which a string-keyed library would not.
 */

const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { ru, en };
const STORAGE_KEY = 'zalog.locale';

interface I18nValue {
  readonly locale: Locale;
  setLocale(locale: Locale): void;
  t(key: MessageKey, params?: Record<string, string | number>): string;
  rub(text: string | null | undefined): string;
  btc(text: string | null | undefined): string;
  pct(text: string | null | undefined): string;
  num(text: string | null | undefined): string;
  time(iso: string | null | undefined): string;
  day(day: string | null | undefined): string;
  duration(seconds: number): string;
}

const I18nContext = createContext<I18nValue | null>(null);

function initialLocale(): Locale {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  return stored === 'en' ? 'en' : 'ru';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const value = useMemo<I18nValue>(() => {
    const catalogue = CATALOGUES[locale];
    return {
      locale,
      setLocale: (next) => {
        localStorage.setItem(STORAGE_KEY, next);
        document.documentElement.lang = next;
        setLocaleState(next);
      },
      t: (key, params) => {
        let text: string = catalogue[key] ?? key;
        if (params !== undefined) for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
        return text;
      },
      rub: (text) => formatRub(text, locale),
      btc: (text) => formatBtc(text, locale),
      pct: (text) => formatPercent(text, locale),
      num: (text) => (text === null || text === undefined ? '—' : formatDecimal(text, locale)),
      time: (iso) => formatMoscowTime(iso, locale),
      day: (day) => formatDay(day, locale),
      duration: (seconds) => formatDuration(seconds, locale),
    };
  }, [locale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const value = useContext(I18nContext);
  if (value === null) throw new Error('useI18n outside I18nProvider');
  return value;
}

export type { MessageKey };
