import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { appFor, buildTestApp, signUpAndLogin, testConfig } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

t.test('POST /tweet', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const post = (tweet: unknown, authorization = alice.token) =>
    app.inject({ method: 'POST', url: '/tweet', headers: { authorization }, payload: { tweet } })

  t.test('answers 200 with the created tweet (bare token, as the book sends it)', async (t) => {
    const res = await post('hello world')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { user_id: alice.id, tweet: 'hello world', id: Number, created_at: /Z$/ })
  })

  t.test('accepts "Bearer <token>" too', async (t) => {
    const res = await post('with bearer', `Bearer ${alice.token}`)
    t.equal(res.statusCode, 200)
  })

  t.test('300 Korean syllables or 300 emoji are within the limit and stored intact', async (t) => {
    const korean = '가'.repeat(300)
    const emoji = '😀'.repeat(300)
    const a = await post(korean)
    const b = await post(emoji)
    t.equal(a.statusCode, 200)
    t.equal(a.json().tweet, korean)
    t.equal(b.statusCode, 200)
    t.equal(b.json().tweet, emoji)
    const timeline = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(timeline.json().timeline[0].tweet, emoji)
  })

  t.test('301 characters answers 400 naming the field', async (t) => {
    const res = await post('a'.repeat(301))
    t.equal(res.statusCode, 400)
    t.match(res.json(), { message: /tweet/, errors: [{ field: 'tweet' }] })
  })

  t.test('an empty or blank tweet answers 400', async (t) => {
    t.equal((await post('')).statusCode, 400)
    t.equal((await post('   ')).statusCode, 400)
  })

  t.test('a non-string tweet answers 400', async (t) => {
    t.equal((await post(42)).statusCode, 400)
    t.equal((await post({ text: 'x' })).statusCode, 400)
  })
})

t.test('POST /tweet by an account deleted after its token was issued', async (t) => {
  const config = await testConfig(t)
  const app = await appFor(config)
  t.teardown(() => app.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const ghost = await signUpAndLogin(app, 'Ghost')
  const fan = await signUpAndLogin(app, 'Fan')
  await app.inject({
    method: 'POST',
    url: '/follow',
    headers: { authorization: fan.token },
    payload: { follow: ghost.id }
  })
  const form = multipart('file', 'p.png', 'image/png', pngBytes)
  const upload = await app.inject({
    method: 'POST',
    url: '/media',
    headers: { ...form.headers, authorization: ghost.token },
    payload: form.payload
  })
  t.equal(upload.statusCode, 201)
  const counts = async () => {
    const [[row]] = await pool.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM tweets) AS tweets,
              (SELECT COUNT(*) FROM timeline_entries) AS timeline_entries,
              (SELECT COUNT(*) FROM fanout_outbox) AS fanout_outbox, (SELECT COUNT(*) FROM tweet_media) AS tweet_media`
    )
    return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]))
  }
  await pool.query('DELETE FROM users WHERE id = ?', [ghost.id])
  const before = await counts()
  t.same(before, { users: 1, tweets: 0, timeline_entries: 0, fanout_outbox: 0, tweet_media: 0 })

  for (const [name, payload] of [
    ['a tweet', { tweet: 'from beyond' }],
    ['a tweet with the media it had uploaded', { tweet: 'from beyond', media_ids: [upload.json().id] }]
  ] as const) {
    t.test(`${name} answers 401 and writes nothing`, async (t) => {
      const res = await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: ghost.token }, payload })
      t.equal(res.statusCode, 401)
      t.same(res.json(), { message: 'The account of this token no longer exists' })
      t.same(await counts(), before)
    })
  }
})
