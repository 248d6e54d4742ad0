import { createContext, useContext, type ReactNode } from 'react';
import { queryOptions, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, must, setCsrfToken } from './api';

/** Who is logged in, what their roles allow (the API's own list of operations), and log in/out. */

export interface Me {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly borrowerRef: string | null;
  readonly operations: ReadonlySet<string>;
  readonly passwordChangeRequired: boolean;
}

interface SessionValue {
  readonly me: Me | null;
  readonly loading: boolean;
  can(operationId: string): boolean;
  hasRole(...roles: string[]): boolean;
  refresh(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

/** Who is logged in (null: nobody), as one query shared by the provider and main.tsx's prefetch. */
export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: async (): Promise<Me | null> => {
    const answer = await api.GET('/api/v1/auth/me');
    if (answer.response.status === 401) return null;
    const data = must(answer);
    setCsrfToken(data.csrfToken);
    const user = data.user;
    return {
      id: user.id, username: user.username, displayName: user.displayName, roles: user.roles, borrowerRef: user.borrowerId,
      operations: new Set(data.operations), passwordChangeRequired: data.passwordChangeRequired,
    } satisfies Me;
  },
  staleTime: Infinity,
  retry: false,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const query = useQuery(meQuery);
  const me = query.data ?? null;
  const value: SessionValue = {
    me,
    loading: query.isLoading,
    can: (operationId) => me?.operations.has(operationId) ?? false,
    hasRole: (...roles) => me !== null && roles.some((role) => me.roles.includes(role)),
    refresh: async () => {
      await client.invalidateQueries();
      await client.refetchQueries({ queryKey: ['me'] });
    },
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}
