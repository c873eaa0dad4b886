// Number formats shared by the benchmark tables.
export const us = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} µs` : "n/a");
export const signedUs = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${Math.round(n)} µs` : "n/a");
export const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "n/a");
export const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : Math.round(n)} ms` : "n/a");
export const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : "n/a");
