import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

/**
 * A page that throws while rendering shows what went wrong and a way back instead of an empty
 * document (React unmounts the whole tree on an uncaught render error). App keys it by route, so
 * navigating elsewhere starts afresh.
 */
export class ErrorBoundary extends Component<{ children: ReactNode; home: string }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('dashboard page failed to render', error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section role="alert" aria-labelledby="page-error-title" className="page-error">
        <h1 id="page-error-title">This page could not be shown</h1>
        <p>
          <code>{error.message || error.name}</code>
        </p>
        <p>
          <a href={this.props.home}>Back to the fleet</a>{' '}
          <button type="button" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </p>
      </section>
    );
  }
}
