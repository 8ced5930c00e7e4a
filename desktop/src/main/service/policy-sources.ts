/**
 * Where the managed policy comes from on each operating system, read into plain settings
 * objects; managed-policy.ts validates and merges them. Every reader here is a parser of text
 * (a JSON file, `reg query` output, an XML property list) plus the one call that gets the text,
 * so the parsers are unit-tested on Linux with captured output and only the getting is
 * platform-bound (the mock boundary: `PolicyHost`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export type PolicySettings = Record<string, unknown>;

/** One place the policy was read from, for messages ("… in HKLM\\SOFTWARE\\Policies\\Depotline\\Console"). */
export interface PolicySource {
  where: string;
  settings: PolicySettings;
}

export class PolicySourceError extends Error {
  override readonly name = 'PolicySourceError' as const;
}

export const linuxPolicyFile = '/etc/depotline/policy.json';
export const windowsPolicyKey = 'HKLM\\SOFTWARE\\Policies\\Depotline\\Console';
export const macManagedPreferences = '/Library/Managed Preferences/com.depotline.console.plist';
export const macPolicyFile = '/Library/Application Support/Depotline/policy.json';
export const windowsPolicyFile = (env: NodeJS.ProcessEnv) => `${env['ProgramData'] ?? 'C:\\ProgramData'}\\Depotline\\policy.json`;

/** What the readers need from the machine; tests pass captured text instead. */
export interface PolicyHost {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** A file's bytes, or null when it does not exist. */
  readFile(path: string): Buffer | null;
  /** `reg query <key> /s` output, or null when the key does not exist (Windows only). */
  regQuery(key: string): string | null;
  /** A binary property list converted to XML by `plutil` (macOS only). */
  plistToXml(path: string): string;
}

export const systemPolicyHost: PolicyHost = {
  platform: process.platform,
  env: process.env,
  readFile: (path) => {
    try {
      return fs.readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new PolicySourceError(`The Depotline policy at ${path} cannot be read: ${(err as Error).message}`);
    }
  },
  regQuery: (key) => {
    try {
      // %SystemRoot%\System32\reg.exe; `/s` lists the key's values and every subkey's.
      return execFileSync('reg.exe', ['query', key, '/s'], { encoding: 'utf8', windowsHide: true, timeout: 10_000 });
    } catch (err) {
      // reg.exe exits 1 with "ERROR: The system was unable to find the specified registry key or value." when there is no policy.
      if ((err as { status?: number }).status === 1) return null;
      throw new PolicySourceError(`The Depotline policy key ${key} cannot be read: ${(err as Error).message}`);
    }
  },
  plistToXml: (path) => execFileSync('/usr/bin/plutil', ['-convert', 'xml1', '-o', '-', path], { encoding: 'utf8', timeout: 10_000 }),
};

/**
 * Every policy source of this platform, lowest precedence first (later ones win per setting).
 * Windows: the ProgramData file, then the registry policy key: Group Policy and Intune write the
 * registry, so what the domain pushes wins over a file an installer left behind. macOS: the
 * Application Support file, then the managed preferences a configuration profile installs.
 */
export function readPolicySources(host: PolicyHost): PolicySource[] {
  const sources: PolicySource[] = [];
  const json = (path: string) => {
    const bytes = host.readFile(path);
    if (bytes) sources.push({ where: path, settings: parsePolicyJson(bytes.toString('utf8'), path) });
  };
  if (host.platform === 'win32') {
    json(windowsPolicyFile(host.env));
    const out = host.regQuery(windowsPolicyKey);
    if (out !== null) {
      const settings = parseRegQuery(out, windowsPolicyKey);
      if (Object.keys(settings).length > 0) sources.push({ where: windowsPolicyKey, settings });
    }
  } else if (host.platform === 'darwin') {
    json(macPolicyFile);
    const bytes = host.readFile(macManagedPreferences);
    if (bytes) {
      // A profile-installed plist is usually binary ("bplist00"); plutil turns it into XML.
      const xml = bytes.subarray(0, 8).toString('latin1') === 'bplist00' ? host.plistToXml(macManagedPreferences) : bytes.toString('utf8');
      sources.push({ where: macManagedPreferences, settings: withoutMcxKeys(parsePlist(xml, macManagedPreferences)) });
    }
  } else {
    json(linuxPolicyFile);
  }
  return sources;
}

export function parsePolicyJson(text: string, where: string): PolicySettings {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PolicySourceError(`The Depotline policy file ${where} is not valid JSON.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PolicySourceError(`The Depotline policy file ${where} must hold a JSON object.`);
  return json as PolicySettings;
}

/** Settings that are booleans: a REG_DWORD 0 or 1 in the registry (the ADMX `<boolean>` convention). */
const booleanSettings = new Set(['podOfflineCache', 'requireEnrolledDevices']);
/** Settings that may be fractional: a REG_SZ holding a decimal number ("0.5"), since a DWORD cannot. */
const decimalSettings = new Set(['idleLockMinutes', 'offlineDays']);

/**
 * `reg query <key> /s` output as settings: values of the key are settings, a subkey is a nested
 * object (`...\Console\mapTiles` holds `url`, `attribution`, `maxZoom`). REG_DWORD/REG_QWORD are
 * numbers (booleans for the boolean settings), REG_MULTI_SZ is a list (reg prints it joined by
 * `\0`), REG_SZ a string (a number for the decimal settings). Other types are refused by name.
 */
export function parseRegQuery(output: string, rootKey: string): PolicySettings {
  const root: PolicySettings = {};
  let current: PolicySettings | null = null;
  const rootLower = rootKey.toLowerCase().replace(/^hkey_local_machine\\/, 'hklm\\');
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (!line) continue;
    if (/^HKEY_|^HK[A-Z]{2}\\/i.test(line)) {
      const keyLower = line.toLowerCase().replace(/^hkey_local_machine\\/, 'hklm\\');
      if (!keyLower.startsWith(rootLower)) throw new PolicySourceError(`Unexpected registry key in the policy: ${line}`);
      current = root;
      for (const part of line.slice(rootKey.replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\').length).split('\\').filter(Boolean)) {
        const existing = current[part];
        const next: PolicySettings = typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? (existing as PolicySettings) : {};
        current[part] = next;
        current = next;
      }
      continue;
    }
    const m = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (!m || !current) continue;
    const [, name, type, data = ''] = m as unknown as [string, string, string, string | undefined];
    if (name === '(Default)') continue;
    current[name] = regValue(name, type, data, rootKey);
  }
  return root;
}

function regValue(name: string, type: string, data: string, where: string): unknown {
  switch (type) {
    case 'REG_DWORD':
    case 'REG_QWORD': {
      const n = Number.parseInt(data, 16);
      if (booleanSettings.has(name)) return n === 1 ? true : n === 0 ? false : n;
      return n;
    }
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return decimalSettings.has(name) && /^\s*-?\d+(\.\d+)?\s*$/.test(data) ? Number(data) : data;
    case 'REG_MULTI_SZ':
      return data === '' ? [] : data.split('\\0').filter((s) => s !== '');
    default:
      throw new PolicySourceError(`${name}: the registry value in ${where} has type ${type}; use REG_SZ, REG_DWORD or REG_MULTI_SZ`);
  }
}

/** Keys a configuration profile or macOS adds to managed preferences that are not settings (Payload*, com.apple.*). */
function withoutMcxKeys(settings: PolicySettings): PolicySettings {
  const out: PolicySettings = {};
  for (const [k, v] of Object.entries(settings)) if (!k.startsWith('Payload') && !k.startsWith('com.apple.')) out[k] = v;
  return out;
}

/**
 * An XML property list (Apple's PropertyList-1.0 DTD) whose root is a <dict>: dict, array,
 * string, integer, real, true, false. <data> and <date> are refused: no setting uses them.
 */
export function parsePlist(xml: string, where: string): PolicySettings {
  const tokens = [...xml.replace(/<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([a-zA-Z]+)(?:\s+(?:[^>"/]|"[^"]*")*)?(\/?)>|([^<]+)/g)];
  let i = 0;
  const fail = (why: string): never => {
    throw new PolicySourceError(`The managed preferences ${where} are not a property list Depotline can read: ${why}.`);
  };
  const skipText = () => {
    while (i < tokens.length && tokens[i]![4] !== undefined && tokens[i]![4]!.trim() === '') i++;
  };
  const text = (tag: string): string => {
    let out = '';
    while (i < tokens.length && tokens[i]![4] !== undefined) out += tokens[i++]![4];
    const close = tokens[i++];
    if (!close || close[1] !== '/' || close[2] !== tag) fail(`<${tag}> is not closed`);
    return decodeXml(out);
  };
  const value = (): unknown => {
    skipText();
    const t = tokens[i++];
    if (!t || t[2] === undefined || t[1] === '/') return fail('a value is missing');
    const tag = t[2];
    if (t[3] === '/') {
      if (tag === 'true') return true;
      if (tag === 'false') return false;
      if (tag === 'dict') return {};
      if (tag === 'array') return [];
      if (tag === 'string') return '';
      return fail(`<${tag}/> is not supported`);
    }
    switch (tag) {
      case 'string':
        return text('string');
      case 'integer': {
        const s = text('integer').trim();
        return /^-?\d+$/.test(s) ? Number(s) : fail(`<integer>${s}</integer> is not an integer`);
      }
      case 'real': {
        const n = Number(text('real').trim());
        return Number.isFinite(n) ? n : fail('a <real> is not a number');
      }
      case 'true':
      case 'false':
        text(tag);
        return tag === 'true';
      case 'array': {
        const out: unknown[] = [];
        for (;;) {
          skipText();
          if (tokens[i]?.[1] === '/' && tokens[i]?.[2] === 'array') {
            i++;
            return out;
          }
          out.push(value());
        }
      }
      case 'dict': {
        const out: PolicySettings = {};
        for (;;) {
          skipText();
          const k = tokens[i++];
          if (k?.[1] === '/' && k[2] === 'dict') return out;
          if (!k || k[2] !== 'key' || k[1] === '/') return fail('a <dict> entry has no <key>');
          const key = text('key');
          out[key] = value();
        }
      }
      default:
        return fail(`<${tag}> is not supported`);
    }
  };
  skipText();
  const open = tokens[i++];
  if (!open || open[2] !== 'plist') fail('there is no <plist>');
  const root = value();
  if (typeof root !== 'object' || root === null || Array.isArray(root)) fail('the root is not a <dict>');
  return root as PolicySettings;
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}
