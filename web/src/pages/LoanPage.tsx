import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, Anchor, Badge, Card, Drawer, Group, NumberInput, SegmentedControl, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Timeline, Title, UnstyledButton } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, Loaded, PageTitle, StateBadge } from '../components/Common';
import { LazyChart as Chart } from '../components/LazyChart';
import { EquipmentPanel } from '../components/EquipmentLayer';
import { useVault, VaultSpends } from './VaultSpends';
import type { BorrowerRisk, CollateralView, LoanEvent, LoanBalances, LoanStatement, LoanView, Schedule, VaultView } from '../types';

const BALANCE_KEYS = ['principal', 'principalOverdue', 'interest', 'interestOverdue', 'penalty', 'fee'] as const;

export default function LoanPage() {
  const { ref = '' } = useParams();
  const { t, rub, btc, pct, day, time } = useI18n();
  const loan = useQuery({ queryKey: ['loan', ref], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}', { params: { path: { ref } } })) as unknown as LoanView & { borrower: { ref: string; name: string } | null } });
  const borrowerRef = loan.data?.borrower?.ref;
  const risk = useQuery({ queryKey: ['borrower-risk', borrowerRef], enabled: borrowerRef !== undefined, queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/risk', { params: { path: { ref: borrowerRef! } } })) as unknown as BorrowerRisk, refetchInterval: 10_000 });
  const mine = risk.data?.loans.find((l) => l.loan === ref);
  return (
    <Loaded query={loan}>{(l) => (
      <>
        <PageTitle right={<LoanActions loan={l} collateral={mine?.collateral ?? null} />}>
          <Group gap="sm">{t('loan.title', { ref: l.ref })}<Badge variant="light">{t(`loanStatus.${l.status}` as MessageKey)}</Badge>{mine !== undefined && <StateBadge state={mine.state} />}</Group>
        </PageTitle>
        {l.borrower !== null && <Text mb="sm">{t('common.borrower')}: <Anchor component={Link} to={`/borrowers/${l.borrower.ref}`}>{l.borrower.name} ({l.borrower.ref})</Anchor></Text>}
        <SimpleGrid cols={{ base: 2, md: 6 }} mb="md">
          <Figure label={t('common.amount')} value={rub(l.amount)} />
          <Figure label={t('loan.rate')} value={l.rate.kind === 'fixed' ? pct(l.rate.percent) : `${pct(l.rate.percent)} (${t('loan.keyPlus', { margin: pct(l.rate.marginPercent) })})`} />
          <Figure label={t('common.months')} value={l.months} />
          <Figure label={t('loan.disbursed')} value={day(l.disbursedOn)} />
          <Figure label={t('loans.maturity')} value={day(l.maturityOn)} />
          <Figure label={t('common.ltv')} value={pct(mine?.ltvPercent ?? null)} testId="loan-ltv" />
        </SimpleGrid>
        {mine !== undefined && (mine.state === 'margin_call' || mine.state === 'accelerated_call') && (
          <Card withBorder mb="md" bg="orange.0" data-testid="loan-call">
            <Title order={3} size="h4">{t('loan.callTitle')}</Title>
            <Text>{t('loan.callDeadline', { deadline: time(mine.callDeadline) })}</Text>
            {mine.cure?.toLeaveCall != null && <Text size="sm">{t('loan.cure', { btc: btc(mine.cure.toLeaveCall.addBtc), rub: rub(mine.cure.toLeaveCall.repayRub), ltv: pct(mine.cure.toLeaveCall.belowLtvPercent) })}</Text>}
          </Card>
        )}
        <Tabs defaultValue="balances" keepMounted={false}>
          <Tabs.List mb="md">
            <Tabs.Tab value="balances">{t('loan.balances')}</Tabs.Tab>
            <Tabs.Tab value="schedule">{t('loan.schedule')}</Tabs.Tab>
            <Tabs.Tab value="collateral">{t('common.collateral')}</Tabs.Tab>
            <Tabs.Tab value="timeline">{t('loan.timeline')}</Tabs.Tab>
            <Tabs.Tab value="ltv">{t('loan.ltvChart')}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="balances"><BalancesTab loanRef={ref} /></Tabs.Panel>
          <Tabs.Panel value="schedule"><ScheduleTab loanRef={ref} /></Tabs.Panel>
          <Tabs.Panel value="collateral"><CollateralTab loanRef={ref} live={l.status === 'active' || l.status === 'overdue'} /></Tabs.Panel>
          <Tabs.Panel value="timeline"><TimelineTab loanRef={ref} risk={risk.data} /></Tabs.Panel>
          <Tabs.Panel value="ltv"><LtvTab loan={l} risk={risk.data} /></Tabs.Panel>
        </Tabs>
      </>
    )}</Loaded>
  );
}

/** The actions this user's roles allow on this loan in its status; four-eyes ones become proposals. */
function LoanActions({ loan, collateral }: { loan: LoanView; collateral: string | null }) {
  const { t } = useI18n();
  const { can } = useSession();
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [mode, setMode] = useState<'shorter_term' | 'smaller_instalment'>('shorter_term');
  const [months, setMonths] = useState<number | string>(3);
  const [reason, setReason] = useState('');
  const [btcAmount, setBtcAmount] = useState('');
  const live = loan.status === 'active' || loan.status === 'overdue';
  const path = { ref: loan.ref };
  return (
    <Group gap="xs" data-testid="loan-actions">
      {loan.status === 'approved' && can('postLoansByRefDisbursement') && (
        <ActionButton label={t('loan.disburse')} testId="disburse" run={async (key) => must(await api.POST('/api/v1/loans/{ref}/disbursement', { params: { path, header: { 'idempotency-key': key } } }))}>
          <Text size="sm">{t('loan.disburseNote')}</Text>
        </ActionButton>
      )}
      {(loan.status === 'approved' || live) && can('postLoansByRefCollateral') && (
        <ActionButton label={t('loan.declareCollateral')} testId="declare-collateral" run={async () => must(await api.POST('/api/v1/loans/{ref}/collateral', { params: { path }, body: { btc: btcAmount } }))}>
          <TextInput label={t('loan.btcAmount')} value={btcAmount} onChange={(e) => setBtcAmount(e.currentTarget.value)} placeholder="0.50000000" data-testid="declare-btc" />
        </ActionButton>
      )}
      {live && can('postLoansByRefRepayments') && (
        <ActionButton label={t('loan.repayment')} testId="repayment" run={async () => must(await api.POST('/api/v1/loans/{ref}/repayments', { params: { path }, body: { amount, reference } }))}>
          <TextInput label={t('loan.amountRub')} value={amount} onChange={(e) => setAmount(e.currentTarget.value)} placeholder="100000.00" />
          <TextInput label={t('loan.paymentReference')} value={reference} onChange={(e) => setReference(e.currentTarget.value)} />
        </ActionButton>
      )}
      {live && can('postLoansByRefPrepayments') && (
        <ActionButton label={t('loan.prepayment')} run={async (key) => must(await api.POST('/api/v1/loans/{ref}/prepayments', { params: { path, header: { 'idempotency-key': key } }, body: { mode, ...(amount === '' ? {} : { amount }) } }))}>
          <TextInput label={t('loan.prepayAmount')} value={amount} onChange={(e) => setAmount(e.currentTarget.value)} placeholder={t('loan.prepayAll')} />
          <SegmentedControl value={mode} onChange={(v) => setMode(v === 'smaller_instalment' ? 'smaller_instalment' : 'shorter_term')} data={[{ value: 'shorter_term', label: t('loan.shorterTerm') }, { value: 'smaller_instalment', label: t('loan.smallerInstalment') }]} />
        </ActionButton>
      )}
      {live && can('postLoansByRefRestructuring') && (
        <ActionButton label={t('loan.restructure')} run={async (key) => must(await api.POST('/api/v1/loans/{ref}/restructuring', { params: { path, header: { 'idempotency-key': key } }, body: { extraMonths: Number(months), reason } }))}>
          <NumberInput label={t('loan.extraMonths')} value={months} onChange={setMonths} min={1} max={60} />
          <TextInput label={t('inbox.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
        </ActionButton>
      )}
      {loan.status === 'closed' && can('postLoansByRefCollateralRelease') && (
        <ActionButton label={t('loan.release')} run={async (key) => must(await api.POST('/api/v1/loans/{ref}/collateral-release', { params: { path, header: { 'idempotency-key': key } } }))}>
          <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
        </ActionButton>
      )}
      {/* Only the debt a liquidation left with no collateral can be written off. */}
      {live && collateral !== null && /^0\.0+$/.test(collateral) && can('postLoansByRefWriteOff') && (
        <ActionButton label={t('loan.writeOff')} color="red" run={async (key) => must(await api.POST('/api/v1/loans/{ref}/write-off', { params: { path, header: { 'idempotency-key': key } }, body: { reason } }))}>
          <TextInput label={t('inbox.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
        </ActionButton>
      )}
    </Group>
  );
}

function BalancesTab({ loanRef }: { loanRef: string }) {
  const { t, rub, btc, day } = useI18n();
  const [account, setAccount] = useState<string | null>(null);
  const balances = useQuery({ queryKey: ['loan-balances', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/balances', { params: { path: { ref: loanRef } } })) as unknown as LoanBalances });
  return (
    <Loaded query={balances}>{(b) => (
      <>
        <Text size="sm" c="dimmed" mb="xs">{t('loan.asOf', { day: day(b.asOf) })} · {t('loan.clickBalance')}</Text>
        <Table maw={560}>
          <Table.Tbody>
            {BALANCE_KEYS.map((key) => (
              <Table.Tr key={key}>
                <Table.Td>{t(`balance.${key}` as MessageKey)}</Table.Td>
                <Table.Td ta="right">
                  <UnstyledButton onClick={() => setAccount(b.accounts[key] ?? null)} data-testid={`balance-${key}`} style={{ textDecoration: 'underline dotted' }}>{rub(b[key])}</UnstyledButton>
                </Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr><Table.Td fw={700}>{t('balance.total')}</Table.Td><Table.Td ta="right" fw={700}>{rub(b.total)}</Table.Td></Table.Tr>
            <Table.Tr><Table.Td>{t('common.collateral')}</Table.Td><Table.Td ta="right">{btc(b.collateral)}</Table.Td></Table.Tr>
          </Table.Tbody>
        </Table>
        <Drawer opened={account !== null} onClose={() => setAccount(null)} position="right" size="xl" title={t('loan.postingsOf', { account: account ?? '' })}>
          {account !== null && <Postings loanRef={loanRef} account={account} />}
        </Drawer>
      </>
    )}</Loaded>
  );
}

/** The ledger entries behind one balance: the statement of the loan filtered to that account. */
function Postings({ loanRef, account }: { loanRef: string; account: string }) {
  const { t, rub, btc, day, time } = useI18n();
  const accountKind = account.split(':')[0] ?? account;
  const statement = useQuery({ queryKey: ['loan-statement', loanRef, accountKind], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/statement', { params: { path: { ref: loanRef }, query: { limit: 200, account: accountKind } } })) as unknown as LoanStatement });
  return (
    <Loaded query={statement}>{(s) => (
      <Table data-testid="postings">
        <Table.Thead><Table.Tr><Table.Th>{t('books.entry')}</Table.Th><Table.Th>{t('books.businessDate')}</Table.Th><Table.Th>{t('books.reason')}</Table.Th><Table.Th ta="right">{t('books.debit')}</Table.Th><Table.Th ta="right">{t('books.credit')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{s.entries.flatMap((e) => e.postings.filter((p) => p.account === account).map((p, i) => (
          <Table.Tr key={`${e.entryId}-${i}`}>
            <Table.Td>{e.entryId}</Table.Td><Table.Td>{day(e.businessDate)}<Text size="xs" c="dimmed">{time(e.valueTime)}</Text></Table.Td><Table.Td><Text size="xs">{e.reason}</Text></Table.Td>
            <Table.Td ta="right">{p.debit === null ? '' : p.currency === 'BTC' ? btc(p.debit) : rub(p.debit)}</Table.Td>
            <Table.Td ta="right">{p.credit === null ? '' : p.currency === 'BTC' ? btc(p.credit) : rub(p.credit)}</Table.Td>
          </Table.Tr>
        )))}</Table.Tbody>
      </Table>
    )}</Loaded>
  );
}

function ScheduleTab({ loanRef }: { loanRef: string }) {
  const { t, rub, day } = useI18n();
  const schedule = useQuery({ queryKey: ['loan-schedule', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/schedule', { params: { path: { ref: loanRef } } })) as unknown as Schedule });
  return (
    <Loaded query={schedule}>{(s) => (
      <>
        <Text size="sm" c="dimmed" mb="xs">{t('loan.scheduleVersion', { version: s.version, versions: s.versions })}</Text>
        {s.calendar.note !== null && <Text size="xs" c="orange" mb="xs">{s.calendar.note}</Text>}
        <Table.ScrollContainer minWidth={700}>
          <Table striped>
            <Table.Thead><Table.Tr><Table.Th>№</Table.Th><Table.Th>{t('loan.dueDate')}</Table.Th><Table.Th ta="right">{t('loan.payment')}</Table.Th><Table.Th ta="right">{t('balance.principal')}</Table.Th><Table.Th ta="right">{t('balance.interest')}</Table.Th><Table.Th ta="right">{t('loan.balanceAfter')}</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{s.lines.map((line) => (
              <Table.Tr key={line.number}>
                <Table.Td>{line.number}</Table.Td><Table.Td>{day(line.dueDate)}</Table.Td><Table.Td ta="right">{rub(line.payment)}</Table.Td><Table.Td ta="right">{rub(line.principal)}</Table.Td>
                <Table.Td ta="right">{rub(line.interest)}</Table.Td><Table.Td ta="right">{rub(line.balance)}</Table.Td><Table.Td>{t(`line.${line.status}` as MessageKey)}</Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </>
    )}</Loaded>
  );
}

function CollateralTab({ loanRef, live }: { loanRef: string; live: boolean }) {
  const { t, btc, time } = useI18n();
  const { can } = useSession();
  const [custodianRef, setCustodianRef] = useState('');
  const collateral = useQuery({ queryKey: ['loan-collateral', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/collateral', { params: { path: { ref: loanRef } } })) as unknown as CollateralView });
  return (
    <Loaded query={collateral}>{(c) => (
      <>
        <Text mb="xs">{t('loan.held', { btc: btc(c.held) })}</Text>
        <Table data-testid="collateral-positions">
          <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('loan.custodianRef')}</Table.Th><Table.Th>{t('loan.declared')}</Table.Th><Table.Th>{t('loan.confirmed')}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
          <Table.Tbody>{c.positions.map((p) => (
            <Table.Tr key={p.id}>
              <Table.Td>{p.id}</Table.Td><Table.Td ta="right">{btc(p.btc)}</Table.Td><Table.Td>{t(`position.${p.state}` as MessageKey)}</Table.Td><Table.Td>{p.custodianRef ?? '—'}</Table.Td>
              <Table.Td>{time(p.declaredAt)}</Table.Td><Table.Td>{time(p.confirmedAt)}</Table.Td>
              <Table.Td>{p.state === 'pending' && can('postCollateralPositionsByIdConfirmation') && (
                <ActionButton label={t('loan.confirmCollateral')} testId={`confirm-position-${p.id}`}
                  run={async (key) => must(await api.POST('/api/v1/collateral-positions/{id}/confirmation', { params: { path: { id: p.id }, header: { 'idempotency-key': key } }, body: { custodianRef } }))}>
                  <TextInput label={t('loan.custodianRef')} value={custodianRef} onChange={(e) => setCustodianRef(e.currentTarget.value)} data-testid="custodian-ref" />
                  <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
                </ActionButton>
              )}</Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
        {c.equipment !== null && <EquipmentPanel loanRef={loanRef} layer={c.equipment} live={live} />}
        <VaultPanel loanRef={loanRef} />
      </>
    )}</Loaded>
  );
}

/** The loan's vault (on-chain custody): what to deposit to, how to check it, each coin on its way to counting. */
function VaultPanel({ loanRef }: { loanRef: string }) {
  const { t, btc, time } = useI18n();
  // No vault (null): the loan's collateral is with the custodian (the table above is all there is).
  const vault = useVault(loanRef, 30_000);
  return (
    <Loaded query={vault}>{(v) => v === null ? <Text size="sm" c="dimmed" mt="md">{t('vault.custodial')}</Text> : (
      <Card withBorder mt="lg" data-testid="vault">
        <Group justify="space-between" mb="xs">
          <Title order={3} size="h4">{t('vault.title')}</Title>
          <Group gap="xs"><Badge variant="light">{t(`vault.mode.${v.mode}` as MessageKey)}</Badge><Badge variant="outline">{v.network}</Badge></Group>
        </Group>
        {v.frozen !== null && <Text c="red" mb="xs" data-testid="vault-frozen">{t('vault.frozen', { at: time(v.frozen.at), reason: v.frozen.reason })}</Text>}
        <SimpleGrid cols={{ base: 1, md: 3 }} mb="sm">
          <Figure label={t('vault.counted')} value={btc(v.countedBtc)} testId="vault-counted" />
          <Figure label={t('vault.confirmationsNeeded')} value={v.confirmationsNeeded} />
          <Figure label={t('vault.tip')} value={v.tipHeight ?? '—'} />
        </SimpleGrid>
        {v.depositAddress !== null && (<>
          <Text size="sm" fw={500}>{t('vault.depositAddress')}</Text>
          <Text ff="monospace" size="sm" mb="sm" style={{ wordBreak: 'break-all' }} data-testid="vault-address">{v.depositAddress}</Text>
        </>)}
        {v.payoutAddress !== null && (<>
          <Text size="sm" fw={500}>{t('vault.payoutAddress')}</Text>
          <Text ff="monospace" size="sm" style={{ wordBreak: 'break-all' }} data-testid="vault-payout-address">{v.payoutAddress}</Text>
          <Text size="xs" c="dimmed" mb="sm">{t('vault.payoutExplain')}</Text>
        </>)}
        <Text size="sm" fw={500}>{t('vault.descriptor')}</Text>
        <Text ff="monospace" size="xs" mb="xs" style={{ wordBreak: 'break-all' }} data-testid="vault-descriptor">{v.descriptor}</Text>
        {v.borrowerKey !== null && (v.borrowerKey.provenAt === null
          ? <Alert color="orange" mb="xs" p="xs" data-testid="vault-borrower-key">{t('vault.keyUnproven')}</Alert>
          : <Text size="sm" mb="xs" data-testid="vault-borrower-key">{t('vault.keyProven', { at: time(v.borrowerKey.provenAt) })}</Text>)}
        <Text size="xs" c="dimmed" mb="sm"><Anchor component={Link} to={`/proof?ref=${v.proofRef}`} size="xs">{t('vault.proofRef', { ref: v.proofRef })}</Anchor></Text>
        <Text size="sm" fw={500}>{t('vault.coins')}</Text>
        {v.coins.length === 0 ? <Text size="sm" c="dimmed">{t('vault.noCoins')}</Text> : (
          <Table.ScrollContainer minWidth={640} scrollAreaProps={{ viewportProps: { tabIndex: 0, 'aria-label': t('vault.coins') } }}>
            <Table data-testid="vault-coins">
              <Table.Thead><Table.Tr><Table.Th>{t('vault.tx')}</Table.Th><Table.Th>{t('vault.source')}</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th ta="right">{t('vault.confirmations')}</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{v.coins.map((coin) => (
                <Table.Tr key={`${coin.txid}:${coin.vout}`}>
                  <Table.Td ff="monospace" title={`${coin.txid}:${coin.vout}`}>{coin.txid.slice(0, 12)}…:{coin.vout}</Table.Td>
                  <Table.Td>{t(`vault.source.${coin.source}` as MessageKey)}</Table.Td>
                  <Table.Td ta="right">{btc(coin.btc)}</Table.Td>
                  <Table.Td ta="right">{coin.blockHeight === null ? (coin.unconfirmed ? `0 / ${v.confirmationsNeeded}` : '—') : `${coin.confirmations} / ${v.confirmationsNeeded}`}</Table.Td>
                  <Table.Td>{t(coin.held ? 'vault.coin.held' : coin.counted && coin.spentBy !== null ? 'vault.coin.spending' : coin.spentBy !== null ? 'vault.coin.spent' : coin.counted ? 'vault.coin.counted' : coin.unconfirmed ? 'vault.coin.unconfirmed' : coin.blockHeight === null ? 'vault.coin.orphaned' : 'vault.coin.waiting')}</Table.Td>
                </Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <VaultSpends loanRef={loanRef} vault={v} />
      </Card>
    )}</Loaded>
  );
}

function TimelineTab({ loanRef, risk }: { loanRef: string; risk: BorrowerRisk | undefined }) {
  const { t, time, rub, pct } = useI18n();
  const events = useQuery({ queryKey: ['loan-events', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/events', { params: { path: { ref: loanRef } } })) as unknown as { events: LoanEvent[] } });
  return (
    <Loaded query={events}>{(e) => {
      const items = [
        ...e.events.map((ev) => ({ at: ev.at, title: t(`event.${ev.kind}` as MessageKey), text: summarize(ev.details) })),
        ...(risk?.transitions ?? []).filter((tr) => tr.loan === loanRef).map((tr) => ({
          at: tr.at, title: `${t(`state.${tr.from}` as MessageKey)} → ${t(`state.${tr.to}` as MessageKey)}`,
          text: `${t('common.ltv')} ${pct(tr.ltvPercent)} · ${rub(tr.price)}${tr.callDeadline === null ? '' : ` · ${t('inbox.deadline')} ${time(tr.callDeadline)}`}`,
        })),
      ].sort((a, b) => a.at.localeCompare(b.at));
      return (
        <Timeline active={items.length} bulletSize={14} lineWidth={2} data-testid="loan-timeline">
          {items.map((item, i) => (
            <Timeline.Item key={i} title={item.title}>
              <Text size="xs" c="dimmed">{time(item.at)}</Text>
              <Text size="sm">{item.text}</Text>
            </Timeline.Item>
          ))}
        </Timeline>
      );
    }}</Loaded>
  );
}

function summarize(details: Record<string, unknown>): string {
  return Object.entries(details).filter(([, v]) => v !== null && typeof v !== 'object').map(([k, v]) => `${k}: ${String(v)}`).join(' · ');
}

/** LTV at each move on the ladder and now, against the product's thresholds. */
function LtvTab({ loan, risk }: { loan: LoanView; risk: BorrowerRisk | undefined }) {
  const { t, pct } = useI18n();
  const product = useQuery({ queryKey: ['product', loan.product.code, loan.product.version], queryFn: async () => must(await api.GET('/api/v1/loan-products/{code}/versions/{version}', { params: { path: { code: loan.product.code, version: loan.product.version } } })) });
  const option = useMemo(() => {
    const points = (risk?.transitions ?? []).filter((tr) => tr.loan === loan.ref && tr.ltvPercent !== null).map((tr) => [tr.at, Number(tr.ltvPercent)]).reverse();
    const now = risk?.loans.find((l) => l.loan === loan.ref);
    if (now?.ltvPercent != null) points.push([new Date().toISOString(), Number(now.ltvPercent)]);
    const ltv = (product.data?.terms as { collateral?: { ltv?: Record<string, string> } } | undefined)?.collateral?.ltv ?? {};
    const lines = [['warning', '#e6a700'], ['marginCall', '#e8590c'], ['liquidation', '#c92a2a']].filter(([k]) => ltv[k!] !== undefined)
      .map(([k, color]) => ({ yAxis: Number(ltv[k!]), name: t(`ladder.${k}` as MessageKey), lineStyle: { color } }));
    return {
      grid: { left: 48, right: 90, top: 24, bottom: 36 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: [{ type: 'line', step: 'end', name: t('common.ltv'), data: points, markLine: { symbol: 'none', label: { formatter: '{b}' }, data: lines } }],
    };
  }, [risk, loan, product.data, t]);
  const now = risk?.loans.find((l) => l.loan === loan.ref);
  return (
    <Stack>
      <Chart option={option} label={`${t('loan.ltvChart')}: ${pct(now?.ltvPercent ?? null)}`} />
      <Text size="xs" c="dimmed">{t('loan.ltvNote')}</Text>
    </Stack>
  );
}
