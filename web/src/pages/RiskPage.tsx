import { useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Badge, Button, Card, Group, NumberInput, SegmentedControl, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, Loaded, PageTitle } from '../components/Common';
import type { StressView } from '../types';

const SHOCKS = ['-10', '-20', '-30', '-40', '-50', '-60'];
const STATES = ['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'] as const;

export default function RiskPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('risk.title')}</PageTitle>
      <Tabs defaultValue="stress" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="stress">{t('risk.stress')}</Tabs.Tab>
          <Tabs.Tab value="liquidations">{t('risk.liquidations')}</Tabs.Tab>
          <Tabs.Tab value="prices">{t('risk.prices')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="stress"><Stress /></Tabs.Panel>
        <Tabs.Panel value="liquidations"><Liquidations /></Tabs.Panel>
        <Tabs.Panel value="prices"><Prices /></Tabs.Panel>
      </Tabs>
    </>
  );
}

function Stress() {
  const { t, rub, btc } = useI18n();
  const [shock, setShock] = useState('-30');
  const [depth, setDepth] = useState('10');
  const stress = useQuery({ queryKey: ['stress', shock, depth], queryFn: async () => must(await api.GET('/api/v1/risk/stress', { params: { query: { shock, depthBtcPerHour: depth } } })) as unknown as StressView });
  return (
    <Stack>
      <Group align="flex-end">
        <Stack gap={4}><Text size="sm">{t('risk.shock')}</Text><SegmentedControl value={shock} onChange={setShock} data={SHOCKS.map((s) => ({ value: s, label: `${s}%` }))} data-testid="shock" /></Stack>
        <TextInput label={t('risk.depth')} value={depth} onChange={(e) => setDepth(e.currentTarget.value)} w={160} />
      </Group>
      <Loaded query={stress}>{(s) => (
        <>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Figure label={t('risk.priceNow')} value={rub(s.price)} />
            <Figure label={t('risk.shocked')} value={rub(s.shockedPrice)} testId="shocked-price" />
            <Figure label={t('risk.btcToSell')} value={btc(s.liquidation.btcPlanned)} />
            <Figure label={t('risk.shortfall')} value={rub(s.liquidation.expectedShortfall)} />
            <Figure label={t('risk.gross')} value={rub(s.liquidation.gross)} />
            <Figure label={t('risk.net')} value={rub(s.liquidation.net)} />
            <Figure label={t('risk.loansLiquidated')} value={`${s.liquidation.loans} (${s.liquidation.full} / ${s.liquidation.partial})`} />
            <Figure label={t('risk.hoursToClear')} value={s.queue.hoursToClear} />
          </SimpleGrid>
          <Table maw={520}>
            <Table.Thead><Table.Tr><Table.Th>{t('common.state')}</Table.Th><Table.Th ta="right">{t('risk.before')}</Table.Th><Table.Th ta="right">{t('risk.after')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{STATES.map((state) => (
              <Table.Tr key={state}><Table.Td>{t(`state.${state}` as MessageKey)}</Table.Td><Table.Td ta="right">{s.states[state]?.before ?? 0}</Table.Td><Table.Td ta="right">{s.states[state]?.after ?? 0}</Table.Td></Table.Tr>
            ))}</Table.Tbody>
          </Table>
          {s.queue.timeline.length > 0 && (
            <Table maw={720}>
              <Table.Thead><Table.Tr><Table.Th>{t('risk.hour')}</Table.Th><Table.Th ta="right">{t('risk.loansWaiting')}</Table.Th><Table.Th ta="right">{t('risk.btcWaiting')}</Table.Th><Table.Th ta="right">{t('risk.btcSold')}</Table.Th><Table.Th ta="right">{t('risk.net')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{s.queue.timeline.map((h) => (
                <Table.Tr key={h.hour}><Table.Td>{h.hour}</Table.Td><Table.Td ta="right">{h.loansWaiting}</Table.Td><Table.Td ta="right">{btc(h.btcWaiting)}</Table.Td><Table.Td ta="right">{btc(h.btcSold)}</Table.Td><Table.Td ta="right">{rub(h.netProceeds)}</Table.Td></Table.Tr>
              ))}</Table.Tbody>
            </Table>
          )}
        </>
      )}</Loaded>
    </Stack>
  );
}

interface Liquidation { id: string; loan: string; status: string; kind: string | null; reason: string | null; venue: string | null; referencePrice: string | null; floorPrice: string | null; plannedBtc: string | null; filledBtc: string; queuedAt: string; bookedAt: string | null; report: unknown }

function Liquidations() {
  const { t, rub, btc, time } = useI18n();
  const { can } = useSession();
  const list = useQuery({ queryKey: ['liquidations'], queryFn: async () => must(await api.GET('/api/v1/liquidations', { params: { query: { limit: 100 } } })), refetchInterval: 10_000 });
  const [fill, setFill] = useState({ venueFillId: '', btc: '', price: '', feeRub: '0.00' });
  return (
    <Loaded query={list}>{(data) => (
      <Stack>
        <Text>{t('risk.inFlight', { btc: btc(data.inFlightBtc) })}</Text>
        <Table.ScrollContainer minWidth={900}>
          <Table striped data-testid="liquidations-table">
            <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('risk.venue')}</Table.Th><Table.Th ta="right">{t('risk.reference')}</Table.Th><Table.Th ta="right">{t('risk.floor')}</Table.Th><Table.Th ta="right">{t('risk.planned')}</Table.Th><Table.Th ta="right">{t('risk.filled')}</Table.Th><Table.Th>{t('risk.queuedAt')}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
            <Table.Tbody>{(data.liquidations as unknown as Liquidation[]).map((q) => (
              <Table.Tr key={q.id}>
                <Table.Td>{q.id}</Table.Td><Table.Td><Anchor component={Link} to={`/loans/${q.loan}`}>{q.loan}</Anchor></Table.Td>
                <Table.Td><Badge variant="light">{q.status}</Badge></Table.Td><Table.Td>{q.venue ?? '—'}</Table.Td>
                <Table.Td ta="right">{rub(q.referencePrice)}</Table.Td><Table.Td ta="right">{rub(q.floorPrice)}</Table.Td><Table.Td ta="right">{btc(q.plannedBtc)}</Table.Td><Table.Td ta="right">{btc(q.filledBtc)}</Table.Td>
                <Table.Td>{time(q.queuedAt)}</Table.Td>
                <Table.Td>{q.status === 'selling' && can('postLiquidationsByIdFills') && (
                  <ActionButton label={t('risk.recordFill')} run={async (key) => must(await api.POST('/api/v1/liquidations/{id}/fills', { params: { path: { id: q.id }, header: { 'idempotency-key': key } }, body: { fills: [fill], done: false } }))}>
                    <TextInput label={t('risk.fillId')} value={fill.venueFillId} onChange={(e) => setFill({ ...fill, venueFillId: e.currentTarget.value })} />
                    <TextInput label="BTC" value={fill.btc} onChange={(e) => setFill({ ...fill, btc: e.currentTarget.value })} />
                    <TextInput label={t('risk.fillPrice')} value={fill.price} onChange={(e) => setFill({ ...fill, price: e.currentTarget.value })} />
                    <TextInput label={t('risk.fee')} value={fill.feeRub} onChange={(e) => setFill({ ...fill, feeRub: e.currentTarget.value })} />
                    <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
                  </ActionButton>
                )}</Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Stack>
    )}</Loaded>
  );
}

interface VerdictView { source: string; pair: string; priceKopecks: string; observedAt: string; status: string }

function Prices() {
  const { t, rub, time } = useI18n();
  const { can } = useSession();
  const current = useQuery({ queryKey: ['prices', 'current'], queryFn: async () => must(await api.GET('/api/v1/prices/current')), refetchInterval: 10_000 });
  const cycleId = current.data?.price?.cycleId;
  const cycle = useQuery({ queryKey: ['cycle', cycleId], enabled: cycleId !== undefined, queryFn: async () => must(await api.GET('/api/v1/prices/cycles/{id}', { params: { path: { id: cycleId! } } })) });
  const [price, setPrice] = useState('');
  const [minutes, setMinutes] = useState<number | string>(60);
  const [reason, setReason] = useState('');
  return (
    <Stack>
      <Group>
        {can('postPricesManual') && (
          <ActionButton label={t('risk.manualPrice')} testId="manual-price" run={async (key) => must(await api.POST('/api/v1/prices/manual', { params: { header: { 'idempotency-key': key } }, body: { price, validMinutes: Number(minutes), reason } }))}>
            <TextInput label={t('risk.manualPriceRub')} value={price} onChange={(e) => setPrice(e.currentTarget.value)} placeholder="8000000.00" />
            <NumberInput label={t('risk.validMinutes')} value={minutes} onChange={setMinutes} min={1} max={1440} />
            <TextInput label={t('inbox.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
            <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
          </ActionButton>
        )}
      </Group>
      <Loaded query={cycle}>{(c) => (
        <Card withBorder>
          <Title order={3} size="h4">{t('risk.cycle', { id: c.cycleId })}</Title>
          <Text size="sm">{time(c.at)} · {rub(c.price ?? null)} · {t(`prices.status.${c.status}` as MessageKey)} {c.reasons.join(', ')}</Text>
          <Table mt="sm">
            <Table.Thead><Table.Tr><Table.Th>{t('prices.source')}</Table.Th><Table.Th>{t('prices.pair')}</Table.Th><Table.Th ta="right">{t('risk.quoteRub')}</Table.Th><Table.Th>{t('risk.observed')}</Table.Th><Table.Th>{t('risk.verdict')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{((c.inputs ?? []) as VerdictView[]).map((v, i) => (
              <Table.Tr key={i}>
                <Table.Td>{v.source}</Table.Td><Table.Td>{v.pair}</Table.Td><Table.Td ta="right">{rub(kopecksToRub(v.priceKopecks))}</Table.Td><Table.Td>{time(v.observedAt)}</Table.Td>
                <Table.Td><Badge color={v.status === 'used' ? 'green' : 'orange'} variant="light">{t(`verdict.${v.status}` as MessageKey)}</Badge></Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </Card>
      )}</Loaded>
      <Button variant="subtle" component={Link} to="/portfolio">{t('nav.portfolio')}</Button>
    </Stack>
  );
}

/** Kopecks as a string of roubles, by moving the decimal point (text, not arithmetic). */
function kopecksToRub(kopecks: string): string {
  const padded = kopecks.padStart(3, '0');
  return `${padded.slice(0, -2)}.${padded.slice(-2)}`;
}
