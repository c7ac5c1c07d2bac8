// Security headers, computed once at start-up and copied onto each response by one hook.
// A JSON API is not a document: the headers that matter to it are the ones that stop a browser from
// rendering, framing or sniffing a response, and HSTS. Pages that are documents (/docs) get the
// document set as well; health checks, which only load balancers read, get none.
import type { FastifyInstance, onRequestHookHandler } from 'fastify'

export type HeaderSet = Record<string, string>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The security headers of this route: the API set when absent; false sends none. */
    securityHeaders?: HeaderSet | false
  }
}

/** What every API response (JSON, errors, 404s) carries. */
export function apiHeaders(hstsMaxAge: number): HeaderSet {
  return {
    // Nothing may load from, or frame, a response of this API.
    'content-security-policy': "default-src 'none';frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    ...(hstsMaxAge > 0 ? { 'strict-transport-security': `max-age=${hstsMaxAge}; includeSubDomains` } : {})
  }
}

/** HTML pages add the headers that only matter to a document (isolation of its browsing context). */
export function documentHeaders(hstsMaxAge: number): HeaderSet {
  return {
    ...apiHeaders(hstsMaxAge),
    'cross-origin-opener-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'x-permitted-cross-domain-policies': 'none'
  }
}

/**
 * Registers the hook before any other, so responses that other hooks end early (429, 503) carry the
 * headers too. Routes under `documentPrefix` are given the document set as they are added.
 */
export function registerSecurityHeaders(app: FastifyInstance, hstsMaxAge: number, documentPrefix: string): void {
  const api = apiHeaders(hstsMaxAge)
  const document = documentHeaders(hstsMaxAge)
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(documentPrefix) && route.config?.securityHeaders === undefined) {
      route.config = { ...route.config, securityHeaders: document }
    }
  })
  // A callback hook: no promise per request.
  const hook: onRequestHookHandler = (request, reply, done) => {
    const headers = request.routeOptions.config.securityHeaders ?? api
    if (headers !== false) reply.headers(headers)
    done()
  }
  app.addHook('onRequest', hook)
}
