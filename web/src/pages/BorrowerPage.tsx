import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Anchor, Badge, Button, Card, Grid, Group, SimpleGrid, Stack, Table, Tabs, Text, TextInput, NumberInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, Loaded, PageTitle, ProblemAlert, StateBadge } from '../components/Common';
import { LazyChart as Chart } from '../components/LazyChart';
import type { ApplicationView, BorrowerRisk } from '../types';
import { useHoldOrSell } from '../components/hold-or-sell';


export default function BorrowerPage() {
  const { ref = '' } = useParams();
  const { t } = useI18n();
  const { can } = useSession();
  const borrower = useQuery({ queryKey: ['borrower', ref], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}', { params: { path: { ref } } })) });
  return (
    <Loaded query={borrower}>{(b) => (
      <>
        <PageTitle right={can('postBorrowersByRefLoanApplications') && <Button component={Link} to={`/borrowers/${b.ref}/apply`} data-testid="new-application">{t('borrower.newApplication')}</Button>}>
          {b.name} <Text span c="dimmed">({b.ref})</Text>
        </PageTitle>
        <Card withBorder mb="md">
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Figure label={t('borrower.kind')} value={t(`kind.${b.kind}` as MessageKey)} />
            <Figure label={t('borrower.inn')} value={b.inn} />
            <Figure label={b.kind === 'company' ? t('borrower.ogrn') : t('borrower.ogrnip')} value={b.ogrn ?? '—'} />
            <Figure label={t('borrower.kpp')} value={b.kpp ?? '—'} />
            <Figure label={t('borrower.region')} value={b.regionCode} />
            <Figure label={t('borrower.address')} value={b.address} />
            <Figure label={t('borrower.bik')} value={b.bik ?? '—'} />
            <Figure label={t('borrower.account')} value={b.account ?? '—'} />
          </SimpleGrid>
          <Text size="xs" c="dimmed" mt="xs">{t('borrower.identifiersChecked')}</Text>
        </Card>
        <Tabs defaultValue="loans" keepMounted={false}>
          <Tabs.List mb="md">
            <Tabs.Tab value="loans">{t('nav.loans')}</Tabs.Tab>
            <Tabs.Tab value="compliance">{t('borrower.compliance')}</Tabs.Tab>
            <Tabs.Tab value="sites">{t('borrower.sites')}</Tabs.Tab>
            <Tabs.Tab value="registry">{t('borrower.registry')}</Tabs.Tab>
            <Tabs.Tab value="underwriting">{t('borrower.underwriting')}</Tabs.Tab>
            <Tabs.Tab value="hold">{t('borrower.holdOrSell')}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="loans"><LoansTab borrowerRef={b.ref} /></Tabs.Panel>
          <Tabs.Panel value="compliance"><ComplianceTab borrowerRef={b.ref} /></Tabs.Panel>
          <Tabs.Panel value="sites"><SitesTab borrowerRef={b.ref} /></Tabs.Panel>
          <Tabs.Panel value="registry"><RegistryTab borrowerRef={b.ref} /></Tabs.Panel>
          <Tabs.Panel value="underwriting"><UnderwritingTab borrowerRef={b.ref} /></Tabs.Panel>
          <Tabs.Panel value="hold"><HoldOrSell /></Tabs.Panel>
        </Tabs>
      </>
    )}</Loaded>
  );
}

function LoansTab({ borrowerRef }: { borrowerRef: string }) {
  const { t, rub, btc, pct, time } = useI18n();
  const { can } = useSession();
  const risk = useQuery({ queryKey: ['borrower-risk', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/risk', { params: { path: { ref: borrowerRef } } })) as unknown as BorrowerRisk });
  const apps = useQuery({ queryKey: ['borrower-applications', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/loan-applications', { params: { path: { ref: borrowerRef } } })) as unknown as { applications: ApplicationView[] } });
  return (
    <Stack>
      <Loaded query={risk}>{(r) => (
        <Table>
          <Table.Thead><Table.Tr><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.state')}</Table.Th><Table.Th ta="right">{t('common.ltv')}</Table.Th><Table.Th ta="right">{t('portfolio.debt')}</Table.Th><Table.Th ta="right">{t('common.collateral')}</Table.Th><Table.Th ta="right">{t('portfolio.movesAt')}</Table.Th><Table.Th>{t('inbox.deadline')}</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>{r.loans.map((l) => (
            <Table.Tr key={l.loan}>
              <Table.Td><Anchor component={Link} to={`/loans/${l.loan}`}>{l.loan}</Anchor></Table.Td><Table.Td><StateBadge state={l.state} /></Table.Td>
              <Table.Td ta="right">{pct(l.ltvPercent)}</Table.Td><Table.Td ta="right">{rub(l.debt)}</Table.Td><Table.Td ta="right">{btc(l.collateral)}</Table.Td>
              <Table.Td ta="right">{rub(l.worsensAtOrBelow)}</Table.Td><Table.Td>{time(l.callDeadline)}</Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
      )}</Loaded>
      <Title order={3} size="h4">{t('borrower.applications')}</Title>
      <Loaded query={apps}>{(a) => (
        <Table>
          <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('common.product')}</Table.Th><Table.Th ta="right">{t('common.amount')}</Table.Th><Table.Th ta="right">{t('common.months')}</Table.Th><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.created')}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
          <Table.Tbody>{a.applications.map((app) => (
            <Table.Tr key={app.applicationId}>
              <Table.Td>{app.applicationId}</Table.Td><Table.Td>{t(`applicationStatus.${app.status}` as MessageKey)}</Table.Td><Table.Td>{app.product.code}</Table.Td>
              <Table.Td ta="right">{rub(app.amount)}</Table.Td><Table.Td ta="right">{app.months}</Table.Td>
              <Table.Td>{app.loan === null || app.loan === undefined ? '—' : <Anchor component={Link} to={`/loans/${app.loan}`}>{app.loan}</Anchor>}</Table.Td><Table.Td>{time(app.createdAt)}</Table.Td>
              <Table.Td>
                {/* An application the miner sent from the portal waits here: its offer goes to a second officer like any other. */}
                {app.status === 'offered' && app.offer !== null && can('postLoanApplicationsByIdApproval') && (
                  <ActionButton label={t('application.propose')} testId={`propose-application-${app.applicationId}`}
                    run={async (k) => must(await api.POST('/api/v1/loan-applications/{id}/approval', { params: { path: { id: app.applicationId }, header: { 'idempotency-key': k } }, body: { offerId: app.offer!.offerId } }))}>
                    <Text size="sm">{t('application.offer', { id: app.offer.offerId })}: {rub(app.amount)}, {btc(app.offer.collateralRequired)}. {app.offer.blockingReasons.join('; ')}</Text>
                    <Text size="sm">{t('application.proposeNote')}</Text>
                  </ActionButton>
                )}
              </Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
      )}</Loaded>
    </Stack>
  );
}

function ComplianceTab({ borrowerRef }: { borrowerRef: string }) {
  const { t, time, day } = useI18n();
  const { can } = useSession();
  const evaluation = useQuery({ queryKey: ['compliance', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/compliance', { params: { path: { ref: borrowerRef } } })) });
  return (
    <Loaded query={evaluation}>{({ evaluation: e }) => (
      <Stack>
        <Group>
          {e === null ? <Text c="dimmed">{t('borrower.noEvaluation')}</Text>
            : <><Badge color={e.blocking ? 'red' : 'green'} size="lg">{e.blocking ? t('borrower.blocked') : t('borrower.compliant')}</Badge><Text size="sm" c="dimmed">{t('borrower.evaluatedAt', { day: day(e.asOf), at: time(e.evaluatedAt) })}</Text></>}
          {can('postBorrowersByRefComplianceEvaluate') && (
            <ActionButton label={t('borrower.evaluate')} run={async () => must(await api.POST('/api/v1/borrowers/{ref}/compliance/evaluate', { params: { path: { ref: borrowerRef } }, body: {} }))}>
              <Text size="sm">{t('borrower.evaluateNote')}</Text>
            </ActionButton>
          )}
        </Group>
        {e !== null && (
          <Table>
            <Table.Thead><Table.Tr><Table.Th>{t('inbox.rule')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('inbox.reason')}</Table.Th><Table.Th>{t('borrower.legalBasis')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{e.results.map((r) => (
              <Table.Tr key={r.rule}>
                <Table.Td>{r.rule}</Table.Td><Table.Td><Badge color={r.outcome === 'pass' ? 'green' : r.outcome === 'fail' ? 'red' : 'gray'} variant="light">{r.outcome}</Badge></Table.Td>
                <Table.Td><Text size="sm">{r.reason}</Text></Table.Td><Table.Td><Text size="xs" c="dimmed">{r.legalBasis}</Text></Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        )}
      </Stack>
    )}</Loaded>
  );
}

function SitesTab({ borrowerRef }: { borrowerRef: string }) {
  const { t, num, day } = useI18n();
  const sites = useQuery({ queryKey: ['sites', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/sites', { params: { path: { ref: borrowerRef } } })) });
  return (
    <Loaded query={sites}>{(s) => (
      <Stack>
        {s.sites.length === 0 && <Text c="dimmed">{t('borrower.noSites')}</Text>}
        {s.sites.map((site) => (
          <Card withBorder key={site.id}>
            <Group justify="space-between"><Title order={3} size="h5">{site.name}</Title><Text size="sm" c="dimmed">{site.regionCode} · {site.municipality}</Text></Group>
            <Text size="sm">{t('borrower.siteLine', { kw: site.capacityKw, source: site.powerSource, tariff: num(site.tariffs[0]?.rubPerKwh ?? null), from: day(site.tariffs[0]?.from ?? null) })}</Text>
            <Table mt="xs">
              <Table.Thead><Table.Tr><Table.Th>{t('borrower.model')}</Table.Th><Table.Th ta="right">{t('borrower.count')}</Table.Th><Table.Th>{t('borrower.installed')}</Table.Th><Table.Th>{t('borrower.retired')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{site.machines.map((m) => (
                <Table.Tr key={m.id}><Table.Td>{m.model}</Table.Td><Table.Td ta="right">{m.count}</Table.Td><Table.Td>{day(m.installedOn)}</Table.Td><Table.Td>{m.retiredOn === null ? '—' : `${day(m.retiredOn)} (${m.retiredReason ?? ''})`}</Table.Td></Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </Card>
        ))}
      </Stack>
    )}</Loaded>
  );
}

function RegistryTab({ borrowerRef }: { borrowerRef: string }) {
  const { t, day } = useI18n();
  const records = useQuery({ queryKey: ['registry', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/registry-records', { params: { path: { ref: borrowerRef } } })) });
  return (
    <Loaded query={records}>{(r) => (
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('borrower.registryNumber')}</Table.Th><Table.Th>{t('borrower.includedOn')}</Table.Th><Table.Th>{t('borrower.excludedOn')}</Table.Th><Table.Th>{t('borrower.checkedOn')}</Table.Th><Table.Th>{t('borrower.source')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{r.checks.map((c, i) => (
          <Table.Tr key={i}><Table.Td>{c.status}</Table.Td><Table.Td>{c.number ?? '—'}</Table.Td><Table.Td>{day(c.includedOn ?? null)}</Table.Td><Table.Td>{day(c.excludedOn ?? null)}</Table.Td><Table.Td>{day(c.checkedOn)}</Table.Td><Table.Td>{c.source}</Table.Td></Table.Tr>
        ))}</Table.Tbody>
      </Table>
    )}</Loaded>
  );
}

interface UnderwritingReport {
  figures: { maxPrincipal: string; breakEvenPrice: string; crossesHalving: boolean; bindingScenario: string; breakEvenTariffRubPerKwh: string; hashpriceSatsPerThDay: string;
    fleet: { powerKw: string; hashrateThs: string; efficiencyJPerTh: string };
    scenarios: Array<{ name: string; maxPrincipal: string; months: Array<{ month: number; start: string; dscrPerMillionBorrowed: string; subsidySats: string }> }> };
  inputs: { terms: { amount: string; months: number; dscrMin: string } };
  reasons: string[];
}

function UnderwritingTab({ borrowerRef }: { borrowerRef: string }) {
  const { t, rub, num, day } = useI18n();
  const list = useQuery({ queryKey: ['underwriting', borrowerRef], queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/underwriting-reports', { params: { path: { ref: borrowerRef } } })) });
  const latest = list.data?.reports[0];
  const report = useQuery({ queryKey: ['underwriting-report', latest?.reportId], enabled: latest !== undefined, queryFn: async () => must(await api.GET('/api/v1/underwriting-reports/{id}', { params: { path: { id: latest!.reportId } } })) });
  if (list.data !== undefined && latest === undefined) return <Text c="dimmed">{t('borrower.noUnderwriting')}</Text>;
  return (
    <Loaded query={report}>{(r) => {
      const u = r.report as UnderwritingReport;
      return (
        <Stack>
          <Group><Badge size="lg" color={r.recommendation === 'approve' ? 'green' : r.recommendation === 'refer' ? 'yellow' : 'red'}>{t(`recommendation.${r.recommendation}` as MessageKey)}</Badge><Text size="sm" c="dimmed">#{r.reportId} · {day(latest?.asOf ?? null)} · {r.createdBy}</Text></Group>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Figure label={t('uw.asked')} value={`${rub(u.inputs.terms.amount)} / ${u.inputs.terms.months}`} />
            <Figure label={t('uw.maxPrincipal')} value={rub(u.figures.maxPrincipal)} />
            <Figure label={t('uw.breakEvenPrice')} value={rub(u.figures.breakEvenPrice)} />
            <Figure label={t('uw.breakEvenTariff')} value={`${num(u.figures.breakEvenTariffRubPerKwh)} ₽/кВт·ч`} />
            <Figure label={t('uw.fleet')} value={`${num(u.figures.fleet.hashrateThs)} TH/s · ${num(u.figures.fleet.powerKw)} kW`} />
            <Figure label={t('uw.binding')} value={u.figures.bindingScenario} />
            <Figure label={t('uw.halving')} value={u.figures.crossesHalving ? t('common.yes') : t('common.no')} />
            <Figure label={t('uw.dscrMin')} value={num(u.inputs.terms.dscrMin)} />
          </SimpleGrid>
          {u.reasons.map((reason) => <Text key={reason} size="sm">{reason}</Text>)}
          <DscrChart report={u} />
        </Stack>
      );
    }}</Loaded>
  );
}

/** Monthly DSCR of each scenario for the loan asked (the report gives it per million borrowed). */
function DscrChart({ report }: { report: UnderwritingReport }) {
  const { t } = useI18n();
  const option = useMemo(() => {
    const millions = Number(report.inputs.terms.amount) / 1_000_000;
    const halving = report.figures.scenarios[0]?.months.find((m, i, all) => i > 0 && m.subsidySats !== all[i - 1]!.subsidySats);
    return {
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 48, right: 16, top: 24, bottom: 56 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: report.figures.scenarios[0]?.months.map((m) => m.start.slice(0, 7)) ?? [] },
      yAxis: { type: 'value', name: 'DSCR' },
      series: report.figures.scenarios.map((s, index) => ({
        type: 'line', name: s.name, showSymbol: false,
        // DSCR for the amount asked: the report's figure per million borrowed, scaled (a chart, not a sum).
        data: s.months.map((m) => Number((Number(m.dscrPerMillionBorrowed) / millions).toFixed(2))),
        ...(index === 0 ? { markLine: { symbol: 'none', data: [{ yAxis: Number(report.inputs.terms.dscrMin), name: t('uw.dscrMin'), label: { formatter: '{b}' } }, ...(halving ? [{ xAxis: halving.start.slice(0, 7), name: t('uw.halvingLine'), label: { formatter: '{b}' } }] : [])] } } : {}),
      })),
    };
  }, [report, t]);
  return <Chart option={option} height={340} label={t('uw.chart')} />;
}

function HoldOrSell() {
  const { t, rub, btc } = useI18n();
  const { holdings, setHoldings, need, setNeed, months, setMonths, rate, setRate, calc: mutation } = useHoldOrSell();
  const result = mutation.data;
  return (
    <Grid>
      <Grid.Col span={{ base: 12, md: 4 }}>
        <Stack>
          <TextInput label={t('hold.holdings')} value={holdings} onChange={(e) => setHoldings(e.currentTarget.value)} />
          <TextInput label={t('hold.need')} value={need} onChange={(e) => setNeed(e.currentTarget.value)} />
          <NumberInput label={t('common.months')} value={months} onChange={setMonths} min={1} max={60} />
          <TextInput label={t('hold.rate')} value={rate} onChange={(e) => setRate(e.currentTarget.value)} />
          <Button onClick={() => mutation.mutate()} loading={mutation.isPending}>{t('hold.compute')}</Button>
          <ProblemAlert error={mutation.error} />
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 8 }}>
        {result !== undefined && (
          <Stack>
            <Text>{result.explanation}</Text>
            <SimpleGrid cols={3}>
              <Figure label={t('hold.sellNow')} value={btc(result.sellNow)} />
              <Figure label={t('hold.breakEven')} value={rub(result.breakEvenPrice)} />
              <Figure label={t('hold.liquidation')} value={rub(result.liquidationPrice)} />
            </SimpleGrid>
            <Table>
              <Table.Thead><Table.Tr><Table.Th>{t('hold.scenario')}</Table.Th><Table.Th ta="right">{t('hold.priceAtEnd')}</Table.Th><Table.Th ta="right">{t('hold.borrow')}</Table.Th><Table.Th ta="right">{t('hold.sell')}</Table.Th><Table.Th>{t('hold.better')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{result.outcomes.map((o) => (
                <Table.Tr key={o.name}><Table.Td>{o.name}</Table.Td><Table.Td ta="right">{rub(o.priceAtEnd)}</Table.Td><Table.Td ta="right">{rub(o.borrow)}</Table.Td><Table.Td ta="right">{rub(o.sell)}</Table.Td><Table.Td>{o.better === 'sell' ? t('hold.sell') : t('hold.borrow')}</Table.Td></Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </Stack>
        )}
      </Grid.Col>
    </Grid>
  );
}
