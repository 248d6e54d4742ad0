import { Link } from 'react-router';
import { Alert, Anchor, Badge, Button, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { Figure, Loaded, PageTitle, ScrollTable, StateBadge } from '../components/Common';
import type { ApplicationView, BorrowerRisk } from '../types';
import { myRiskQuery } from './portal-queries';

/** The miner's risk view: its live loans on the ladder, refreshed as a price moves them. */
export function useMyRisk(ref: string | null) {
  return useQuery({ ...myRiskQuery(ref ?? ''), enabled: ref !== null });
}

/**
 * The miner's first page: a card per live loan (its state, LTV, debt, and a call's deadline at the
 * top, in red, with the way to answer it), then its applications and the way to apply. Each card
 * leads to the loan's own page (health, what-if, call, documents, vault). The same API a miner's
 * representative may call; nothing of the staff console.
 */
export default function PortalPage() {
  const { t, rub, btc, pct, time, duration } = useI18n();
  const { me } = useSession();
  const ref = me?.borrowerRef ?? null;
  const risk = useMyRisk(ref);
  // Loans not on the risk ladder: approved and waiting for their collateral, or repaid.
  const loans = useQuery({ queryKey: ['my-loans', ref], enabled: ref !== null, queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/loans', { params: { path: { ref: ref! } } })).loans as unknown as Array<{ ref: string; status: string; amount: string }> });
  const applications = useQuery({ queryKey: ['my-applications', ref], enabled: ref !== null, queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/loan-applications', { params: { path: { ref: ref! } } })).applications as unknown as ApplicationView[] });
  if (ref === null) return <Alert>{t('portal.staff')} <Anchor component={Link} to="/">{t('portal.toConsole')}</Anchor></Alert>;
  return (
    <>
      <PageTitle right={<Button component={Link} to="/portal/apply" data-testid="apply-link">{t('portal.apply')}</Button>}>{t('portal.title')}</PageTitle>
      <Loaded query={risk}>{(r) => (
        <Stack>
          <Text>{t('portal.price', { price: rub(r.price) })}</Text>
          {r.loans.filter((l) => l.callDeadline !== null).map((l) => (
            <Alert key={`call-${l.loan}`} color="red" title={t('portal.callTitle', { loan: l.loan })} data-testid={`call-alert-${l.loan}`}>
              <Text size="sm">{t('portal.callBy', { deadline: time(l.callDeadline), left: l.callTimeLeftMs === null ? '—' : duration(l.callTimeLeftMs / 1000) })}</Text>
              <Anchor component={Link} to={`/portal/loans/${l.loan}`} size="sm" fw={600}>{t('portal.callWhatToDo')}</Anchor>
            </Alert>
          ))}
          {r.loans.length === 0 && <Text c="dimmed">{t('portal.noLoans')}</Text>}
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {r.loans.map((l) => (
              <Card withBorder key={l.loan} component={Link} to={`/portal/loans/${l.loan}`} data-testid={`loan-card-${l.loan}`}>
                <Group justify="space-between" mb="xs"><Title order={3} size="h4">{l.loan}</Title><StateBadge state={l.state} /></Group>
                <SimpleGrid cols={2}>
                  <Figure label={t('common.ltv')} value={pct(l.ltvPercent)} />
                  <Figure label={t('portfolio.debt')} value={rub(l.debt)} />
                  <Figure label={t('common.collateral')} value={btc(l.collateral)} />
                  <Figure label={t('portal.callPrice')} value={rub(l.prices.marginCall)} />
                </SimpleGrid>
                <Text size="sm" c="blue" mt="xs">{t('portal.open')}</Text>
              </Card>
            ))}
          </SimpleGrid>
        </Stack>
      )}</Loaded>
      {(loans.data ?? []).filter((l) => l.status === 'approved' || l.status === 'closed').length > 0 && (
        <>
          <Title order={3} size="h4" mt="xl" mb="sm">{t('portal.otherLoans')}</Title>
          <Stack gap="xs">{(loans.data ?? []).filter((l) => l.status === 'approved' || l.status === 'closed').map((l) => (
            <Group key={l.ref} gap="sm" data-testid={`other-loan-${l.ref}`}>
              <Anchor component={Link} to={`/portal/loans/${l.ref}`} fw={600}>{l.ref}</Anchor>
              <Text size="sm">{rub(l.amount)}</Text>
              <Text size="sm" c="dimmed">{t(l.status === 'approved' ? 'portal.awaitingShort' : 'loanStatus.closed')}</Text>
            </Group>
          ))}</Stack>
        </>
      )}
      <Title order={3} size="h4" mt="xl" mb="sm">{t('portal.applications')}</Title>
      <Loaded query={applications}>{(list) => list.length === 0 ? <Text c="dimmed" size="sm">{t('portal.noApplications')}</Text> : (
        <ScrollTable label={t('portal.applications')}>
          <Table striped data-testid="my-applications">
            <Table.Thead><Table.Tr><Table.Th visibleFrom="sm">№</Table.Th><Table.Th visibleFrom="sm">{t('common.created')}</Table.Th><Table.Th ta="right">{t('common.amount')}</Table.Th><Table.Th>{t('common.months')}</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{list.map((a) => (
              <Table.Tr key={a.applicationId}>
                <Table.Td visibleFrom="sm">{a.applicationId}</Table.Td><Table.Td visibleFrom="sm">{time(a.createdAt)}</Table.Td><Table.Td ta="right">{rub(a.amount)}</Table.Td><Table.Td>{a.months}</Table.Td>
                <Table.Td>{a.loan !== null ? <Anchor component={Link} to={`/portal/loans/${a.loan}`}>{a.loan}</Anchor> : <Badge variant="light" tt="none" color={a.status === 'offered' ? 'blue' : 'gray'} styles={{ label: { color: 'var(--mantine-color-dark-8)' } }}>{t(a.status === 'offered' ? 'portal.applicationWaiting' : 'portal.applicationClosed')}</Badge>}</Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </ScrollTable>
      )}</Loaded>
    </>
  );
}
