import type { Page } from 'playwright-core';

export interface Credentials {
  username: string;
  password: string;
  code?: string;
}

/** Fills the sign-in form and submits it. */
export async function submitSignIn(page: Page, c: Credentials): Promise<void> {
  const form = page.getByTestId('screen-sign-in');
  await form.getByLabel('Username').fill(c.username);
  await form.getByLabel('Password').fill(c.password);
  if (c.code) await form.getByLabel(/Authenticator code/).fill(c.code);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

export async function signIn(page: Page, c: Credentials): Promise<void> {
  await submitSignIn(page, c);
  await page.getByTestId('screen-console').waitFor();
}

/** Waits until the board shows routes (the first sync has landed). */
export async function waitForBoard(page: Page): Promise<void> {
  await page.getByTestId('route-row').first().waitFor();
  await page.getByTestId('stop-row').first().waitFor();
}

export const stopRow = (page: Page, stopId: string) => page.locator(`[data-testid="stop-row"][data-stop-id="${stopId}"]`);

