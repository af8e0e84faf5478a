// Types of sessionkit-express (index.js).
import { Store, SessionData } from 'express-session';

export interface SessiondStoreOptions {
  /** sessiond's base URL (default http://127.0.0.1:7400). */
  url?: string;
  /** The API key (sent as Authorization: Bearer). */
  apiKey: string;
  /** Per request, ms (default 2000). */
  timeout?: number;
  /** Extra attempts of idempotent calls (get, touch, destroy) on network errors and 503 (default 2). */
  retries?: number;
  /**
   * Send express-session's end-of-request touch even after a `get` of the session (default
   * false: sessiond's read already slid the deadline, at most once per its --touch-interval).
   */
  touchAfterRead?: boolean;
  /** ms between /readyz probes while disconnected (default 1000). */
  reconnectInterval?: number;
  /** Keep-alive sockets at most (default 64). */
  maxSockets?: number;
}

export class SessiondError extends Error {
  /** The HTTP status sessiond answered, or 0 for a network error or timeout. */
  status: number;
}

export class SessiondStore extends Store {
  constructor(options: SessiondStoreOptions);
  /** sessiond's ID format (32 random bytes, base64url): pass it as express-session's `genid`. */
  genid: () => string;
  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: (err: any, session?: SessionData | null) => void): void;
  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback?: (err?: any) => void): void;
  touch(sid: string, session: SessionData): Promise<void>;
  touch(sid: string, session: SessionData, callback?: (err?: any) => void): void;
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback?: (err?: any) => void): void;
  /**
   * How many sessions sessiond's store holds (GET /v1/stats): its count of records, which on
   * memory, SQLite and PostgreSQL may include expired sessions not purged yet.
   */
  length(): Promise<number>;
  length(callback: (err: any, length?: number) => void): void;
  /**
   * Ends every session in sessiond's store (DELETE /v1/sessions); resolves how many ended.
   * Fails with a SessiondError of status 403 unless sessiond runs with --allow-clear.
   */
  clear(): Promise<number>;
  clear(callback: (err?: any, cleared?: number) => void): void;
  /**
   * Always fails with an Error of code 'ERR_UNSUPPORTED': sessiond stores only SHA-256 digests of
   * session IDs, so it cannot list them.
   */
  ids(): Promise<never>;
  ids(callback: (err: Error & { code: 'ERR_UNSUPPORTED' }) => void): void;
  /** Always fails with an Error of code 'ERR_UNSUPPORTED' (see `ids`). */
  all(): Promise<never>;
  all(callback: (err: Error & { code: 'ERR_UNSUPPORTED' }) => void): void;
  /** A CSRF token for the stored session `sid` (sessiond's synchronizer tokens). */
  csrfToken(sid: string): Promise<string>;
  csrfToken(sid: string, callback: (err: any, token?: string) => void): void;
  /** Whether `token` is a CSRF token of the session `sid` (false when missing or malformed). */
  verifyCsrf(sid: string, token: unknown): Promise<boolean>;
  verifyCsrf(sid: string, token: unknown, callback: (err: any, valid?: boolean) => void): void;
  /** Adds `by` (default 1) to the integer at `field` atomically; resolves the new value. */
  increment(sid: string, field: string, by?: number): Promise<number>;
  increment(sid: string, field: string, by: number, callback: (err: any, value?: number) => void): void;
  /** Ends every session of `user` except `keepSid`; resolves how many ended. */
  destroyUser(user: string, keepSid?: string): Promise<number>;
  /** Binds the session to `user` (for destroyUser). */
  bindUser(sid: string, user: string): Promise<void>;
  /** Closes the keep-alive sockets. */
  close(): void;
}
