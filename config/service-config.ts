import { z } from 'zod';
import { ConfigError } from './engine-config';
import { formatIssues } from '../foundation/zod-issues';

/**
 * Settings of the HTTP service (`oshirase serve`): the two listeners, their
 * timeouts and the public listener's rate limit. Read once from the environment.
 *
 * The public listener faces the internet (resident pages behind response links,
 * push enrolment); the internal one serves the city network (`/api/v1/…`, staff
 * sign-in, the OpenAPI document). They are separate sockets so a city can put
 * them on separate networks.
 */
const port = z.coerce.number().int().min(0).max(65_535);
const positiveMs = z.coerce.number().int().min(100).max(3_600_000);

const ServiceEnvSchema = z.object({
  PUBLIC_PORT: port.default(8080),
  PUBLIC_HOST: z.string().min(1).default('127.0.0.1'),
  INTERNAL_PORT: port.default(8081),
  INTERNAL_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where staff reach the internal listener (the OpenID redirect URI derives from it). */
  INTERNAL_BASE_URL: z.string().url().optional(),
  /** Whole request, headers included; a slow client is cut off after this. */
  HTTP_REQUEST_TIMEOUT_MS: positiveMs.default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveMs.default(5_000),
  /** Requests per minute per client address on the public listener. */
  PUBLIC_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  /** How far a calling system's JWT `iat` may be from the server's clock. */
  CLIENT_JWT_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
  /** Origins of Temporal's Web UI that may call the codec endpoint from the browser (comma-separated, e.g. https://temporal-ui.city.example). */
  TEMPORAL_UI_ORIGINS: z
    .string()
    .default('')
    .transform((value, context) => {
      const origins = value
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== '');
      for (const origin of origins) {
        let parsed: URL | null = null;
        try {
          parsed = new URL(origin);
        } catch {
          // reported below
        }
        if (!parsed || parsed.origin !== origin) context.addIssue({ code: 'custom', message: `${origin} is not an origin (scheme://host[:port], no path)` });
      }
      return origins;
    }),
});

export interface ServiceConfig {
  public: { host: string; port: number };
  internal: { host: string; port: number; baseUrl: string | undefined };
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  publicRateLimitPerMinute: number;
  clientJwtMaxAgeSeconds: number;
  /** TEMPORAL_UI_ORIGINS: who may call the codec endpoint from a browser. */
  temporalUiOrigins: string[];
}

export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const parsed = ServiceEnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid environment setting — ${formatIssues(parsed.error.issues).join('; ')}`);
  const e = parsed.data;
  return {
    public: { host: e.PUBLIC_HOST, port: e.PUBLIC_PORT },
    internal: { host: e.INTERNAL_HOST, port: e.INTERNAL_PORT, baseUrl: e.INTERNAL_BASE_URL?.replace(/\/$/, '') },
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    publicRateLimitPerMinute: e.PUBLIC_RATE_LIMIT_PER_MINUTE,
    clientJwtMaxAgeSeconds: e.CLIENT_JWT_MAX_AGE_SECONDS,
    temporalUiOrigins: e.TEMPORAL_UI_ORIGINS,
  };
}
