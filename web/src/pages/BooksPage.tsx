import { useState } from 'react';
import { Badge, Button, Card, Group, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { Loaded, PageTitle } from '../components/Common';

export default function BooksPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('books.title')}</PageTitle>
      <Tabs defaultValue="trial" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="trial">{t('books.trialBalance')}</Tabs.Tab>
          <Tabs.Tab value="statement">{t('books.statement')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="trial"><TrialBalance /></Tabs.Panel>
        <Tabs.Panel value="statement"><Statement /></Tabs.Panel>
      </Tabs>
    </>
  );
}

function money(currency: string, text: string | null | undefined, rub: (t: string | null | undefined) => string, btc: (t: string | null | undefined) => string) {
  return currency === 'BTC' ? btc(text) : rub(text);
}

function TrialBalance() {
  const { t, rub, btc } = useI18n();
  const trial = useQuery({ queryKey: ['trial-balance'], queryFn: async () => must(await api.GET('/api/v1/ledger/trial-balance')) });
  return (
    <Loaded query={trial}>{(tb) => (
      <Stack>
        <Group>{tb.sections.map((s) => (
          <Card withBorder key={s.section}>
            <Text fw={600}>{s.title}</Text>
            <Text size="sm">{t('books.debits')}: {money(s.currency, s.debits, rub, btc)} · {t('books.credits')}: {money(s.currency, s.credits, rub, btc)}</Text>
            <Badge color={s.balanced ? 'green' : 'red'} data-testid={`section-${s.section}`}>{s.balanced ? t('books.balanced') : t('books.unbalanced', { difference: money(s.currency, s.difference, rub, btc) })}</Badge>
          </Card>
        ))}</Group>
        <Table.ScrollContainer minWidth={700}>
          <Table striped>
            <Table.Thead><Table.Tr><Table.Th>{t('books.account')}</Table.Th><Table.Th>{t('books.class')}</Table.Th><Table.Th ta="right">{t('books.debits')}</Table.Th><Table.Th ta="right">{t('books.credits')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{tb.accounts.map((a) => (
              <Table.Tr key={a.account}><Table.Td><Text size="sm" ff="monospace">{a.account}</Text></Table.Td><Table.Td>{a.class}</Table.Td><Table.Td ta="right">{money(a.currency, a.debits, rub, btc)}</Table.Td><Table.Td ta="right">{money(a.currency, a.credits, rub, btc)}</Table.Td></Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Stack>
    )}</Loaded>
  );
}

function Statement() {
  const { t, rub, btc, day, time } = useI18n();
  const [input, setInput] = useState('cash_correspondent');
  const [address, setAddress] = useState('cash_correspondent');
  const statement = useQuery({ queryKey: ['statement', address], queryFn: async () => must(await api.GET('/api/v1/ledger/accounts/{address}/statement', { params: { path: { address }, query: { limit: 200 } } })) });
  return (
    <Stack>
      <form onSubmit={(e) => { e.preventDefault(); setAddress(input.trim()); }}>
        <Group align="flex-end"><TextInput label={t('books.account')} value={input} onChange={(e) => setInput(e.currentTarget.value)} w={360} /><Button type="submit" variant="default">{t('common.find')}</Button></Group>
      </form>
      <Loaded query={statement}>{(s) => (
        <>
          <Title order={3} size="h5">{s.account.name} <Text span size="sm" c="dimmed">({s.account.address}, {s.account.chartCode})</Text></Title>
          <Text size="sm">{t('books.opening')}: {money(s.account.currency, s.openingBalance, rub, btc)} · {t('books.closing')}: {money(s.account.currency, s.closingBalance, rub, btc)}</Text>
          <Table.ScrollContainer minWidth={800}>
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th>{t('books.entry')}</Table.Th><Table.Th>{t('books.businessDate')}</Table.Th><Table.Th>{t('books.reason')}</Table.Th><Table.Th ta="right">{t('books.debit')}</Table.Th><Table.Th ta="right">{t('books.credit')}</Table.Th><Table.Th ta="right">{t('books.balanceAfter')}</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>{s.lines.map((l) => (
                <Table.Tr key={`${l.entryId}-${l.line}`}>
                  <Table.Td>{l.entryId}</Table.Td><Table.Td>{day(l.businessDate)}<Text size="xs" c="dimmed">{time(l.valueTime)}</Text></Table.Td><Table.Td><Text size="xs">{l.reason}</Text></Table.Td>
                  <Table.Td ta="right">{l.debit === undefined ? '' : money(s.account.currency, l.debit, rub, btc)}</Table.Td><Table.Td ta="right">{l.credit === undefined ? '' : money(s.account.currency, l.credit, rub, btc)}</Table.Td>
                  <Table.Td ta="right">{money(s.account.currency, l.balanceAfter, rub, btc)}</Table.Td>
                </Table.Tr>
              ))}</Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}</Loaded>
    </Stack>
  );
}
