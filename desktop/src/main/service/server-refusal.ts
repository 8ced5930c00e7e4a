import { ServerRequestError } from '../../core';
import { ConsoleError } from './console-error';

/** A screen's own words for some of the server's refusal codes: the console's code and the message. */
export type RefusalWords = Readonly<Partial<Record<string, readonly [ConsoleError['code'], string]>>>;

/**
 * A server refusal in a screen's words: a code it names gets them; `bad_request` and `conflict`
 * keep the server's own words where they name the rule (the server never puts a secret or a
 * customer's details in them); anything else is returned as it was, for the console's common
 * translation (console-error.ts).
 */
export function refusalIn(words: RefusalWords, err: unknown): unknown {
  if (!(err instanceof ServerRequestError)) return err;
  const own = words[err.code];
  if (own) return new ConsoleError(own[0], own[1]);
  if (err.code === 'bad_request' || err.code === 'conflict') return new ConsoleError('bad_request', `The server refused it: ${err.message.slice(0, 500)}`);
  return err;
}

/** Awaits a server call, turning its refusal into the screen's words (`refusalIn`). */
export function translatorFor(words: RefusalWords): <T>(request: Promise<T>) => Promise<T> {
  return async <T>(request: Promise<T>): Promise<T> => {
    try {
      return await request;
    } catch (err) {
      throw refusalIn(words, err);
    }
  };
}
