/** Resolves once `condition()` holds, checking every `everyMs`, or at `deadline` (a `Date.now()` value). */
export async function waitUntil(condition: () => boolean, deadline: number, everyMs = 20): Promise<boolean> {
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
