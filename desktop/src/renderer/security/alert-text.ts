import type { AlertView, SecurityAlertKind } from '@depotline/shared';

const alertTitle: Readonly<Record<SecurityAlertKind, string>> = {
  new_device: 'Signed in on a new computer',
  new_network: 'Signed in from a new network',
  success_after_failures: 'Signed in after many failed attempts',
  distant_concurrent_session: 'Signed in from another network while already signed in',
  factor_added: 'A sign-in factor was added',
  factor_removed: 'A sign-in factor was removed',
  password_changed: 'Your password was changed',
  password_reset: 'An administrator reset your password',
  recovery_code_used: 'A recovery code was used',
  cloned_authenticator: 'A security key may have been copied',
  value_withheld: 'Your authenticator could not be verified on the server and was refused',
  record_withheld: 'A stop\u2019s customer data could not be verified and is withheld (altered in the database?)',
  webhook_paused: 'An integration\u2019s webhook receiver failed for a day: its deliveries are paused',
  integration_activity: 'Unusual activity of an integration\u2019s credential',
  pod_suspicious: 'A proof of delivery was recorded far from its stop',
};

/** One line for people: what happened, and what is left where that matters. */
export function alertText(alert: AlertView): string {
  const title = alertTitle[alert.kind];
  if (alert.kind === 'recovery_code_used' && alert.remainingCodes !== null) return `${title} (${alert.remainingCodes} left)`;
  return title;
}

/** What to do when it was not you. */
export const notYouText = 'If this was not you, change your password and remove sessions and devices you do not know.';

/** The same, as a depot's admin reads it of one of its users. */
const userAlertTitle: Readonly<Record<SecurityAlertKind, string>> = {
  ...alertTitle,
  password_changed: 'Changed their password',
  password_reset: 'Password reset by an administrator',
  value_withheld: 'Their stored authenticator could not be verified (altered in the database?)',
};

export function userAlertText(alert: Pick<AlertView, 'kind' | 'remainingCodes'>): string {
  const title = userAlertTitle[alert.kind];
  if (alert.kind === 'recovery_code_used' && alert.remainingCodes !== null) return `${title} (${alert.remainingCodes} left)`;
  return title;
}
