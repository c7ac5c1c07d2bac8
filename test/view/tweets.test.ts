import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { maxThreadAncestors, maxThreadDepth } from '../../service/limits.ts'
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

t.test('replies: POST /tweet with in_reply_to', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const post = (user: { token: string }, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/tweet', headers: { authorization: user.token }, payload })
  const get = (id: number) => app.inject({ url: `/tweet/${id}` })
  const tweetsCount = async (user: { id: number }) =>
    (await app.inject({ url: `/users/${user.id}` })).json().tweets_count as number
  const root = (await post(alice, { tweet: 'root' })).json()

  t.test('every tweet body carries in_reply_to and reply_count', async (t) => {
    t.match(root, { in_reply_to: null, reply_count: 0 })
  })

  t.test('a reply answers 200 with its parent; the parent’s reply_count grows', async (t) => {
    const res = await post(bob, { tweet: 'a reply', in_reply_to: root.id })
    t.equal(res.statusCode, 200)
    const reply = res.json()
    t.same(reply, {
      id: reply.id,
      user_id: bob.id,
      tweet: 'a reply',
      created_at: reply.created_at,
      edited_at: null,
      user: { id: bob.id, name: 'Bob', username: bob.username, profile_picture: null },
      media: [],
      like_count: 0,
      liked: false,
      in_reply_to: root.id,
      reply_count: 0,
      retweet_count: 0,
      retweeted: false,
      retweeted_by: null,
      mentions: []
    })
    t.same((await get(reply.id)).json(), reply, 'GET /tweet/:id shows the same')
    t.equal((await get(root.id)).json().reply_count, 1)
    const timeline = (await app.inject({ url: `/timeline/${bob.id}` })).json()
    t.same(timeline.timeline[0], reply, 'a reply is on timelines like any tweet')
  })

  t.test('"in_reply_to": null is a tweet that answers none', async (t) => {
    const res = await post(bob, { tweet: 'no parent', in_reply_to: null })
    t.equal(res.statusCode, 200)
    t.equal(res.json().in_reply_to, null)
  })

  t.test('in_reply_to of an unknown or deleted tweet answers 404 naming it, and stores nothing', async (t) => {
    const doomed = (await post(alice, { tweet: 'doomed' })).json()
    await app.inject({ method: 'DELETE', url: `/tweet/${doomed.id}`, headers: { authorization: alice.token } })
    const before = await tweetsCount(bob)
    for (const parent of [999_999, doomed.id]) {
      const res = await post(bob, { tweet: 'to nothing', in_reply_to: parent })
      t.equal(res.statusCode, 404)
      t.same(res.json(), { message: 'The tweet in_reply_to names does not exist', in_reply_to: parent })
    }
    t.equal(await tweetsCount(bob), before)
  })

  t.test('in_reply_to that is not a tweet id answers 400 naming the field', async (t) => {
    for (const parent of [0, -1, 1.5, 'abc', {}, 2 ** 53]) {
      const res = await post(bob, { tweet: 'x', in_reply_to: parent })
      t.equal(res.statusCode, 400, JSON.stringify(parent))
      t.match(res.json(), { errors: [{ location: 'body', field: 'in_reply_to' }] })
    }
  })

  t.test('a reply with media to an unknown tweet answers 404 and leaves the media free to use', async (t) => {
    const form = multipart('file', 'p.png', 'image/png', pngBytes)
    const upload = await app.inject({
      method: 'POST',
      url: '/media',
      headers: { ...form.headers, authorization: bob.token },
      payload: form.payload
    })
    const mediaId = upload.json().id as number
    const refused = await post(bob, { tweet: 'with media', media_ids: [mediaId], in_reply_to: 999_999 })
    t.equal(refused.statusCode, 404)
    const res = await post(bob, { tweet: 'with media', media_ids: [mediaId], in_reply_to: root.id })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { in_reply_to: root.id, media: [{ id: mediaId }] })
  })

  t.test('the ETag of a tweet changes with its reply_count', async (t) => {
    const parent = (await post(alice, { tweet: 'watched' })).json()
    const first = (await get(parent.id)).headers.etag as string
    const reply = (await post(bob, { tweet: 'news', in_reply_to: parent.id })).json()
    const changed = await app.inject({ url: `/tweet/${parent.id}`, headers: { 'if-none-match': first } })
    t.equal(changed.statusCode, 200)
    t.equal(changed.json().reply_count, 1)
    t.not(changed.headers.etag, first)
    await app.inject({ method: 'DELETE', url: `/tweet/${reply.id}`, headers: { authorization: bob.token } })
    const back = await app.inject({ url: `/tweet/${parent.id}`, headers: { 'if-none-match': first } })
    t.equal(back.statusCode, 304, 'as it was, the same tag again')
  })

  t.test('deleting a reply lowers the count; deleting the parent leaves the reply', async (t) => {
    const parent = (await post(alice, { tweet: 'parent' })).json()
    const keep = (await post(bob, { tweet: 'kept', in_reply_to: parent.id })).json()
    const drop = (await post(bob, { tweet: 'dropped', in_reply_to: parent.id })).json()
    t.equal((await get(parent.id)).json().reply_count, 2)
    const del = (user: { token: string }, id: number) =>
      app.inject({ method: 'DELETE', url: `/tweet/${id}`, headers: { authorization: user.token } })
    t.equal((await del(bob, drop.id)).statusCode, 204)
    t.equal((await get(parent.id)).json().reply_count, 1)
    t.equal((await del(alice, parent.id)).statusCode, 204)
    t.equal((await get(parent.id)).statusCode, 404)
    t.same((await get(keep.id)).json(), keep, 'the reply stays as it was, naming its deleted parent')
  })
})

t.test('GET /tweet/:id/context', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const post = async (user: { token: string }, tweet: string, inReplyTo?: number) => {
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: user.token },
      payload: { tweet, in_reply_to: inReplyTo }
    })
    return res.json().id as number
  }
  const context = (id: number) => app.inject({ url: `/tweet/${id}/context` })
  const ids = (items: { id: number; deleted?: boolean }[]) => items.map((item) => (item.deleted ? -item.id : item.id))
  // Posted in an order that is not the thread's: a branch grows after its sibling started.
  const root = await post(alice, 'root')
  const a = await post(bob, 'a', root)
  const b = await post(alice, 'b', root)
  const a1 = await post(alice, 'a1', a)
  const b1 = await post(bob, 'b1', b)
  const a2 = await post(bob, 'a2', a)
  const a1a = await post(alice, 'a1a', a1)

  t.test('answers ancestors oldest first and descendants depth first, oldest first among siblings', async (t) => {
    const res = await context(a1)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['ancestors', 'descendants'])
    t.same(ids(body.ancestors), [root, a])
    t.same(ids(body.descendants), [a1a])
    t.same(body.ancestors[1], (await app.inject({ url: `/tweet/${a}` })).json(), 'tweets as GET /tweet/:id shows them')
    t.same(ids((await context(root)).json().descendants), [a, a1, a1a, a2, b, b1])
    t.same((await context(b1)).json(), {
      ancestors: [
        (await app.inject({ url: `/tweet/${root}` })).json(),
        (await app.inject({ url: `/tweet/${b}` })).json()
      ],
      descendants: []
    })
  })

  t.test('a deleted tweet inside the thread is {id, deleted: true, in_reply_to}', async (t) => {
    await app.inject({ method: 'DELETE', url: `/tweet/${a}`, headers: { authorization: bob.token } })
    const descendants = (await context(root)).json().descendants
    t.same(descendants[0], { id: a, deleted: true, in_reply_to: root })
    t.same(ids(descendants), [-a, a1, a1a, a2, b, b1], 'its replies stay where they were')
    await app.inject({ method: 'DELETE', url: `/tweet/${root}`, headers: { authorization: alice.token } })
    const above = (await context(a1a)).json().ancestors
    t.same(above.slice(0, 2), [
      { id: root, deleted: true, in_reply_to: null },
      { id: a, deleted: true, in_reply_to: root }
    ])
    t.same(ids(above), [-root, -a, a1])
  })

  t.test('an unknown or deleted tweet answers 404; a bad id 400', async (t) => {
    const unknown = await context(999_999)
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { message: 'Tweet not found', tweet_id: 999_999 })
    t.equal((await context(a)).statusCode, 404)
    const bad = await app.inject({ url: '/tweet/abc/context' })
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { errors: [{ location: 'params', field: 'id' }] })
  })

  t.test(`caps: ${maxThreadAncestors} ancestors, ${maxThreadDepth} levels of descendants`, async (t) => {
    const top = await post(alice, 'a long chain')
    const chain: number[] = []
    for (let i = 0, above = top; i <= maxThreadAncestors; i++) chain.push((above = await post(bob, `link ${i}`, above)))
    const fromBottom = (await context(chain.at(-1)!)).json()
    t.same(ids(fromBottom.ancestors), chain.slice(0, -1), 'the nearest ones')
    t.equal(fromBottom.ancestors[0].in_reply_to, top, 'the first names a parent: there is more above')
    const fromTop = (await context(top)).json()
    t.same(ids(fromTop.descendants), chain.slice(0, maxThreadDepth))
    t.equal(fromTop.descendants.at(-1).reply_count, 1, 'the deepest shown tells there is more below')
  })
})
