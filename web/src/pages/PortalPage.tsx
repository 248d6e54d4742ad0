import { Link } from 'react-router';
import { Alert, Anchor, Card, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { Figure, Loaded, PageTitle, StateBadge } from '../components/Common';
import type { BorrowerRisk } from '../types';
import { PortalVault } from './PortalVault';

/**
 * The miner's first page: each live loan's health. The full portal (apply, deposit, answer a
 * call, notices) is the next piece of work; this page already reads the same API a miner's
 * representative may call, and nothing of the staff console.
 */
export default function PortalPage() {
  const { t, rub, btc, pct, time } = useI18n();
  const { me } = useSession();
  const ref = me?.borrowerRef ?? null;
  const risk = useQuery({ queryKey: ['my-risk', ref], enabled: ref !== null, queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/risk', { params: { path: { ref: ref! } } })) as unknown as BorrowerRisk, refetchInterval: 15_000 });
  if (ref === null) return <Alert>{t('portal.staff')} <Anchor component={Link} to="/">{t('portal.toConsole')}</Anchor></Alert>;
  return (
    <>
      <PageTitle>{t('portal.title')}</PageTitle>
      <Loaded query={risk}>{(r) => (
        <Stack>
          <Text>{t('portal.price', { price: rub(r.price) })}</Text>
          {r.loans.length === 0 && <Text c="dimmed">{t('portal.noLoans')}</Text>}
          {r.loans.map((l) => (
            <Card withBorder key={l.loan}>
              <Title order={3} size="h4" mb="xs">{l.loan} <StateBadge state={l.state} /></Title>
              <SimpleGrid cols={{ base: 2, sm: 4 }}>
                <Figure label={t('common.ltv')} value={pct(l.ltvPercent)} />
                <Figure label={t('portfolio.debt')} value={rub(l.debt)} />
                <Figure label={t('common.collateral')} value={btc(l.collateral)} />
                <Figure label={t('portfolio.movesAt')} value={rub(l.worsensAtOrBelow)} />
              </SimpleGrid>
              {l.callDeadline !== null && <Text mt="xs" c="orange">{t('loan.callDeadline', { deadline: time(l.callDeadline) })}</Text>}
              <PortalVault loanRef={l.loan} addBtc={l.callDeadline !== null ? l.cure?.toTarget.addBtc ?? null : null} />
            </Card>
          ))}
        </Stack>
      )}</Loaded>
    </>
  );
}
