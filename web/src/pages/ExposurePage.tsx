import { lazy, Suspense, useMemo, useState } from 'react';
import { Alert, Badge, Card, Group, Select, SimpleGrid, Stack, Switch, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, Loaded, PageTitle } from '../components/Common';
import { JudgementBadge } from '../components/ExposureCheck';
import { bpsToPercent } from '../format';

const Chart = lazy(() => import('../components/Chart'));

/**
 * The bank's side of the book (issue 20): what it has lent against BTC measured against its Tier 1
 * capital and every limit (the whole crypto book, one borrower, one group of connected borrowers,
 * one region), the debt the BTC would no longer cover if its price fell, the same by day, and the
 * rules themselves with their legal basis and history. Risk officers propose changes; a second
 * risk officer approves them in the inbox.
 */
export default function ExposurePage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('exposure.title')}</PageTitle>
      <Tabs defaultValue="book" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="book">{t('exposure.tab.book')}</Tabs.Tab>
          <Tabs.Tab value="history">{t('exposure.tab.history')}</Tabs.Tab>
          <Tabs.Tab value="rules">{t('exposure.tab.rules')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="book"><Book /></Tabs.Panel>
        <Tabs.Panel value="history"><History /></Tabs.Panel>
        <Tabs.Panel value="rules"><Rules /></Tabs.Panel>
      </Tabs>
    </>
  );
}

function Book() {
  const { t, rub, pct, time, day } = useI18n();
  const { can } = useSession();
  const client = useQueryClient();
  const book = useQuery({ queryKey: ['exposure'], queryFn: async () => must(await api.GET('/api/v1/exposure')) });
  return (
    <Loaded query={book}>{({ snapshot: s }) => (
      <Stack>
        <Group justify="space-between">
          <Text size="sm" c="dimmed" data-testid="exposure-computed">{s === null ? t('exposure.none') : t('exposure.computedAt', { time: time(s.takenAt), day: day(s.businessDate) })}</Text>
          {can('computeExposure') && (
            <ActionButton label={t('exposure.recompute')} testId="exposure-recompute" onDone={() => void client.invalidateQueries({ queryKey: ['exposure'] })}
              run={async () => must(await api.POST('/api/v1/exposure/snapshots', {}))}>
              <Text size="sm">{t('exposure.recomputeNote')}</Text>
            </ActionButton>
          )}
        </Group>
        {s !== null && (
          <>
            {s.capital === null && <Alert color="red">{t('exposure.noCapital')}</Alert>}
            <SimpleGrid cols={{ base: 2, md: 4 }}>
              <Figure label={t('exposure.tier1')} value={s.capital === null ? '—' : rub(s.capital.tier1)} />
              <Figure label={t('exposure.bookTotal')} value={`${rub(s.book)} · ${pct(s.bookPercent)}`} testId="exposure-book" />
              <Figure label={t('exposure.riskWeighted')} value={`${rub(s.riskWeighted)} · ${pct(s.riskWeightedPercent)}`} />
              <Figure label={t('exposure.loansBorrowers')} value={`${s.loans} / ${s.borrowers}`} />
            </SimpleGrid>
            <Card withBorder>
              <Table.ScrollContainer minWidth={720}>
                <Table data-testid="exposure-limits">
                  <Table.Thead><Table.Tr><Table.Th>{t('exposure.limit')}</Table.Th><Table.Th>{t('exposure.largest')}</Table.Th><Table.Th ta="right">{t('exposure.percent')}</Table.Th><Table.Th ta="right">{t('exposure.soft')}</Table.Th><Table.Th ta="right">{t('exposure.hard')}</Table.Th><Table.Th ta="right">{t('exposure.over')}</Table.Th><Table.Th>{t('exposure.judgement')}</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>{s.limits.map((l) => (
                    <Table.Tr key={l.kind}>
                      <Table.Td>{t(`exposure.kind.${l.kind}` as MessageKey)}</Table.Td>
                      <Table.Td>{l.largest === null ? '—' : <><Text size="sm">{l.kind === 'crypto_book' ? t('exposure.wholeBook') : l.largest.key}</Text><Text size="xs" c="dimmed">{rub(l.largest.amount)}</Text></>}</Table.Td>
                      <Table.Td ta="right">{pct(l.largest?.percent)}</Table.Td>
                      <Table.Td ta="right">{pct(l.softPercent)}</Table.Td><Table.Td ta="right">{pct(l.hardPercent)}</Table.Td>
                      <Table.Td ta="right">{l.overSoft} / {l.overHard}</Table.Td>
                      <Table.Td><JudgementBadge judgement={s.capital === null ? null : l.judgement} /></Table.Td>
                    </Table.Tr>
                  ))}</Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            </Card>
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">{t('exposure.stress')}</Title>
                {s.stress.length === 0 ? <Text size="sm" c="dimmed">{t('exposure.noPrice')}</Text> : (
                  <Table data-testid="exposure-stress">
                    <Table.Thead><Table.Tr><Table.Th>{t('exposure.shock')}</Table.Th><Table.Th ta="right">{t('exposure.shockedPrice')}</Table.Th><Table.Th ta="right">{t('exposure.uncovered')}</Table.Th><Table.Th ta="right">{t('exposure.percent')}</Table.Th></Table.Tr></Table.Thead>
                    <Table.Tbody>{s.stress.map((x) => (
                      <Table.Tr key={x.shockPercent}><Table.Td>−{x.shockPercent}%</Table.Td><Table.Td ta="right">{rub(x.price)}</Table.Td><Table.Td ta="right">{rub(x.uncovered)}</Table.Td><Table.Td ta="right">{pct(x.percentOfCapital)}</Table.Td></Table.Tr>
                    ))}</Table.Tbody>
                  </Table>
                )}
              </Card>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">{t('exposure.regions')}</Title>
                <Table>
                  <Table.Thead><Table.Tr><Table.Th>{t('exposure.region')}</Table.Th><Table.Th ta="right">{t('exposure.amount')}</Table.Th><Table.Th ta="right">{t('exposure.percent')}</Table.Th><Table.Th>{t('exposure.judgement')}</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>{s.regions.slice(0, 12).map((r) => (
                    <Table.Tr key={r.region}><Table.Td>{r.region}</Table.Td><Table.Td ta="right">{rub(r.amount)}</Table.Td><Table.Td ta="right">{pct(r.percent)}</Table.Td><Table.Td><JudgementBadge judgement={r.judgement} /></Table.Td></Table.Tr>
                  ))}</Table.Tbody>
                </Table>
              </Card>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">{t('exposure.topBorrowers')}</Title>
                <Table>
                  <Table.Tbody>{s.topBorrowers.slice(0, 10).map((b) => (
                    <Table.Tr key={b.key}><Table.Td>{b.key}</Table.Td><Table.Td ta="right">{rub(b.amount)}</Table.Td><Table.Td ta="right">{pct(b.percent)}</Table.Td></Table.Tr>
                  ))}</Table.Tbody>
                </Table>
              </Card>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">{t('exposure.topGroups')}</Title>
                {s.topGroups.length === 0 ? <Text size="sm" c="dimmed">{t('exposure.noGroups')}</Text> : (
                  <Table>
                    <Table.Tbody>{s.topGroups.slice(0, 10).map((g) => (
                      <Table.Tr key={g.key}><Table.Td>{g.key}</Table.Td><Table.Td ta="right">{rub(g.amount)}</Table.Td><Table.Td ta="right">{pct(g.percent)}</Table.Td></Table.Tr>
                    ))}</Table.Tbody>
                  </Table>
                )}
              </Card>
            </SimpleGrid>
          </>
        )}
      </Stack>
    )}</Loaded>
  );
}

function History() {
  const { t, rub, pct, day } = useI18n();
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(() => new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10));
  const [to, setTo] = useState(today);
  const history = useQuery({ queryKey: ['exposure-history', from, to], queryFn: async () => must(await api.GET('/api/v1/exposure/history', { params: { query: { from, to } } })) });
  const days = useMemo(() => history.data?.days ?? [], [history.data]);
  const option = useMemo(() => ({
    grid: { left: 48, right: 16, top: 24, bottom: 32 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: days.map((d) => d.businessDate) },
    yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
    series: [{
      type: 'line', name: t('exposure.bookTotal'), data: days.map((d) => (d.bookPercent === null ? null : Number(d.bookPercent))),
      markLine: { symbol: 'none', data: [...new Set(days.flatMap((d) => { const l = d.limits.find((x) => x.kind === 'crypto_book'); return l?.hardPercent == null ? [] : [l.softPercent, l.hardPercent]; }))].filter((v): v is string => v !== null).map((v) => ({ yAxis: Number(v) })) },
    }],
  }), [days, t]);
  return (
    <Stack>
      <Group>
        <TextInput label={t('exposure.from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} w={160} />
        <TextInput label={t('exposure.to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} w={160} />
      </Group>
      <Loaded query={history}>{() => (days.length === 0 ? <Text c="dimmed">{t('exposure.historyEmpty')}</Text> : (
        <>
          <Suspense fallback={null}><Chart option={option} height={240} label={t('exposure.chartLabel')} /></Suspense>
          <Table.ScrollContainer minWidth={720}>
            <Table striped data-testid="exposure-history">
              <Table.Thead><Table.Tr><Table.Th>{t('exposure.day')}</Table.Th><Table.Th ta="right">{t('exposure.tier1')}</Table.Th><Table.Th ta="right">{t('exposure.bookTotal')}</Table.Th><Table.Th ta="right">{t('exposure.percent')}</Table.Th>
                {(['borrower', 'group', 'region'] as const).map((k) => <Table.Th key={k} ta="right">{t(`exposure.kind.${k}` as MessageKey)}</Table.Th>)}<Table.Th>{t('exposure.judgement')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{[...days].reverse().map((d) => {
                const of = (kind: string) => d.limits.find((l) => l.kind === kind);
                const worst = d.limits.some((l) => l.judgement === 'hard') ? 'hard' : d.limits.some((l) => l.judgement === 'soft') ? 'soft' : 'within';
                return (
                  <Table.Tr key={d.businessDate}>
                    <Table.Td>{day(d.businessDate)}</Table.Td><Table.Td ta="right">{rub(d.capital)}</Table.Td><Table.Td ta="right">{rub(d.book)}</Table.Td><Table.Td ta="right">{pct(d.bookPercent)}</Table.Td>
                    {(['borrower', 'group', 'region'] as const).map((k) => <Table.Td key={k} ta="right">{pct(of(k)?.largest?.percent)}</Table.Td>)}
                    <Table.Td><JudgementBadge judgement={d.capital === null ? null : worst} /></Table.Td>
                  </Table.Tr>
                );
              })}</Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      ))}</Loaded>
    </Stack>
  );
}

const LIMIT_KINDS = ['crypto_book', 'borrower', 'group', 'region'] as const;

function Rules() {
  const { t, rub, pct, day, time } = useI18n();
  const { can } = useSession();
  const rules = useQuery({ queryKey: ['exposure-rules'], queryFn: async () => must(await api.GET('/api/v1/exposure/rules')) });
  const bps = (v: number) => pct(bpsToPercent(v));
  const kindLabel = (k: string | null) => (k === null ? t('exposure.anyKind') : t(`kind.${k}` as MessageKey));
  return (
    <Loaded query={rules}>{(r) => (
      <Stack>
        {can('proposeCapital') && (
          <Group>
            <ProposeCapital />
            <ProposeLimit />
            <ProposeWeight />
          </Group>
        )}
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">{t('exposure.inForce', { day: day(r.day) })}</Title>
          <SimpleGrid cols={{ base: 1, md: 3 }}>
            <Figure label={t('exposure.tier1')} value={r.inForce.capital === null ? t('exposure.notRecorded') : `${rub(r.inForce.capital.tier1)} (${day(r.inForce.capital.effectiveFrom)})`} testId="rules-capital" />
          </SimpleGrid>
          <Table.ScrollContainer minWidth={720}>
            <Table mt="sm" data-testid="rules-limits">
              <Table.Thead><Table.Tr><Table.Th>{t('exposure.limit')}</Table.Th><Table.Th ta="right">{t('exposure.soft')}</Table.Th><Table.Th ta="right">{t('exposure.hard')}</Table.Th><Table.Th>{t('exposure.effectiveFrom')}</Table.Th><Table.Th>{t('exposure.legalBasis')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {r.inForce.limits.map((l) => (
                  <Table.Tr key={l.id}><Table.Td>{t(`exposure.kind.${l.kind}` as MessageKey)}{l.kind === 'region' ? `: ${l.regionCode ?? t('exposure.everyRegion')}` : ''}</Table.Td><Table.Td ta="right">{pct(l.softPercent)}</Table.Td><Table.Td ta="right">{pct(l.hardPercent)}</Table.Td><Table.Td>{day(l.effectiveFrom)}</Table.Td><Table.Td><Text size="xs">{l.legalBasis}</Text></Table.Td></Table.Tr>
                ))}
                {r.inForce.weights.map((w) => (
                  <Table.Tr key={`w${w.id}`}><Table.Td>{t('exposure.weight')}: {kindLabel(w.borrowerKind)}, {t(`exposure.collateral.${w.collateral}` as MessageKey)}</Table.Td><Table.Td ta="right" colSpan={2}>{pct(w.weightPercent)}</Table.Td><Table.Td>{day(w.effectiveFrom)}</Table.Td><Table.Td><Text size="xs">{w.legalBasis}</Text></Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">{t('exposure.historyRules')}</Title>
          <Table.ScrollContainer minWidth={900}>
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th>{t('exposure.rule')}</Table.Th><Table.Th>{t('exposure.value')}</Table.Th><Table.Th>{t('exposure.effectiveFrom')}</Table.Th><Table.Th>{t('exposure.reason')}</Table.Th><Table.Th>{t('exposure.recordedBy')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {r.history.capital.map((c) => (
                  <Table.Tr key={`c${c.id}`}><Table.Td>{t('exposure.tier1')}</Table.Td><Table.Td>{rub(c.tier1)}</Table.Td><Table.Td>{day(c.effectiveFrom)}</Table.Td><Table.Td><Text size="xs">{c.reason}</Text></Table.Td><Table.Td><Text size="xs">{c.recordedBy ?? '—'} · {time(c.recordedAt)}</Text></Table.Td></Table.Tr>
                ))}
                {r.history.limits.map((l) => (
                  <Table.Tr key={`l${l.id}`}><Table.Td>{t(`exposure.kind.${l.kind}` as MessageKey)}{l.kind === 'region' ? `: ${l.regionCode ?? t('exposure.everyRegion')}` : ''}</Table.Td><Table.Td>{l.active ? `${bps(l.softBps)} / ${bps(l.hardBps)}` : <Badge color="gray" variant="light">{t('exposure.ended')}</Badge>}</Table.Td><Table.Td>{day(l.effectiveFrom)}</Table.Td><Table.Td><Text size="xs">{l.reason}</Text></Table.Td><Table.Td><Text size="xs">{l.recordedBy ?? t('exposure.default')} · {time(l.recordedAt)}</Text></Table.Td></Table.Tr>
                ))}
                {r.history.weights.map((w) => (
                  <Table.Tr key={`w${w.id}`}><Table.Td>{t('exposure.weight')}: {kindLabel(w.borrowerKind)}</Table.Td><Table.Td>{w.active ? bps(w.weightBps) : <Badge color="gray" variant="light">{t('exposure.ended')}</Badge>}</Table.Td><Table.Td>{day(w.effectiveFrom)}</Table.Td><Table.Td><Text size="xs">{w.reason}</Text></Table.Td><Table.Td><Text size="xs">{w.recordedBy ?? t('exposure.default')} · {time(w.recordedAt)}</Text></Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      </Stack>
    )}</Loaded>
  );
}

function useBasis() {
  const [effectiveFrom, setEffectiveFrom] = useState(new Date().toISOString().slice(0, 10));
  const [legalBasis, setLegalBasis] = useState('');
  const [reason, setReason] = useState('');
  return { values: { effectiveFrom, legalBasis, reason }, set: { setEffectiveFrom, setLegalBasis, setReason } };
}

function BasisFields({ basis }: { basis: ReturnType<typeof useBasis> }) {
  const { t } = useI18n();
  return (
    <>
      <TextInput label={t('exposure.effectiveFrom')} value={basis.values.effectiveFrom} onChange={(e) => basis.set.setEffectiveFrom(e.currentTarget.value)} />
      <TextInput label={t('exposure.legalBasis')} value={basis.values.legalBasis} onChange={(e) => basis.set.setLegalBasis(e.currentTarget.value)} />
      <TextInput label={t('exposure.reason')} value={basis.values.reason} onChange={(e) => basis.set.setReason(e.currentTarget.value)} />
      <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
    </>
  );
}

function ProposeCapital() {
  const { t } = useI18n();
  const basis = useBasis();
  const [tier1, setTier1] = useState('');
  return (
    <ActionButton label={t('exposure.proposeCapital')} testId="propose-capital"
      run={async (key) => must(await api.POST('/api/v1/exposure/capital', { params: { header: { 'idempotency-key': key } }, body: { ...basis.values, tier1 } }))}>
      <TextInput label={t('exposure.tier1Rub')} value={tier1} onChange={(e) => setTier1(e.currentTarget.value)} placeholder="2000000000.00" />
      <BasisFields basis={basis} />
    </ActionButton>
  );
}

function ProposeLimit() {
  const { t } = useI18n();
  const basis = useBasis();
  const [kind, setKind] = useState<(typeof LIMIT_KINDS)[number]>('crypto_book');
  const [regionCode, setRegionCode] = useState('');
  const [soft, setSoft] = useState('');
  const [hard, setHard] = useState('');
  const [active, setActive] = useState(true);
  return (
    <ActionButton label={t('exposure.proposeLimit')} testId="propose-limit"
      run={async (key) => must(await api.POST('/api/v1/exposure/limits', { params: { header: { 'idempotency-key': key } }, body: { ...basis.values, kind, regionCode: kind === 'region' && regionCode !== '' ? regionCode : null, softPercent: soft, hardPercent: hard, active } }))}>
      <Select label={t('exposure.limit')} value={kind} onChange={(v) => setKind((v ?? 'crypto_book') as typeof kind)} allowDeselect={false} data={LIMIT_KINDS.map((k) => ({ value: k, label: t(`exposure.kind.${k}` as MessageKey) }))} />
      {kind === 'region' && <TextInput label={t('exposure.regionCode')} value={regionCode} onChange={(e) => setRegionCode(e.currentTarget.value)} placeholder="38" />}
      <TextInput label={t('exposure.softPercent')} value={soft} onChange={(e) => setSoft(e.currentTarget.value)} placeholder="1" />
      <TextInput label={t('exposure.hardPercent')} value={hard} onChange={(e) => setHard(e.currentTarget.value)} placeholder="2" />
      <Switch label={t('exposure.active')} checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
      <BasisFields basis={basis} />
    </ActionButton>
  );
}

function ProposeWeight() {
  const { t } = useI18n();
  const basis = useBasis();
  const [kind, setKind] = useState<string>('any');
  const [collateral, setCollateral] = useState<'btc' | 'equipment'>('btc');
  const [weight, setWeight] = useState('');
  return (
    <ActionButton label={t('exposure.proposeWeight')} testId="propose-weight"
      run={async (key) => must(await api.POST('/api/v1/exposure/risk-weights', { params: { header: { 'idempotency-key': key } }, body: { ...basis.values, borrowerKind: kind === 'any' ? null : kind as 'company' | 'entrepreneur' | 'individual', collateral, weightPercent: weight } }))}>
      <Select label={t('common.kind')} value={kind} onChange={(v) => setKind(v ?? 'any')} allowDeselect={false}
        data={[{ value: 'any', label: t('exposure.anyKind') }, ...(['company', 'entrepreneur', 'individual'] as const).map((k) => ({ value: k, label: t(`kind.${k}` as MessageKey) }))]} />
      <Select label={t('exposure.collateral')} value={collateral} onChange={(v) => setCollateral((v ?? 'btc') as 'btc' | 'equipment')} allowDeselect={false}
        data={(['btc', 'equipment'] as const).map((c) => ({ value: c, label: t(`exposure.collateral.${c}` as MessageKey) }))} />
      <TextInput label={t('exposure.weightPercent')} value={weight} onChange={(e) => setWeight(e.currentTarget.value)} placeholder="1250" />
      <BasisFields basis={basis} />
    </ActionButton>
  );
}
