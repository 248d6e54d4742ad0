import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, Anchor, Button, Card, Grid, Group, NumberInput, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton, Figure, Loaded, PageTitle, ProblemAlert } from '../components/Common';
import type { Offer } from '../types';
import { OfferFigures } from '../components/OfferFigures';
import { ExposureCheck } from '../components/ExposureCheck';
import { MachinePicker, takesMachines } from '../components/EquipmentLayer';

type Repayment = 'annuity' | 'bullet' | 'interest_only';

/**
 * An application for a borrower: the officer enters the loan asked for, the service computes the
 * offer at once (schedule, cost, ПСК for individuals, the collateral needed at the current price,
 * compliance and underwriting); nothing is lent until the offer is proposed and a second officer
 * approves it in the inbox.
 */
export default function ApplicationPage() {
  const { ref = '' } = useParams();
  const { t, rub, btc, pct, day, time } = useI18n();
  const { can } = useSession();
  const products = useQuery({ queryKey: ['products'], queryFn: async () => must(await api.GET('/api/v1/loan-products')) });
  const [product, setProduct] = useState<string | null>(null);
  const [amount, setAmount] = useState('1000000.00');
  const [months, setMonths] = useState<number | string>(12);
  const [repayment, setRepayment] = useState<Repayment>('annuity');
  const [collateral, setCollateral] = useState('0.50000000');
  const [machines, setMachines] = useState<string[]>([]);
  const [key] = useState(() => crypto.randomUUID());
  const [proposal, setProposal] = useState<string | null>(null);
  const apply = useMutation({
    mutationFn: async () => must(await api.POST('/api/v1/borrowers/{ref}/loan-applications', {
      params: { path: { ref }, header: { 'idempotency-key': `${key}-${amount}-${months}-${repayment}-${collateral}-${product}-${pledge().join(',')}` } },
      body: { product: chosen(), amount, months: Number(months), repaymentType: repayment, collateral, ...(pledge().length > 0 ? { equipmentMachines: pledge() } : {}) },
    })),
  });
  const offer = apply.data?.offer as unknown as Offer | undefined;
  function chosen() { return product ?? products.data?.products[0]?.code ?? ''; }
  // Machines are asked only under a product that counts them.
  function machinesTaken() { return takesMachines(products.data?.products.find((x) => x.code === chosen())?.terms); }
  function pledge() { return machinesTaken() ? machines : []; }
  return (
    <>
      <PageTitle>{t('application.title')} <Anchor component={Link} to={`/borrowers/${ref}`} size="lg">{ref}</Anchor></PageTitle>
      <Grid>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Card withBorder>
            <Loaded query={products}>{(p) => (
              <Stack>
                <Select label={t('common.product')} data={p.products.map((x) => ({ value: x.code, label: `${x.code} — ${x.terms.name}` }))} value={product ?? p.products[0]?.code ?? null} onChange={setProduct} allowDeselect={false} data-testid="product" />
                <TextInput label={t('application.amount')} value={amount} onChange={(e) => setAmount(e.currentTarget.value)} data-testid="amount" />
                <NumberInput label={t('common.months')} value={months} onChange={setMonths} min={1} max={120} data-testid="months" />
                <Select label={t('application.repayment')} value={repayment} onChange={(v) => setRepayment((v ?? 'annuity') as Repayment)} allowDeselect={false}
                  data={(['annuity', 'bullet', 'interest_only'] as const).map((r) => ({ value: r, label: t(`repayment.${r}` as MessageKey) }))} />
                <TextInput label={t('application.collateral')} value={collateral} onChange={(e) => setCollateral(e.currentTarget.value)} data-testid="collateral" />
                {machinesTaken() && <MachinePicker borrowerRef={ref} value={machines} onChange={setMachines} />}
                <Button onClick={() => apply.mutate()} loading={apply.isPending} data-testid="compute-offer">{t('application.computeOffer')}</Button>
                <ProblemAlert error={apply.error} />
              </Stack>
            )}</Loaded>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }}>
          {offer === undefined ? <Text c="dimmed">{t('application.offerHint')}</Text> : (
            <Card withBorder data-testid="offer">
              <Title order={3} size="h4" mb="sm">{t('application.offer', { id: offer.offerId })}</Title>
              <OfferFigures offer={offer} validLabel="application.validUntil" />
              {offer.exposure != null && <ExposureCheck check={offer.exposure} />}
              {offer.blockingReasons.length > 0 && (
                <Alert color="red" title={t('application.blocked')} mb="md">{offer.blockingReasons.map((r) => <Text key={r} size="sm">{r}</Text>)}</Alert>
              )}
              <Table.ScrollContainer minWidth={600}>
                <Table striped mb="md">
                  <Table.Thead><Table.Tr><Table.Th>№</Table.Th><Table.Th>{t('loan.dueDate')}</Table.Th><Table.Th ta="right">{t('loan.payment')}</Table.Th><Table.Th ta="right">{t('balance.principal')}</Table.Th><Table.Th ta="right">{t('balance.interest')}</Table.Th><Table.Th ta="right">{t('loan.balanceAfter')}</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>{offer.schedule.lines.map((line) => (
                    <Table.Tr key={line.number}><Table.Td>{line.number}</Table.Td><Table.Td>{day(line.dueDate)}</Table.Td><Table.Td ta="right">{rub(line.payment)}</Table.Td><Table.Td ta="right">{rub(line.principal)}</Table.Td><Table.Td ta="right">{rub(line.interest)}</Table.Td><Table.Td ta="right">{rub(line.balance)}</Table.Td></Table.Tr>
                  ))}</Table.Tbody>
                </Table>
              </Table.ScrollContainer>
              <Group>
                {proposal !== null ? <Alert color="green" data-testid="proposed">{t('application.proposed', { id: proposal })} <Anchor component={Link} to="/inbox">{t('nav.inbox')}</Anchor></Alert>
                  : can('postLoanApplicationsByIdApproval') && offer.blockingReasons.length === 0 && (
                    <ActionButton label={t('application.propose')} testId="propose" onDone={(r: { id: string }) => setProposal(r.id)}
                      run={async (k) => must(await api.POST('/api/v1/loan-applications/{id}/approval', { params: { path: { id: offer.applicationId }, header: { 'idempotency-key': k } }, body: { offerId: offer.offerId } })) as { id: string }}>
                      <Text size="sm">{t('application.proposeNote')}</Text>
                    </ActionButton>
                  )}
              </Group>
            </Card>
          )}
        </Grid.Col>
      </Grid>
    </>
  );
}
