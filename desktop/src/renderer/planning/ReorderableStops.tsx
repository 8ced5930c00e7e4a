import { useEffect, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import type { PlanStopView } from '@depotline/shared';
import { windowText } from '../format';
import { StatusBadge } from '../ui/StatusBadge';

/** Moves `id` by `delta` places in `ids`; the same list when it cannot move. */
export function moved(ids: readonly string[], id: string, delta: number): string[] {
  const from = ids.indexOf(id);
  const to = from + delta;
  if (from < 0 || to < 0 || to >= ids.length) return [...ids];
  return placed(ids, id, to);
}

/** `ids` with `id` taken out and put at index `to` of what remains. */
export function placed(ids: readonly string[], id: string, to: number): string[] {
  const rest = ids.filter((x) => x !== id);
  rest.splice(Math.max(0, Math.min(to, rest.length)), 0, id);
  return rest;
}

/**
 * A route's stops in delivery order. With `onReorder`, a stop moves with Alt+↑/↓ while it has the
 * focus, or by dragging its handle (HTML5 drag and drop, within this list); the new order is
 * handed up once per move, and the focus stays on the stop that moved. Checkboxes select stops
 * for the bulk actions.
 */
export function ReorderableStops({ stops, timeZone, selected, current, onToggle, onOpen, onReorder }: {
  stops: readonly PlanStopView[];
  timeZone: string;
  selected: ReadonlySet<string>;
  /** The stop the editor shows. */
  current: string | null;
  onToggle: (stopId: string) => void;
  onOpen: (stopId: string) => void;
  onReorder: ((stopIds: string[]) => void) | null;
}) {
  const ids = stops.map((s) => s.id);
  const list = useRef<HTMLOListElement>(null);
  const [dragging, setDragging] = useState<string | null>(null);
  const [dropAt, setDropAt] = useState<number | null>(null);
  const refocus = useRef<string | null>(null);

  useEffect(() => {
    const id = refocus.current;
    if (!id) return;
    const row = list.current?.querySelector<HTMLElement>(`[data-stop-id="${CSS.escape(id)}"] .plan-stop-open`);
    if (row) {
      row.focus();
      refocus.current = null;
    }
  });

  function onKey(event: KeyboardEvent, id: string) {
    if (!onReorder || !event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
    event.preventDefault();
    const next = moved(ids, id, event.key === 'ArrowUp' ? -1 : 1);
    if (next.join() === ids.join()) return;
    refocus.current = id;
    onReorder(next);
  }

  function onDragOver(event: DragEvent, index: number) {
    if (!dragging) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    const box = event.currentTarget.getBoundingClientRect();
    setDropAt(event.clientY < box.top + box.height / 2 ? index : index + 1);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    const id = dragging;
    const at = dropAt;
    setDragging(null);
    setDropAt(null);
    if (!id || at === null || !onReorder) return;
    // `at` counts the dragged stop itself when it was above the drop point.
    const from = ids.indexOf(id);
    const next = placed(ids, id, at > from ? at - 1 : at);
    if (next.join() !== ids.join()) onReorder(next);
  }

  if (stops.length === 0) return <p className="empty-state" data-testid="plan-no-stops">No stops on this route yet.</p>;
  return (
    <ol ref={list} className="plan-stops" aria-label="Stops in delivery order" data-testid="plan-stops" onDragLeave={(e) => { if (e.currentTarget === e.target) setDropAt(null); }}>
      {stops.map((s, index) => (
        <li
          key={s.id}
          className={[
            'plan-stop', s.id === current ? 'current' : '', selected.has(s.id) ? 'selected' : '', dragging === s.id ? 'dragging' : '',
            dropAt === index ? 'drop-before' : '', dropAt === index + 1 && index === stops.length - 1 ? 'drop-after' : '',
          ].join(' ')}
          data-testid="plan-stop" data-stop-id={s.id} data-status={s.status}
          onDragOver={(e) => onDragOver(e, index)} onDrop={onDrop}
        >
          {onReorder && (
            <span
              className="drag-handle" draggable aria-hidden="true" title="Drag to reorder" data-testid="drag-handle"
              onDragStart={(e) => { e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', s.id); setDragging(s.id); }}
              onDragEnd={() => { setDragging(null); setDropAt(null); }}
            >⠿</span>
          )}
          <input type="checkbox" checked={selected.has(s.id)} onChange={() => onToggle(s.id)} aria-label={`Select stop ${index + 1}`} data-testid="plan-stop-select" />
          <button
            type="button" className="plan-stop-open" onClick={() => onOpen(s.id)} onKeyDown={(e) => onKey(e, s.id)}
            aria-keyshortcuts={onReorder ? 'Alt+ArrowUp Alt+ArrowDown' : undefined}
            aria-description={onReorder ? 'Alt+Up or Alt+Down moves this stop' : undefined}
          >
            <span className="plan-seq">{index + 1}</span>
            <span className="plan-customer">{s.customerName ?? <span className="muted">customer hidden</span>}</span>
            <span className="plan-address muted">{s.address ?? ''}</span>
            <span className="plan-ref mono">{s.orderRef ?? ''}</span>
            <span className="plan-window">{windowText(s.window, timeZone)}</span>
            <StatusBadge status={s.status} />
            {s.pending && <span className="pending-dot" title="Waiting to sync">•</span>}
          </button>
        </li>
      ))}
    </ol>
  );
}
