// Documented in the README; scripts depend on them.
export const EXIT = {
  ok: 0,
  failure: 1,
  invalidInput: 2,
  /** doctor: warnings, no failure. */
  warnings: 3,
  interrupted: 130,
} as const;
