import { useState } from 'react';
import { Badge, Checkbox, Group, Stack, Table, Tabs, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Loaded, PageTitle } from '../components/Common';

const ROLES = ['borrower', 'credit_officer', 'risk_officer', 'treasury', 'auditor', 'admin'] as const;
type Role = (typeof ROLES)[number];

export default function AdminPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('admin.title')}</PageTitle>
      <Tabs defaultValue="users" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="users">{t('admin.users')}</Tabs.Tab>
          <Tabs.Tab value="limits">{t('admin.limits')}</Tabs.Tab>
          <Tabs.Tab value="products">{t('admin.products')}</Tabs.Tab>
          <Tabs.Tab value="rates">{t('admin.keyRates')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="users"><Users /></Tabs.Panel>
        <Tabs.Panel value="limits"><Limits /></Tabs.Panel>
        <Tabs.Panel value="products"><Products /></Tabs.Panel>
        <Tabs.Panel value="rates"><KeyRates /></Tabs.Panel>
      </Tabs>
    </>
  );
}

function Users() {
  const { t, time } = useI18n();
  const { can } = useSession();
  const users = useQuery({ queryKey: ['users'], queryFn: async () => must(await api.GET('/api/v1/users', { params: { query: { limit: 500 } } })) });
  const [form, setForm] = useState({ username: '', displayName: '', password: '', borrowerId: '' });
  const [roles, setRoles] = useState<Role[]>([]);
  return (
    <Stack>
      {can('createUser') && (
        <Group>
          <ActionButton label={t('admin.createUser')} run={async () => must(await api.POST('/api/v1/users', { body: { username: form.username, displayName: form.displayName, password: form.password, roles, ...(form.borrowerId ? { borrowerId: form.borrowerId } : {}) } }))}>
            <TextInput label={t('login.username')} value={form.username} onChange={(e) => setForm({ ...form, username: e.currentTarget.value })} />
            <TextInput label={t('admin.displayName')} value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.currentTarget.value })} />
            <TextInput label={t('admin.tempPassword')} value={form.password} onChange={(e) => setForm({ ...form, password: e.currentTarget.value })} />
            <Checkbox.Group label={t('admin.roles')} value={roles} onChange={(v) => setRoles(v as Role[])}>
              <Group>{ROLES.map((r) => <Checkbox key={r} value={r} label={t(`role.${r}` as MessageKey)} />)}</Group>
            </Checkbox.Group>
            <TextInput label={t('admin.borrowerRef')} value={form.borrowerId} onChange={(e) => setForm({ ...form, borrowerId: e.currentTarget.value })} />
            <Text size="xs" c="dimmed">{t('admin.createNote')}</Text>
          </ActionButton>
        </Group>
      )}
      <Loaded query={users}>{(u) => (
        <Table.ScrollContainer minWidth={800}>
          <Table striped>
            <Table.Thead><Table.Tr><Table.Th>{t('login.username')}</Table.Th><Table.Th>{t('admin.displayName')}</Table.Th><Table.Th>{t('admin.roles')}</Table.Th><Table.Th>{t('common.status')}</Table.Th><Table.Th>{t('common.created')}</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{u.users.map((user) => (
              <Table.Tr key={user.id}>
                <Table.Td>{user.username}</Table.Td><Table.Td>{user.displayName}</Table.Td>
                <Table.Td><Group gap={4}>{user.roles.map((r) => <Badge key={r} variant="light" size="sm">{t(`role.${r}` as MessageKey)}</Badge>)}{user.borrowerId !== null && <Text size="xs">{user.borrowerId}</Text>}</Group></Table.Td>
                <Table.Td>{user.disabled ? t('admin.disabled') : user.activationPending ? t('admin.pending') : t('admin.active')}</Table.Td>
                <Table.Td>{time(user.createdAt)}</Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}</Loaded>
    </Stack>
  );
}

function Limits() {
  const { t, rub, btc } = useI18n();
  const limits = useQuery({ queryKey: ['limits'], queryFn: async () => must(await api.GET('/api/v1/approvals/limits')) });
  return (
    <Loaded query={limits}>{(l) => (
      <Table>
        <Table.Thead><Table.Tr><Table.Th>{t('inbox.action')}</Table.Th><Table.Th>{t('admin.currency')}</Table.Th><Table.Th>{t('admin.approverRole')}</Table.Th><Table.Th ta="right">{t('admin.upTo')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{l.limits.map((x, i) => (
          <Table.Tr key={i}><Table.Td>{x.actionType}</Table.Td><Table.Td>{x.currency}</Table.Td><Table.Td>{t(`role.${x.approverRole}` as MessageKey)}</Table.Td><Table.Td ta="right">{x.upTo === null ? t('admin.noLimit') : x.currency === 'BTC' ? btc(x.upTo) : rub(x.upTo)}</Table.Td></Table.Tr>
        ))}</Table.Tbody>
      </Table>
    )}</Loaded>
  );
}

function Products() {
  const { t, rub, pct, time } = useI18n();
  const products = useQuery({ queryKey: ['products'], queryFn: async () => must(await api.GET('/api/v1/loan-products')) });
  return (
    <Loaded query={products}>{(p) => (
      <Table.ScrollContainer minWidth={900}>
        <Table striped>
          <Table.Thead><Table.Tr><Table.Th>{t('admin.code')}</Table.Th><Table.Th>{t('admin.name')}</Table.Th><Table.Th>{t('admin.version')}</Table.Th><Table.Th>{t('loan.rate')}</Table.Th><Table.Th>{t('admin.amounts')}</Table.Th><Table.Th>{t('admin.ladder')}</Table.Th><Table.Th>{t('common.created')}</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>{p.products.map((x) => {
            const terms = x.terms as unknown as { rate: { kind: string; percent?: string; marginPercent?: string }; amount: { min: string; max: string }; months: { min: number; max: number }; collateral: { ltv: Record<string, string> } };
            return (
              <Table.Tr key={x.code}>
                <Table.Td>{x.code}</Table.Td><Table.Td>{x.terms.name}</Table.Td><Table.Td>{x.version}</Table.Td>
                <Table.Td>{terms.rate.kind === 'fixed' ? pct(terms.rate.percent) : t('loan.keyPlus', { margin: pct(terms.rate.marginPercent) })}</Table.Td>
                <Table.Td>{rub(terms.amount.min)} – {rub(terms.amount.max)}, {terms.months.min}–{terms.months.max}</Table.Td>
                <Table.Td>{['origination', 'warning', 'marginCall', 'liquidation'].filter((k) => terms.collateral.ltv[k] !== undefined).map((k) => pct(terms.collateral.ltv[k])).join(' / ')}</Table.Td>
                <Table.Td>{time(x.createdAt)}</Table.Td>
              </Table.Tr>
            );
          })}</Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    )}</Loaded>
  );
}

function KeyRates() {
  const { t, pct, day } = useI18n();
  const rates = useQuery({ queryKey: ['key-rates'], queryFn: async () => must(await api.GET('/api/v1/key-rates')) });
  return (
    <Loaded query={rates}>{(r) => (
      <Table maw={720}>
        <Table.Thead><Table.Tr><Table.Th>{t('admin.from')}</Table.Th><Table.Th ta="right">{t('admin.keyRate')}</Table.Th><Table.Th>{t('borrower.source')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{r.keyRates.map((k) => <Table.Tr key={k.effectiveFrom}><Table.Td>{day(k.effectiveFrom)}</Table.Td><Table.Td ta="right">{pct(k.percent)}</Table.Td><Table.Td><Text size="xs">{k.source}</Text></Table.Td></Table.Tr>)}</Table.Tbody>
      </Table>
    )}</Loaded>
  );
}
