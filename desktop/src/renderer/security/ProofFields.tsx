/** The password and authenticator code that adding or removing a sign-in factor asks for again. */
export interface Proof {
  password: string;
  code: string;
}

export const emptyProof: Proof = { password: '', code: '' };

export const proofArgs = (p: Proof) => ({ password: p.password, ...(p.code ? { totp: p.code } : {}) });

export function ProofFields({ proof, onChange }: { proof: Proof; onChange: (p: Proof) => void }) {
  return (
    <>
      <label>
        Your password
        <input type="password" autoComplete="current-password" required value={proof.password} onChange={(e) => onChange({ ...proof, password: e.target.value })} />
      </label>
      <label>
        Authenticator code <span className="hint">if your account has one</span>
        <input inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} placeholder="6 digits" value={proof.code}
          onChange={(e) => onChange({ ...proof, code: e.target.value.replace(/\D/g, '') })} />
      </label>
    </>
  );
}
