import type { ConsoleState } from '@depotline/shared';

/**
 * What App hands each screen: the state of that screen only, and the setter for the next one.
 * Its own module so the screens need not import App, which imports them.
 */
export type ScreenProps<S extends ConsoleState['screen']> = {
  state: Extract<ConsoleState, { screen: S }>;
  onState: (state: ConsoleState) => void;
};
