import { useMemo } from 'react';
import { Link } from 'react-router';
import { Anchor, Badge, Card, Grid, Group, SimpleGrid, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { Figure, Loaded, PageTitle, StateBadge } from '../components/Common';
import { LazyChart as Chart } from '../components/LazyChart';
import type { Portfolio } from '../types';
import { currentPriceQuery, portfolioQuery } from './portfolio-queries';

const DAY = 86_400_000;

export default function PortfolioPage() {
  const { t, rub, btc, pct, time } = useI18n();
  const portfolio = useQuery(portfolioQuery);
  const prices = useQuery(currentPriceQuery);
  return (
    <>
      <PageTitle>{t('portfolio.title')}</PageTitle>
      <Loaded query={portfolio}>{(p) => (
        <>
          <SimpleGrid cols={{ base: 2, md: 4 }} mb="md">
            <Card withBorder><Figure label={t('portfolio.liveLoans')} value={p.totals.liveLoans} testId="live-loans" /></Card>
            <Card withBorder><Figure label={t('portfolio.debt')} value={rub(p.totals.debt)} /></Card>
            <Card withBorder><Figure label={t('portfolio.collateral')} value={<>{btc(p.totals.collateralBtc)}<br />{rub(p.totals.collateralRub)}{p.totals.equipmentRub !== '0.00' && <><br />{t('portfolio.plusMachines', { rub: rub(p.totals.equipmentRub) })}</>}</>} /></Card>
            <Card withBorder><Figure label={t('portfolio.bookLtv')} value={pct(p.totals.ltvPercent)} /></Card>
          </SimpleGrid>
          <Grid mb="md">
            <Grid.Col span={{ base: 12, lg: 6 }}>
              <Card withBorder h="100%">
                <Title order={3} size="h4" mb="sm">{t('portfolio.byState')}</Title>
                <Table.ScrollContainer minWidth={520}><Table>
                  <Table.Thead><Table.Tr><Table.Th>{t('common.state')}</Table.Th><Table.Th ta="right">{t('common.loans')}</Table.Th><Table.Th ta="right">{t('portfolio.debt')}</Table.Th><Table.Th ta="right">{t('common.collateral')}</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>{p.states.map((s) => (
                    <Table.Tr key={s.state}>
                      <Table.Td><Anchor component={Link} to={`/loans?state=${s.state}`}><StateBadge state={s.state} /></Anchor></Table.Td>
                      <Table.Td ta="right">{s.loans}</Table.Td><Table.Td ta="right">{rub(s.debt)}</Table.Td><Table.Td ta="right">{btc(s.collateralBtc)}</Table.Td>
                    </Table.Tr>
                  ))}</Table.Tbody>
                </Table></Table.ScrollContainer>
                {p.ladders.map((l) => (
                  <Text key={`${l.product.code}-${l.product.version}`} size="xs" c="dimmed" mt="xs">
                    {t('portfolio.ladder', { product: `${l.product.code} v${l.product.version}`, warning: pct(l.warningPercent), call: pct(l.marginCallPercent), liquidation: pct(l.liquidationPercent) })}
                  </Text>
                ))}
              </Card>
            </Grid.Col>
            <Grid.Col span={{ base: 12, lg: 6 }}>
              <Card withBorder h="100%">
                <Title order={3} size="h4" mb="sm">{t('portfolio.histogram')}</Title>
                <LtvHistogram portfolio={p} />
              </Card>
            </Grid.Col>
          </Grid>
          <Card withBorder mb="md">
            <Title order={3} size="h4" mb="sm">{t('portfolio.nearest')}</Title>
            <Table.ScrollContainer minWidth={700}>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('common.state')}</Table.Th><Table.Th ta="right">{t('common.ltv')}</Table.Th><Table.Th ta="right">{t('portfolio.movesAt')}</Table.Th><Table.Th ta="right">{t('portfolio.headroom')}</Table.Th><Table.Th ta="right">{t('portfolio.debt')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{p.nearestTrigger.map((n) => (
                  <Table.Tr key={n.loan}>
                    <Table.Td><Anchor component={Link} to={`/loans/${n.loan}`}>{n.loan}</Anchor></Table.Td>
                    <Table.Td><Anchor component={Link} to={`/borrowers/${n.borrower}`}>{n.borrower}</Anchor></Table.Td>
                    <Table.Td><StateBadge state={n.state} /></Table.Td>
                    <Table.Td ta="right">{pct(n.ltvPercent)}</Table.Td><Table.Td ta="right">{rub(n.worsensAtOrBelow)}</Table.Td>
                    <Table.Td ta="right">{pct(n.headroomPercent)}</Table.Td><Table.Td ta="right">{rub(n.debt)}</Table.Td>
                  </Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Card>
          <Card withBorder mb="md">
            <Title order={3} size="h4" mb="sm">{t('portfolio.priceChart')}</Title>
            <PriceChart portfolio={p} />
          </Card>
        </>
      )}</Loaded>
      <Card withBorder>
        <Title order={3} size="h4" mb="sm">{t('prices.status')}</Title>
        <Loaded query={prices}>{(c) => (
          <>
            <Group mb="sm">
              <Text fw={600} data-testid="current-price">{rub(c.price?.price ?? null)}</Text>
              <Badge color={c.price?.status === 'normal' ? 'green' : c.price?.status === 'manual' ? 'blue' : 'red'}>{c.price === null ? t('prices.none') : t(`prices.status.${c.price.status}` as MessageKey)}</Badge>
              <Text size="sm" c="dimmed">{time(c.price?.at ?? null)}</Text>
              {(c.price?.reasons ?? []).map((r) => <Badge key={r} color="orange" variant="light">{r}</Badge>)}
            </Group>
            <Table>
              <Table.Thead><Table.Tr><Table.Th>{t('prices.source')}</Table.Th><Table.Th>{t('prices.pair')}</Table.Th><Table.Th>{t('prices.health')}</Table.Th><Table.Th>{t('prices.lastOk')}</Table.Th><Table.Th>{t('prices.lastError')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{c.sources.map((s) => (
                <Table.Tr key={`${s.source}-${s.pair}`}>
                  <Table.Td>{s.source}</Table.Td><Table.Td>{s.pair}</Table.Td>
                  <Table.Td><Badge color={s.healthy ? 'green' : 'red'} variant="light">{s.healthy ? t('prices.healthy') : t('prices.failing')}</Badge></Table.Td>
                  <Table.Td>{time(s.lastOkAt)}</Table.Td><Table.Td><Text size="xs">{s.lastError ?? '—'}</Text></Table.Td>
                </Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </>
        )}</Loaded>
      </Card>
    </>
  );
}

function LtvHistogram({ portfolio }: { portfolio: Portfolio }) {
  const { t, pct } = useI18n();
  const option = useMemo(() => {
    const step = portfolio.histogram.bucketPoints;
    const last = Math.max(100, ...portfolio.histogram.buckets.map((b) => b.fromPercent + step));
    const labels: string[] = [];
    const counts: number[] = [];
    for (let from = 0; from < last; from += step) {
      labels.push(`${from}`);
      counts.push(Number(portfolio.histogram.buckets.find((b) => b.fromPercent === from)?.loans ?? 0));
    }
    const ladder = portfolio.ladders[0];
    const lines = ladder === undefined ? [] : [
      { xAxis: String(Math.floor(Number(ladder.warningPercent) / step) * step), name: `${ladder.warningPercent}%`, lineStyle: { color: '#b08800' } },
      { xAxis: String(Math.floor(Number(ladder.marginCallPercent) / step) * step), name: `${ladder.marginCallPercent}%`, lineStyle: { color: '#d9480f' } },
      { xAxis: String(Math.floor(Number(ladder.liquidationPercent) / step) * step), name: `${ladder.liquidationPercent}%`, lineStyle: { color: '#c92a2a' } },
    ];
    return {
      grid: { left: 40, right: 16, top: 24, bottom: 36 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: labels, name: t('common.ltv'), nameLocation: 'middle', nameGap: 24, axisLabel: { formatter: (v: string) => `${v}%` } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: t('common.loans'), data: counts, itemStyle: { color: '#4c6ef5' }, markLine: { symbol: 'none', label: { formatter: '{b}' }, data: lines } }],
    };
  }, [portfolio, t]);
  const ladder = portfolio.ladders[0];
  return <Chart option={option} label={ladder === undefined ? t('portfolio.histogram') : `${t('portfolio.histogram')}: ${pct(ladder.warningPercent)} / ${pct(ladder.marginCallPercent)} / ${pct(ladder.liquidationPercent)}`} />;
}

function PriceChart({ portfolio }: { portfolio: Portfolio }) {
  const { t, rub } = useI18n();
  const to = portfolio.price?.at ?? new Date().toISOString();
  const from = new Date(new Date(to).getTime() - 30 * DAY).toISOString();
  const candles = useQuery({ queryKey: ['ohlc', from.slice(0, 13)], queryFn: async () => must(await api.GET('/api/v1/prices/ohlc', { params: { query: { from, interval: 3600 } } })) });
  const option = useMemo(() => {
    const data = (candles.data?.candles ?? []).map((c) => [c.start, Number(c.close)]);
    const bands = portfolio.triggerBands.filter((b) => b.firstTenth !== null && b.nineTenths !== null);
    const colors: Record<string, string> = { warning: 'rgba(230,167,0,0.15)', margin_call: 'rgba(232,89,12,0.15)', liquidation: 'rgba(201,42,42,0.15)' };
    return {
      grid: { left: 90, right: 16, top: 24, bottom: 36 },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => rub(v.toFixed(2)) },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => rub(v.toFixed(0)).replace(/,00\u00a0₽$|\.00\u00a0₽$/, '\u00a0₽') } },
      series: [{
        type: 'line', name: 'BTC/RUB', showSymbol: data.length < 60, data, lineStyle: { color: '#364fc7' },
        markArea: { silent: true, label: { position: 'insideRight' }, data: bands.map((b) => [{ yAxis: Number(b.nineTenths), name: t(`state.${b.rung}` as MessageKey), itemStyle: { color: colors[b.rung] } }, { yAxis: Number(b.firstTenth) }]) },
      }],
    };
  }, [candles.data, portfolio, t, rub]);
  return <Chart option={option} height={320} label={t('portfolio.priceChart')} />;
}
