import type { ScreenProps } from '../screen-props';
import { call } from '../bridge';
import { Card } from './Card';

const why = {
  revoked: 'An administrator ended your session on this computer.',
  refresh_reused: 'Your sign-in was used from two places at once, so the server ended it to be safe.',
  user_disabled: 'Your account was disabled.',
  expired: 'Your session ended.',
} as const;

export function Wiped({ state }: ScreenProps<'wiped'>) {
  return (
    <Card title="This computer was signed out and wiped" tone="danger" testId="screen-wiped">
      <p>{why[state.reason]}</p>
      <p>
        For safety, Depotline deleted this computer’s copy of the depot data and the key that protected it. Edits that had not
        reached the server yet are gone.
      </p>
      {!state.complete && (
        <p className="form-error" role="alert">
          Some files could not be deleted. They cannot be read without the deleted key, but tell your IT team.
        </p>
      )}
      <div className="actions">
        <button type="button" className="primary" onClick={() => void call('backToSignIn')}>Sign in again</button>
      </div>
    </Card>
  );
}
