import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Badge, Card, Group, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { ApplicationExposure } from '../components/ExposureCheck';
import { useI18n, type MessageKey } from '../i18n';
import { ActionButton, Loaded, PageTitle, StateBadge } from '../components/Common';
import type { Inbox, Proposal } from '../types';

/** What waits for me; refreshed every 10 s, the calls' countdowns tick every second between reads. */
export default function InboxPage() {
  const { t } = useI18n();
  const inbox = useQuery({ queryKey: ['inbox'], queryFn: async () => must(await api.GET('/api/v1/inbox', { params: { query: { limit: 50 } } })) as unknown as Inbox, refetchInterval: 10_000 });
  return (
    <>
      <PageTitle>{t('inbox.title')}</PageTitle>
      <Loaded query={inbox}>{(data) => (
        <Stack>
          <Proposals data={data} />
          <Applications data={data} />
          <Calls data={data} fetchedAt={inbox.dataUpdatedAt} />
          <Undelivered data={data} />
          <Liquidations data={data} />
          <Screening data={data} />
          <Compliance data={data} />
        </Stack>
      )}</Loaded>
    </>
  );
}

function Section({ title, count, children, testId }: { title: string; count: number; children: React.ReactNode; testId: string }) {
  const { t } = useI18n();
  return (
    <Card withBorder data-testid={testId}>
      <Group mb="sm"><Title order={3} size="h4">{title}</Title><Badge variant="light">{count}</Badge></Group>
      {count === 0 ? <Text size="sm" c="dimmed">{t('inbox.empty')}</Text> : <Table.ScrollContainer minWidth={640}>{children}</Table.ScrollContainer>}
    </Card>
  );
}

function Proposals({ data }: { data: Inbox }) {
  const { t, time, rub, btc } = useI18n();
  return (
    <Section title={t('inbox.proposals')} count={data.proposals.length} testId="inbox-proposals">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('inbox.action')}</Table.Th><Table.Th>{t('inbox.summary')}</Table.Th><Table.Th>{t('inbox.amounts')}</Table.Th><Table.Th>{t('inbox.proposedBy')}</Table.Th><Table.Th>{t('inbox.expires')}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
        <Table.Tbody>{data.proposals.map((p) => (
          <Table.Tr key={p.id} data-testid={`proposal-${p.id}`}>
            <Table.Td><Text size="sm">{actionLabel(t, p.actionType)}</Text></Table.Td>
            <Table.Td><Text size="sm">{p.summary}</Text></Table.Td>
            <Table.Td><Text size="sm">{Object.entries(p.amounts).map(([c, a]) => (c === 'RUB' ? rub(a) : c === 'BTC' ? btc(a) : `${a} ${c}`)).join(', ') || '—'}</Text></Table.Td>
            <Table.Td><Text size="sm">{p.proposedByName ?? p.proposedBy}</Text><Text size="xs" c="dimmed">{time(p.proposedAt)}</Text></Table.Td>
            <Table.Td><Text size="sm">{time(p.expiresAt)}</Text></Table.Td>
            <Table.Td><Decide proposal={p} /></Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
      {data.myPendingProposals > 0 && <Text size="xs" c="dimmed" mt="xs">{t('inbox.mine', { count: data.myPendingProposals })}</Text>}
    </Section>
  );
}

function actionLabel(t: (key: MessageKey) => string, type: string): string {
  const key = `action.${type}` as MessageKey;
  const text = t(key);
  return text === key ? type : text;
}

function Decide({ proposal }: { proposal: Proposal }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  if (!proposal.canApprove) return <Text size="xs" c="dimmed">{t('inbox.approverRoles', { roles: proposal.approverRoles.join(', ') })}</Text>;
  return (
    <Group gap="xs" wrap="nowrap">
      <ActionButton label={t('inbox.approve')} color="green" testId={`approve-${proposal.id}`}
        run={async (key) => must(await api.POST('/api/v1/approvals/{id}/approve', { params: { path: { id: proposal.id } }, headers: { 'idempotency-key': key } }))}>
        <Text size="sm">{proposal.summary}</Text>
        {proposal.actionType === 'loans.approve' && <ApplicationExposure applicationId={(proposal.payload as { applicationId: string }).applicationId} />}
        <Text size="xs" c="dimmed">{t('inbox.approveNote')}</Text>
      </ActionButton>
      <ActionButton label={t('inbox.reject')} color="red" testId={`reject-${proposal.id}`}
        run={async () => must(await api.POST('/api/v1/approvals/{id}/reject', { params: { path: { id: proposal.id } }, body: { reason } }))}>
        <Textarea label={t('inbox.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required />
      </ActionButton>
    </Group>
  );
}

function Applications({ data }: { data: Inbox }) {
  const { t, rub, btc, time } = useI18n();
  return (
    <Section title={t('inbox.applications')} count={data.applications.length} testId="inbox-applications">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('common.product')}</Table.Th><Table.Th ta="right">{t('common.amount')}</Table.Th><Table.Th ta="right">{t('common.months')}</Table.Th><Table.Th ta="right">{t('common.collateral')}</Table.Th><Table.Th>{t('common.created')}</Table.Th><Table.Th>{t('inbox.blocking')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.applications.map((a) => (
          <Table.Tr key={a.id}>
            <Table.Td><Anchor component={Link} to={`/borrowers/${a.borrower}`}>{a.borrowerName}</Anchor></Table.Td>
            <Table.Td>{a.product}</Table.Td><Table.Td ta="right">{rub(a.amount)}</Table.Td><Table.Td ta="right">{a.months}</Table.Td><Table.Td ta="right">{btc(a.collateralBtc)}</Table.Td>
            <Table.Td>{time(a.createdAt)}</Table.Td><Table.Td><Text size="xs">{a.blockingReasons.join('; ') || '—'}</Text></Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}

/** Seconds of business time left, counted down from the server's figure since it was read. */
function Countdown({ seconds, fetchedAt }: { seconds: number; fetchedAt: number }) {
  const { duration, t } = useI18n();
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const timer = setInterval(() => setNow(Date.now()), 1_000); return () => clearInterval(timer); }, []);
  const left = seconds - Math.floor((now - fetchedAt) / 1000);
  return <Text size="sm" fw={600} c={left <= 0 ? 'red' : left < 8 * 3600 ? 'orange' : undefined} data-testid="countdown">{left <= 0 ? t('inbox.deadlinePassed') : duration(left)}</Text>;
}

function Calls({ data, fetchedAt }: { data: Inbox; fetchedAt: number }) {
  const { t, rub, btc, time } = useI18n();
  return (
    <Section title={t('inbox.calls')} count={data.calls.length} testId="inbox-calls">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('common.state')}</Table.Th><Table.Th ta="right">{t('portfolio.debt')}</Table.Th><Table.Th ta="right">{t('common.collateral')}</Table.Th><Table.Th>{t('inbox.deadline')}</Table.Th><Table.Th>{t('inbox.businessLeft')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.calls.map((c) => (
          <Table.Tr key={c.loan}>
            <Table.Td><Anchor component={Link} to={`/loans/${c.loan}`}>{c.loan}</Anchor></Table.Td>
            <Table.Td><Anchor component={Link} to={`/borrowers/${c.borrower}`}>{c.borrower}</Anchor></Table.Td>
            <Table.Td><StateBadge state={c.state} /></Table.Td><Table.Td ta="right">{rub(c.debt)}</Table.Td><Table.Td ta="right">{btc(c.collateralBtc)}</Table.Td>
            <Table.Td>{time(c.callDeadline)}</Table.Td>
            <Table.Td>{c.businessSecondsLeft === null ? '—' : <Countdown seconds={c.businessSecondsLeft} fetchedAt={fetchedAt} />}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}

/** Risk notices the borrower never got: someone must reach it by phone before the deadline passes unnoticed. */
function Undelivered({ data }: { data: Inbox }) {
  const { t, time } = useI18n();
  return (
    <Section title={t('inbox.undelivered')} count={data.undeliveredNotices.length} testId="inbox-undelivered">
      <Text size="xs" c="dimmed" mb="xs">{t('inbox.undeliveredNote')}</Text>
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('inbox.notice')}</Table.Th><Table.Th>{t('inbox.channel')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('inbox.reason')}</Table.Th><Table.Th>{t('common.created')}</Table.Th><Table.Th>{t('inbox.deadline')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.undeliveredNotices.map((n) => (
          <Table.Tr key={n.id}>
            <Table.Td><Anchor component={Link} to={`/loans/${n.loan}`}>{n.loan}</Anchor></Table.Td>
            <Table.Td><Anchor component={Link} to={`/borrowers/${n.borrower}`}>{n.borrower}</Anchor></Table.Td>
            <Table.Td>{t(`notice.${n.topic.replace('risk.', '')}` as MessageKey)}</Table.Td><Table.Td>{t(`channel.${n.channel}` as MessageKey)}</Table.Td>
            <Table.Td><Badge color={n.status === 'expired' ? 'orange' : 'red'} variant="light">{t(n.status === 'expired' ? 'inbox.expired' : 'inbox.dead')}</Badge></Table.Td>
            <Table.Td><Text size="xs">{n.error ?? '—'}</Text></Table.Td><Table.Td>{time(n.at)}</Table.Td><Table.Td>{n.callDeadline === null ? '—' : time(n.callDeadline)}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}

function Liquidations({ data }: { data: Inbox }) {
  const { t, btc, time } = useI18n();
  return (
    <Section title={t('inbox.liquidations')} count={data.liquidations.length} testId="inbox-liquidations">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('inbox.reason')}</Table.Th><Table.Th ta="right">{t('risk.planned')}</Table.Th><Table.Th ta="right">{t('risk.filled')}</Table.Th><Table.Th>{t('risk.queuedAt')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.liquidations.map((q) => (
          <Table.Tr key={q.id}>
            <Table.Td><Anchor component={Link} to={`/loans/${q.loan}`}>{q.loan}</Anchor></Table.Td><Table.Td>{q.status}</Table.Td><Table.Td><Text size="xs">{q.reason ?? '—'}</Text></Table.Td>
            <Table.Td ta="right">{btc(q.plannedBtc)}</Table.Td><Table.Td ta="right">{btc(q.filledBtc)}</Table.Td><Table.Td>{time(q.queuedAt)}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}

function Screening({ data }: { data: Inbox }) {
  const { t, time } = useI18n();
  return (
    <Section title={t('inbox.screening')} count={data.screeningHits.length} testId="inbox-screening">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('inbox.field')}</Table.Th><Table.Th>{t('inbox.matched')}</Table.Th><Table.Th>{t('inbox.list')}</Table.Th><Table.Th>{t('common.created')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.screeningHits.map((h) => (
          <Table.Tr key={h.id}>
            <Table.Td><Anchor component={Link} to={`/borrowers/${h.borrower}`}>{h.borrower}</Anchor></Table.Td><Table.Td>{h.field}</Table.Td><Table.Td>{h.matched}</Table.Td>
            <Table.Td>{h.list}: {h.entry}</Table.Td><Table.Td>{time(h.foundAt)}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}

function Compliance({ data }: { data: Inbox }) {
  const { t, time } = useI18n();
  return (
    <Section title={t('inbox.compliance')} count={data.complianceEvents.length} testId="inbox-compliance">
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('inbox.rule')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('inbox.reason')}</Table.Th><Table.Th>{t('common.created')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{data.complianceEvents.map((e) => (
          <Table.Tr key={e.id}>
            <Table.Td><Anchor component={Link} to={`/borrowers/${e.borrower}`}>{e.borrower}</Anchor></Table.Td><Table.Td>{e.rule}</Table.Td>
            <Table.Td><Badge color={e.kind === 'started_failing' ? 'red' : 'green'} variant="light">{e.kind === 'started_failing' ? t('inbox.failing') : t('inbox.passing')}</Badge></Table.Td>
            <Table.Td><Text size="xs">{e.reason}</Text></Table.Td><Table.Td>{time(e.at)}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Section>
  );
}
