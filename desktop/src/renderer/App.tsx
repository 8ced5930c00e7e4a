import { useEffect, useState } from 'react';
import type { ConsoleState } from '@depotline/shared';
import { call, useBridgeEvent } from './bridge';
import { Console } from './console/Console';
import { AwaitingApproval } from './screens/AwaitingApproval';
import { AwaitingSecurityKey } from './screens/AwaitingSecurityKey';
import { EnrollMfa } from './screens/EnrollMfa';
import { Locked } from './screens/Locked';
import { NewPassword } from './screens/NewPassword';
import { ProblemScreen } from './screens/ProblemScreen';
import { SignIn } from './screens/SignIn';
import { Wiped } from './screens/Wiped';

/**
 * Draws the screen main says the console is on. Nothing is kept between screens: when the
 * console locks or the session ends, the Console component unmounts and its data goes with it.
 */
export function App() {
  const [state, setState] = useState<ConsoleState>({ screen: 'starting' });
  useEffect(() => {
    call('getState').then(setState, () => undefined);
  }, []);
  useBridgeEvent('state', setState);

  switch (state.screen) {
    case 'starting':
      return <div className="splash" aria-busy="true">Depotline</div>;
    case 'sign_in':
      return <SignIn state={state} onState={setState} />;
    case 'enroll_mfa':
      return <EnrollMfa state={state} onState={setState} />;
    case 'awaiting_approval':
      return <AwaitingApproval state={state} onState={setState} />;
    case 'awaiting_security_key':
      return <AwaitingSecurityKey state={state} onState={setState} />;
    case 'password_change_required':
      return <NewPassword state={state} onState={setState} />;
    case 'console':
      return <Console state={state} onState={setState} />;
    case 'locked':
      return <Locked state={state} onState={setState} />;
    case 'wiped':
      return <Wiped state={state} onState={setState} />;
    case 'error':
      return <ProblemScreen state={state} onState={setState} />;
  }
}
