// Loads uWebSockets.js and refuses its silent pure-JS fallback, which is many times slower than the native server.
import { createRequire } from "node:module";
import type * as Uws from "uWebSockets.js";

export type UwsModule = typeof Uws;

export class UwsFallbackError extends Error {
  constructor(reason: string) {
    super(
      `uWebSockets.js loaded its slow JavaScript fallback instead of the native server (${reason}). ` +
        `Use Node.js 20 on linux/darwin x64/arm64 (the binaries shipped for ABI ${process.versions.modules} must load), ` +
        `unset UWS_USE_FALLBACK, or set UWS_ALLOW_FALLBACK=true to run slowly on purpose.`,
    );
    this.name = "UwsFallbackError";
  }
}

/**
 * The package's loader (src/uws.js) returns either the native addon or `dist/index.js`; only the addon's functions
 * are implemented in C++, so their source text reads "[native code]". This is the one check that holds both when the
 * binary fails to load and when UWS_USE_FALLBACK forces the fallback.
 */
export function isNativeUws(uws: UwsModule): boolean {
  return typeof uws.App === "function" && /\[native code\]/.test(Function.prototype.toString.call(uws.App));
}

let loaded: UwsModule | undefined;

/** Returns the uWebSockets.js module; throws UwsFallbackError on the fallback unless `allowFallback`. */
export function loadUws(options: { allowFallback: boolean; warn?: (message: string) => void }): UwsModule {
  loaded ??= createRequire(import.meta.url)("uWebSockets.js") as UwsModule;
  if (!isNativeUws(loaded)) {
    const reason = fallbackReason();
    if (!options.allowFallback) throw new UwsFallbackError(reason);
    options.warn?.(`uWebSockets.js is running its slow JavaScript fallback (${reason}) because UWS_ALLOW_FALLBACK is set`);
  }
  return loaded;
}

function fallbackReason(): string {
  const forced = process.env.UWS_USE_FALLBACK;
  if (forced && ["true", "True", "TRUE", "1"].includes(forced)) return "UWS_USE_FALLBACK is set";
  return `no native binary for ${process.platform}-${process.arch} ABI ${process.versions.modules} could be loaded`;
}
