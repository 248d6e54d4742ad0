import { Button } from '@mantine/core';
import { useI18n } from '../i18n';

/**
 * RU | EN. Two plain buttons, not Mantine's SegmentedControl: that one measures the page
 * (getBoundingClientRect) to slide its indicator, which forced a layout in the middle of every
 * first load (issue 17's first_load_ms).
 */
const NAMES = { ru: 'Русский', en: 'English' } as const;

export function LanguageSwitch({ full = false }: { full?: boolean }) {
  const { t, locale, setLocale } = useI18n();
  return (
    <Button.Group aria-label={t('app.language')}>
      {(['ru', 'en'] as const).map((code) => (
        <Button key={code} size={full ? 'xs' : 'compact-xs'} variant={locale === code ? 'filled' : 'default'} aria-pressed={locale === code} lang={code} onClick={() => setLocale(code)}>
          {full ? NAMES[code] : code.toUpperCase()}
        </Button>
      ))}
    </Button.Group>
  );
}
