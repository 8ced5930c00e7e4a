import { useEffect, useRef } from 'react';
import { shortcutList } from './shortcuts';
import './planning.css';

/** The help overlay (`?`): every shortcut the console answers, from the one list it answers from. */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={dialog} className="plan-dialog" aria-labelledby="shortcuts-title" data-testid="shortcuts-help" onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table className="shortcut-table">
        <tbody>
          {shortcutList.map((s) => (
            <tr key={s.keys}>
              <td><kbd>{s.keys}</kbd></td>
              <td>{s.action}</td>
              <td className="muted">{s.scope}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Stops can also be dragged by their handle (⠿) to a new place on the route.</p>
      <div className="actions">
        <button type="button" className="primary" onClick={onClose} autoFocus>Close</button>
      </div>
    </dialog>
  );
}
