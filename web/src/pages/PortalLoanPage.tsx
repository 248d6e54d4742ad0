import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, Anchor, Badge, Button, Card, Group, SimpleGrid, Slider, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, ScrollTable, Figure, Loaded, NoAccess, PageTitle, StateBadge } from '../components/Common';
import { LazyChart } from '../components/LazyChart';
import { kopecksOf, ltvAt, percentMillionths, percentText, rungAt } from '../ltv';
import type { BorrowerRisk, ScheduleLine } from '../types';
import { useMyRisk } from './PortalPage';
import { portalLoanQuery } from './portal-queries';

// The vault's part (QR codes, PSBTs) loads with its code after the health is drawn.
const PortalVault = lazy(() => import('./PortalVault').then((m) => ({ default: m.PortalVault })));

type Loan = BorrowerRisk['loans'][number];
type Transition = BorrowerRisk['transitions'][number];
const ACKNOWLEDGEABLE = new Set(['warning', 'margin_call', 'accelerated_call', 'liquidation']);
const DAY = 86_400_000;

/**
 * False for the first frame, true from the next: what is below the loan's health (the what-if bar
 * and chart, the schedule, the documents, the vault) is drawn after the health is on screen, so a
 * phone shows the figure that matters first (bench:web portal_loan_ms).
 */
function useAfterFirstPaint(shown: boolean): boolean {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    if (!shown || ready) return undefined;
    // A passive effect runs once the frame is committed; the next animation frame follows its paint.
    const frame = requestAnimationFrame(() => setReady(true));
    return () => cancelAnimationFrame(frame);
  }, [shown, ready]);
  return ready;
}

/**
 * One live loan as its miner reads it: how safe it is now (the LTV, and the prices at which the
 * warning, the call and liquidation come), what a price move would do (the what-if bar, and the
 * BTC/RUB chart with those prices as lines), during a call the deadline in the bank's business
 * hours and the two ways out with exact amounts, the notices to acknowledge, the next instalment,
 * the documents, and the vault. Everything from the API any client uses.
 */
export default function PortalLoanPage() {
  const { ref = '' } = useParams();
  const { t, rub, day, pct } = useI18n();
  const { me } = useSession();
  const risk = useMyRisk(me?.borrowerRef ?? null);
  // The loan itself (404 when it is not this borrower's): a loan awaiting its collateral, or
  // repaid, is not on the ladder, and its page shows the vault, the terms and the documents.
  const loan = useQuery(portalLoanQuery(ref));
  const rest = useAfterFirstPaint(loan.data !== undefined && risk.data !== undefined);
  if (loan.error) return <NoAccess notFound />;
  return (
    <Loaded query={loan}>{(l) => (
      <Loaded query={risk}>{(r) => {
        const live = r.loans.find((x) => x.loan === ref);
        const transitions = r.transitions.filter((x) => x.loan === ref);
        return (
          <>
            <PageTitle right={<Anchor component={Link} to="/portal">{t('portal.back')}</Anchor>}>{ref} {live !== undefined ? <StateBadge state={live.state} /> : <Badge variant="light" tt="none" styles={{ label: { color: 'var(--mantine-color-dark-8)' } }} data-testid="loan-status">{t(`loanStatus.${l.status}` as MessageKey)}</Badge>}</PageTitle>
            <Stack>
              {live?.callDeadline != null && <CallPanel loan={live} />}
              <Acknowledge borrower={r.borrower} transitions={transitions} />
              {l.status === 'approved' && <Alert color="blue" data-testid="awaiting-collateral">{t('portal.awaitingCollateral', { amount: rub(l.amount) })}</Alert>}
              {live !== undefined && <Health loan={live} price={r.price} />}
              {rest && live !== undefined && <WhatIf loan={live} price={r.price} />}
              <Card withBorder>
                <SimpleGrid cols={{ base: 2, sm: 4 }}>
                  <Figure label={t('common.amount')} value={rub(l.amount)} />
                  <Figure label={t('loan.rate')} value={pct(l.rate.percent)} />
                  <Figure label={t('common.months')} value={String(l.months)} />
                  <Figure label={t('portal.maturity')} value={day(l.maturityOn)} />
                </SimpleGrid>
              </Card>
              {rest && l.status !== 'approved' && <Instalments loanRef={ref} />}
              {rest && l.status !== 'approved' && <Documents loanRef={ref} />}
              {rest && <Card withBorder id="deposit"><Suspense fallback={null}><PortalVault loanRef={ref} addBtc={live?.callDeadline != null ? live.cure?.toTarget.addBtc ?? null : null} /></Suspense></Card>}
            </Stack>
          </>
        );
      }}</Loaded>
    )}</Loaded>
  );
}

function Health({ loan, price }: { loan: Loan; price: string | null }) {
  const { t, rub, btc, pct } = useI18n();
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="sm">{t('portal.health')}</Title>
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Figure label={t('portal.ltvNow')} value={pct(loan.ltvPercent)} testId="ltv-now" />
        <Figure label={t('portfolio.debt')} value={rub(loan.debt)} />
        <Figure label={t('common.collateral')} value={btc(loan.collateral)} />
        {loan.equipment !== '0.00' && <Figure label={t('equipment.counted')} value={rub(loan.equipment)} testId="portal-equipment" />}
        <Figure label={t('portal.priceNow')} value={rub(price)} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, sm: 3 }} mt="md">
        <Figure label={t('portal.warningAt', { ltv: pct(loan.thresholds.warningPercent) })} value={rub(loan.prices.warning)} testId="price-warning" />
        <Figure label={t('portal.callAt', { ltv: pct(loan.thresholds.marginCallPercent) })} value={rub(loan.prices.marginCall)} testId="price-call" />
        <Figure label={t('portal.liquidationAt', { ltv: pct(loan.thresholds.liquidationPercent) })} value={rub(loan.prices.liquidation)} testId="price-liquidation" />
      </SimpleGrid>
      <Text size="xs" c="dimmed" mt="xs">{t('portal.healthExplain', { haircut: pct(loan.thresholds.haircutPercent), target: pct(loan.thresholds.targetPercent) })}</Text>
    </Card>
  );
}

/** The deadline in business hours and the exact ways out: BTC to add, or roubles to repay. */
function CallPanel({ loan }: { loan: Loan }) {
  const { t, rub, btc, pct, time, duration } = useI18n();
  const cure = loan.cure;
  return (
    <Alert color="red" title={t('portal.callTitle', { loan: loan.loan })} data-testid="call-panel">
      <Stack gap="xs">
        <Text size="sm">{t('portal.callBy', { deadline: time(loan.callDeadline), left: loan.callTimeLeftMs === null ? '—' : duration(loan.callTimeLeftMs / 1000) })}</Text>
        {loan.deadlinePassed !== undefined && <Text size="sm">{t('portal.deadlinePassed')}</Text>}
        <Text size="sm">{t('portal.callExplain')}</Text>
        {/* Two ways out, each with its two amounts: cards that stack on a phone rather than a table that overflows. */}
        {cure !== null && (
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs" data-testid="cure-table">
            {cure.toLeaveCall !== null && (
              <Card withBorder padding="xs">
                <Text size="sm" fw={600}>{t('portal.toLeaveCall', { ltv: pct(cure.toLeaveCall.belowLtvPercent) })}</Text>
                <Text size="sm">{t('portal.addBtc')}: <b data-testid="cure-leave-btc">{btc(cure.toLeaveCall.addBtc)}</b></Text>
                <Text size="sm">{t('portal.orRepay')}: <b data-testid="cure-leave-rub">{rub(cure.toLeaveCall.repayRub)}</b></Text>
              </Card>
            )}
            <Card withBorder padding="xs">
              <Text size="sm" fw={600}>{t('portal.toTarget', { ltv: pct(cure.toTarget.ltvPercent) })}</Text>
              <Text size="sm">{t('portal.addBtc')}: <b data-testid="cure-target-btc">{btc(cure.toTarget.addBtc)}</b></Text>
              <Text size="sm">{t('portal.orRepay')}: <b data-testid="cure-target-rub">{rub(cure.toTarget.repayRub)}</b></Text>
            </Card>
          </SimpleGrid>
        )}
        {cure !== null && <Text size="xs">{t('portal.cureAtPrice', { price: rub(cure.atPrice) })}</Text>}
        <Group gap="sm">
          <Button size="xs" component="a" href="#deposit">{t('portal.toDeposit')}</Button>
          <Button size="xs" variant="default" component={Link} to="/portal/money">{t('portal.toRepay')}</Button>
        </Group>
      </Stack>
    </Alert>
  );
}

/** Notices and calls not yet acknowledged: the miner says it has read them (on record). */
function Acknowledge({ borrower, transitions }: { borrower: string; transitions: Transition[] }) {
  const { t, time, pct } = useI18n();
  const open = transitions.filter((x) => ACKNOWLEDGEABLE.has(x.to) && x.acknowledgedAt === null);
  if (open.length === 0) return null;
  return (
    <Card withBorder data-testid="notices">
      <Title order={3} size="h5" mb="xs">{t('portal.noticesToRead')}</Title>
      <Stack gap="xs">{open.map((x) => (
        <Group key={x.id} justify="space-between" wrap="wrap">
          <Text size="sm">{time(x.at)}: {t(`state.${x.to}` as MessageKey)}{x.ltvPercent !== null ? ` (LTV ${pct(x.ltvPercent)})` : ''}</Text>
          <ActionButton label={t('portal.acknowledge')} testId={`ack-${x.id}`}
            run={async () => must(await api.POST('/api/v1/borrowers/{ref}/risk-acknowledgements', { params: { path: { ref: borrower } }, body: { transitionId: x.id } }))}>
            <Text size="sm">{t('portal.acknowledgeExplain')}</Text>
          </ActionButton>
        </Group>
      ))}</Stack>
    </Card>
  );
}

/**
 * Drag the price and see the state and the LTV, computed exactly in the browser (ltv.ts) from the
 * debt and collateral the server sent; the chart shows the last 30 days of BTC/RUB with the
 * warning, call and liquidation prices and the dragged price as lines.
 */
function WhatIf({ loan, price }: { loan: Loan; price: string | null }) {
  const { t, rub, pct, num } = useI18n();
  const now = price === null ? null : kopecksOf(price);
  // Whole roubles per BTC on the bar: a price, not an amount of money, and far below 2^53.
  const nowRub = now === null ? 0 : Number(now / 100n);
  const [dragged, setDragged] = useState<number | null>(null);
  const at = dragged ?? nowRub;
  const debt = BigInt(loan.debtKopecks);
  const sats = BigInt(loan.sats);
  // Pledged machines count beside the BTC at a value the price does not move.
  const machines = BigInt(loan.equipmentKopecks);
  const haircut = percentMillionths(loan.thresholds.haircutPercent);
  const thresholds = { warning: percentMillionths(loan.thresholds.warningPercent), marginCall: percentMillionths(loan.thresholds.marginCallPercent), liquidation: percentMillionths(loan.thresholds.liquidationPercent) };
  const atKopecks = BigInt(at) * 100n;
  const ltv = ltvAt(debt, sats, atKopecks, haircut, machines);
  const rung = rungAt(debt, sats, atKopecks, haircut, thresholds, machines);
  if (now === null) return null;
  const change = nowRub === 0 ? 0 : Math.round(((at - nowRub) / nowRub) * 1000) / 10;
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="xs">{t('portal.whatIf')}</Title>
      <Text size="sm" mb="sm">{t('portal.whatIfExplain')}</Text>
      <Slider min={Math.max(1, Math.floor(nowRub * 0.2))} max={Math.ceil(nowRub * 1.5)} step={Math.max(1, Math.round(nowRub / 1000))} value={at} onChange={setDragged}
        label={(v) => rub(`${v}.00`)} thumbLabel={t('portal.whatIfPrice')} data-testid="what-if" mb="md"
        marks={[{ value: nowRub, label: t('portal.now') }]} />
      <Group gap="lg" mt="lg" wrap="wrap" data-testid="what-if-result">
        <Figure label={t('portal.whatIfPrice')} value={`${rub(`${at}.00`)} (${change > 0 ? '+' : ''}${num(String(change))}\u00a0%)`} />
        <Figure label={t('common.ltv')} value={ltv === null ? '—' : pct(percentText(ltv))} testId="what-if-ltv" />
        <Figure label={t('common.state')} value={<span data-testid="what-if-state" data-state={rung}><StateBadge state={rung} /></span>} />
      </Group>
      <PriceChart loan={loan} dragged={at} />
    </Card>
  );
}

function PriceChart({ loan, dragged }: { loan: Loan; dragged: number }) {
  const { t, rub, num } = useI18n();
  const [from] = useState(() => new Date(Date.now() - 30 * DAY).toISOString());
  const candles = useQuery({ queryKey: ['ohlc', from.slice(0, 13)], queryFn: async () => must(await api.GET('/api/v1/prices/ohlc', { params: { query: { from, interval: 3600 } } })) });
  const option = useMemo(() => {
    const data = (candles.data?.candles ?? []).map((c) => [c.start, Number(c.close)]);
    const line = (value: string | null, name: string, color: string) => (value === null ? [] : [{ yAxis: Number(value), name, lineStyle: { color, type: 'dashed' as const }, label: { formatter: name, position: 'insideStartTop' as const, color } }]);
    return {
      grid: { left: 8, right: 8, top: 16, bottom: 24, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => rub(v.toFixed(2)) },
      xAxis: { type: 'time' },
      // The axis spans the prices and every line (the warning may be above today's price, liquidation far below).
      yAxis: {
        type: 'value',
        min: (v: { min: number }) => Math.min(v.min, dragged, Number(loan.prices.liquidation ?? v.min)) * 0.95,
        max: (v: { max: number }) => Math.max(v.max, dragged, Number(loan.prices.warning ?? v.max)) * 1.05,
        axisLabel: { formatter: (v: number) => `${num((v / 1_000_000).toFixed(1))}\u00a0${t('portal.million')}` },
      },
      series: [{
        type: 'line', name: 'BTC/RUB', showSymbol: false, data, lineStyle: { color: '#364fc7' },
        markLine: {
          symbol: 'none', silent: true,
          data: [...line(loan.prices.warning, t('state.warning'), '#e6a700'), ...line(loan.prices.marginCall, t('state.margin_call'), '#e8590c'), ...line(loan.prices.liquidation, t('state.liquidation'), '#c92a2a'),
            { yAxis: dragged, name: t('portal.whatIfPrice'), lineStyle: { color: '#495057', type: 'solid' as const }, label: { formatter: t('portal.whatIfPrice'), position: 'insideEndTop' as const } }],
        },
      }],
    };
  }, [candles.data, loan.prices, dragged, t, rub, num]);
  return <LazyChart option={option} height={260} label={t('portal.chartLabel', { warning: rub(loan.prices.warning), call: rub(loan.prices.marginCall), liquidation: rub(loan.prices.liquidation) })} />;
}

function Instalments({ loanRef }: { loanRef: string }) {
  const { t, rub, day } = useI18n();
  const [all, setAll] = useState(false);
  const schedule = useQuery({ queryKey: ['schedule', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/schedule', { params: { path: { ref: loanRef } } })) as unknown as { lines: ScheduleLine[] } });
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="xs">{t('portal.schedule')}</Title>
      <Loaded query={schedule}>{(s) => {
        const next = s.lines.find((l) => l.status !== 'paid');
        const shown = all ? s.lines : s.lines.filter((l) => l.status !== 'paid').slice(0, 3);
        return (
          <Stack gap="xs">
            {next !== undefined && <Text fw={600} data-testid="next-instalment">{t(next.status === 'overdue' ? 'portal.overdueInstalment' : 'portal.nextInstalment', { date: day(next.dueDate), amount: rub(next.payment) })}</Text>}
            <ScrollTable label={t('portal.schedule')}>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>{t('loan.dueDate')}</Table.Th><Table.Th ta="right">{t('loan.payment')}</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{shown.map((l) => (
                  <Table.Tr key={l.number}><Table.Td>{day(l.dueDate)}</Table.Td><Table.Td ta="right">{rub(l.payment)}</Table.Td>
                    <Table.Td><Text size="sm" c={l.status === 'overdue' ? 'red.9' : l.status === 'paid' ? 'green.9' : undefined} fw={l.status === 'overdue' ? 700 : undefined}>{t(`portal.line.${l.status}` as MessageKey)}</Text></Table.Td></Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </ScrollTable>
            <Button variant="subtle" size="xs" onClick={() => setAll(!all)}>{all ? t('portal.scheduleLess') : t('portal.scheduleAll', { n: s.lines.length })}</Button>
          </Stack>
        );
      }}</Loaded>
    </Card>
  );
}

/** Downloads by plain links: the session cookie authorises a GET; the file comes in the page's language. */
function Documents({ loanRef }: { loanRef: string }) {
  const { t, locale } = useI18n();
  const link = (document: 'statement' | 'schedule', format: 'pdf' | 'csv') => `/api/v1/loans/${loanRef}/documents/${document}?format=${format}&lang=${locale}`;
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="xs">{t('portal.documents')}</Title>
      <Group gap="sm" wrap="wrap">
        {(['statement', 'schedule'] as const).map((document) => (['pdf', 'csv'] as const).map((format) => (
          <Button key={`${document}-${format}`} size="xs" variant="light" component="a" href={link(document, format)} download data-testid={`download-${document}-${format}`}>
            {t(`portal.doc.${document}` as MessageKey)} · {format.toUpperCase()}
          </Button>
        )))}
      </Group>
    </Card>
  );
}
