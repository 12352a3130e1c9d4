// Work that must finish after the response is sent. Supabase's edge runtime keeps the isolate
// alive for promises passed to EdgeRuntime.waitUntil; under plain Deno (tests, `deno serve`)
// the process stays up anyway, so the promise simply runs.

interface EdgeRuntimeGlobal {
  EdgeRuntime?: { waitUntil?: (promise: Promise<unknown>) => void };
}

export function runInBackground(task: Promise<unknown>): void {
  const runtime = (globalThis as EdgeRuntimeGlobal).EdgeRuntime;
  if (typeof runtime?.waitUntil === 'function') runtime.waitUntil(task);
}
