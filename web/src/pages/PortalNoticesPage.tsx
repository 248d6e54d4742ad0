import { useState } from 'react';
import { Link } from 'react-router';
import { Alert, Anchor, Button, Card, CopyButton, Group, SegmentedControl, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { Loaded, PageTitle, ProblemAlert } from '../components/Common';

interface NoticeSettings {
  preferences: { language: 'ru' | 'en'; email: boolean; telegram: boolean; earlyWarningLtvPercent: string | null };
  email: string | null;
  telegram: { available: boolean; bot: string | null; linked: { username: string | null; at: string } | null };
}

interface LinkCode { code: string; expiresAt: string; bot: string | null; link: string | null }

/**
 * The miner's notice settings: the language of its letters, e-mail and Telegram on or off, and
 * linking its Telegram chat to the bank's bot with a one-time code (the link opens the bot with
 * "/start <code>"; the page looks again every few seconds until the bot has linked the chat).
 */
export default function PortalNoticesPage() {
  const { t, time } = useI18n();
  const client = useQueryClient();
  const [code, setCode] = useState<LinkCode | undefined>();
  const settings = useQuery({
    queryKey: ['my-notices'],
    queryFn: async () => must(await api.GET('/api/v1/me/notices')) as unknown as NoticeSettings,
    // While a code is out, watch for the bot to link the chat.
    refetchInterval: code !== undefined ? 3_000 : false,
  });
  const save = useMutation({
    mutationFn: async (preferences: NoticeSettings['preferences']) => must(await api.PUT('/api/v1/me/notices', { body: preferences })) as unknown as NoticeSettings,
    onSuccess: (view) => client.setQueryData(['my-notices'], view),
  });
  const issue = useMutation({
    mutationFn: async () => must(await api.POST('/api/v1/me/notices/telegram-code', {})) as unknown as LinkCode,
    onSuccess: (made) => setCode(made),
  });
  const unlink = useMutation({
    mutationFn: async () => must(await api.DELETE('/api/v1/me/notices/telegram', {})) as unknown as NoticeSettings,
    onSuccess: (view) => { setCode(undefined); client.setQueryData(['my-notices'], view); },
  });
  return (
    <>
      <PageTitle right={<Anchor component={Link} to="/portal">{t('portal.back')}</Anchor>}>{t('notices.title')}</PageTitle>
      <Loaded query={settings}>{(s) => {
        const p = s.preferences;
        const linked = s.telegram.linked;
        return (
          <Stack maw={640}>
            <Text size="sm">{t('notices.intro')}</Text>
            <Card withBorder>
              <Title order={3} size="h4" mb="sm">{t('notices.language')}</Title>
              <SegmentedControl value={p.language} data-testid="notices-language" aria-label={t('notices.language')}
                data={[{ value: 'ru', label: 'Русский' }, { value: 'en', label: 'English' }]}
                onChange={(value) => save.mutate({ ...p, language: value as 'ru' | 'en' })} />
              <Text size="xs" c="dimmed" mt="xs">{t('notices.languageNote')}</Text>
            </Card>
            <Card withBorder>
              <Title order={3} size="h4" mb="sm">{t('notices.channels')}</Title>
              <Stack gap="sm">
                <Switch checked={p.email} label={t('notices.email')} data-testid="notices-email"
                  description={s.email === null ? t('notices.noEmail') : t('notices.emailTo', { email: s.email })}
                  onChange={(e) => save.mutate({ ...p, email: e.currentTarget.checked })} />
                <Switch checked={p.telegram} label={t('notices.telegram')} data-testid="notices-telegram" disabled={!s.telegram.available}
                  description={linked === null ? t('notices.telegramNotLinked') : t('notices.telegramLinked', { user: linked.username === null ? '' : `@${linked.username}`, at: time(linked.at) })}
                  onChange={(e) => save.mutate({ ...p, telegram: e.currentTarget.checked })} />
              </Stack>
              <Text size="xs" c="dimmed" mt="sm">{t('notices.channelsNote')}</Text>
              <ProblemAlert error={save.error} />
            </Card>
            <EarlyWarning preferences={p} save={(next) => save.mutate(next)} saving={save.isPending} />
            <Card withBorder data-testid="notices-telegram-card">
              <Title order={3} size="h4" mb="sm">Telegram</Title>
              {!s.telegram.available && <Text size="sm" c="dimmed">{t('notices.telegramUnavailable')}</Text>}
              {s.telegram.available && linked !== null && (
                <Group justify="space-between">
                  <Text size="sm" data-testid="telegram-linked">{t('notices.telegramLinked', { user: linked.username === null ? '' : `@${linked.username}`, at: time(linked.at) })}</Text>
                  <Button size="xs" variant="default" color="red" loading={unlink.isPending} onClick={() => unlink.mutate()} data-testid="telegram-unlink">{t('notices.unlink')}</Button>
                </Group>
              )}
              {s.telegram.available && linked === null && (
                <Stack gap="xs">
                  <Text size="sm">{t('notices.linkSteps')}</Text>
                  {code === undefined
                    ? <Button onClick={() => issue.mutate()} loading={issue.isPending} data-testid="telegram-link">{t('notices.link')}</Button>
                    : (
                      <Alert color="blue" data-testid="telegram-code">
                        <Stack gap="xs">
                          {code.link !== null && <Button component="a" href={code.link} target="_blank" rel="noreferrer">{t('notices.openBot', { bot: `@${code.bot}` })}</Button>}
                          <Text size="sm">{t('notices.orSend', { bot: code.bot === null ? '' : `@${code.bot}` })}</Text>
                          <Text ff="monospace" size="sm" style={{ wordBreak: 'break-all' }}>/start {code.code}</Text>
                          <Group><CopyButton value={`/start ${code.code}`}>{({ copied, copy }) => <Button size="compact-sm" variant="default" onClick={copy}>{copied ? t('portal.copied') : t('portal.copy')}</Button>}</CopyButton></Group>
                          <Text size="xs" c="dimmed">{t('notices.codeExpires', { at: time(code.expiresAt) })}</Text>
                        </Stack>
                      </Alert>
                    )}
                  <ProblemAlert error={issue.error} />
                </Stack>
              )}
            </Card>
          </Stack>
        );
      }}</Loaded>
    </>
  );
}

/** The miner's own early-warning LTV: a notice (at most daily) before the bank's warning. */
function EarlyWarning({ preferences, save, saving }: { preferences: NoticeSettings['preferences']; save: (next: NoticeSettings['preferences']) => void; saving: boolean }) {
  const { t } = useI18n();
  const [text, setText] = useState(preferences.earlyWarningLtvPercent ?? '');
  // Typed with a comma or a dot; sent as the API's decimal string, or null for none.
  const value = text.trim().replace(',', '.');
  const valid = value === '' || /^[0-9]{1,2}(\.[0-9]{1,2})?$/.test(value);
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="xs">{t('notices.early')}</Title>
      <Text size="sm" mb="sm">{t('notices.earlyExplain')}</Text>
      <Group align="flex-end">
        <TextInput label={t('notices.earlyLabel')} rightSection="%" w={140} inputMode="decimal" value={text} onChange={(e) => setText(e.currentTarget.value)}
          error={valid ? undefined : t('notices.earlyInvalid')} data-testid="notices-early" />
        <Button disabled={!valid} loading={saving} onClick={() => save({ ...preferences, earlyWarningLtvPercent: value === '' ? null : value })} data-testid="notices-early-save">{t('notices.save')}</Button>
      </Group>
      <Text size="xs" c="dimmed" mt="xs">{preferences.earlyWarningLtvPercent === null ? t('notices.earlyNone') : t('notices.earlySet', { percent: preferences.earlyWarningLtvPercent.replace('.', t('notices.decimalMark')) })}</Text>
    </Card>
  );
}
