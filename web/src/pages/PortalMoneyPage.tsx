import { useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Button, Card, CopyButton, Grid, Group, NumberInput, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { Figure, Loaded, PageTitle, ProblemAlert, ScrollTable } from '../components/Common';
import type { BorrowerMoney, PaymentDetails } from '../types';
import { useHoldOrSell } from '../components/hold-or-sell';

/**
 * The miner's money at the bank: where to pay (the bank's requisites and the purpose line naming
 * the loan, each with a copy button, as a payment order asks them), its settlement account (what
 * is there, what its loans need now and at the next instalments, what may be refunded), the
 * refunds made and payments held, and the hold-or-sell calculator.
 */
export default function PortalMoneyPage() {
  const { t, rub, day, time } = useI18n();
  const { me } = useSession();
  const ref = me?.borrowerRef ?? '';
  const money = useQuery({ queryKey: ['my-money', ref], enabled: ref !== '', queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/money', { params: { path: { ref } } })) as unknown as BorrowerMoney });
  return (
    <>
      <PageTitle right={<Anchor component={Link} to="/portal">{t('portal.back')}</Anchor>}>{t('portal.moneyTitle')}</PageTitle>
      <Loaded query={money}>{(m) => (
        <Stack>
          <Card withBorder>
            <Title order={3} size="h4" mb="sm">{t('portal.settlement')}</Title>
            <SimpleGrid cols={{ base: 2, sm: 4 }}>
              <Figure label={t('portal.onAccount')} value={rub(m.settlement)} testId="settlement" />
              <Figure label={t('portal.dueNow')} value={rub(m.dueNow)} />
              <Figure label={t('portal.nextInstalments')} value={rub(m.nextInstalments)} />
              <Figure label={t('portal.refundable')} value={rub(m.refundable)} testId="refundable" />
            </SimpleGrid>
            <Text size="xs" c="dimmed" mt="xs">{t('portal.settlementExplain', { day: day(m.businessDate) })}</Text>
            {m.refundable !== '0.00' && <Text size="sm" mt="xs">{m.bankDetails === null ? t('portal.refundNoDetails') : t('portal.refundTo', { account: m.bankDetails.account, bik: m.bankDetails.bik })}</Text>}
          </Card>
          {m.repayTo.length === 0 && <Text c="dimmed">{t('portal.nothingToRepay')}</Text>}
          {m.repayTo.map((p) => <Requisites key={p.reference} details={p} />)}
          {m.refunds.length > 0 && (
            <Card withBorder>
              <Title order={3} size="h5" mb="xs">{t('portal.refunds')}</Title>
              <ScrollTable label={t('portal.refunds')}>
                <Table><Table.Tbody>{m.refunds.map((r) => <Table.Tr key={r.paymentOrderId}><Table.Td>{time(r.at)}</Table.Td><Table.Td ta="right">{rub(r.amount)}</Table.Td><Table.Td>{r.purpose}</Table.Td></Table.Tr>)}</Table.Tbody></Table>
              </ScrollTable>
            </Card>
          )}
          {m.suspense.length > 0 && (
            <Card withBorder>
              <Title order={3} size="h5" mb="xs">{t('portal.suspense')}</Title>
              <ScrollTable label={t('portal.suspense')}>
                <Table><Table.Tbody>{m.suspense.map((s) => <Table.Tr key={s.id}><Table.Td>{day(s.businessDate)}</Table.Td><Table.Td>{s.reference}</Table.Td><Table.Td ta="right">{rub(s.amount)}</Table.Td><Table.Td>{s.status}</Table.Td></Table.Tr>)}</Table.Tbody></Table>
              </ScrollTable>
            </Card>
          )}
          <HoldOrSell />
        </Stack>
      )}</Loaded>
    </>
  );
}

function Requisites({ details }: { details: PaymentDetails }) {
  const { t, locale } = useI18n();
  const rows: Array<[string, string]> = [
    [t('portal.req.recipient'), locale === 'ru' ? details.recipient : details.recipientEn],
    [t('portal.req.inn'), details.inn], [t('portal.req.kpp'), details.kpp], [t('portal.req.bik'), details.bik],
    [t('portal.req.correspondent'), details.correspondentAccount], [t('portal.req.account'), details.account],
    [t('portal.req.purpose'), locale === 'ru' ? details.purpose : details.purposeEn],
  ];
  return (
    <Card withBorder data-testid={`requisites-${details.reference}`}>
      <Title order={3} size="h4" mb="xs">{t('portal.payTitle', { loan: details.reference })}</Title>
      <Text size="sm" mb="sm">{t('portal.payExplain', { loan: details.reference })}</Text>
      <Stack gap={6}>{rows.map(([label, value]) => (
        <Group key={label} justify="space-between" wrap="nowrap" align="flex-start">
          <Stack gap={0} style={{ minWidth: 0 }}>
            <Text size="xs" c="dimmed">{label}</Text>
            <Text size="sm" ff={/^\d+$/.test(value) ? 'monospace' : undefined} style={{ wordBreak: 'break-word' }}>{value}</Text>
          </Stack>
          <CopyButton value={value}>{({ copied, copy }) => <Button size="compact-xs" variant="subtle" style={{ flexShrink: 0 }} onClick={copy} aria-label={`${t('portal.copy')}: ${label}`}>{copied ? t('portal.copied') : t('portal.copy')}</Button>}</CopyButton>
        </Group>
      ))}</Stack>
    </Card>
  );
}

/** Borrow against the BTC and keep it, or sell some now? The server's calculation, in words. */
function HoldOrSell() {
  const { t, rub, btc } = useI18n();
  const { holdings, setHoldings, need, setNeed, months, setMonths, rate, setRate, calc } = useHoldOrSell();
  const a = calc.data;
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="xs">{t('portal.holdTitle')}</Title>
      <Text size="sm" mb="sm">{t('portal.holdExplain')}</Text>
      <Grid>
        <Grid.Col span={{ base: 6, sm: 3 }}><TextInput label={t('portal.holdHoldings')} value={holdings} onChange={(e) => setHoldings(e.currentTarget.value)} inputMode="decimal" /></Grid.Col>
        <Grid.Col span={{ base: 6, sm: 3 }}><TextInput label={t('portal.holdNeed')} value={need} onChange={(e) => setNeed(e.currentTarget.value)} inputMode="decimal" /></Grid.Col>
        <Grid.Col span={{ base: 6, sm: 3 }}><NumberInput label={t('common.months')} value={months} onChange={setMonths} min={1} max={60} /></Grid.Col>
        <Grid.Col span={{ base: 6, sm: 3 }}><TextInput label={t('portal.holdRate')} value={rate} onChange={(e) => setRate(e.currentTarget.value)} inputMode="decimal" /></Grid.Col>
      </Grid>
      <Button mt="sm" onClick={() => calc.mutate()} loading={calc.isPending} data-testid="hold-or-sell">{t('portal.holdCompute')}</Button>
      <ProblemAlert error={calc.error} />
      {a !== undefined && (
        <Stack gap="xs" mt="md" data-testid="hold-answer">
          <Text size="sm">{t('portal.holdAnswer', { sell: btc(a.sellNow), cost: rub(a.loan.totalCost), breakEven: rub(a.breakEvenPrice), liquidation: rub(a.liquidationPrice) })}</Text>
          <ScrollTable label={t('portal.holdTitle')}>
            <Table striped fz="xs" horizontalSpacing={4}>
              <Table.Thead><Table.Tr><Table.Th>{t('portal.holdEndPrice')}</Table.Th><Table.Th ta="right">{t('portal.holdBorrow')}</Table.Th><Table.Th ta="right">{t('portal.holdSell')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{a.outcomes.map((o) => (
                <Table.Tr key={o.name}><Table.Td>{rub(o.priceAtEnd)}</Table.Td><Table.Td ta="right" fw={o.better === 'borrow' ? 700 : undefined}>{rub(o.borrow)}</Table.Td><Table.Td ta="right" fw={o.better === 'sell' ? 700 : undefined}>{rub(o.sell)}</Table.Td></Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </ScrollTable>
        </Stack>
      )}
    </Card>
  );
}
