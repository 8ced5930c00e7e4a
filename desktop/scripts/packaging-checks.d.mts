// Types for packaging-checks.mjs, which runs under plain Node (npm run desktop:package) and is
// imported by desktop/src/main/electron/packaging.test.ts.
export interface BuilderConfig {
  directories?: { app?: string; output?: string };
  files?: string[];
  asar?: boolean;
  asarUnpack?: string[];
  electronFuses?: Record<string, boolean>;
  [key: string]: unknown;
}
export interface AsarCheck {
  problems: string[];
  files: string[];
  packages: string[];
}
export declare const repo: string;
export declare const requiredFuses: Record<string, boolean>;
export declare function loadBuilderConfig(file?: string): BuilderConfig;
export declare function validateBuilderConfig(config: BuilderConfig): Promise<void>;
export declare function selectAppFiles(options: { appDir: string; config: BuilderConfig; built?: string }): { files: Array<[string, string]> };
export declare function buildAppAsar(options: { files: Array<[string, string]>; config: BuilderConfig; outDir: string }): Promise<{ archive: string; unpacked: string }>;
export declare function checkAppAsar(options: { archive: string; unpacked: string; appDir: string; config: BuilderConfig }): AsarCheck;
export declare function runPackagingChecks(options?: { configFile?: string; built?: string; keep?: string }): Promise<AsarCheck & { archiveBytes: number; unpackedFiles: string[]; archive: string | null }>;
