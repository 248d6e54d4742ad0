import { useState, type FormEvent } from 'react';
import { Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { api, must, setCsrfToken } from '../api';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { ProblemAlert } from '../components/Common';

export function LoginPage() {
  const { t } = useI18n();
  const { refresh } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const data = must(await api.POST('/api/v1/auth/login', { body: { username, password } }));
      setCsrfToken(data.csrfToken);
      await refresh();
    } catch (problem) {
      setError(problem);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={380} maw="100%">
        <form onSubmit={(event) => void submit(event)}>
          <Stack>
            <Title order={1} size="h2">zalog</Title>
            <Text size="sm" c="dimmed">{t('login.subtitle')}</Text>
            <TextInput label={t('login.username')} value={username} onChange={(e) => setUsername(e.currentTarget.value)} autoComplete="username" required name="username" />
            <PasswordInput label={t('login.password')} value={password} onChange={(e) => setPassword(e.currentTarget.value)} autoComplete="current-password" required name="password" />
            <ProblemAlert error={error} />
            <Button type="submit" loading={busy}>{t('login.submit')}</Button>
            <LanguageSwitch full />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
