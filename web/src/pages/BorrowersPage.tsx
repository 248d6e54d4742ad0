import { useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Button, Group, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { Loaded, PageTitle } from '../components/Common';

const PAGE = 50;

export default function BorrowersPage() {
  const { t, time } = useI18n();
  const [cursors, setCursors] = useState<string[]>([]);
  const afterId = cursors[cursors.length - 1];
  const borrowers = useQuery({
    queryKey: ['borrowers', afterId],
    queryFn: async () => must(await api.GET('/api/v1/borrowers', { params: { query: { limit: PAGE + 1, ...(afterId ? { afterId } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageTitle>{t('borrowers.title')}</PageTitle>
      <Loaded query={borrowers}>{(data) => {
        const rows = data.borrowers.slice(0, PAGE);
        const more = data.borrowers.length > PAGE;
        return (
          <>
            <Table.ScrollContainer minWidth={800}>
              <Table striped highlightOnHover data-testid="borrowers-table">
                <Table.Thead><Table.Tr><Table.Th>{t('borrower.ref')}</Table.Th><Table.Th>{t('borrower.name')}</Table.Th><Table.Th>{t('borrower.kind')}</Table.Th><Table.Th>{t('borrower.inn')}</Table.Th><Table.Th>{t('borrower.region')}</Table.Th><Table.Th>{t('common.created')}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{rows.map((b) => (
                  <Table.Tr key={b.ref}>
                    <Table.Td><Anchor component={Link} to={`/borrowers/${b.ref}`}>{b.ref}</Anchor></Table.Td><Table.Td>{b.name}</Table.Td>
                    <Table.Td>{t(`kind.${b.kind}` as MessageKey)}</Table.Td><Table.Td>{b.inn}</Table.Td><Table.Td>{b.regionCode}</Table.Td><Table.Td>{time(b.createdAt)}</Table.Td>
                  </Table.Tr>
                ))}</Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {rows.length === 0 && <Text c="dimmed" size="sm">{t('borrowers.none')}</Text>}
            <Group mt="md">
              <Button variant="default" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('common.previous')}</Button>
              <Text size="sm">{t('common.page', { page: cursors.length + 1 })}</Text>
              <Button variant="default" disabled={!more} onClick={() => { const last = rows[rows.length - 1]; if (last) setCursors([...cursors, last.id]); }}>{t('common.next')}</Button>
            </Group>
          </>
        );
      }}</Loaded>
    </>
  );
}
