/**
 * The bytes of an order file as text. Pure (shared runs where there is no TextDecoder type):
 * UTF-8 with or without a byte-order mark is read as is; UTF-16 with its byte-order mark (what
 * spreadsheet programs write as "Unicode text") is converted; anything else is refused with a
 * message that says what the file looks like and how to save it, because guessing a legacy
 * code page silently turns "Müller" into "MÃ¼ller" in a customer's address.
 */

export type DecodedText =
  | { ok: true; text: string; encoding: 'utf-8' | 'utf-16le' | 'utf-16be' }
  | { ok: false; message: string };

const saveAsUtf8 = 'Save it as "CSV UTF-8" (in Excel: File, Save As, "CSV UTF-8 (Comma delimited)") and choose it again.';

export function decodeOrderFileText(bytes: Uint8Array): DecodedText {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return utf16(bytes, 2, true);
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return utf16(bytes, 2, false);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const decoded = decodeUtf8(bytes, bom);
  if (decoded.ok) {
    if (decoded.text.includes('\u0000')) {
      return { ok: false, message: `The file contains NUL characters: it looks like UTF-16 without a byte-order mark, or not a text file. ${saveAsUtf8}` };
    }
    return { ok: true, text: decoded.text, encoding: 'utf-8' };
  }
  if (looksLikeWindows1252(bytes)) {
    return {
      ok: false,
      message: `The file is not UTF-8: byte ${decoded.at + 1} looks like a Windows-1252 (Western European) character, `
        + `which would be read wrongly. ${saveAsUtf8}`,
    };
  }
  return { ok: false, message: `The file is not UTF-8 text (byte ${decoded.at + 1} is not valid UTF-8); it may not be a CSV file at all. ${saveAsUtf8}` };
}

function utf16(bytes: Uint8Array, start: number, littleEndian: boolean): DecodedText {
  if ((bytes.length - start) % 2 !== 0) return { ok: false, message: 'The file says it is UTF-16 but ends half-way through a character: it is damaged.' };
  const parts: string[] = [];
  let units: number[] = [];
  for (let i = start; i < bytes.length; i += 2) {
    units.push(littleEndian ? bytes[i]! | (bytes[i + 1]! << 8) : (bytes[i]! << 8) | bytes[i + 1]!);
    if (units.length === 4096) {
      parts.push(String.fromCharCode(...units));
      units = [];
    }
  }
  parts.push(String.fromCharCode(...units));
  return { ok: true, text: parts.join(''), encoding: littleEndian ? 'utf-16le' : 'utf-16be' };
}

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
function decodeUtf8(bytes: Uint8Array, start: number): { ok: true; text: string } | { ok: false; at: number } {
  const parts: string[] = [];
  let units: number[] = [];
  const flush = () => {
    parts.push(String.fromCharCode(...units));
    units = [];
  };
  let i = start;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      units.push(b);
      i += 1;
    } else {
      const need = b >= 0xf0 && b <= 0xf4 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b <= 0xdf ? 1 : -1;
      if (need < 0 || i + need >= bytes.length) return { ok: false, at: i };
      let cp = need === 1 ? b & 0x1f : need === 2 ? b & 0x0f : b & 0x07;
      for (let k = 1; k <= need; k++) {
        const c = bytes[i + k]!;
        if ((c & 0xc0) !== 0x80) return { ok: false, at: i };
        cp = (cp << 6) | (c & 0x3f);
      }
      const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { ok: false, at: i };
      if (cp >= 0x10000) {
        const v = cp - 0x10000;
        units.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
      } else {
        units.push(cp);
      }
      i += need + 1;
    }
    if (units.length >= 4096) flush();
  }
  flush();
  return { ok: true, text: parts.join('') };
}

/**
 * Bytes a Windows-1252 file of Western names and addresses has and UTF-8 does not: letters
 * 0xC0-0xFF standing alone between ASCII. One such byte in an otherwise printable file is enough.
 */
function looksLikeWindows1252(bytes: Uint8Array): boolean {
  let high = 0;
  for (const b of bytes) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
    if (b >= 0x80) high += 1;
  }
  return high > 0;
}
