import { useState, type FormEvent } from 'react';
import type { SecurityKeyView } from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime } from '../format';
import { emptyProof, ProofFields, proofArgs, type Proof } from './ProofFields';
import { useAction } from './use-action';

/**
 * The account's security keys. A new key is made on the server's own page in the browser
 * (where WebAuthn runs for the server's address); this console only opens that page.
 */
export function SecurityKeys({ keys, canRegister, onChanged }: { keys: SecurityKeyView[]; canRegister: boolean; onChanged: () => void }) {
  const [adding, setAdding] = useState(false);
  return (
    <div>
      {keys.length === 0 ? <p className="muted">No security keys.</p> : (
        <ul className="key-list">{keys.map((k) => <KeyRow key={k.id} k={k} onChanged={onChanged} />)}</ul>
      )}
      {canRegister && (adding ? <AddKey onDone={() => { setAdding(false); onChanged(); }} /> : (
        <button type="button" onClick={() => setAdding(true)}>Add a security key</button>
      ))}
    </div>
  );
}

function KeyRow({ k, onChanged }: { k: SecurityKeyView; onChanged: () => void }) {
  const action = useAction();
  const [mode, setMode] = useState<'view' | 'rename' | 'remove'>('view');
  const [name, setName] = useState(k.name);
  const [proof, setProof] = useState<Proof>(emptyProof);
  const finish = (ok: boolean) => {
    if (!ok) return;
    setMode('view');
    setProof(emptyProof);
    onChanged();
  };
  const rename = (e: FormEvent) => {
    e.preventDefault();
    void action.run(() => call('renameSecurityKey', { id: k.id, name })).then(finish);
  };
  const remove = (e: FormEvent) => {
    e.preventDefault();
    void action.run(() => call('removeSecurityKey', { id: k.id, ...proofArgs(proof) })).then(finish);
  };
  return (
    <li className="key-row" data-testid="security-key">
      <div className="key-line">
        <div>
          <strong>{k.name}</strong>{k.backedUp && <span className="tag">Passkey</span>}
          <div className="muted">Added {localDateTime(k.createdAt)} · {k.lastUsedAt ? `last used ${localDateTime(k.lastUsedAt)}` : 'never used'}</div>
        </div>
        {mode === 'view' && (
          <div className="row-actions">
            <button type="button" onClick={() => setMode('rename')}>Rename</button>
            <button type="button" onClick={() => setMode('remove')}>Remove</button>
          </div>
        )}
      </div>
      {mode === 'rename' && (
        <form className="inline-form" onSubmit={rename}>
          <input aria-label="Key name" value={name} maxLength={100} required onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="primary" disabled={action.busy}>Save</button>
          <button type="button" onClick={() => setMode('view')}>Cancel</button>
        </form>
      )}
      {mode === 'remove' && (
        <form className="form" onSubmit={remove}>
          <ProofFields proof={proof} onChange={setProof} />
          <div className="actions">
            <button type="button" onClick={() => setMode('view')}>Cancel</button>
            <button type="submit" className="danger" disabled={action.busy}>Remove key</button>
          </div>
        </form>
      )}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </li>
  );
}

function AddKey({ onDone }: { onDone: () => void }) {
  const action = useAction();
  const [name, setName] = useState('');
  const [proof, setProof] = useState<Proof>(emptyProof);
  const [opened, setOpened] = useState(false);
  const start = (e: FormEvent) => {
    e.preventDefault();
    void action.run(() => call('registerSecurityKey', { name, ...proofArgs(proof) })).then((ok) => ok && setOpened(true));
  };
  if (opened) {
    return (
      <div className="notice" role="status">
        <p>Your browser opened the server’s security key page. Follow it there, then come back.</p>
        <button type="button" className="primary" onClick={onDone}>Done</button>
      </div>
    );
  }
  return (
    <form className="form" onSubmit={start}>
      <label>
        Name for the key
        <input required maxLength={100} value={name} placeholder="e.g. Blue key on my keyring" onChange={(e) => setName(e.target.value)} />
      </label>
      <ProofFields proof={proof} onChange={setProof} />
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onDone}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy}>Open the key page</button>
      </div>
    </form>
  );
}
