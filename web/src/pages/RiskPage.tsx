import { useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Badge, Button, Card, Group, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
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
          <Tabs.Tab value="sales">{t('sales.tab')}</Tabs.Tab>
          <Tabs.Tab value="prices">{t('risk.prices')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="stress"><Stress /></Tabs.Panel>
        <Tabs.Panel value="liquidations"><Liquidations /></Tabs.Panel>
        <Tabs.Panel value="sales"><Sales /></Tabs.Panel>
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
  const [channel, setChannel] = useState<{ channel: Channel; venue: string; counterparty: string; jurisdiction: string }>({ channel: 'experimental_regime', venue: '', counterparty: '', jurisdiction: '' });
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
                  <ActionButton label={t('risk.recordFill')} run={async (key) => must(await api.POST('/api/v1/liquidations/{id}/fills', { params: { path: { id: q.id }, header: { 'idempotency-key': key } }, body: { fills: [fill], done: false, channel } }))}>
                    <TextInput label={t('risk.fillId')} value={fill.venueFillId} onChange={(e) => setFill({ ...fill, venueFillId: e.currentTarget.value })} />
                    <TextInput label="BTC" value={fill.btc} onChange={(e) => setFill({ ...fill, btc: e.currentTarget.value })} />
                    <TextInput label={t('risk.fillPrice')} value={fill.price} onChange={(e) => setFill({ ...fill, price: e.currentTarget.value })} />
                    <TextInput label={t('risk.fee')} value={fill.feeRub} onChange={(e) => setFill({ ...fill, feeRub: e.currentTarget.value })} />
                    <Select label={t('sales.channel')} value={channel.channel} onChange={(v) => setChannel({ ...channel, channel: (v ?? 'experimental_regime') as Channel })} allowDeselect={false} data={CHANNELS.map((c) => ({ value: c, label: t(`sales.channel.${c}` as MessageKey) }))} />
                    <TextInput label={t('sales.venue')} value={channel.venue} onChange={(e) => setChannel({ ...channel, venue: e.currentTarget.value })} />
                    <TextInput label={t('sales.counterparty')} value={channel.counterparty} onChange={(e) => setChannel({ ...channel, counterparty: e.currentTarget.value })} />
                    <TextInput label={t('sales.jurisdiction')} value={channel.jurisdiction} onChange={(e) => setChannel({ ...channel, jurisdiction: e.currentTarget.value.toUpperCase() })} placeholder="AE" maxLength={2} />
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

const CHANNELS = ['licensed_venue', 'experimental_regime', 'otc_abroad'] as const;
interface SalesReport {
  byChannel: Array<{ channel: string; sales: number; btc: string; grossRub: string; feesRub: string }>;
  sales: Array<{ liquidation: string; loan: string; borrower: string; status: string; channel: string | null; venue: string | null; counterparty: string | null; jurisdiction: string | null; soldAt: string; btc: string; grossRub: string; feesRub: string }>;
}
type Channel = (typeof CHANNELS)[number];

/** Sales of pledged BTC in a period by their legal channel, with each sale's venue, counterparty and jurisdiction; CSV to download. */
function Sales() {
  const { t, rub, btc, time } = useI18n();
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(`${today.slice(0, 4)}-01-01`);
  const [to, setTo] = useState(today);
  const sales = useQuery({ queryKey: ['sales', from, to], queryFn: async () => must(await api.GET('/api/v1/liquidations/sales', { params: { query: { from, to, format: 'json', lang: 'ru' } } })) as unknown as SalesReport });
  const channels = useQuery({ queryKey: ['sale-channels'], queryFn: async () => must(await api.GET('/api/v1/sale-channels')) });
  const { locale } = useI18n();
  const label = (c: string | null) => t(`sales.channel.${c ?? 'none'}` as MessageKey);
  return (
    <Stack>
      <Loaded query={channels}>{(c) => (
        <Group gap="xs">{c.channels.map((x) => (
          <Badge key={x.channel} color={x.allowed ? 'green' : 'gray'} variant="light" title={x.reason ?? undefined}>{label(x.channel)}: {x.allowed ? t('sales.allowed') : t('sales.notAllowed')}</Badge>
        ))}</Group>
      )}</Loaded>
      <Group align="flex-end">
        <TextInput label={t('exposure.from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} w={160} />
        <TextInput label={t('exposure.to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} w={160} />
        <Button component="a" variant="light" href={`/api/v1/liquidations/sales?from=${from}&to=${to}&format=csv&lang=${locale}`} data-testid="sales-csv">{t('sales.csv')}</Button>
      </Group>
      <Loaded query={sales}>{(s) => (
        <>
          <Table maw={760} data-testid="sales-by-channel">
            <Table.Thead><Table.Tr><Table.Th>{t('sales.channel')}</Table.Th><Table.Th ta="right">{t('sales.count')}</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th ta="right">{t('sales.gross')}</Table.Th><Table.Th ta="right">{t('sales.fees')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{s.byChannel.map((c) => (
              <Table.Tr key={c.channel}><Table.Td>{label(c.channel)}</Table.Td><Table.Td ta="right">{c.sales}</Table.Td><Table.Td ta="right">{btc(c.btc)}</Table.Td><Table.Td ta="right">{rub(c.grossRub)}</Table.Td><Table.Td ta="right">{rub(c.feesRub)}</Table.Td></Table.Tr>
            ))}</Table.Tbody>
          </Table>
          {s.sales.length === 0 ? <Text c="dimmed">{t('sales.none')}</Text> : (
            <Table.ScrollContainer minWidth={960}>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('sales.channel')}</Table.Th><Table.Th>{t('sales.venue')}</Table.Th><Table.Th>{t('sales.counterparty')}</Table.Th><Table.Th>{t('sales.jurisdiction')}</Table.Th><Table.Th>{t('sales.soldAt')}</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th ta="right">{t('sales.gross')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{s.sales.map((r) => (
                  <Table.Tr key={r.liquidation}><Table.Td>{r.liquidation}</Table.Td><Table.Td><Anchor component={Link} to={`/loans/${r.loan}`}>{r.loan}</Anchor></Table.Td><Table.Td>{label(r.channel)}</Table.Td><Table.Td>{r.venue ?? '—'}</Table.Td><Table.Td>{r.counterparty ?? '—'}</Table.Td><Table.Td>{r.jurisdiction ?? '—'}</Table.Td><Table.Td>{time(r.soldAt)}</Table.Td><Table.Td ta="right">{btc(r.btc)}</Table.Td><Table.Td ta="right">{rub(r.grossRub)}</Table.Td></Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </>
      )}</Loaded>
    </Stack>
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
