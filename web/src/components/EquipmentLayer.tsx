import { useState } from 'react';
import { Badge, Card, Group, MultiSelect, SimpleGrid, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, ScrollTable } from './Common';
import type { EquipmentLayerView, OfferEquipment } from '../types';

/**
 * A loan's second layer (the machines pledged with it): what counts toward its cover now and the
 * most it may, each group with its latest valuation, and any enforcement after a default. Staff
 * with the right see the actions: propose an enforcement (a risk officer approves in the inbox),
 * record a sale's proceeds (treasury).
 */
export function EquipmentPanel({ loanRef, layer, live }: { loanRef: string; layer: EquipmentLayerView; live: boolean }) {
  const { t, rub, day, time } = useI18n();
  const { can } = useSession();
  const [reason, setReason] = useState('');
  const [proceeds, setProceeds] = useState('');
  const pledged = layer.pledges.some((p) => p.releasedAt === null);
  return (
    <Card withBorder mt="lg" data-testid="equipment-layer">
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h4">{t('equipment.title')}</Title>
        {live && pledged && can('postLoansByRefEquipmentEnforcements') && (
          <ActionButton label={t('equipment.enforce')} color="red" testId="enforce-equipment"
            run={async (key) => must(await api.POST('/api/v1/loans/{ref}/equipment-enforcements', { params: { path: { ref: loanRef }, header: { 'idempotency-key': key } }, body: { reason } }))}>
            <Text size="sm">{t('equipment.enforceExplain')}</Text>
            <Textarea label={t('equipment.grounds')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="enforce-reason" />
            <Text size="xs" c="dimmed">{t('common.fourEyes')}</Text>
          </ActionButton>
        )}
      </Group>
      <Text size="sm" c="dimmed" mb="sm">{t('equipment.explain')}</Text>
      <SimpleGrid cols={{ base: 2, md: 3 }} mb="sm">
        <Figure label={t('equipment.counted')} value={rub(layer.counted)} testId="equipment-counted" />
        <Figure label={t('equipment.cap')} value={rub(layer.cap)} />
      </SimpleGrid>
      <ScrollTable label={t('equipment.title')}>
        <Table data-testid="equipment-pledges">
          <Table.Thead><Table.Tr>
            <Table.Th>#</Table.Th><Table.Th>{t('equipment.model')}</Table.Th><Table.Th ta="right">{t('equipment.count')}</Table.Th><Table.Th>{t('equipment.valuedOn')}</Table.Th>
            <Table.Th ta="right">{t('equipment.value')}</Table.Th><Table.Th ta="right">{t('equipment.weighted')}</Table.Th><Table.Th>{t('common.status')}</Table.Th>
          </Table.Tr></Table.Thead>
          <Table.Tbody>{layer.pledges.map((p) => (
            <Table.Tr key={p.machinesId}>
              <Table.Td>{p.machinesId}</Table.Td><Table.Td>{p.model}</Table.Td><Table.Td ta="right">{p.count}</Table.Td>
              <Table.Td>{p.valuation === null ? '—' : day(p.valuation.valuedOn)}</Table.Td>
              <Table.Td ta="right">{p.valuation === null ? '—' : rub(p.valuation.value)}</Table.Td>
              <Table.Td ta="right">{p.valuation === null ? '—' : rub(p.valuation.weighted)}</Table.Td>
              <Table.Td>
                {p.releasedAt !== null
                  ? <Badge color={p.releasedWhy === 'enforced' ? 'red' : 'gray'} variant="light">{t(p.releasedWhy === 'enforced' ? 'equipment.enforced' : 'equipment.released')}</Badge>
                  : p.valuation?.breach != null
                    ? <Text size="sm" c="red">{t('equipment.breach', { reason: p.valuation.breach })}</Text>
                    : <Badge color="green" variant="light">{t('equipment.pledged')}</Badge>}
              </Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
      </ScrollTable>
      {layer.enforcements.length > 0 && (<>
        <Title order={4} size="h5" mt="md" mb="xs">{t('equipment.enforcements')}</Title>
        <ScrollTable label={t('equipment.enforcements')}>
          <Table data-testid="equipment-enforcements">
            <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>{t('equipment.decided')}</Table.Th><Table.Th>{t('equipment.grounds')}</Table.Th><Table.Th ta="right">{t('equipment.debtThen')}</Table.Th><Table.Th ta="right">{t('equipment.proceeds')}</Table.Th><Table.Th /></Table.Tr></Table.Thead>
            <Table.Tbody>{layer.enforcements.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{e.id}</Table.Td><Table.Td>{time(e.decidedAt)}</Table.Td><Table.Td>{e.reason}</Table.Td><Table.Td ta="right">{rub(e.debt)}</Table.Td>
                <Table.Td ta="right">{e.proceeds === null ? '—' : rub(e.proceeds)}</Table.Td>
                <Table.Td>{e.proceeds === null && can('postEquipmentEnforcementsByIdProceeds') && (
                  <ActionButton label={t('equipment.recordProceeds')} testId={`proceeds-${e.id}`}
                    run={async (key) => must(await api.POST('/api/v1/equipment-enforcements/{id}/proceeds', { params: { path: { id: e.id }, header: { 'idempotency-key': key } }, body: { amount: proceeds } }))}>
                    <Text size="sm">{t('equipment.proceedsExplain')}</Text>
                    <TextInput label={t('loan.amountRub')} value={proceeds} onChange={(ev) => setProceeds(ev.currentTarget.value)} data-testid="proceeds-amount" />
                  </ActionButton>
                )}</Table.Td>
              </Table.Tr>
            ))}</Table.Tbody>
          </Table>
        </ScrollTable>
      </>)}
    </Card>
  );
}

/** What an offer counts of the machines pledged with it. */
export function OfferEquipmentNote({ equipment }: { equipment: OfferEquipment }) {
  const { t, rub, pct } = useI18n();
  return (
    <Text size="sm" mb="md" data-testid="offer-equipment">
      {t('equipment.offerCounted', { counted: rub(equipment.counted), weighted: rub(equipment.weighted), share: pct(equipment.sharePercent), cap: rub(equipment.cap), machines: equipment.groups.map((g) => `${g.model} × ${g.count}`).join(', ') })}
    </Text>
  );
}

/** Whether a product's terms count machines (collateral.equipment). */
export function takesMachines(terms: unknown): boolean {
  return (terms as { collateral?: { equipment?: unknown } } | undefined)?.collateral?.equipment !== undefined;
}

/**
 * The borrower's machine groups that can be pledged with an application (those with pledged serial
 * numbers, not retired), to choose from; the server checks the rest (valued, not pledged already).
 */
export function MachinePicker({ borrowerRef, value, onChange }: { borrowerRef: string; value: string[]; onChange: (ids: string[]) => void }) {
  const { t } = useI18n();
  const sites = useQuery({
    queryKey: ['borrower-sites', borrowerRef],
    queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/sites', { params: { path: { ref: borrowerRef } } })) as unknown as { sites: Array<{ name: string; machines: Array<{ id: string; model: string; serials: string[]; retiredOn: string | null }> }> },
  });
  const data = (sites.data?.sites ?? []).flatMap((site) => site.machines.filter((m) => m.serials.length > 0 && m.retiredOn === null)
    .map((m) => ({ value: m.id, label: `${site.name}: ${m.model} × ${m.serials.length}` })));
  return (
    <MultiSelect label={t('equipment.pick')} description={t('equipment.pickExplain')} data={data} value={value} onChange={onChange}
      nothingFoundMessage={t('equipment.none')} placeholder={data.length === 0 ? t('equipment.none') : undefined} data-testid="equipment-machines" clearable />
  );
}
