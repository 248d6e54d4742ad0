import { useState } from 'react';
import { Link } from 'react-router';
import { Alert, Anchor, Button, Card, Grid, List, NumberInput, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { Figure, Loaded, PageTitle, ProblemAlert } from '../components/Common';
import type { Offer } from '../types';
import { MachinePicker, takesMachines } from '../components/EquipmentLayer';
import { OfferFigures } from '../components/OfferFigures';

type Repayment = 'annuity' | 'bullet' | 'interest_only';
interface Figures { maxPrincipal?: string; bindingScenario?: string; crossesHalving?: boolean; breakEvenTariffRubPerKwh?: string; breakEvenPrice?: string | null }

/**
 * The miner applies: it enters the loan it wants, sees the offer the bank would make now (a quote:
 * computed as the application would be, kept nowhere), and only then sends the application. The
 * offer says what it costs (schedule, total cost, ПСК for individuals), the BTC it must pledge at
 * today's price and how far the price may fall before a warning, a call or liquidation, and what
 * the underwriting thinks of its farm in plain words (cover through the halving).
 */
export default function PortalApplyPage() {
  const { t } = useI18n();
  const { me } = useSession();
  const ref = me?.borrowerRef ?? '';
  const client = useQueryClient();
  const products = useQuery({ queryKey: ['products'], queryFn: async () => must(await api.GET('/api/v1/loan-products')) });
  const [product, setProduct] = useState<string | null>(null);
  const [amount, setAmount] = useState('1000000.00');
  const [months, setMonths] = useState<number | string>(12);
  const [repayment, setRepayment] = useState<Repayment>('annuity');
  const [collateral, setCollateral] = useState('0.50000000');
  const [machines, setMachines] = useState<string[]>([]);
  const [key] = useState(() => crypto.randomUUID());
  const chosen = () => product ?? products.data?.products[0]?.code ?? '';
  // Machines are asked only under a product that counts them.
  const machinesTaken = () => takesMachines(products.data?.products.find((x) => x.code === chosen())?.terms);
  const pledge = () => (machinesTaken() ? machines : []);
  const terms = () => ({ product: chosen(), amount: amount.trim().replace(',', '.').replace(/\s/g, ''), months: Number(months), repaymentType: repayment, collateral: collateral.trim().replace(',', '.') });
  const quote = useMutation({ mutationFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/loan-quote', { params: { path: { ref }, query: { ...terms(), ...(pledge().length > 0 ? { equipmentMachines: pledge().join(',') } : {}) } } })) as unknown as Offer });
  const submit = useMutation({
    mutationFn: async () => {
      const body = { ...terms(), ...(pledge().length > 0 ? { equipmentMachines: pledge() } : {}) };
      return must(await api.POST('/api/v1/borrowers/{ref}/loan-applications', { params: { path: { ref }, header: { 'idempotency-key': `${key}-${body.amount}-${body.months}-${body.repaymentType}-${body.collateral}-${body.product}-${pledge().join(',')}` } }, body }));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ['my-applications'] }),
  });
  const offer = quote.data;
  const changed = () => { quote.reset(); submit.reset(); };
  return (
    <>
      <PageTitle right={<Anchor component={Link} to="/portal">{t('portal.back')}</Anchor>}>{t('portal.applyTitle')}</PageTitle>
      <Grid>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Card withBorder>
            <Loaded query={products}>{(p) => (
              <Stack>
                <Select label={t('common.product')} data={p.products.map((x) => ({ value: x.code, label: x.terms.name }))} value={product ?? p.products[0]?.code ?? null} onChange={(v) => { setProduct(v); changed(); }} allowDeselect={false} data-testid="product" />
                <TextInput label={t('application.amount')} value={amount} onChange={(e) => { setAmount(e.currentTarget.value); changed(); }} inputMode="decimal" data-testid="amount" />
                <NumberInput label={t('common.months')} value={months} onChange={(v) => { setMonths(v); changed(); }} min={1} max={120} data-testid="months" />
                <Select label={t('application.repayment')} value={repayment} onChange={(v) => { setRepayment((v ?? 'annuity') as Repayment); changed(); }} allowDeselect={false}
                  data={(['annuity', 'bullet', 'interest_only'] as const).map((r) => ({ value: r, label: t(`repayment.${r}` as MessageKey) }))} />
                <TextInput label={t('application.collateral')} value={collateral} onChange={(e) => { setCollateral(e.currentTarget.value); changed(); }} inputMode="decimal" data-testid="collateral" />
                {machinesTaken() && ref !== '' && <MachinePicker borrowerRef={ref} value={machines} onChange={(ids) => { setMachines(ids); changed(); }} />}
                <Button onClick={() => quote.mutate()} loading={quote.isPending} data-testid="see-offer">{t('portal.seeOffer')}</Button>
                <ProblemAlert error={quote.error} />
              </Stack>
            )}</Loaded>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }}>
          {offer === undefined ? <Text c="dimmed">{t('portal.applyHint')}</Text> : <OfferCard offer={offer} />}
          {offer !== undefined && (
            <Card withBorder mt="md">
              {submit.data !== undefined
                ? <Alert color="green" data-testid="applied">{t('portal.applied', { id: submit.data.applicationId })}</Alert>
                : <Stack gap="xs">
                  <Text size="sm">{t('portal.submitExplain')}</Text>
                  <Button onClick={() => submit.mutate()} loading={submit.isPending} disabled={offer.blockingReasons.length > 0} data-testid="submit-application">{t('portal.submit')}</Button>
                  <ProblemAlert error={submit.error} />
                </Stack>}
            </Card>
          )}
        </Grid.Col>
      </Grid>
    </>
  );
}

function OfferCard({ offer }: { offer: Offer }) {
  const { t, rub, btc, pct, day, time, num } = useI18n();
  const figures = (offer.underwriting?.figures ?? {}) as Figures;
  const levels = offer.levels;
  return (
    <Card withBorder data-testid="offer">
      <Title order={3} size="h4" mb="sm">{t('portal.offerTitle')}</Title>
      <OfferFigures offer={offer} validLabel="portal.quoteValid" />
      {levels !== undefined && (
        <Card withBorder bg="gray.0" mb="md" data-testid="offer-levels">
          <Text size="sm" fw={600} mb={4}>{t('portal.levelsTitle', { btc: btc(levels.forBtc) })}</Text>
          <List size="sm" spacing={2}>
            <List.Item>{t('portal.levelWarning', { price: rub(levels.warning), ltv: pct(levels.warningPercent) })}</List.Item>
            <List.Item>{t('portal.levelCall', { price: rub(levels.marginCall), ltv: pct(levels.marginCallPercent), hours: levels.curePeriodHours })}</List.Item>
            <List.Item>{t('portal.levelLiquidation', { price: rub(levels.liquidation), ltv: pct(levels.liquidationPercent) })}</List.Item>
          </List>
        </Card>
      )}
      {offer.underwriting !== undefined && (
        <Card withBorder mb="md" data-testid="offer-underwriting">
          <Text size="sm" fw={600} mb={4}>{t('portal.farmTitle')}</Text>
          <List size="sm" spacing={2}>
            {figures.maxPrincipal !== undefined && <List.Item>{t('portal.farmCover', { max: rub(figures.maxPrincipal) })}</List.Item>}
            {figures.crossesHalving === true && <List.Item>{t('portal.farmHalving')}</List.Item>}
            {figures.breakEvenPrice !== undefined && figures.breakEvenPrice !== null && <List.Item>{t('portal.farmBreakEven', { price: rub(figures.breakEvenPrice) })}</List.Item>}
            {figures.breakEvenTariffRubPerKwh !== undefined && <List.Item>{t('portal.farmTariff', { tariff: num(figures.breakEvenTariffRubPerKwh) })}</List.Item>}
            {offer.underwriting.recommendation === null && <List.Item>{t('portal.farmUnknown')}</List.Item>}
          </List>
        </Card>
      )}
      {offer.blockingReasons.length > 0 && (
        <Alert color="red" title={t('portal.offerBlocked')} mb="md">{offer.blockingReasons.map((r) => <Text key={r} size="sm">{r}</Text>)}</Alert>
      )}
      {/* On a phone the schedule is its dates and payments (no sideways scrolling); the split shows from a tablet up. */}
      <Table striped>
        <Table.Thead><Table.Tr><Table.Th>№</Table.Th><Table.Th>{t('loan.dueDate')}</Table.Th><Table.Th ta="right">{t('loan.payment')}</Table.Th><Table.Th ta="right" visibleFrom="sm">{t('balance.principal')}</Table.Th><Table.Th ta="right" visibleFrom="sm">{t('balance.interest')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{offer.schedule.lines.map((line) => (
          <Table.Tr key={line.number}><Table.Td>{line.number}</Table.Td><Table.Td>{day(line.dueDate)}</Table.Td><Table.Td ta="right">{rub(line.payment)}</Table.Td><Table.Td ta="right" visibleFrom="sm">{rub(line.principal)}</Table.Td><Table.Td ta="right" visibleFrom="sm">{rub(line.interest)}</Table.Td></Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Card>
  );
}
