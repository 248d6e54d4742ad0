import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { api, must } from '../api';

export interface HoldOrSellAnswer {
  explanation: string; price: string; loan: { interest: string; totalCost: string; pledged: string }; sellNow: string; breakEvenPrice: string; liquidationPrice: string;
  outcomes: Array<{ name: string; priceAtEnd: string; borrow: string; sell: string; better: 'borrow' | 'sell' | 'equal' }>;
}

/** The hold-or-sell calculator's inputs and its call (staff and miners lay the answer out differently). */
export function useHoldOrSell() {
  const [holdings, setHoldings] = useState('1.00000000');
  const [need, setNeed] = useState('1000000.00');
  const [months, setMonths] = useState<number | string>(12);
  const [rate, setRate] = useState('23.5');
  // Typed with a decimal comma or spaces between thousands: sent as the API's decimal strings.
  const decimal = (text: string) => text.trim().replace(',', '.').replace(/\s/g, '');
  const calc = useMutation({ mutationFn: async () => must(await api.POST('/api/v1/hold-or-sell', { body: { holdings: decimal(holdings), need: decimal(need), months: Number(months), annualRatePercent: decimal(rate) } })) as unknown as HoldOrSellAnswer });
  return { holdings, setHoldings, need, setNeed, months, setMonths, rate, setRate, calc };
}
