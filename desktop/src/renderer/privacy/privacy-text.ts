import type { ConsentPurpose, ConsentSource, ConsolePrivacyStep, LocationRetentionClass, PrivacyCloseReason, PrivacyLaw, PrivacyRequestKind, RetentionClass } from '@depotline/shared';

/* The Privacy screen's words for the contract's names. */

export const kindLabel: Readonly<Record<PrivacyRequestKind, string>> = {
  access: 'Access (a copy of their data)',
  erasure: 'Erasure',
  rectification: 'Rectification (correct their details)',
  consent: 'Consent',
  objection: 'Objection',
};

export const lawLabel: Readonly<Record<PrivacyLaw, string>> = { gdpr: 'GDPR (one month)', ccpa: 'CCPA (45 days)' };

export const closeReasonLabel: Readonly<Record<PrivacyCloseReason, string>> = {
  completed: 'Answered',
  refused: 'Refused (an exception applies)',
  withdrawn: 'Withdrawn by the requester',
  identityNotVerified: 'Identity not verified',
  duplicate: 'Duplicate of another request',
};

export const stepLabel: Readonly<Record<ConsolePrivacyStep['action'], string>> = {
  received: 'Registered',
  accessExport: 'Access export made',
  erase: 'Erased',
  rectify: 'Corrected',
  close: 'Closed',
};

export const purposeLabel: Readonly<Record<ConsentPurpose, string>> = {
  deliveryNotifications: 'Delivery notifications',
  trackingSms: 'Tracking link by SMS',
  trackingEmail: 'Tracking link by email',
};

export const sourceLabel: Readonly<Record<ConsentSource, string>> = {
  web: 'Web form', phone: 'Phone call', email: 'Email', inPerson: 'In person', paper: 'Paper form', integration: 'Through an integration',
};

export const classLabel: Readonly<Record<RetentionClass, string>> = {
  contact: 'Customer contact details',
  delivery: 'Delivery records',
  proof: 'Proof-of-delivery files',
  trackingLink: 'Tracking links',
  positionHistory: 'Driver location history',
  integrationLog: 'Integration logs',
  session: 'Ended sessions',
  audit: 'Audit log',
};

export const classEffect: Readonly<Record<LocationRetentionClass, string>> = {
  contact: 'then the stop is pseudonymised: it keeps its status and times, loses the customer',
  delivery: 'then the stop is deleted',
  proof: 'then the file\u2019s key is destroyed',
  trackingLink: 'after the link expires; then it is deleted',
  positionHistory: 'then the positions are deleted',
};

const day = 86_400_000;

/** "due in 3 days", "due today", "overdue by 2 days". */
export function dueText(dueAt: number, now: number): string {
  const days = Math.floor((dueAt - now) / day);
  if (dueAt < now) {
    const late = Math.max(1, Math.ceil((now - dueAt) / day));
    return `overdue by ${late} ${late === 1 ? 'day' : 'days'}`;
  }
  return days === 0 ? 'due today' : `due in ${days} ${days === 1 ? 'day' : 'days'}`;
}

export const daysText = (n: number) => (n % 365 === 0 && n >= 365 ? `${n / 365} ${n === 365 ? 'year' : 'years'}` : `${n} ${n === 1 ? 'day' : 'days'}`);
