import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Anchor, Button, Group, Select, Table, Text, TextInput } from '@mantine/core';
import { useQuery, keepPreviousData } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { Loaded, PageTitle, StateBadge } from '../components/Common';

const STATUSES = ['approved', 'active', 'overdue', 'closed', 'cancelled'] as const;
const STATES = ['healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation'] as const;
type Status = (typeof STATUSES)[number];
type State = (typeof STATES)[number];
const PAGE = 50;

/** The loan book, paged and filtered on the server (a cursor per page: the last id seen). */
export default function LoansPage() {
  const { t, rub, btc, day } = useI18n();
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? params.get('status') as Status : undefined;
  const state = (STATES as readonly string[]).includes(params.get('state') ?? '') ? params.get('state') as State : undefined;
  const q = params.get('q') ?? '';
  const [search, setSearch] = useState(q);
  const [cursors, setCursors] = useState<string[]>([]);
  const afterId = cursors[cursors.length - 1];
  const loans = useQuery({
    queryKey: ['loans', status, state, q, afterId],
    queryFn: async () => must(await api.GET('/api/v1/loans', { params: { query: { limit: PAGE, ...(status ? { status } : {}), ...(state ? { state } : {}), ...(q ? { q } : {}), ...(afterId ? { afterId } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  const setFilter = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null || value === '') next.delete(name); else next.set(name, value);
    setParams(next);
    setCursors([]);
  };
  return (
    <>
      <PageTitle>{t('loans.title')}</PageTitle>
      <Group mb="md" align="flex-end">
        <Select label={t('common.status')} clearable value={status ?? null} onChange={(v) => setFilter('status', v)} data={STATUSES.map((s) => ({ value: s, label: t(`loanStatus.${s}` as MessageKey) }))} w={180} />
        <Select label={t('common.state')} clearable value={state ?? null} onChange={(v) => setFilter('state', v)} data={STATES.map((s) => ({ value: s, label: t(`state.${s}` as MessageKey) }))} w={200} />
        <form onSubmit={(e) => { e.preventDefault(); setFilter('q', search.trim()); }}>
          <Group align="flex-end" gap="xs">
            <TextInput label={t('loans.search')} value={search} onChange={(e) => setSearch(e.currentTarget.value)} placeholder="LN-1, B-1" w={200} />
            <Button type="submit" variant="default">{t('common.find')}</Button>
          </Group>
        </form>
      </Group>
      <Loaded query={loans}>{(data) => {
        const rows = data.loans;
        return (
          <>
            <Table.ScrollContainer minWidth={900}>
              <Table striped highlightOnHover data-testid="loans-table">
                <Table.Thead><Table.Tr>
                  <Table.Th>{t('common.loan')}</Table.Th><Table.Th>{t('common.borrower')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('common.state')}</Table.Th>
                  <Table.Th ta="right">{t('common.amount')}</Table.Th><Table.Th ta="right">{t('portfolio.debt')}</Table.Th><Table.Th ta="right">{t('common.collateral')}</Table.Th><Table.Th>{t('loans.maturity')}</Table.Th>
                </Table.Tr></Table.Thead>
                <Table.Tbody>{rows.map((loan) => (
                  <Table.Tr key={loan.ref}>
                    <Table.Td><Anchor component={Link} to={`/loans/${loan.ref}`}>{loan.ref}</Anchor></Table.Td>
                    <Table.Td><Anchor component={Link} to={`/borrowers/${loan.borrower.ref}`}>{loan.borrower.name}</Anchor></Table.Td>
                    <Table.Td>{t(`loanStatus.${loan.status}` as MessageKey)}</Table.Td>
                    <Table.Td><StateBadge state={loan.risk?.state} /></Table.Td>
                    <Table.Td ta="right">{rub(loan.amount)}</Table.Td><Table.Td ta="right">{rub(loan.balances.total)}</Table.Td>
                    <Table.Td ta="right">{btc(loan.risk?.collateral ?? null)}</Table.Td><Table.Td>{day(loan.maturityOn)}</Table.Td>
                  </Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {rows.length === 0 && <Text c="dimmed" size="sm" mt="sm">{t('loans.none')}</Text>}
            <Group mt="md">
              <Button variant="default" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('common.previous')}</Button>
              <Text size="sm">{t('common.page', { page: cursors.length + 1 })}</Text>
              <Button variant="default" disabled={data.nextAfterId === null} onClick={() => data.nextAfterId !== null && setCursors([...cursors, data.nextAfterId])}>{t('common.next')}</Button>
            </Group>
          </>
        );
      }}</Loaded>
    </>
  );
}
