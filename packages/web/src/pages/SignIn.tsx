import { useState } from 'react';
import { type Session, signIn } from '../api.ts';

/** Paste an API key once; the server answers with a session cookie and the page forgets the key. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Sign in to Bosun</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const input = form.elements.namedItem('api_key') as HTMLInputElement;
          setBusy(true);
          setError('');
          try {
            const session = await signIn(input.value.trim());
            input.value = '';
            onSignedIn(session);
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="api_key">API key</label>
        <input id="api_key" name="api_key" type="password" autoComplete="off" required placeholder="bsn_…" />
        <p className="hint">The key is exchanged for a session cookie; it is not stored in this browser.</p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
