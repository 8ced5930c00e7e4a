import { useState, type FormEvent } from 'react';
import type { BridgeValue } from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime } from '../format';
import { emptyProof, ProofFields, proofArgs, type Proof } from './ProofFields';
import { useAction } from './use-action';

/**
 * How many recovery codes are left, and a new set: shown here once, in React state only, gone
 * when the user says they have it (or leaves the screen). The server cannot show them again.
 */
export function RecoveryCodes({ status, onChanged }: { status: { remaining: number; createdAt: number | null }; onChanged: () => void }) {
  const action = useAction();
  const [asking, setAsking] = useState(false);
  const [proof, setProof] = useState<Proof>(emptyProof);
  const [fresh, setFresh] = useState<BridgeValue<'regenerateRecoveryCodes'> | null>(null);

  function generate(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      setFresh(await call('regenerateRecoveryCodes', proofArgs(proof)));
      setAsking(false);
      setProof(emptyProof);
    });
  }

  if (fresh) {
    return (
      <div data-testid="recovery-codes-new">
        <p><strong>Your new recovery codes.</strong> Write them down or print them and keep them somewhere safe. They are shown only now; each works once, instead of your authenticator code. The old codes no longer work.</p>
        <ol className="codes" data-testid="recovery-code-list">
          {fresh.codes.map((c) => <li key={c} className="mono">{c}</li>)}
        </ol>
        <div className="actions">
          <button type="button" className="primary" onClick={() => { setFresh(null); onChanged(); }} data-testid="recovery-codes-done">I have saved them</button>
        </div>
      </div>
    );
  }
  return (
    <div>
      <p data-testid="recovery-codes-remaining">
        {status.createdAt === null ? 'You have no recovery codes.' : `${status.remaining} of 10 unused, made ${localDateTime(status.createdAt)}.`}
      </p>
      {!asking ? (
        <button type="button" onClick={() => setAsking(true)} data-testid="recovery-codes-new-set">{status.createdAt === null ? 'Make recovery codes' : 'Make a new set'}</button>
      ) : (
        <form className="form" onSubmit={generate}>
          <ProofFields proof={proof} onChange={setProof} />
          {action.error && <p className="form-error" role="alert">{action.error}</p>}
          <div className="actions">
            <button type="button" onClick={() => { setAsking(false); setProof(emptyProof); action.clear(); }}>Cancel</button>
            <button type="submit" className="primary" disabled={action.busy}>Make new codes</button>
          </div>
        </form>
      )}
    </div>
  );
}
