export type BoardSort = 'attention' | 'name' | 'progress' | 'driver';

const options: ReadonlyArray<[BoardSort, string]> = [
  ['attention', 'Needs attention'],
  ['name', 'Name'],
  ['progress', 'Least done first'],
  ['driver', 'Driver'],
];

/** How the routes are ordered; by default those needing most attention come first. */
export function SortSelect({ value, onChange }: { value: BoardSort; onChange: (sort: BoardSort) => void }) {
  return (
    <label className="board-sort">
      <span>Sort</span>
      <select value={value} onChange={(e) => onChange(e.target.value as BoardSort)} data-testid="board-sort" aria-label="Sort routes by">
        {options.map(([key, label]) => <option key={key} value={key}>{label}</option>)}
      </select>
    </label>
  );
}
