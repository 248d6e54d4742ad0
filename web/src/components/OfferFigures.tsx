import { SimpleGrid } from '@mantine/core';
import { useI18n, type MessageKey } from '../i18n';
import { Figure } from './Common';
import { OfferEquipmentNote } from './EquipmentLayer';
import type { Offer } from '../types';

/** An offer's main figures (the officer's application page and the miner's quote show the same). */
export function OfferFigures({ offer, validLabel }: { offer: Offer; validLabel: MessageKey }) {
  const { t, rub, btc, pct, day, time } = useI18n();
  return (<>
    <SimpleGrid cols={{ base: 2, md: 3 }} mb="md">
      <Figure label={t('loan.rate')} value={pct(offer.ratePercent)} />
      <Figure label={t('application.fee')} value={rub(offer.fee)} />
      <Figure label={t('application.totalInterest')} value={rub(offer.totalInterest)} />
      <Figure label={t('application.totalCost')} value={rub(offer.totalCost)} />
      <Figure label={t('application.psk')} value={offer.fullCostOfCredit === null ? t('application.pskNotApplicable') : `${pct(offer.fullCostOfCredit.percent)} · ${rub(offer.fullCostOfCredit.money)}`} />
      <Figure label={t('application.collateralRequired')} value={btc(offer.collateralRequired)} testId="collateral-required" />
      <Figure label={t('application.atPrice')} value={rub(offer.price)} />
      <Figure label={t('application.start')} value={day(offer.plannedStart)} />
      <Figure label={t(validLabel)} value={time(offer.validUntil)} />
      {offer.equipment != null && <Figure label={t('equipment.counted')} value={rub(offer.equipment.counted)} testId="offer-equipment-counted" />}
    </SimpleGrid>
    {offer.equipment != null && <OfferEquipmentNote equipment={offer.equipment} />}
  </>);
}
