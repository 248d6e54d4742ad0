/**
 * Tests that start `zalog` as real processes (each one compiles through tsx and opens PGlite, a few
 * seconds on an idle machine) wait for events, never for fixed times; this is only their upper
 * bound, sized for the smallest machine the README promises (2 cores) running the suite's two
 * workers and nothing to spare: several times what they take on an idle one.
 */
export const PROCESS_TEST_TIMEOUT_MS = 300_000;
