import { formatKopecks, formatSats } from '../money/money.js';
import { formatRate } from '../loans/origination.js';
import { groupDecimal, type DocLang } from '../loans/documents.js';

/**
 * A risk notice as a letter a miner reads (issue 19): Russian unless the miner chose English; what
 * happened, what to do, by when (Moscow time), the exact amounts, and a link to the loan's page in
 * the portal. Pure: the same facts render as an e-mail (plain text and HTML parts) and as a
 * Telegram message (its HTML subset). Written by hand rather than through a template engine: a
 * dozen short letters in two languages, every value escaped in one place (`esc`), amounts grouped
 * from exact decimal strings (never a JS number).
 */

export interface LetterFacts {
  readonly topic: string;
  readonly loanRef: string;
  readonly from: string;
  readonly to: string;
  /** What moved the loan: 'price', 'deadline' (a call ran out), ... (risk_transitions.cause). */
  readonly cause: string;
  /** Kopecks per BTC at the transition. */
  readonly price: bigint;
  readonly ltvMillionths: bigint | null;
  readonly debt: bigint;
  readonly sats: bigint;
  readonly callDeadline: Date | null;
  readonly at: Date;
  /** The prices (kopecks per BTC) at which the loan reaches the margin call and liquidation; null when unknown. */
  readonly callPrice: bigint | null;
  readonly liquidationPrice: bigint | null;
  /** What cures a call at the transition's price (risk/cure.ts), for calls. */
  readonly cure: { readonly leave: { readonly sats: bigint; readonly kopecks: bigint; readonly belowMillionths: bigint } | null; readonly target: { readonly sats: bigint; readonly kopecks: bigint; readonly ltvMillionths: bigint } } | null;
  /** A booked liquidation's execution report (risk/liquidations.ts), or null. */
  readonly report: Readonly<Record<string, unknown>> | null;
  /** The portal's address (no trailing slash), e.g. https://zalog.bank.example. */
  readonly portalUrl: string;
}

export interface Letter {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The Telegram message: Bot API `parse_mode: HTML` (b, i, a only). */
  readonly telegram: string;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const rub = (kopecks: bigint, lang: DocLang) => `${groupDecimal(formatKopecks(kopecks), lang)}\u00a0₽`;
const btc = (sats: bigint, lang: DocLang) => `${groupDecimal(formatSats(sats), lang)}\u00a0BTC`;
const pct = (millionths: bigint | null, lang: DocLang) => (millionths === null ? '—' : `${groupDecimal(formatRate(millionths), lang)}\u00a0%`);
/** Decimal strings from a report ("1234.50") in the reader's grouping. */
const rubText = (text: unknown, lang: DocLang) => (typeof text === 'string' ? `${groupDecimal(text, lang)}\u00a0₽` : '—');
const btcText = (text: unknown, lang: DocLang) => (typeof text === 'string' ? `${groupDecimal(text, lang)}\u00a0BTC` : '—');

/** Moscow time (UTC+3 all year since 2014): "09.12.2026 15:10 МСК" / "9 Dec 2026, 15:10 Moscow time". */
export function moscow(at: Date, lang: DocLang): string {
  const m = new Date(at.getTime() + 3 * 3_600_000).toISOString();
  const [y, mo, d] = [m.slice(0, 4), m.slice(5, 7), m.slice(8, 10)];
  if (lang === 'ru') return `${d}.${mo}.${y} ${m.slice(11, 16)} МСК`;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(d)} ${months[Number(mo) - 1]} ${y}, ${m.slice(11, 16)} Moscow time`;
}

const STATE: Record<string, { ru: string; en: string }> = {
  healthy: { ru: 'в норме', en: 'healthy' }, warning: { ru: 'предупреждение', en: 'warning' }, margin_call: { ru: 'маржин-колл', en: 'margin call' },
  accelerated_call: { ru: 'ускоренный маржин-колл', en: 'accelerated margin call' }, liquidation: { ru: 'ликвидация', en: 'liquidation' },
};
const state = (s: string, lang: DocLang) => STATE[s]?.[lang] ?? s;

/** A letter's parts before they are laid out: a subject, paragraphs, facts as label/value pairs, and the link. */
interface Draft { subject: string; happened: string[]; todo: string[]; facts: Array<[string, string]>; link: string; linkText: string }

function draft(f: LetterFacts, lang: DocLang): Draft {
  const ru = lang === 'ru';
  const loan = f.loanRef;
  const link = `${f.portalUrl}/portal/loans/${encodeURIComponent(loan)}`;
  const facts: Array<[string, string]> = [
    [ru ? 'Кредит' : 'Loan', loan],
    [ru ? 'Цена BTC' : 'BTC price', rub(f.price, lang)],
    ['LTV', pct(f.ltvMillionths, lang)],
    [ru ? 'Долг' : 'Debt', rub(f.debt, lang)],
    [ru ? 'Залог' : 'Collateral', btc(f.sats, lang)],
    [ru ? 'Время' : 'At', moscow(f.at, lang)],
  ];
  const callAt = f.callPrice === null ? null : rub(f.callPrice, lang);
  const liqAt = f.liquidationPrice === null ? null : rub(f.liquidationPrice, lang);
  const deadline = f.callDeadline === null ? null : moscow(f.callDeadline, lang);
  const linkText = ru ? 'Открыть кредит в личном кабинете' : 'Open the loan in the portal';
  const ltv = pct(f.ltvMillionths, lang);
  switch (f.topic) {
    case 'risk.warning':
      return {
        subject: ru ? `Предупреждение по кредиту ${loan}: LTV ${ltv}` : `Warning on loan ${loan}: LTV ${ltv}`,
        happened: [ru ? `Цена BTC снизилась до ${rub(f.price, lang)}, и LTV кредита ${loan} достиг ${ltv}: это выше порога предупреждения.` : `BTC fell to ${rub(f.price, lang)} and the LTV of loan ${loan} reached ${ltv}, above the warning level.`],
        todo: [
          ru ? 'Сейчас делать ничего не обязательно.' : 'Nothing is required of you yet.',
          ...(callAt === null ? [] : [ru ? `Если цена BTC опустится до ${callAt}, начнётся маржин-колл: тогда нужно будет внести BTC или погасить часть долга в срок.` : `If BTC falls to ${callAt}, a margin call starts: you would then have to add BTC or repay part of the debt by a deadline.`]),
          ru ? 'Чтобы обезопасить кредит заранее, можно внести BTC в залог или погасить часть долга.' : 'To make the loan safer now, you may add BTC to the collateral or repay part of the debt.',
        ],
        facts, link, linkText,
      };
    case 'risk.margin_call':
    case 'risk.accelerated_call': {
      const accelerated = f.topic === 'risk.accelerated_call';
      const todo: string[] = [];
      if (f.cure !== null) {
        if (f.cure.leave !== null) todo.push(ru ? `Чтобы выйти из маржин-колла (LTV ниже ${pct(f.cure.leave.belowMillionths, lang)}): внесите ${btc(f.cure.leave.sats, lang)} или погасите ${rub(f.cure.leave.kopecks, lang)}.` : `To leave the margin call (LTV under ${pct(f.cure.leave.belowMillionths, lang)}): add ${btc(f.cure.leave.sats, lang)} or repay ${rub(f.cure.leave.kopecks, lang)}.`);
        todo.push(ru ? `Чтобы вернуться к целевому LTV ${pct(f.cure.target.ltvMillionths, lang)}: внесите ${btc(f.cure.target.sats, lang)} или погасите ${rub(f.cure.target.kopecks, lang)}.` : `To return to the target LTV of ${pct(f.cure.target.ltvMillionths, lang)}: add ${btc(f.cure.target.sats, lang)} or repay ${rub(f.cure.target.kopecks, lang)}.`);
        todo.push(ru ? `Суммы рассчитаны по цене ${rub(f.price, lang)}; актуальные суммы и адрес для BTC с QR-кодом — в личном кабинете.` : `The amounts are at ${rub(f.price, lang)} per BTC; the current amounts and the BTC address with its QR code are in the portal.`);
      }
      if (deadline !== null) todo.push(ru ? `Срок: ${deadline} (считаются только рабочие часы банка). Если к сроку LTV не снизится, банк продаст часть залога.` : `Deadline: ${deadline} (only the bank's business hours count). If the LTV is not lower by then, the bank sells part of the collateral.`);
      if (liqAt !== null) todo.push(ru ? `Если цена BTC опустится до ${liqAt}, продажа начнётся сразу, не дожидаясь срока.` : `If BTC falls to ${liqAt}, the sale starts at once, before the deadline.`);
      todo.push(ru ? 'Подтвердите получение этого уведомления в личном кабинете.' : 'Please acknowledge this notice in the portal.');
      return {
        subject: ru ? `${accelerated ? 'Ускоренный маржин-колл' : 'Маржин-колл'} по кредиту ${loan}: ответьте до ${deadline ?? '—'}` : `${accelerated ? 'Accelerated margin call' : 'Margin call'} on loan ${loan}: respond by ${deadline ?? '—'}`,
        happened: [ru ? `Цена BTC снизилась до ${rub(f.price, lang)}, и LTV кредита ${loan} достиг ${ltv}: это маржин-колл.` : `BTC fell to ${rub(f.price, lang)} and the LTV of loan ${loan} reached ${ltv}: this is a margin call.`],
        todo, facts: deadline === null ? facts : [...facts, [ru ? 'Срок' : 'Deadline', deadline]], link, linkText,
      };
    }
    case 'risk.liquidation':
      return {
        subject: ru ? `Продажа залога по кредиту ${loan}` : `Collateral of loan ${loan} to be sold`,
        happened: [f.cause === 'deadline'
          ? (ru ? `Срок маржин-колла по кредиту ${loan} истёк, а LTV остался ${ltv}.` : `The margin call on loan ${loan} ran out with the LTV still at ${ltv}.`)
          : (ru ? `Цена BTC снизилась до ${rub(f.price, lang)}, и LTV кредита ${loan} достиг ${ltv}: это порог ликвидации.` : `BTC fell to ${rub(f.price, lang)} and the LTV of loan ${loan} reached ${ltv}, the liquidation level.`)],
        todo: [
          ru ? 'Банк продаёт часть залога, чтобы вернуть LTV к целевому. Когда продажа завершится, вы получите отчёт: сколько BTC продано, по какой цене, сколько зачтено в долг.' : 'The bank is selling part of the collateral to bring the LTV back to its target. You will get a report when the sale is done: the BTC sold, at what price, and what was applied to the debt.',
          ru ? 'Подтвердите получение этого уведомления в личном кабинете.' : 'Please acknowledge this notice in the portal.',
        ],
        facts, link, linkText,
      };
    case 'risk.liquidated': {
      const r = f.report ?? {};
      return {
        subject: ru ? `Залог по кредиту ${loan} продан: отчёт` : `Collateral of loan ${loan} sold: the report`,
        happened: [ru ? `Банк продал ${btcText(r.soldBtc, lang)} из залога по кредиту ${loan} по средней цене ${rubText(r.averagePrice, lang)}.` : `The bank sold ${btcText(r.soldBtc, lang)} of loan ${loan}'s collateral at an average price of ${rubText(r.averagePrice, lang)}.`],
        todo: [ru ? 'Делать ничего не нужно. Отчёт о продаже и выписка по кредиту — в личном кабинете.' : 'Nothing is required. The sale report and the loan statement are in the portal.'],
        facts: [
          [ru ? 'Кредит' : 'Loan', loan],
          [ru ? 'Выручка' : 'Gross proceeds', rubText(r.grossRub, lang)],
          [ru ? 'Комиссии площадки' : 'Venue fees', rubText(r.venueFeesRub, lang)],
          [ru ? 'Комиссия банка' : 'Bank\'s fee', rubText(r.liquidationFeeRub, lang)],
          [ru ? 'Зачтено в долг' : 'Applied to the debt', rubText(r.netRub, lang)],
          [ru ? 'Остаток залога' : 'Collateral left', btcText(r.collateralLeftBtc, lang)],
          [ru ? 'Время' : 'At', moscow(f.at, lang)],
        ],
        link, linkText,
      };
    }
    case 'risk.liquidation_cancelled':
      return {
        subject: ru ? `Продажа залога по кредиту ${loan} отменена` : `Sale of loan ${loan}'s collateral cancelled`,
        happened: [ru ? `Продажа залога по кредиту ${loan} отменена: LTV по текущей цене уже не выше целевого.` : `The sale of loan ${loan}'s collateral is cancelled: at the current price the LTV is no longer above its target.`],
        todo: [ru ? 'Делать ничего не нужно.' : 'Nothing is required.'],
        facts, link, linkText,
      };
    default:
      return {
        subject: ru ? `Кредит ${loan}: LTV снизился до ${ltv}` : `Loan ${loan}: LTV down to ${ltv}`,
        happened: [ru ? `LTV кредита ${loan} снизился до ${ltv}: состояние «${state(f.to, lang)}» (было «${state(f.from, lang)}»).` : `The LTV of loan ${loan} fell to ${ltv}: now ${state(f.to, lang)} (was ${state(f.from, lang)}).`],
        todo: [ru ? 'Делать ничего не нужно.' : 'Nothing is required.'],
        facts, link, linkText,
      };
  }
}

/** A risk notice as a letter. */
export function renderLetter(f: LetterFacts, lang: DocLang): Letter {
  return layout(draft(f, lang), lang);
}

/** A reminder or an early warning (notices/reminders.ts): its facts are integers in text. */
export interface ReminderFacts {
  readonly topic: string;
  readonly loanRef: string;
  readonly facts: Readonly<Record<string, unknown>>;
  readonly portalUrl: string;
}

/** "2026-03-16" as "16.03.2026" / "16 Mar 2026". */
export function dateText(iso: string, lang: DocLang): string {
  const [y, m, d] = iso.split('-');
  if (lang === 'ru') return `${d}.${m}.${y}`;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(d)} ${months[Number(m) - 1]} ${y}`;
}

const int = (value: unknown): bigint => (typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : typeof value === 'number' ? BigInt(value) : 0n);

export function renderReminder(r: ReminderFacts, lang: DocLang): Letter {
  const ru = lang === 'ru';
  const f = r.facts;
  const loan = r.loanRef;
  const link = `${r.portalUrl}/portal/loans/${encodeURIComponent(loan)}`;
  const linkText = ru ? 'Открыть кредит в личном кабинете' : 'Open the loan in the portal';
  const payWhere = ru ? 'Реквизиты для оплаты и назначение платежа — в личном кабинете, раздел «Платежи».' : 'The payment details and the reference to quote are in the portal, under Payments.';
  let d: Draft;
  if (r.topic === 'reminder.due') {
    const due = dateText(String(f.dueDate), lang);
    const total = rub(int(f.totalKopecks), lang);
    d = {
      subject: ru ? `Кредит ${loan}: платёж ${total} до ${due}` : `Loan ${loan}: ${total} due on ${due}`,
      happened: [ru ? `${due} наступает срок платежа № ${String(f.number)} по кредиту ${loan}: ${total} по графику.` : `Instalment no. ${String(f.number)} of loan ${loan} falls due on ${due}: ${total} by the schedule.`],
      todo: [
        ru ? `Пополните расчётный счёт в банке или переведите эту сумму до конца дня ${due}. Если деньги уже на счёте, делать ничего не нужно: банк спишет их в день платежа.` : `Top up your settlement account at the bank or transfer the amount by the end of ${due}. If the money is already on the account, nothing is needed: the bank takes it on the day.`,
        payWhere,
      ],
      facts: [
        [ru ? 'Кредит' : 'Loan', loan], [ru ? 'Дата платежа' : 'Due on', due],
        [ru ? 'Основной долг' : 'Principal', rub(int(f.principalKopecks), lang)], [ru ? 'Проценты' : 'Interest', rub(int(f.interestKopecks), lang)],
        [ru ? 'Всего' : 'Total', total],
      ],
      link, linkText,
    };
  } else if (r.topic === 'reminder.overdue') {
    const since = dateText(String(f.overdueSince), lang);
    const total = rub(int(f.totalKopecks), lang);
    d = {
      subject: ru ? `Просрочка по кредиту ${loan}: ${total}` : `Loan ${loan} overdue: ${total}`,
      happened: [ru ? `Платёж по кредиту ${loan} просрочен с ${since} (дней просрочки: ${String(f.days)}). Просрочено ${total}, включая пени ${rub(int(f.penaltyKopecks), lang)}.` : `A payment on loan ${loan} has been overdue since ${since} (${String(f.days)} days). ${total} is overdue, penalties of ${rub(int(f.penaltyKopecks), lang)} included.`],
      todo: [
        ru ? 'Погасите просроченную сумму как можно скорее: пени начисляются за каждый день просрочки.' : 'Please pay the overdue amount as soon as you can: penalties accrue every day it is overdue.',
        payWhere,
      ],
      facts: [
        [ru ? 'Кредит' : 'Loan', loan], [ru ? 'Просрочка с' : 'Overdue since', since],
        [ru ? 'Основной долг' : 'Principal', rub(int(f.principalOverdueKopecks), lang)], [ru ? 'Проценты' : 'Interest', rub(int(f.interestOverdueKopecks), lang)],
        [ru ? 'Пени' : 'Penalties', rub(int(f.penaltyKopecks), lang)], [ru ? 'Всего' : 'Total', total],
      ],
      link, linkText,
    };
  } else {
    const ltv = pct(int(f.ltvMillionths), lang);
    const early = pct(int(f.earlyMillionths), lang);
    const price = rub(int(f.priceKopecks), lang);
    d = {
      subject: ru ? `Кредит ${loan}: LTV ${ltv}, выше вашего порога ${early}` : `Loan ${loan}: LTV ${ltv}, above your threshold of ${early}`,
      happened: [ru ? `При цене BTC ${price} LTV кредита ${loan} — ${ltv}: это выше порога раннего предупреждения ${early}, который вы задали.` : `At ${price} per BTC the LTV of loan ${loan} is ${ltv}, above the early-warning threshold of ${early} you set.`],
      todo: [
        ru ? `Предупреждение банка придёт при LTV ${pct(int(f.warningMillionths), lang)} (цена BTC ${rub(int(f.warningPriceKopecks), lang)}), маржин-колл — при цене ${rub(int(f.callPriceKopecks), lang)}.` : `The bank's warning comes at an LTV of ${pct(int(f.warningMillionths), lang)} (BTC at ${rub(int(f.warningPriceKopecks), lang)}), a margin call at ${rub(int(f.callPriceKopecks), lang)}.`,
        ru ? 'Сейчас делать ничего не обязательно. Чтобы снизить LTV, можно внести BTC в залог или погасить часть долга.' : 'Nothing is required yet. To lower the LTV you may add BTC to the collateral or repay part of the debt.',
      ],
      facts: [
        [ru ? 'Кредит' : 'Loan', loan], [ru ? 'Цена BTC' : 'BTC price', price], ['LTV', ltv],
        [ru ? 'Долг' : 'Debt', rub(int(f.debtKopecks), lang)], [ru ? 'Залог' : 'Collateral', btc(int(f.sats), lang)],
      ],
      link, linkText,
    };
  }
  return layout(d, lang);
}

/** Lays a draft out as plain text, HTML and a Telegram message. */
function layout(d: Draft, lang: DocLang): Letter {
  const ru = lang === 'ru';
  const signature = ru ? 'Это автоматическое уведомление банка; отвечать на него не нужно.' : 'This is an automatic notice from the bank; there is no need to reply.';
  const heads = ru ? { happened: 'Что произошло', todo: 'Что сделать', facts: 'Данные' } : { happened: 'What happened', todo: 'What to do', facts: 'The figures' };
  const text = [
    d.subject, '',
    `${heads.happened}:`, ...d.happened, '',
    `${heads.todo}:`, ...d.todo.map((line) => `- ${line}`), '',
    `${heads.facts}:`, ...d.facts.map(([label, value]) => `${label}: ${value}`), '',
    `${d.linkText}: ${d.link}`, '', signature,
  ].join('\n');
  const html = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${esc(d.subject)}</title></head>`
    + '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;color:#1a1b1e;max-width:640px">'
    + `<h2 style="font-size:19px">${esc(d.subject)}</h2>`
    + `<h3 style="font-size:16px">${esc(heads.happened)}</h3>${d.happened.map((p) => `<p>${esc(p)}</p>`).join('')}`
    + `<h3 style="font-size:16px">${esc(heads.todo)}</h3><ul>${d.todo.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`
    + `<table style="border-collapse:collapse">${d.facts.map(([label, value]) => `<tr><td style="padding:2px 12px 2px 0;color:#555">${esc(label)}</td><td style="padding:2px 0"><b>${esc(value)}</b></td></tr>`).join('')}</table>`
    + `<p><a href="${esc(d.link)}" style="display:inline-block;padding:10px 16px;background:#364fc7;color:#fff;text-decoration:none;border-radius:4px">${esc(d.linkText)}</a></p>`
    + `<p style="color:#777;font-size:12px">${esc(signature)}</p></body></html>`;
  const telegram = [
    `<b>${esc(d.subject)}</b>`, '',
    ...d.happened.map(esc), '',
    ...d.todo.map((line) => `• ${esc(line)}`), '',
    ...d.facts.map(([label, value]) => `${esc(label)}: <b>${esc(value)}</b>`), '',
    `<a href="${esc(d.link)}">${esc(d.linkText)}</a>`,
  ].join('\n');
  return { subject: d.subject, text, html, telegram };
}
