import type { ReactNode } from 'react';

/** The centred card of the screens before (and instead of) the console. */
export function Card({ title, children, tone, testId }: { title: string; children: ReactNode; tone?: 'danger' | 'warning'; testId: string }) {
  return (
    <main className="card-screen" data-testid={testId}>
      <div className={`card ${tone ? `card-${tone}` : ''}`}>
        <div className="brand"><span className="brand-mark" aria-hidden="true" />Depotline</div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
