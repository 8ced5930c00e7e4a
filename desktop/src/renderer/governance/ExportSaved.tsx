/** Where an export went, in words. */
export function ExportSaved({ path, rows }: { path: string; rows: number | null }) {
  return (
    <p className="notice" role="status" data-testid="export-saved">
      Saved{rows !== null ? ` ${rows} row${rows === 1 ? '' : 's'}` : ''} to <span className="mono">{path}</span>.
    </p>
  );
}
