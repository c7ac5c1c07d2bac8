import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance, RouteOptions } from 'fastify'
import t, { type Test } from 'tap'
import pkg from '../../package.json' with { type: 'json' }
import { localUploadsPrefix } from '../../service/storage/local.ts'
import { authenticate, optionalAuthenticate } from '../../view/auth.ts'
import { docsPrefix } from '../../view/plugins/docs.ts'
import { buildTestApp } from '../helper.ts'

interface Schema {
  type?: string
  maxItems?: number
  uniqueItems?: boolean
  items?: Schema
  format?: string
  minimum?: number
  maxLength?: number
  minLength?: number
  pattern?: string
  properties?: Record<string, Schema>
}

interface Operation {
  security?: Record<string, string[]>[]
  parameters?: { name: string; schema: Schema }[]
  requestBody?: { content: Record<string, { schema: Schema }> }
  responses: Record<string, { description: string }>
}

interface OpenApiDocument {
  openapi: string
  info: { title: string; version: string; description?: string }
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> }
  paths: Record<string, Record<string, Operation>>
}

interface RegisteredRoute {
  method: string
  url: string
  route: RouteOptions
}

/** Builds the app while recording every route it registers: Fastify announces each new instance on this channel. */
async function buildRecordingRoutes(t: Test): Promise<{ app: FastifyInstance; routes: RegisteredRoute[] }> {
  const routes: RegisteredRoute[] = []
  const record = (message: unknown) => {
    ;(message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, route })
    })
  }
  subscribe('fastify.initialization', record)
  try {
    return { app: await buildTestApp(t), routes }
  } finally {
    unsubscribe('fastify.initialization', record)
  }
}

const openApiPath = (url: string) => url.replace(/:(\w+)(\([^)]*\))?/g, '{$1}')
const hidden = (url: string) =>
  url === docsPrefix || url.startsWith(`${docsPrefix}/`) || url.startsWith(localUploadsPrefix)
const uses =
  (hook: unknown) =>
  ({ onRequest, preParsing, preValidation, preHandler }: RouteOptions) =>
    ([onRequest, preParsing, preValidation, preHandler].flat() as unknown[]).includes(hook)
const usesAuthenticate = uses(authenticate)
const usesOptionalAuthenticate = uses(optionalAuthenticate)
/** A token is required unless one of the alternatives is the empty requirement {} (an optional token). */
const requiresToken = (security: Record<string, string[]>[]) =>
  security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0)
const sample = (url: string) => url.replace(/:(\w+)(\([^)]*\))?/g, '1').replace('*', 'x')

t.test('API documentation', async (t) => {
  const { app, routes } = await buildRecordingRoutes(t)
  const res = await app.inject({ url: `${docsPrefix}/json` })
  const doc = res.json<OpenApiDocument>()
  const documented = routes.filter(({ method, url }) => method !== 'HEAD' && method !== 'OPTIONS' && !hidden(url))
  const operationOf = ({ method, url }: RegisteredRoute) => doc.paths[openApiPath(url)]?.[method.toLowerCase()]

  t.test('GET /docs answers the Swagger UI page', async (t) => {
    const page = await app.inject({ url: docsPrefix })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    t.match(page.body, /swagger/i)
  })

  t.test('the Swagger UI pages load their own assets over plain HTTP from any address', async (t) => {
    const index = await app.inject({ url: `${docsPrefix}/` })
    const assets = [...index.body.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => `${docsPrefix}/${m[1]}`)
    t.ok(assets.length >= 2, `the page names its assets: ${assets.join(', ')}`)
    for (const url of [docsPrefix, `${docsPrefix}/`, ...assets]) {
      const page = await app.inject({ url, headers: { host: '192.168.1.20:5000' } })
      t.equal(page.statusCode, 200, `${url} answers 200`)
      const policy = String(page.headers['content-security-policy'])
      t.notMatch(policy, /upgrade-insecure-requests/, `${url} does not send the browser to HTTPS`)
      t.match(policy, /script-src 'self'/, `${url} lets the page run its own scripts`)
      t.match(policy, /style-src 'self'/, `${url} lets the page use its own styles`)
    }
  })

  t.test('/docs/json is an OpenAPI 3 document about Miniter', async (t) => {
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(doc.openapi, /^3\./)
    t.equal(doc.info.title, 'Miniter')
    t.equal(doc.info.version, pkg.version)
    t.ok(doc.info.description)
    t.match(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  })

  t.test('the routes were recorded', async (t) => {
    const names = documented.map(({ method, url }) => `${method} ${url}`)
    t.ok(names.includes('GET /ping'), 'GET /ping was recorded')
    t.ok(names.includes('POST /profile-picture'), 'POST /profile-picture was recorded')
    t.ok(
      routes.some(({ url }) => url.startsWith(localUploadsPrefix)),
      'the uploads route was recorded'
    )
    t.ok(
      routes.some(({ url }) => url === `${docsPrefix}/json`),
      'the document route was recorded'
    )
  })

  t.test('every registered route is in the document with its responses', async (t) => {
    for (const registered of documented) {
      const name = `${registered.method} ${registered.url}`
      const operation = operationOf(registered)
      if (!operation) {
        t.fail(`${name} is missing from the document`)
        continue
      }
      const declared = Object.keys(registered.route.schema?.response ?? {})
      t.ok(
        declared.some((status) => /^2/.test(status)),
        `${name} declares a success response`
      )
      for (const status of declared) t.ok(operation.responses[status], `${name} documents response ${status}`)
    }
  })

  t.test('security is documented on exactly the routes that authenticate', async (t) => {
    for (const registered of documented) {
      const name = `${registered.method} ${registered.url}`
      const security = operationOf(registered)?.security ?? []
      if (usesAuthenticate(registered.route)) {
        t.same(security, [{ bearerAuth: [] }], `${name} documents bearerAuth`)
      } else if (registered.url === '/stream') {
        // A token, or else a one-time ticket in the query: never anonymous.
        t.ok(usesOptionalAuthenticate(registered.route))
        t.same(security, [{ bearerAuth: [] }, { streamTicket: [] }], `${name} documents a token or a ticket`)
      } else if (usesOptionalAuthenticate(registered.route)) {
        t.same(security, [{}, { bearerAuth: [] }], `${name} documents an optional bearerAuth`)
      } else {
        t.same(security, [], `${name} documents no security`)
      }
    }
  })

  t.test('a documented security requirement is real: without a token the route answers 401', async (t) => {
    for (const registered of documented) {
      const name = `${registered.method} ${registered.url}`
      const anonymous = await app.inject({ method: registered.method as 'GET', url: sample(registered.url) })
      const secured = requiresToken(operationOf(registered)?.security ?? [])
      t.equal(anonymous.statusCode === 401, secured, `${name} answers ${anonymous.statusCode} without a token`)
      if ((operationOf(registered)?.security ?? []).length > 0) {
        const forged = await app.inject({
          method: registered.method as 'GET',
          url: sample(registered.url),
          headers: { authorization: 'not-a-token' }
        })
        t.equal(forged.statusCode, 401, `${name} refuses a bad token, even where one is optional`)
      }
    }
  })

  t.test('routes with a body document a request body in each content type they accept', async (t) => {
    for (const registered of documented) {
      const name = `${registered.method} ${registered.url}`
      const schema = registered.route.schema
      const content = operationOf(registered)?.requestBody?.content ?? {}
      if (schema?.body) t.ok(content['application/json'], `${name} documents its JSON body`)
      for (const type of (schema?.consumes as string[] | undefined) ?? []) {
        t.ok(content[type]?.schema, `${name} documents its ${type} body`)
      }
    }
  })

  t.test('the profile picture upload is documented as a multipart form with a binary profile_pic', async (t) => {
    const upload = doc.paths['/profile-picture'].post
    t.same(Object.keys(upload.requestBody?.content ?? {}), ['multipart/form-data'])
    t.match(upload.requestBody?.content['multipart/form-data'].schema.properties?.profile_pic, {
      type: 'string',
      format: 'binary'
    })
  })

  t.test('every response has a real description', async (t) => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          t.not(response.description, 'Default Response', `${method.toUpperCase()} ${path} ${status} is described`)
        }
      }
    }
  })

  t.test('no number anywhere in the document may be negative: ids start at 1, counts at 0', async (t) => {
    const negative: string[] = []
    const walk = (value: unknown, where: string) => {
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${where}[${i}]`))
      else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key === 'minimum' && typeof child === 'number' && child < 0) negative.push(where)
          walk(child, `${where}.${key}`)
        }
      }
    }
    walk(doc.paths, 'paths')
    t.same(negative, [])
    const tweetIdParam = doc.paths['/tweet/{id}'].get.parameters?.find((p) => p.name === 'id')
    t.match(tweetIdParam?.schema, { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
    const userIdParam = doc.paths['/users/{user_id}'].get.parameters?.find((p) => p.name === 'user_id')
    t.match(userIdParam?.schema, { type: 'integer', minimum: 1, maximum: 2 ** 32 - 1 })
    const mediaIdParam = doc.paths['/media/{id}'].delete.parameters?.find((p) => p.name === 'id')
    const mediaIdItems = doc.paths['/tweet'].post.requestBody?.content['application/json'].schema.properties?.media_ids
    t.match(mediaIdParam?.schema, { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
    t.same(mediaIdItems?.items, mediaIdParam?.schema, 'media ids are the same schema in paths and in bodies')
  })

  t.test('request bodies state the limits their validators enforce', async (t) => {
    const json = (path: string, method: string) =>
      doc.paths[path][method].requestBody?.content['application/json'].schema.properties ?? {}
    t.match(json('/tweet', 'post').tweet, { type: 'string', minLength: 1, maxLength: 300 })
    t.match(json('/tweet/{id}', 'put').tweet, { type: 'string', minLength: 1, maxLength: 300 })
    t.match(json('/tweet', 'post').media_ids, { maxItems: 4, uniqueItems: true, items: { minimum: 1 } })
    const signUp = json('/sign-up', 'post')
    t.match(signUp.email, { type: 'string', format: 'email', maxLength: 255 })
    t.match(signUp.password, { type: 'string', maxLength: 72, description: /8–72 bytes/ })
    t.match(signUp.name, { minLength: 1, maxLength: 255 })
    t.match(signUp.profile, { maxLength: 2000 })
    t.match(json('/login', 'post').email, { format: 'email' })
    const username = { type: 'string', minLength: 3, maxLength: 30, pattern: '^[A-Za-z0-9_]+$' }
    t.match(signUp.username, username)
    t.match(json('/users/me', 'put').username, username)
    const param = doc.paths['/users/by-username/{username}'].get.parameters?.find((p) => p.name === 'username')
    t.match(param?.schema, username, 'the path states the same rule')
  })

  t.test('the answers of the app-wide limits and of conditional GET are listed where they happen', async (t) => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`
        const statuses = Object.keys(operation.responses)
        const exempt = path === '/ping' || path === '/health/ready'
        t.equal(statuses.includes('429'), !exempt, `${name} ${exempt ? 'is not' : 'is'} rate limited`)
        if (operation.requestBody) t.ok(statuses.includes('413'), `${name} lists 413 for a body too large`)
        if ((operation.security ?? []).length > 0) t.ok(statuses.includes('401'), `${name} lists 401`)
      }
    }
    t.match(doc.paths['/tweet'].post.responses['413'].description, /8192 bytes/)
    t.match(doc.paths['/media'].post.responses['413'].description, /MAX_MEDIA_BYTES/)
    t.match(doc.paths['/profile-picture'].post.responses['413'].description, /MAX_UPLOAD_BYTES/)
    t.match(doc.paths['/login'].post.responses['429'].description, /LOGIN_RATE_LIMIT_PER_EMAIL/)
    for (const path of ['/tweet/{id}', '/timeline/{user_id}', '/timeline']) {
      t.match(doc.paths[path].get.responses['304'].description, /If-None-Match/, `GET ${path} lists 304`)
    }
    t.ok(doc.paths['/tweet/{id}'].put.responses['403'], 'editing lists 403')
    t.ok(doc.paths['/tweet/{id}'].delete.responses['403'], 'deleting lists 403')
    t.ok(doc.paths['/sign-up'].post.responses['409'], 'sign-up lists 409')
    t.ok(doc.paths['/users/me'].put.responses['409'], 'a profile change lists 409 (a taken username)')
    t.ok(doc.paths['/users/by-username/{username}'].get.responses['404'], 'a lookup by username lists 404')
    t.ok(doc.paths['/media/{id}/restore'].post.responses['409'], 'restore lists 409')
  })

  t.test('the document lists only real routes, without the docs and upload routes', async (t) => {
    const registered = new Set(documented.map(({ method, url }) => `${method.toLowerCase()} ${openApiPath(url)}`))
    for (const [path, operations] of Object.entries(doc.paths)) {
      t.notOk(hidden(path), `${path} is not a hidden route`)
      for (const method of Object.keys(operations)) {
        t.ok(registered.has(`${method} ${path}`), `${method.toUpperCase()} ${path} is a registered route`)
      }
    }
  })
})
