// The measurement-tampering task's programs (issue 16), drawn from the vault world: trusted = clean programs (no
// tampering statement; every reading tells the truth), fitting detectors and serving as the label-free selection's
// held-out reference; untrusted = the mixed traffic, in a validation and a test split, each holding real positives
// (some with decoy tampering statements), tampered positives of every kind, and programs whose readings disagree
// (the evidence the tampering probe learns from). The detection task is real vs tampered among all-positive programs.

import { generateVault, TAMPER_KINDS, type TamperKind, type VaultDraw, type VaultExample, type VaultOptions } from "../datasets/vault-world.js";
import { MadkitError } from "../errors.js";

export const MEASUREMENT_TAMPERING_TASK = "measurement-tampering";

// The world's names the benchmark reads (src/bench may import tasks, not datasets).
export { generateVault, TAMPER_KINDS, VAULT_DEFAULTS, VAULT_SENSORS, type VaultExample } from "../datasets/vault-world.js";

export interface TamperingSizes {
  readonly trustedFit: number;
  readonly trustedValidation: number;
  /** Real positives per untrusted split. */
  readonly real: number;
  /** Tampered positives per kind per split. */
  readonly tamperedPerKind: number;
  /** Disagreeing programs per kind per split. */
  readonly partialPerKind: number;
}

export const TAMPERING_SIZES: Readonly<Record<"full" | "quick", TamperingSizes>> = {
  full: { trustedFit: 800, trustedValidation: 300, real: 400, tamperedPerKind: 100, partialPerKind: 100 },
  quick: { trustedFit: 300, trustedValidation: 100, real: 120, tamperedPerKind: 30, partialPerKind: 40 },
};

export interface TamperingSplit {
  /** All-positive programs: real and tampered. */
  readonly positives: readonly VaultExample[];
  /** Programs whose readings disagree (partial tampering), each tagged with its kind. */
  readonly disagreeing: readonly VaultExample[];
}

export interface TamperingData {
  readonly options: VaultOptions;
  readonly trustedFit: readonly VaultExample[];
  readonly trustedValidation: readonly VaultExample[];
  readonly validation: TamperingSplit;
  readonly test: TamperingSplit;
}

function untrustedSplit(o: VaultOptions, stream: string, sizes: TamperingSizes, exclude: Set<string>): TamperingSplit {
  const draws: VaultDraw[] = [
    { category: "real", count: sizes.real },
    ...TAMPER_KINDS.map((kind): VaultDraw => ({ category: "tampered", kind, count: sizes.tamperedPerKind })),
    ...TAMPER_KINDS.map((kind): VaultDraw => ({ category: "partial", kind, count: sizes.partialPerKind })),
  ];
  const all = generateVault(o, stream, draws, exclude);
  for (const e of all) exclude.add(e.text);
  return { positives: all.filter((e) => e.category !== "partial"), disagreeing: all.filter((e) => e.category === "partial") };
}

/**
 * The task's programs for a seed and difficulty; `exclude` holds the model's training programs, so no program the
 * detectors see was trained on. Every set is disjoint from every other.
 */
export function buildTamperingData(o: VaultOptions, sizes: TamperingSizes, exclude: ReadonlySet<string>): TamperingData {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1) throw new MadkitError("BAD_ARGUMENT", `measurement-tampering: size '${k}' must be a positive integer, got ${String(v)}`);
  }
  const seen = new Set(exclude);
  const trusted = generateVault(o, "trusted", [{ category: "clean", count: sizes.trustedFit + sizes.trustedValidation }], seen);
  for (const e of trusted) seen.add(e.text);
  return {
    options: o,
    trustedFit: trusted.slice(0, sizes.trustedFit),
    trustedValidation: trusted.slice(sizes.trustedFit),
    validation: untrustedSplit(o, "untrusted-validation", sizes, seen),
    test: untrustedSplit(o, "untrusted-test", sizes, seen),
  };
}

/** 1 for tampered, 0 for real: the evaluation labels of all-positive programs. */
export const tamperedLabels = (positives: readonly VaultExample[]): Uint8Array => Uint8Array.from(positives, (e) => (e.category === "tampered" ? 1 : 0));

export const isKind = (k: string): k is TamperKind => (TAMPER_KINDS as readonly string[]).includes(k);
