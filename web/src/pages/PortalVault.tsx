import { useEffect, useState } from 'react';
import { Alert, Button, Card, Code, FileInput, Group, Image, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import QRCode from 'qrcode';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { ActionButton } from '../components/Common';
import { downloadPsbt, psbtFromFile, useVault, VaultSpends } from './VaultSpends';
import type { VaultView } from '../types';

/**
 * The miner's side of its loan's vault (on-chain custody), on a phone as on a desk: where to send
 * BTC (the address and its BIP-21 QR code, with the amount when a call asks for one), how to check
 * in its own wallet that the address is the vault's, the pool payout address, each coin with its
 * confirmations, the key challenge it signs before the loan is paid out, its release address, and
 * the spends waiting for its signature. The same API and rules as any client: nothing here a
 * miner could not do with curl.
 */
export function PortalVault({ loanRef, addBtc }: { loanRef: string; addBtc: string | null }) {
  const { t } = useI18n();
  const vault = useVault(loanRef, 15_000);
  if (vault.data === undefined) return null;
  if (vault.data === null) return <Custodial loanRef={loanRef} addBtc={addBtc} />;
  const v = vault.data;
  return (
    <Stack gap="sm" mt="sm" data-testid={`portal-vault-${loanRef}`}>
      <Title order={4} size="h5">{t('portal.vault.title')}</Title>
      {v.borrowerKey !== null && v.borrowerKey.provenAt === null && <KeyProof loanRef={loanRef} />}
      {v.depositAddress !== null && <DepositQr address={v.depositAddress} addBtc={addBtc} network={v.network} />}
      {v.payoutAddress !== null && (
        <Stack gap={2}>
          <Text size="sm" fw={500}>{t('vault.payoutAddress')}</Text>
          <Text ff="monospace" size="sm" style={{ wordBreak: 'break-all' }}>{v.payoutAddress}</Text>
          <Text size="xs" c="dimmed">{t('vault.payoutExplain')}</Text>
        </Stack>
      )}
      <Coins vault={v} />
      <Verify vault={v} />
      <ReleaseAddress loanRef={loanRef} current={v.releaseAddress?.address ?? null} network={v.network} />
      {v.spends.some((s) => s.state === 'signing') && <VaultSpends loanRef={loanRef} vault={{ ...v, spends: v.spends.filter((s) => s.state === 'signing') }} />}
    </Stack>
  );
}

/** The deposit address as text and as a BIP-21 QR code (with the amount a call asks for). */
function DepositQr({ address, addBtc, network }: { address: string; addBtc: string | null; network: string }) {
  const { t, btc } = useI18n();
  const uri = `bitcoin:${address}${addBtc !== null ? `?amount=${addBtc.replace(/\.?0+$/, '')}` : ''}`;
  const [svg, setSvg] = useState<string | null>(null);
  useEffect(() => {
    void QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }).then((text) => setSvg(`data:image/svg+xml;base64,${btoa(text)}`));
  }, [uri]);
  return (
    <Card withBorder padding="sm">
      <Group align="flex-start" wrap="wrap" gap="md">
        {svg !== null && <Image src={svg} w={180} h={180} alt={t('portal.vault.qrAlt', { address })} data-testid="deposit-qr" data-uri={uri} />}
        <Stack gap={4} style={{ flex: '1 1 220px', minWidth: 0 }}>
          <Text size="sm" fw={500}>{t('vault.depositAddress')}</Text>
          <Text ff="monospace" size="sm" style={{ wordBreak: 'break-all' }} data-testid="deposit-address">{address}</Text>
          {addBtc !== null && <Text size="sm" fw={700} data-testid="deposit-amount">{t('portal.vault.toAdd', { btc: btc(addBtc) })}</Text>}
          <Text size="xs" c="dimmed">{t('portal.vault.depositExplain', { network })}</Text>
        </Stack>
      </Group>
    </Card>
  );
}

function Coins({ vault }: { vault: VaultView }) {
  const { t, btc } = useI18n();
  if (vault.coins.length === 0) return <Text size="sm" c="dimmed">{t('vault.noCoins')}</Text>;
  return (
    <Table.ScrollContainer minWidth={320} scrollAreaProps={{ viewportProps: { tabIndex: 0, 'aria-label': t('vault.coins') } }}>
      <Table data-testid="portal-coins">
        <Table.Thead><Table.Tr><Table.Th>{t('vault.source')}</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th ta="right">{t('vault.confirmations')}</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>{vault.coins.map((coin) => (
          <Table.Tr key={`${coin.txid}:${coin.vout}`}>
            <Table.Td>{t(`vault.source.${coin.source}` as MessageKey)}</Table.Td>
            <Table.Td ta="right">{btc(coin.btc)}</Table.Td>
            <Table.Td ta="right">{`${coin.confirmations} / ${vault.confirmationsNeeded}`}</Table.Td>
            <Table.Td>{t(coin.held ? 'vault.coin.held' : coin.counted && coin.spentBy !== null ? 'vault.coin.spending' : coin.spentBy !== null ? 'vault.coin.spent' : coin.counted ? 'vault.coin.counted' : coin.unconfirmed ? 'vault.coin.unconfirmed' : coin.blockHeight === null ? 'vault.coin.orphaned' : 'vault.coin.waiting')}</Table.Td>
          </Table.Tr>
        ))}</Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** How to check, in the miner's own wallet, that the addresses are the vault's. */
function Verify({ vault }: { vault: VaultView }) {
  const { t } = useI18n();
  const core = JSON.stringify([{ desc: vault.descriptor, timestamp: 'now', active: false, range: [0, 20] }]);
  return (
    <details>
      <summary><Text span size="sm" fw={500}>{t('portal.vault.verify')}</Text></summary>
      <Stack gap={4} mt={4}>
        <Text size="xs">{t('portal.vault.descriptor')}</Text>
        <Code block style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap' }} data-testid="portal-descriptor">{vault.descriptor}</Code>
        <Text size="xs">{t('portal.vault.sparrow')}</Text>
        <Text size="xs">{t('portal.vault.core')}</Text>
        <Code block style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap' }}>{`importdescriptors '${core}'`}</Code>
      </Stack>
    </details>
  );
}

/** The key challenge: the borrower proves, in the wallet it will co-sign with, that it holds its vault key. */
function KeyProof({ loanRef }: { loanRef: string }) {
  const { t } = useI18n();
  const [pasted, setPasted] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const challenge = useQuery({ queryKey: ['key-challenge', loanRef], queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/vault/key-challenge', { params: { path: { ref: loanRef } } })) });
  return (
    <Alert color="orange" title={t('portal.vault.keyTitle')} data-testid="key-proof">
      <Text size="sm" mb="xs">{t('portal.vault.keyExplain')}</Text>
      <Group gap="xs">
        {challenge.data !== undefined && <Button size="xs" variant="default" onClick={() => downloadPsbt(`${loanRef}-key-challenge.psbt`, challenge.data.psbt)} data-testid="key-challenge-download">{t('spend.download')}</Button>}
        <ActionButton label={t('portal.vault.keyUpload')} testId="key-proof-upload"
          run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/key-proof', { params: { path: { ref: loanRef }, header: { 'idempotency-key': key } }, body: { psbt: file !== null ? await psbtFromFile(file) : pasted.trim() } }))}>
          <FileInput label={t('spend.file')} value={file} onChange={setFile} accept=".psbt,.txt" clearable />
          <Textarea label={t('spend.paste')} value={pasted} onChange={(e) => setPasted(e.currentTarget.value)} autosize minRows={3} maxRows={8} styles={{ input: { fontFamily: 'monospace', fontSize: 11 } }} data-testid="key-proof-paste" />
        </ActionButton>
      </Group>
    </Alert>
  );
}

function ReleaseAddress({ loanRef, current, network }: { loanRef: string; current: string | null; network: string }) {
  const { t } = useI18n();
  const [address, setAddress] = useState(current ?? '');
  return (
    <Stack gap={4}>
      <Text size="sm" fw={500}>{t('portal.vault.release')}</Text>
      <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }} data-testid="release-address">{current ?? t('portal.vault.releaseNone')}</Text>
      <Group>
        <ActionButton label={current === null ? t('portal.vault.releaseSet') : t('portal.vault.releaseChange')} testId="release-address-set"
          run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/release-address', { params: { path: { ref: loanRef }, header: { 'idempotency-key': key } }, body: { address: address.trim() } }))}>
          <Text size="sm">{t('portal.vault.releaseExplain', { network })}</Text>
          <TextInput label={t('portal.vault.release')} value={address} onChange={(e) => setAddress(e.currentTarget.value)} data-testid="release-address-input" />
        </ActionButton>
      </Group>
    </Stack>
  );
}

interface CollateralView {
  held: string;
  positions: Array<{ id: string; btc: string; state: string; custodianRef: string | null; declaredAt: string; confirmedAt: string | null }>;
  custodian: { name: string; nameEn: string; instructions: string; instructionsEn: string; contact: string; reference: string } | null;
}

/**
 * The custodial mode: the bank's custodian holds the BTC. The miner reads how to deposit (the
 * custodian's account, the loan's reference in the memo), declares what it sent, and watches the
 * declaration until treasury records the custodian's confirmation (four eyes).
 */
function Custodial({ loanRef, addBtc }: { loanRef: string; addBtc: string | null }) {
  const { t, locale, btc, time } = useI18n();
  const [amount, setAmount] = useState(addBtc ?? '');
  const collateral = useQuery({
    queryKey: ['collateral', loanRef], refetchInterval: 15_000,
    queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/collateral', { params: { path: { ref: loanRef } } })) as unknown as CollateralView,
  });
  const c = collateral.data;
  if (c === undefined) return null;
  const value = amount.trim().replace(',', '.');
  return (
    <Stack gap="sm" mt="sm" data-testid={`portal-custodial-${loanRef}`}>
      <Title order={4} size="h5">{t('portal.custodial.title')}</Title>
      {c.custodian === null
        ? <Text size="sm" c="dimmed">{t('portal.vault.custodial')}</Text>
        : (
          <Stack gap={4}>
            <Text size="sm" fw={500}>{locale === 'ru' ? c.custodian.name : c.custodian.nameEn}</Text>
            <Text size="sm" data-testid="custodian-instructions">{locale === 'ru' ? c.custodian.instructions : c.custodian.instructionsEn}</Text>
            <Text size="xs" c="dimmed">{t('portal.custodial.contact', { contact: c.custodian.contact })}</Text>
          </Stack>
        )}
      <Group>
        <ActionButton label={t('portal.custodial.declare')} testId="custodial-declare"
          run={async () => must(await api.POST('/api/v1/loans/{ref}/collateral', { params: { path: { ref: loanRef } }, body: { btc: value } }))}>
          <Text size="sm">{t('portal.custodial.declareExplain')}</Text>
          <TextInput label={t('portal.custodial.amount')} rightSection="BTC" rightSectionWidth={48} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.currentTarget.value)} data-testid="custodial-amount" />
        </ActionButton>
      </Group>
      {c.positions.length > 0 && (
        <Table fz="xs" data-testid="custodial-positions">
          <Table.Thead><Table.Tr><Table.Th>{t('portal.custodial.declared')}</Table.Th><Table.Th ta="right">BTC</Table.Th><Table.Th>{t('common.status')}</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>{c.positions.map((p) => (
            <Table.Tr key={p.id}>
              <Table.Td>{time(p.declaredAt)}</Table.Td><Table.Td ta="right">{btc(p.btc)}</Table.Td>
              <Table.Td>{t(`portal.custodial.state.${p.state}` as MessageKey)}</Table.Td>
            </Table.Tr>
          ))}</Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
