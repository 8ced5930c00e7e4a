import { useEffect, useRef } from 'react';

/**
 * The console's keyboard shortcuts, in one list: the help overlay (`?`) shows exactly this list,
 * and `useShortcuts` answers exactly these keys. Single keys are ignored while the user types in
 * a field; the reorder keys act on the stop that has the focus.
 */
export const shortcutList = [
  { keys: '?', action: 'Show or hide this help', scope: 'anywhere' },
  { keys: 'N', action: 'New stop on the open route', scope: 'Plan' },
  { keys: 'R', action: 'New route on the chosen day', scope: 'Plan' },
  { keys: 'E', action: 'Edit the selected stop', scope: 'Plan' },
  { keys: 'F', action: 'Mark the selected stop failed (asks for a reason)', scope: 'Plan' },
  { keys: 'J / K', action: 'Next / previous stop', scope: 'Plan' },
  { keys: 'X', action: 'Select or unselect the focused stop', scope: 'Plan' },
  { keys: 'Alt+↑ / Alt+↓', action: 'Move the focused stop up / down the route', scope: 'Plan' },
  { keys: 'Esc', action: 'Close the editor or dialog', scope: 'anywhere' },
] as const;

export type ShortcutKey = 'help' | 'newStop' | 'newRoute' | 'editStop' | 'failStop' | 'next' | 'previous' | 'toggleSelect' | 'close';

const singleKeys: Readonly<Record<string, ShortcutKey>> = {
  '?': 'help', n: 'newStop', r: 'newRoute', e: 'editStop', f: 'failStop', j: 'next', k: 'previous', x: 'toggleSelect',
};

/** Whether the key press is the user typing (a field, a select, an editable element): no single-key shortcut then. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit'].includes(type);
}

export function shortcutOf(event: KeyboardEvent): ShortcutKey | null {
  if (event.key === 'Escape') return 'close';
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return null;
  return singleKeys[event.key.length === 1 ? event.key.toLowerCase() : ''] ?? (event.key === '?' ? 'help' : null);
}

/** Calls `handle` for each shortcut pressed while the component is shown; `handle` returns false to let the key through. */
export function useShortcuts(handle: (key: ShortcutKey, event: KeyboardEvent) => unknown): void {
  const latest = useRef(handle);
  latest.current = handle;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return;
      const key = shortcutOf(event);
      if (key && latest.current(key, event) !== false) event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
