// Structured logs: one JSON object per line, which the Supabase log explorer indexes by field.
// Every request writes exactly one line (endpoint.ts); background work writes its own.

export interface RequestLogLine {
  function: string;
  method: string;
  status: number;
  /** hit | revalidated | miss | stale for parameters; "-" where no cache is involved. */
  cache: string;
  duration_ms: number;
  db_calls: number;
  /** Error code of a 4xx/5xx answer. */
  code?: string;
  /** Internal reason of a 5xx (never sent to the caller). */
  error?: string;
}

type Sink = (line: string, level: 'info' | 'error') => void;

const consoleSink: Sink = (line, level) => (level === 'error' ? console.error(line) : console.log(line));
let sink: Sink = consoleSink;

/** Redirects log lines (tests capture them); returns the previous sink. Pass nothing to restore the console. */
export function setLogSink(next?: Sink): Sink {
  const previous = sink;
  sink = next ?? consoleSink;
  return previous;
}

export function logLine(fields: Record<string, unknown>, level: 'info' | 'error' = 'info'): void {
  sink(JSON.stringify({ ts: new Date().toISOString(), level, ...fields }), level);
}

export function logRequest(line: RequestLogLine): void {
  logLine({ ...line }, line.status >= 500 ? 'error' : 'info');
}
