import { type ApprovalRequest, ApprovalStatus } from '@depotline/shared';
import type { Decider } from '../../approvals/authority';
import { decideApproval } from '../../approvals/decide';
import { getApproval, listApprovals } from '../../approvals/requests';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, optionalString, requiredString } from '../command';

/**
 * Approvals at the server host's command line. The operator there already holds the database
 * and the keys, so they are a trusted second person: they may decide any pending request (never
 * their own: they ask for none), audited as `cli:<OS user>` (docs/security-model.md).
 */
const operator = (): Decider => ({ kind: 'operator', actor: operatorActor() });

const idOption = { type: 'string', value: '<request id>', description: 'From approval list', required: true } as const;
const noteOption = { type: 'string', value: '<text>', description: 'A note for the requester and the audit log' } as const;

const line = (a: ApprovalRequest) =>
  `${a.id}\t${a.status}\t${a.kind}\tasked by ${a.requestedBy.label} at ${isoTime(a.requestedAt)}\texpires ${isoTime(a.expiresAt)}\t${a.summary}`;

function describeApproval(a: ApprovalRequest): string {
  return [
    `Request ${a.id} (${a.title}): ${a.status}`,
    `What it does: ${a.summary}`,
    `Why: ${a.reason}`,
    `Asked by ${a.requestedBy.label} at ${isoTime(a.requestedAt)}; expires ${isoTime(a.expiresAt)}`,
    `Locations: ${a.locationIds.join(', ') || '(none)'}`,
    `Hands out: ${a.handsOut.join(', ') || '(nothing)'}`,
    `Change: ${JSON.stringify(a.change)}`,
    ...(a.decidedBy ? [`Decided by ${a.decidedBy.label} at ${isoTime(a.decidedAt)}${a.decisionNote ? `: ${a.decisionNote}` : ''}`] : []),
    ...(a.staleReason ? [`Stale: ${a.staleReason}`] : []),
  ].join('\n');
}

const approvalList: CliCommand = {
  group: 'approval',
  name: 'list',
  summary: 'List requests for sensitive changes (default: pending ones)',
  options: {
    status: { type: 'string', value: '<status>', description: `One of ${ApprovalStatus.options.join(', ')}, or all (default pending)` },
  },
  prepare(values) {
    const status = optionalString(values, 'status') ?? 'pending';
    if (status !== 'all' && !ApprovalStatus.safeParse(status).success) throw badRequest([`--status: use one of ${ApprovalStatus.options.join(', ')} or all`]);
    return async (ctx) => {
      const approvals = await listApprovals(ctx, operator(), status === 'all' ? { limit: 500 } : { status: ApprovalStatus.parse(status), limit: 500 });
      return { json: { approvals }, text: approvals.length === 0 ? `No ${status === 'all' ? '' : `${status} `}requests.` : approvals.map(line).join('\n') };
    };
  },
};

const approvalShow: CliCommand = {
  group: 'approval',
  name: 'show',
  summary: 'Show one request: exactly what it changes, who asked and why',
  options: { id: idOption },
  prepare(values) {
    const id = requiredString(values, 'id').trim();
    return async (ctx) => {
      const approval = await getApproval(ctx, operator(), id);
      return { json: { approval }, text: describeApproval(approval) };
    };
  },
};

function decision(name: 'approve' | 'deny'): CliCommand {
  return {
    group: 'approval',
    name,
    summary: name === 'approve'
      ? 'Approve a pending request as the operator: the change is checked again and applied at once'
      : 'Deny a pending request as the operator; nothing changes',
    options: { id: idOption, note: noteOption },
    notes: [
      `Example: depotline-admin approval ${name} --id <request id> --note "checked with the depot manager"`,
      'Read the request first with depotline-admin approval show. Audited as the OS account that runs the command.',
    ],
    prepare(values) {
      const id = requiredString(values, 'id').trim();
      const note = optionalString(values, 'note')?.trim().slice(0, 1000);
      return async (ctx) => {
        const approval = await decideApproval(ctx, operator(), id, { approve: name === 'approve', ...(note ? { note } : {}) });
        return { json: { approval }, text: `${name === 'approve' ? 'Approved and applied' : 'Denied'}: ${approval.summary}` };
      };
    },
  };
}

export const approvalCommands = [approvalList, approvalShow, decision('approve'), decision('deny')];
