import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { useSession } from './session';
import { SCREENS } from './screens';
import { Layout } from './components/Layout';
import { LoginPage } from './pages/LoginPage';
import { NoAccess } from './components/Common';

// Pages load on first visit, but the portfolio (where staff land) comes with the shell: a lazy
// chunk would add a round trip before its data is even asked for.
import PortfolioPage from './pages/PortfolioPage';
// The miner's first pages are in the main bundle: a miner opens them from a notice's link on a
// phone, and a lazy chunk would be fetched only after the app's script is evaluated (bench:web
// portal_loan_ms). The rest of the portal, and the console's pages, load when opened.
import PortalPage from './pages/PortalPage';
import PortalLoanPage from './pages/PortalLoanPage';

const InboxPage = lazy(() => import('./pages/InboxPage'));
const LoansPage = lazy(() => import('./pages/LoansPage'));
const LoanPage = lazy(() => import('./pages/LoanPage'));
const BorrowersPage = lazy(() => import('./pages/BorrowersPage'));
const BorrowerPage = lazy(() => import('./pages/BorrowerPage'));
const ApplicationPage = lazy(() => import('./pages/ApplicationPage'));
const RiskPage = lazy(() => import('./pages/RiskPage'));
const ExposurePage = lazy(() => import('./pages/ExposurePage'));
const BooksPage = lazy(() => import('./pages/BooksPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));
const AdminPage = lazy(() => import('./pages/AdminPage'));
const ProofPage = lazy(() => import('./pages/ProofPage'));
const PortalApplyPage = lazy(() => import('./pages/PortalApplyPage'));
const PortalMoneyPage = lazy(() => import('./pages/PortalMoneyPage'));
const PortalNoticesPage = lazy(() => import('./pages/PortalNoticesPage'));

/** A page of the miners' portal: only a borrower's user has a borrower to show (staff are told where their console is). */
function BorrowerOnly({ children }: { children: ReactNode }) {
  const { me } = useSession();
  return me?.borrowerRef != null ? <>{children}</> : <NoAccess />;
}

/** A page shown only to whoever may call every operation it stands on; others see why not. */
function Guard({ needs, children }: { needs: string | readonly string[]; children: ReactNode }) {
  const { can } = useSession();
  const all = typeof needs === 'string' ? [needs] : needs;
  return all.every(can) ? <>{children}</> : <NoAccess />;
}

export function App() {
  const { me, loading } = useSession();
  if (loading) return <Center h="100vh"><Loader /></Center>;
  if (me === null) return <LoginPage />;
  const home = me.roles.includes('borrower') ? '/portal' : (SCREENS.find((s) => me.operations.has(s.needs))?.path ?? '/portal');
  return (
    <Layout>
      <Suspense fallback={<Center p="xl"><Loader /></Center>}>
        <Routes>
          <Route path="/" element={<Navigate to={home} replace />} />
          <Route path="/portfolio" element={<Guard needs="getPortfolio"><PortfolioPage /></Guard>} />
          <Route path="/inbox" element={<Guard needs="getInbox"><InboxPage /></Guard>} />
          <Route path="/loans" element={<Guard needs="listLoans"><LoansPage /></Guard>} />
          <Route path="/loans/:ref" element={<Guard needs="listLoans"><LoanPage /></Guard>} />
          <Route path="/borrowers" element={<Guard needs="getBorrowers"><BorrowersPage /></Guard>} />
          <Route path="/borrowers/:ref" element={<Guard needs="getBorrowers"><BorrowerPage /></Guard>} />
          <Route path="/borrowers/:ref/apply" element={<Guard needs={['getBorrowers', 'postBorrowersByRefLoanApplications']}><ApplicationPage /></Guard>} />
          <Route path="/risk" element={<Guard needs="getRiskStress"><RiskPage /></Guard>} />
          <Route path="/exposure" element={<Guard needs="getExposure"><ExposurePage /></Guard>} />
          <Route path="/books" element={<Guard needs="getTrialBalance"><BooksPage /></Guard>} />
          <Route path="/audit" element={<Guard needs="verifyAuditChain"><AuditPage /></Guard>} />
          <Route path="/admin" element={<Guard needs="createUser"><AdminPage /></Guard>} />
          <Route path="/portal" element={<PortalPage />} />
          <Route path="/portal/loans/:ref" element={<BorrowerOnly><PortalLoanPage /></BorrowerOnly>} />
          <Route path="/portal/apply" element={<BorrowerOnly><PortalApplyPage /></BorrowerOnly>} />
          <Route path="/portal/money" element={<BorrowerOnly><PortalMoneyPage /></BorrowerOnly>} />
          <Route path="/portal/notices" element={<BorrowerOnly><PortalNoticesPage /></BorrowerOnly>} />
          <Route path="/proof" element={<Guard needs="getLoansByRefVault"><ProofPage /></Guard>} />
          <Route path="*" element={<NoAccess notFound />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
