import { Alert, Badge, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import type { ExposureCheckView } from '../types';
import { bpsToPercent } from '../format';

const COLOUR = { within: 'green', soft: 'orange', hard: 'red', no_capital: 'red' } as const;

/** A judgement as a coloured badge: within, above soft, above hard. */
export function JudgementBadge({ judgement }: { judgement: string | null }) {
  const { t } = useI18n();
  if (judgement === null) return <Text size="sm" c="dimmed">—</Text>;
  // Never cut short: a judgement is read whole, however narrow its column.
  return <Badge color={COLOUR[judgement as keyof typeof COLOUR] ?? 'gray'} variant="light" tt="none" styles={{ root: { overflow: 'visible', maxWidth: 'none', flexShrink: 0 }, label: { overflow: 'visible' } }}>{t(`exposure.judgement.${judgement}` as MessageKey)}</Badge>;
}

/**
 * The bank's exposure before and after one loan, against each limit in force (the offer's check,
 * or the one an approval made): what an officer reads before proposing, and a checker before
 * approving.
 */
export function ExposureCheck({ check }: { check: ExposureCheckView }) {
  const { t, rub, pct, day } = useI18n();
  const bps = (value: number | null) => (value === null ? '—' : pct(bpsToPercent(value)));
  return (
    <Stack gap="xs" mb="md" data-testid="exposure-check">
      <Title order={4} size="h5">{t('exposure.check')}</Title>
      {check.decision === 'soft' && <Alert color="orange" p="xs">{t('exposure.needsRisk')}</Alert>}
      {(check.decision === 'hard' || check.decision === 'no_capital') && <Alert color="red" p="xs">{check.reasons.join('; ')}</Alert>}
      <Table.ScrollContainer minWidth={560}>
        <Table>
          <Table.Thead><Table.Tr><Table.Th>{t('exposure.limit')}</Table.Th><Table.Th ta="right">{t('exposure.before')}</Table.Th><Table.Th ta="right">{t('exposure.after')}</Table.Th><Table.Th ta="right">{t('exposure.soft')}</Table.Th><Table.Th ta="right">{t('exposure.hard')}</Table.Th><Table.Th>{t('exposure.judgement')}</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>{check.lines.map((line) => (
            <Table.Tr key={line.kind}>
              <Table.Td>{t(`exposure.kind.${line.kind}` as MessageKey)}</Table.Td>
              <Table.Td ta="right"><Text size="sm">{rub(line.before)}</Text><Text size="xs" c="dimmed">{pct(line.beforePercent)}</Text></Table.Td>
              <Table.Td ta="right"><Text size="sm">{rub(line.after)}</Text><Text size="xs" c="dimmed">{pct(line.afterPercent)}</Text></Table.Td>
              <Table.Td ta="right">{bps(line.softBps)}</Table.Td><Table.Td ta="right">{bps(line.hardBps)}</Table.Td>
              <Table.Td><JudgementBadge judgement={line.judgement} /></Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {check.capital !== null && <Text size="xs" c="dimmed">{t('exposure.checkNote', { tier1: rub(check.capital.tier1), day: day(check.day) })}</Text>}
    </Stack>
  );
}

/** The latest check recorded for an application (its offer's, or its approval's). */
export function ApplicationExposure({ applicationId }: { applicationId: string }) {
  const checks = useQuery({ queryKey: ['exposure-checks', applicationId], queryFn: async () => must(await api.GET('/api/v1/loan-applications/{id}/exposure-checks', { params: { path: { id: applicationId } } })) });
  const latest = checks.data?.checks.at(-1);
  return latest === undefined ? null : <ExposureCheck check={latest.figures as ExposureCheckView} />;
}
