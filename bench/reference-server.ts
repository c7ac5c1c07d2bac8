// Reference servers for the benchmark, each a bare node:http process with no framework:
//   ping          answers GET /ping with "pong" (this machine's ceiling for an HTTP round trip);
//   timeline-sql  answers GET /timeline/:user_id?limit= (and the caller's GET /timeline?limit=: the token
//                 verified with JWT_SECRET, the account looked up, the caller's flags) by running the
//                 app's own queries (a);
//   pk-range      answers the same URL with the cheapest 20-tweet read there is, a primary-key range (b);
//   insert        answers POST /tweet with one autocommit INSERT INTO tweets: the floor of a post.
import { createVerifier } from 'fast-jwt'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { createPool, type Pool } from '../model/database.ts'
import { timelineReader } from './timeline-call.ts'

type Mode = 'ping' | 'timeline-sql' | 'pk-range' | 'insert'
/** Answers the body of GET /timeline/:user_id?limit=, with flags for viewerId when given. */
type Reader = (userId: number, limit: number, viewerId?: number) => Promise<unknown>

const mode = process.argv[2] as Mode
if (!['ping', 'timeline-sql', 'pk-range', 'insert'].includes(mode)) {
  process.stderr.write(
    'usage: reference-server.ts ping|timeline-sql|pk-range|insert (PORT, DATABASE_URL from the environment)\n'
  )
  process.exit(2)
}

const pong = Buffer.from('pong')
const verifyToken = createVerifier({ key: process.env.JWT_SECRET ?? '', algorithms: ['HS256'] })
const timelinePath = /^\/timeline(?:\/(\d+))?(?:\?(.*))?$/

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

async function pkRangeReader(pool: Pool): Promise<Reader> {
  const [[{ maxId }]] = await pool.query<RowDataPacket[]>('SELECT MAX(id) AS maxId FROM tweets')
  const newest = Number(maxId)
  return async (userId, limit) => {
    const from = limit + Math.floor(Math.random() * Math.max(1, newest - limit))
    const [rows] = await pool.execute<
      (RowDataPacket & { id: number; user_id: number; tweet: string; created_at: Date })[]
    >('SELECT id, user_id, tweet, created_at FROM tweets WHERE id <= ? ORDER BY id DESC LIMIT 20', [from])
    return {
      user_id: userId,
      timeline: rows.map((row) => ({
        id: row.id,
        user_id: row.user_id,
        tweet: row.tweet,
        created_at: row.created_at.toISOString()
      }))
    }
  }
}

async function body(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}

/** The user id a bearer token names, read without checking the signature: references do no auth work. */
function tokenUserId(header: string | undefined): number {
  const payload = (header ?? '').replace(/^Bearer /, '').split('.')[1] ?? ''
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString() || '{}') as { user_id?: unknown }
  return Number(claims.user_id)
}

/** The user id of a bearer token whose HS256 signature and exp are good (as view/auth.ts checks them). */
function verifiedUserId(header: string | undefined): number {
  const { user_id } = verifyToken((header ?? '').replace(/^Bearer /, '')) as { user_id: number }
  return user_id
}

async function main(): Promise<void> {
  let read: Reader | undefined
  let pool: Pool | undefined
  let release: (() => Promise<void>) | undefined
  const url = process.env.DATABASE_URL
  if (mode !== 'ping' && !url) throw new Error('DATABASE_URL is required for the database references')
  const origin = `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 0}`
  if (mode === 'timeline-sql') {
    const reader = await timelineReader(url!, origin)
    read = reader.read
    release = reader.close
  } else if (mode !== 'ping') {
    // The app's own pool factory with the app's defaults, so both sides get the same pool size.
    pool = createPool(url!)
    release = () => pool!.end()
    if (mode === 'pk-range') read = await pkRangeReader(pool)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/ping') return send(res, 200, 'text/plain; charset=utf-8', pong)
    if (mode === 'insert' && req.method === 'POST' && req.url === '/tweet') {
      const { tweet } = JSON.parse(await body(req)) as { tweet: string }
      const userId = tokenUserId(req.headers.authorization)
      const [result] = await pool!.execute<ResultSetHeader>('INSERT INTO tweets (user_id, tweet) VALUES (?, ?)', [
        userId,
        tweet
      ])
      return send(
        res,
        200,
        'application/json; charset=utf-8',
        JSON.stringify({ id: result.insertId, user_id: userId, tweet })
      )
    }
    const match = read && req.method === 'GET' ? timelinePath.exec(req.url ?? '') : null
    if (!match) return send(res, 404, 'application/json; charset=utf-8', '{"message":"not found"}')
    // GET /timeline is the caller's own, with the caller's flags; GET /timeline/:user_id is anonymous.
    const viewerId = match[1] === undefined ? verifiedUserId(req.headers.authorization) : undefined
    const userId = viewerId ?? Number(match[1])
    const limit = Number(new URLSearchParams(match[2] ?? '').get('limit') ?? 20)
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify(await read!(userId, limit, viewerId)))
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
      if (!res.headersSent) send(res, 500, 'application/json; charset=utf-8', '{"message":"Internal Server Error"}')
    })
  })
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1')
  const close = () => {
    server.close()
    server.closeAllConnections()
    void release?.()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
