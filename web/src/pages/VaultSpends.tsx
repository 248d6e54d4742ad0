import { useState } from 'react';
import { Badge, Button, Card, FileInput, Group, SegmentedControl, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useSession } from '../session';
import { ActionButton } from '../components/Common';
import type { VaultSpend, VaultView } from '../types';

/** The loan's vault as the API shows it to this user; null when the loan has none (its collateral is with the custodian). */
export function useVault(loanRef: string, refetchMs: number) {
  return useQuery({
    queryKey: ['loan-vault', loanRef],
    refetchInterval: refetchMs,
    queryFn: async () => {
      const answer = await api.GET('/api/v1/loans/{ref}/vault', { params: { path: { ref: loanRef } } });
      if (answer.response.status === 404) return null;
      return must(answer) as unknown as VaultView;
    },
  });
}

/**
 * A vault's spends (PSBTs): what each pays, to whom, the fee, which of the vault's keys have
 * signed, and the next step for whoever may take it. Treasury proposes a spend (four eyes: a
 * second treasurer's approval builds the PSBT), signers download the PSBT, sign it in their own
 * wallet or HSM and upload it back, treasury proposes the finalised transaction for broadcast
 * (four eyes again) and broadcasts it. The borrower (collaborative custody) signs the same way.
 */
export function VaultSpends({ loanRef, vault }: { loanRef: string; vault: VaultView }) {
  const { t, btc, num, time } = useI18n();
  const { can } = useSession();
  const canPropose = can('postLoansByRefVaultSpends');
  return (
    <Stack gap="xs" mt="md" data-testid="vault-spends">
      <Group justify="space-between">
        <Title order={4} size="h5">{t('spend.title')}</Title>
        {canPropose && vault.frozen === null && <NewSpend loanRef={loanRef} />}
      </Group>
      <Text size="sm">{vault.releaseAddress === null ? t('spend.noReleaseAddress') : t('spend.releaseAddress', { address: vault.releaseAddress.address, at: time(vault.releaseAddress.at) })}</Text>
      {vault.spends.length === 0 ? <Text size="sm" c="dimmed">{t('spend.none')}</Text> : vault.spends.map((spend) => (
        <Card key={spend.id} withBorder padding="sm" data-testid={`spend-${spend.id}`}>
          <Group justify="space-between" mb={4}>
            <Group gap="xs">
              <Text fw={600}>{t('spend.number', { id: spend.id })} · {t(`spend.purpose.${spend.purpose}` as MessageKey)}</Text>
              <Badge variant="light" color={spend.state === 'confirmed' ? 'green' : spend.state === 'cancelled' ? 'gray' : 'blue'} data-testid={`spend-${spend.id}-state`}>{t(`spend.state.${spend.state}` as MessageKey)}</Badge>
            </Group>
            <SpendActions loanRef={loanRef} spend={spend} />
          </Group>
          <Table withRowBorders={false} verticalSpacing={2}>
            <Table.Tbody>
              <Table.Tr><Table.Td w="30%" c="dimmed">{t('spend.to')}</Table.Td><Table.Td ff="monospace" style={{ wordBreak: 'break-all' }}>{spend.to}</Table.Td></Table.Tr>
              <Table.Tr><Table.Td c="dimmed">{t('spend.amount')}</Table.Td><Table.Td>{btc(spend.btc)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Td c="dimmed">{t('spend.fee')}</Table.Td><Table.Td>{t('spend.feeLine', { fee: btc(spend.feeBtc), rate: num(spend.feeRateSatPerVb), vsize: spend.vsize })}</Table.Td></Table.Tr>
              {spend.changeBtc !== '0.00000000' && <Table.Tr><Table.Td c="dimmed">{t('spend.change')}</Table.Td><Table.Td>{btc(spend.changeBtc)}</Table.Td></Table.Tr>}
              <Table.Tr><Table.Td c="dimmed">{t('spend.signedBy')}</Table.Td><Table.Td data-testid={`spend-${spend.id}-signers`}>{spend.signedBy.length === 0 ? '—' : spend.signedBy.join(', ')}{spend.uploads.length > 0 && <Text span size="xs" c="dimmed"> ({spend.uploads.map((u) => `${u.by}, ${time(u.at)}`).join('; ')})</Text>}</Table.Td></Table.Tr>
              <Table.Tr><Table.Td c="dimmed">{t('spend.txid')}</Table.Td><Table.Td ff="monospace" style={{ wordBreak: 'break-all' }}>{spend.txid ?? spend.unsignedTxid}</Table.Td></Table.Tr>
              {spend.broadcastError !== null && spend.state === 'finalised' && <Table.Tr><Table.Td c="dimmed">{t('spend.broadcastError')}</Table.Td><Table.Td c="red">{spend.broadcastError}</Table.Td></Table.Tr>}
              {spend.confirmedHeight !== null && <Table.Tr><Table.Td c="dimmed">{t('spend.confirmedAt')}</Table.Td><Table.Td>{t('spend.confirmedLine', { height: spend.confirmedHeight, at: time(spend.confirmedAt!) })}</Table.Td></Table.Tr>}
            </Table.Tbody>
          </Table>
        </Card>
      ))}
    </Stack>
  );
}

function NewSpend({ loanRef }: { loanRef: string }) {
  const { t } = useI18n();
  const [purpose, setPurpose] = useState<'release' | 'excess' | 'liquidation'>('excess');
  const [amount, setAmount] = useState('');
  const [liquidation, setLiquidation] = useState('');
  return (
    <ActionButton label={t('spend.new')} testId="spend-new"
      run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/spends', {
        params: { path: { ref: loanRef }, header: { 'idempotency-key': key } },
        body: { purpose, ...(purpose === 'excess' ? { btc: amount.trim().replace(',', '.') } : {}), ...(purpose === 'liquidation' ? { liquidation: liquidation.trim() } : {}) },
      }))}>
      <SegmentedControl value={purpose} onChange={(v) => setPurpose(v as typeof purpose)} data-testid="spend-purpose"
        data={(['excess', 'release', 'liquidation'] as const).map((p) => ({ value: p, label: t(`spend.purpose.${p}` as MessageKey) }))} />
      <Text size="sm" c="dimmed">{t(`spend.explain.${purpose}` as MessageKey)}</Text>
      {purpose === 'excess' && <TextInput label={t('spend.amountBtc')} value={amount} onChange={(e) => setAmount(e.currentTarget.value)} placeholder="0,05000000" data-testid="spend-btc" />}
      {purpose === 'liquidation' && <TextInput label={t('spend.liquidationId')} value={liquidation} onChange={(e) => setLiquidation(e.currentTarget.value)} data-testid="spend-liquidation" />}
      <Text size="xs" c="dimmed">{t('spend.fourEyes')}</Text>
    </ActionButton>
  );
}

/** The PSBT as a file a wallet opens (BIP-174's binary form), from the base64 the API gives. */
export function downloadPsbt(name: string, base64: string) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A signed PSBT as a wallet saves it: binary (magic "psbt\xff") or base64 text; returned as base64. */
export async function psbtFromFile(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const magic = [0x70, 0x73, 0x62, 0x74, 0xff];
  if (magic.every((b, i) => bytes[i] === b)) {
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  }
  return new TextDecoder().decode(bytes).trim();
}

function SpendActions({ loanRef, spend }: { loanRef: string; spend: VaultSpend }) {
  const { t } = useI18n();
  const { can } = useSession();
  const [pasted, setPasted] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const psbt = useQuery({
    queryKey: ['spend-psbt', loanRef, spend.id, spend.signedBy.length],
    enabled: spend.state === 'signing',
    queryFn: async () => must(await api.GET('/api/v1/loans/{ref}/vault/spends/{id}/psbt', { params: { path: { ref: loanRef, id: spend.id } } })),
  });
  const path = { ref: loanRef, id: spend.id };
  if (spend.state !== 'signing' && spend.state !== 'finalised') return null;
  return (
    <Group gap="xs">
      {spend.state === 'signing' && psbt.data !== undefined && (
        <Button size="xs" variant="default" onClick={() => downloadPsbt(`${loanRef}-spend-${spend.id}.psbt`, psbt.data.psbt)} data-testid={`spend-${spend.id}-download`}>{t('spend.download')}</Button>
      )}
      {spend.state === 'signing' && can('postLoansByRefVaultSpendsByIdSignatures') && (
        <ActionButton label={t('spend.upload')} testId={`spend-${spend.id}-upload`}
          run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/spends/{id}/signatures', { params: { path, header: { 'idempotency-key': key } }, body: { psbt: file !== null ? await psbtFromFile(file) : pasted.trim() } }))}>
          <Text size="sm">{t('spend.uploadExplain')}</Text>
          <FileInput label={t('spend.file')} value={file} onChange={setFile} accept=".psbt,.txt" clearable data-testid="spend-file" />
          <Textarea label={t('spend.paste')} value={pasted} onChange={(e) => setPasted(e.currentTarget.value)} autosize minRows={3} maxRows={8} styles={{ input: { fontFamily: 'monospace', fontSize: 11 } }} data-testid="spend-paste" />
        </ActionButton>
      )}
      {spend.state === 'signing' && can('postLoansByRefVaultSpendsByIdFinalise') && (
        <ActionButton label={t('spend.finalise')} testId={`spend-${spend.id}-finalise`}
          run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/spends/{id}/finalise', { params: { path, header: { 'idempotency-key': key } } }))}>
          <Text size="sm">{t('spend.finaliseExplain')}</Text>
          <Text size="xs" c="dimmed">{t('spend.fourEyes')}</Text>
        </ActionButton>
      )}
      {spend.state === 'finalised' && can('postLoansByRefVaultSpendsByIdBroadcast') && (
        <ActionButton label={t('spend.broadcast')} testId={`spend-${spend.id}-broadcast`}
          run={async () => must(await api.POST('/api/v1/loans/{ref}/vault/spends/{id}/broadcast', { params: { path } }))}>
          <Text size="sm">{t('spend.broadcastExplain')}</Text>
        </ActionButton>
      )}
      {spend.state === 'signing' && can('postLoansByRefVaultSpendsByIdCancel') && (
        <ActionButton label={t('spend.cancel')} color="red" testId={`spend-${spend.id}-cancel`}
          run={async (key) => must(await api.POST('/api/v1/loans/{ref}/vault/spends/{id}/cancel', { params: { path, header: { 'idempotency-key': key } } }))}>
          <Text size="sm">{t('spend.cancelExplain')}</Text>
        </ActionButton>
      )}
    </Group>
  );
}
