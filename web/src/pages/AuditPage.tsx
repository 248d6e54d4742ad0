import { useState } from 'react';
import { Alert, Button, Group, Stack, Table, Text, TextInput } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { Loaded, PageTitle, ProblemAlert } from '../components/Common';

const PAGE = 100;

/** The audit trail, newest pages last (server-side paging and filters), and the chain's verification. */
export default function AuditPage() {
  const { t, time } = useI18n();
  const [target, setTarget] = useState('');
  const [action, setAction] = useState('');
  const [filters, setFilters] = useState<{ target?: string; action?: string }>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const afterId = cursors[cursors.length - 1];
  const records = useQuery({
    queryKey: ['audit', filters, afterId],
    queryFn: async () => must(await api.GET('/api/v1/audit', { params: { query: { limit: PAGE, ...filters, ...(afterId ? { afterId } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  const verify = useMutation({ mutationFn: async () => must(await api.GET('/api/v1/audit/verify')) });
  return (
    <>
      <PageTitle right={<Button onClick={() => verify.mutate()} loading={verify.isPending} data-testid="verify">{t('audit.verify')}</Button>}>{t('audit.title')}</PageTitle>
      <Stack>
        {verify.data !== undefined && (
          <Alert color={verify.data.intact ? 'green' : 'red'} title={verify.data.intact ? t('audit.intact') : t('audit.broken')} data-testid="verify-result">
            <Text size="sm">{t('audit.records', { records: verify.data.records, checkpoints: verify.data.checkpoints.length })}</Text>
            {verify.data.firstBroken !== null && <Text size="sm">#{verify.data.firstBroken.id}: {verify.data.firstBroken.problem}</Text>}
          </Alert>
        )}
        <ProblemAlert error={verify.error} />
        <form onSubmit={(e) => { e.preventDefault(); setFilters({ ...(target ? { target } : {}), ...(action ? { action } : {}) }); setCursors([]); }}>
          <Group align="flex-end">
            <TextInput label={t('audit.target')} value={target} onChange={(e) => setTarget(e.currentTarget.value)} placeholder="loan:LN-1" />
            <TextInput label={t('audit.action')} value={action} onChange={(e) => setAction(e.currentTarget.value)} placeholder="loans.apply" />
            <Button type="submit" variant="default">{t('common.find')}</Button>
          </Group>
        </form>
        <Loaded query={records}>{(data) => (
          <>
            {/* The viewport takes focus so a keyboard can scroll a wide table (axe: scrollable-region-focusable). */}
            <Table.ScrollContainer minWidth={900} scrollAreaProps={{ viewportProps: { tabIndex: 0, 'aria-label': t('audit.title') } }}>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>{t('audit.at')}</Table.Th><Table.Th>{t('audit.actor')}</Table.Th><Table.Th>{t('audit.action')}</Table.Th><Table.Th>{t('audit.target')}</Table.Th><Table.Th>{t('audit.outcome')}</Table.Th><Table.Th>{t('audit.amounts')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{data.records.map((r) => (
                  <Table.Tr key={r.id}>
                    <Table.Td>{r.id}</Table.Td><Table.Td>{time(r.at)}</Table.Td><Table.Td>{r.actor}</Table.Td><Table.Td><Text size="sm" ff="monospace">{r.action}</Text></Table.Td>
                    <Table.Td><Text size="sm" ff="monospace">{r.target ?? '—'}</Text></Table.Td><Table.Td>{r.outcome}</Table.Td>
                    <Table.Td><Text size="xs">{JSON.stringify((r.details as { amounts?: unknown } | null)?.amounts ?? {})}</Text></Table.Td>
                  </Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            <Group>
              <Button variant="default" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('common.previous')}</Button>
              <Text size="sm">{t('common.page', { page: cursors.length + 1 })}</Text>
              <Button variant="default" disabled={data.records.length < PAGE} onClick={() => { const last = data.records[data.records.length - 1]; if (last) setCursors([...cursors, last.id]); }}>{t('common.next')}</Button>
            </Group>
          </>
        )}</Loaded>
      </Stack>
    </>
  );
}
