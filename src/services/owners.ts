/**
 * Data owners (issue 12 item 11): who a request is, and what it may create and use. The one module that signs and
 * reads owner tokens, checks API keys and counts creations per client; the access rule (`canUse`) lives here too,
 * and every service applies it to the rows it reads for a caller.
 *
 * An owner token is `<ownerId>.<base64url(HMAC-SHA256(key, ownerId))>`; the key is derived from SECRET_KEY or, without
 * one (development), a random key made once and kept in the `settings` table, so a restart or a second server on the
 * same database accepts the same tokens. A token is handed out by the first creating operation of a caller without
 * one (a new owner is minted), and sent back as `Authorization: Bearer <token>` or the `exo_owner` cookie.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Store } from '../db/store.js';
import type { AppConfig } from '../config.js';
import { AppError } from '../domain/errors.js';
import { newId } from './ids.js';

export const OWNER_COOKIE = 'exo_owner';
/** Response header carrying a newly minted token (also in GraphQL `extensions.ownerToken` and REST `owner_token`). */
export const OWNER_TOKEN_HEADER = 'x-owner-token';
export const API_KEY_HEADER = 'x-api-key';
const OWNER_KEY_SETTING = 'owner_key';
/** The cookie's lifetime when sessions never expire (SESSION_IDLE_HOURS=0): a year. */
const COOKIE_MAX_AGE_SECONDS = 365 * 86400;

const TOKEN_PATTERN = /^(own_[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

/** What creates a resource, for the rate limit's message. */
export type CreationKind = 'session' | 'upload' | 'run' | 'search' | 'prediction';

/** The owner columns of a session or an upload. */
export interface Owned {
  ownerId: string | null;
  sharedById: boolean;
}

/** An owner minted for a request that created something without a token: the token goes back in the response. */
export interface MintedOwner {
  ownerId: string;
  token: string;
}

/**
 * Who makes a request: resolved once per HTTP request, WebSocket connection or REST request (the context factory),
 * from its token, API key and address.
 */
export class Caller {
  /** Set by the first creating operation of a request without a token (see OwnerService.claim). */
  minted: MintedOwner | null = null;
  /** Set when a caller whose token came in the cookie creates something: the cookie is sent again (its expiry slides). */
  renewCookie = false;

  constructor(
    /** The owner named by the valid token the request presented; null when it presented none. */
    readonly ownerId: string | null,
    /** The client's address (X-Forwarded-For's last hop when TRUST_PROXY=on): the rate-limit key without a token. */
    readonly address: string,
    /** X-API-Key as sent (checked against API_KEYS when the caller creates something). */
    readonly apiKey: string | null,
    /** The token when it came in the cookie (to renew it). */
    readonly cookieToken: string | null = null,
    /** `server`: what the server makes for everyone (the REST pretrained models): no owner, no key, no limit. */
    readonly kind: 'client' | 'server' = 'client',
  ) {}

  static server(): Caller {
    return new Caller(null, 'server', null, null, 'server');
  }

  /** The client a rate limit counts: the owner of the presented token, else the address. */
  get rateKey(): string {
    return this.ownerId ?? `address:${this.address}`;
  }
}

/**
 * The access rule: a resource created with a token belongs to that owner alone; one created without a token (the
 * original web client, curl) is usable by whoever holds its unguessable id, as the original server had it. Anything
 * else answers as if it did not exist (NOT_FOUND, never FORBIDDEN: that would confirm the id).
 */
export function canUse(caller: Caller, owned: Owned): boolean {
  if (owned.sharedById) return true;
  return owned.ownerId !== null && (owned.ownerId === caller.ownerId || owned.ownerId === caller.minted?.ownerId);
}

/** Whether `owned` is listed to the caller (its own resources only; shared-by-id ones are never listed to others). */
export function isOwnersOwn(caller: Caller, owned: Pick<Owned, 'ownerId'>): boolean {
  return owned.ownerId !== null && owned.ownerId === caller.ownerId;
}

export interface CallerInput {
  /** The Authorization header (only `Bearer <token>` is read), or graphql-ws connection_init's `authorization`. */
  authorization: string | null;
  cookie: string | null;
  apiKey: string | null;
  /** The socket's remote address, and X-Forwarded-For (read only when TRUST_PROXY=on). */
  remoteAddress: string | null;
  forwardedFor: string | null;
}

const unauthenticatedToken = (where: string) =>
  new AppError(
    'UNAUTHENTICATED',
    `The owner token in ${where} is not one this server issued (malformed, or signed with another SECRET_KEY). ` +
      `Drop it to start afresh as a new owner (the next session or upload you create hands you a new token), ` +
      `or send the token you were given.`,
  );

/** The value of one cookie in a Cookie header, or null. */
function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eqAt = part.indexOf('=');
    if (eqAt > 0 && part.slice(0, eqAt).trim() === name) return part.slice(eqAt + 1).trim();
  }
  return null;
}

/** A fixed-length digest, so keys of any length compare in constant time. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Creations per client and minute as a token bucket. In memory, per process: with several API servers a client may
 * create up to the limit on each of them.
 */
class CreationLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one token for `key`; returns the seconds to wait when none is left (0 = taken). */
  take(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const perMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 50_000) this.prune(now);
    return 0;
  }

  /** Forgets the buckets that are full again (they are the same as no bucket). */
  private prune(now: number): void {
    const perMs = this.perMinute / 60_000;
    for (const [key, bucket] of this.buckets)
      if (bucket.tokens + (now - bucket.at) * perMs >= this.perMinute) this.buckets.delete(key);
  }
}

export class OwnerService {
  private readonly limiter: CreationLimiter;
  private readonly apiKeys: Buffer[] | null;

  /** `key` signs tokens: OwnerService.open derives or loads it (tests may give one). */
  constructor(
    private readonly key: Buffer,
    private readonly config: Pick<
      AppConfig,
      'apiKeys' | 'rateLimitCreatesPerMinute' | 'trustProxy' | 'nodeEnv' | 'sessionIdleMs'
    >,
  ) {
    this.limiter = new CreationLimiter(config.rateLimitCreatesPerMinute);
    this.apiKeys = config.apiKeys?.map(digest) ?? null;
  }

  /**
   * The signing key: derived from SECRET_KEY, else the database's `owner_key` (made by the first server to need it;
   * a second server racing it reads the one that was stored).
   */
  static async open(store: Store, config: AppConfig): Promise<OwnerService> {
    if (config.secretKey !== null) {
      const key = createHmac('sha256', config.secretKey).update('exoplanet-playground owner tokens').digest();
      return new OwnerService(key, config);
    }
    const { settings } = store.t;
    await store.insert(
      'settings',
      { key: OWNER_KEY_SETTING, value: randomBytes(32).toString('base64url') },
      { onConflictDoNothing: true },
    );
    const stored = await store.first('settings', { where: eq(settings.key, OWNER_KEY_SETTING) });
    if (!stored) throw new Error('the owner key could not be stored in the settings table');
    return new OwnerService(Buffer.from(stored.value, 'base64url'), config);
  }

  private sign(ownerId: string): string {
    return createHmac('sha256', this.key).update(ownerId).digest('base64url');
  }

  /** The owner a token names, or null when it is not a token this server signed. */
  verify(token: string): string | null {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return null;
    const [, ownerId, mac] = match;
    const expected = Buffer.from(this.sign(ownerId), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? ownerId : null;
  }

  /** A new owner and its token. */
  mint(): MintedOwner {
    const ownerId = newId('own');
    return { ownerId, token: `${ownerId}.${this.sign(ownerId)}` };
  }

  /**
   * The caller of a request. A Bearer token wins over the cookie; a token that does not verify is refused
   * (UNAUTHENTICATED) rather than ignored, so a client never creates things under an owner it did not mean.
   */
  resolve(input: CallerInput): Caller {
    const bearer = /^\s*Bearer\s+(\S+)\s*$/i.exec(input.authorization ?? '')?.[1] ?? null;
    const cookie = bearer === null ? cookieValue(input.cookie, OWNER_COOKIE) : null;
    const token = bearer ?? (cookie || null);
    let ownerId: string | null = null;
    if (token !== null) {
      ownerId = this.verify(token);
      if (ownerId === null)
        throw unauthenticatedToken(bearer !== null ? 'the Authorization header' : `the ${OWNER_COOKIE} cookie`);
    }
    const forwarded = this.config.trustProxy ? input.forwardedFor?.split(',').at(-1)?.trim() : undefined;
    const address = forwarded || input.remoteAddress || 'unknown';
    return new Caller(ownerId, address, input.apiKey?.trim() || null, bearer === null ? token : null);
  }

  /**
   * Before a caller creates something: its API key (API_KEYS), its rate (RATE_LIMIT_CREATES_PER_MINUTE), and the
   * owner columns the new session or upload gets — the token's owner, else one minted now (once per request).
   */
  claim(caller: Caller, kind: CreationKind): Owned {
    if (caller.kind === 'server') return { ownerId: null, sharedById: true };
    this.requireApiKey(caller);
    if (kind !== 'prediction') {
      const wait = this.limiter.take(caller.rateKey);
      if (wait > 0)
        throw new AppError(
          'RATE_LIMITED',
          `Too many sessions, uploads, runs and searches created by this client (RATE_LIMIT_CREATES_PER_MINUTE = ` +
            `${this.config.rateLimitCreatesPerMinute}); this ${kind} was not created. Try again in ${wait} s.`,
          { retryAfterSeconds: wait },
        );
    }
    if (caller.ownerId !== null) {
      caller.renewCookie = caller.cookieToken !== null;
      return { ownerId: caller.ownerId, sharedById: false };
    }
    caller.minted ??= this.mint();
    return { ownerId: caller.minted.ownerId, sharedById: true };
  }

  /** With API_KEYS set, creating needs one of them in X-API-Key (compared in constant time). */
  private requireApiKey(caller: Caller): void {
    if (this.apiKeys === null) return;
    const given = caller.apiKey === null ? null : digest(caller.apiKey);
    let ok = false;
    for (const key of this.apiKeys) if (given !== null && timingSafeEqual(given, key)) ok = true;
    if (!ok)
      throw new AppError(
        'UNAUTHENTICATED',
        caller.apiKey === null
          ? 'This server creates sessions, uploads and runs only for known clients: send your API key in the X-API-Key header.'
          : 'The X-API-Key header does not hold a key this server accepts (API_KEYS).',
      );
  }

  /**
   * What a response tells the caller about its token: a minted one (header and cookie), or the cookie renewed after
   * a creation. Empty for anything else.
   */
  responseHeaders(caller: Caller): Record<string, string> {
    if (caller.minted)
      return { [OWNER_TOKEN_HEADER]: caller.minted.token, 'set-cookie': this.cookie(caller.minted.token) };
    if (caller.renewCookie && caller.cookieToken) return { 'set-cookie': this.cookie(caller.cookieToken) };
    return {};
  }

  /** The Set-Cookie value that keeps a token in a browser (HttpOnly; Secure in production), as long as sessions live. */
  cookie(token: string): string {
    const maxAge =
      this.config.sessionIdleMs > 0 ? Math.round(this.config.sessionIdleMs / 1000) : COOKIE_MAX_AGE_SECONDS;
    const secure = this.config.nodeEnv === 'production' ? '; Secure' : '';
    return `${OWNER_COOKIE}=${token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAge}${secure}`;
  }
}
