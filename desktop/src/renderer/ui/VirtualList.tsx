import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A fixed-row-height virtual list: only the rows in view (plus a few) exist in the DOM, so a
 * board of 20,000 stops scrolls like one of 20. Positions are set through the CSSOM (React's
 * style prop), which the CSP's `style-src 'self'` allows; no inline style attributes.
 */
export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  rowKey: (item: T) => string;
  renderRow: (item: T, index: number) => ReactNode;
  className?: string;
  overscan?: number;
  /** Keeps this row in view when it changes (keyboard selection). */
  scrollToIndex?: number | null;
  label: string;
  testId?: string;
}) {
  const { items, rowHeight, overscan = 8 } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = viewport.current;
    const index = props.scrollToIndex;
    if (!el || index === null || index === undefined || index < 0) return;
    const top = index * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [props.scrollToIndex, rowHeight]);

  const onScroll = useCallback(() => {
    if (viewport.current) setScrollTop(viewport.current.scrollTop);
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const item = items[i] as T;
    rows.push(
      <div key={props.rowKey(item)} className="vrow" role="listitem" style={{ transform: `translateY(${i * rowHeight}px)`, height: rowHeight }}>
        {props.renderRow(item, i)}
      </div>,
    );
  }

  return (
    <div ref={viewport} className={`vlist ${props.className ?? ''}`} onScroll={onScroll} role="list" aria-label={props.label} data-testid={props.testId}>
      <div className="vlist-spacer" style={{ height: items.length * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
