import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, lazy, Suspense, useContext, useEffect, useState } from 'react';
import { currentSession, holds, type Session, signOut } from './api.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { followEvents, type LiveState } from './live.ts';
import { ApiKeysPage } from './pages/ApiKeys.tsx';
import { DeploymentsPage } from './pages/Deployments.tsx';
import { DevicePage } from './pages/Device.tsx';
import { FleetPage } from './pages/Fleet.tsx';
import { ReleasesPage } from './pages/Releases.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { href, useRoute } from './router.ts';

// Pages most sessions do not open load on demand, so the initial JS stays small (BENCHMARKS.md).
const GroupsPage = lazy(() => import('./pages/Groups.tsx'));
const RolloutsPage = lazy(() => import('./pages/Rollouts.tsx'));
const RolloutPage = lazy(() => import('./pages/Rollout.tsx'));
const WebhooksPage = lazy(() => import('./pages/Webhooks.tsx'));
const WebhookEndpointPage = lazy(() => import('./pages/WebhookEndpoint.tsx'));

const SessionContext = createContext<Session | null>(null);

/** Whether the signed-in key holds `scope`: the UI hides what it cannot do (the API refuses anyway). */
export function useCan(scope: string): boolean {
  const session = useContext(SessionContext);
  return session ? holds(session.principal.scopes, scope) : false;
}

export function App() {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: ['session'], queryFn: currentSession, staleTime: 60_000 });
  const [live, setLive] = useState<LiveState>('offline');
  const route = useRoute();
  const signedIn = !!session.data;

  useEffect(() => {
    if (!signedIn) return;
    return followEvents(queryClient, setLive);
  }, [signedIn, queryClient]);

  if (session.isPending) return <p className="loading">Loading…</p>;
  if (!session.data) return <SignIn onSignedIn={(s) => queryClient.setQueryData(['session'], s)} />;

  const [section = 'fleet', id] = route;
  let page: React.ReactNode;
  if (section === 'devices' && id) page = <DevicePage id={id} />;
  else if (section === 'releases') page = <ReleasesPage />;
  else if (section === 'deployments') page = <DeploymentsPage />;
  else if (section === 'keys') page = <ApiKeysPage />;
  else if (section === 'groups') page = <GroupsPage />;
  else if (section === 'rollouts' && id) page = <RolloutPage id={id} />;
  else if (section === 'rollouts') page = <RolloutsPage />;
  else if (section === 'webhooks' && id) page = <WebhookEndpointPage id={id} />;
  else if (section === 'webhooks') page = <WebhooksPage />;
  else page = <FleetPage />;

  const scopes = session.data.principal.scopes;
  const nav = (
    [
      ['fleet', 'Fleet', ''],
      ['releases', 'Releases', ''],
      ['deployments', 'Deployments', ''],
      ['groups', 'Groups', 'groups:read'],
      ['rollouts', 'Rollouts', 'rollouts:read'],
      ['webhooks', 'Webhooks', 'webhooks:read'],
      ['keys', 'API keys', ''],
    ] as const
  ).filter(([, , scope]) => !scope || holds(scopes, scope));
  return (
    <SessionContext.Provider value={session.data}>
      <header className="top">
        <a className="brand" href={href('fleet')}>
          Bosun
        </a>
        <nav aria-label="Main">
          {nav.map(([key, label]) => (
            <a key={key} href={href(key)} aria-current={section === key ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span className={`live live-${live}`} role="status" aria-live="polite">
          {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting' : '○ offline'}
        </span>
        <span className="who">{session.data.principal.name}</span>
        <button
          type="button"
          onClick={async () => {
            await signOut();
            // A fresh document: nothing the previous session loaded stays in memory.
            window.location.assign('/');
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <ErrorBoundary key={route.join('/')} home={href('fleet')}>
          <Suspense fallback={<p className="loading">Loading…</p>}>{page}</Suspense>
        </ErrorBoundary>
      </main>
    </SessionContext.Provider>
  );
}
