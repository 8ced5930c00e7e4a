import { useState } from 'react';
import type { ConsoleProblem } from '@depotline/shared';
import type { ScreenProps } from '../screen-props';
import { call, messageOf } from '../bridge';
import { Card } from './Card';

const titles: Readonly<Record<ConsoleProblem, string>> = {
  keychain_unavailable: 'The system keychain is not available',
  database_unavailable: 'The local database cannot be opened',
  server_unreachable: 'Cannot reach the Depotline server',
  profile_mismatch: 'This computer’s data belongs to someone else',
  insecure_server: 'The server address is not safe to use',
  offline_locked: 'The data on this computer is locked',
};

const explanations: Readonly<Record<ConsoleProblem, string>> = {
  keychain_unavailable: 'Depotline keeps depot data only in an encrypted database whose key lives in the system keychain. ' +
    'Without the keychain it does not open or create that database — it never falls back to storing data unprotected.',
  database_unavailable: 'The depot data on this computer could not be opened. Nothing was changed or deleted.',
  server_unreachable: 'Signing in for the first time on this computer needs the server. After that, Depotline works offline.',
  profile_mismatch: 'Depotline never mixes one user’s data with another’s.',
  insecure_server: 'Depotline only talks to a server over https:// (plain http:// is allowed only on this computer).',
  offline_locked: 'Your IT department limits how long Depotline may go without reaching its server. Nothing was deleted: ' +
    'connect to the network and sign in, and the data opens again.',
};

export function ProblemScreen({ state }: ScreenProps<'error'>) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function startOver() {
    try {
      await call('startOver');
    } catch (err) {
      setError(messageOf(err));
    }
  }

  return (
    <Card title={titles[state.problem]} tone="warning" testId={`screen-error-${state.problem}`}>
      <p>{explanations[state.problem]}</p>
      <details className="detail-box" open>
        <summary>Details</summary>
        <p data-testid="problem-message">{state.message}</p>
      </details>
      {error && <p className="form-error" role="alert">{error}</p>}
      {confirming ? (
        <div className="confirm" role="alertdialog" aria-label="Start over on this computer">
          <p>
            Depotline will set the unreadable file aside (it is kept, not deleted), create a new encrypted database and download
            the depot data again. Edits that had not reached the server are lost.
          </p>
          <div className="actions">
            <button type="button" onClick={() => setConfirming(false)}>Keep things as they are</button>
            <button type="button" className="danger" onClick={() => void startOver()}>Start over</button>
          </div>
        </div>
      ) : (
        <div className="actions">
          {state.canStartOver && <button type="button" onClick={() => setConfirming(true)}>Start over on this computer…</button>}
          <button type="button" className="primary" onClick={() => void call('backToSignIn')}>
            {state.problem === 'insecure_server' ? 'Back' : 'Try again'}
          </button>
        </div>
      )}
    </Card>
  );
}
