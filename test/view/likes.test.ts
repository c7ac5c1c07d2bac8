// Likes through HTTP: PUT/DELETE /tweet/:id/like, like_count and liked on every tweet body, the optional
// token of public reads, and the two lists (GET /tweet/:id/likes, GET /users/:user_id/likes).
import { createHmac } from 'node:crypto'
import type { RowDataPacket } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { createPool } from '../../model/database.ts'
import { appFor, signUpAndLogin, testConfig, type TestUser } from '../helper.ts'

async function setUp(t: Test, env: Record<string, string> = {}) {
  const config = await testConfig(t, env)
  const app = await appFor(config)
  t.teardown(() => app.close())
  await app.ready()
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const as = (user?: TestUser) => (user ? { authorization: user.token } : {})
  const post = async (user: TestUser, tweet: string) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: as(user), payload: { tweet } })).json().id as number
  const like = (user: TestUser, id: number) =>
    app.inject({ method: 'PUT', url: `/tweet/${id}/like`, headers: as(user) })
  const unlike = (user: TestUser, id: number) =>
    app.inject({ method: 'DELETE', url: `/tweet/${id}/like`, headers: as(user) })
  const get = (url: string, user?: TestUser, headers: Record<string, string> = {}) =>
    app.inject({ url, headers: { ...as(user), ...headers } })
  /** Like ids, newest first: what the lists' cursors are. */
  const likeIds = async (column: 'tweet_id' | 'user_id', id: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT id FROM likes WHERE ${column} = ? ORDER BY id DESC`, [id])
    return rows.map((row) => row.id as number)
  }
  return { app, config, pool, as, post, like, unlike, get, likeIds }
}

const countAndFlag = (body: { like_count: number; liked: boolean }) => [body.like_count, body.liked]

t.test('PUT and DELETE /tweet/:id/like', async (t) => {
  const { app, pool, as, post, like, unlike, get, likeIds } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')

  t.test('PUT answers 200 with the tweet as GET /tweet/:id answers it to the liker', async (t) => {
    const id = await post(alice, 'like me')
    const res = await like(bob, id)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id, user_id: alice.id, tweet: 'like me', user: { id: alice.id, name: 'Alice' } })
    t.same(countAndFlag(res.json()), [1, true])
    t.same(res.json(), (await get(`/tweet/${id}`, bob)).json())
  })

  t.test('liking twice is one like; unliking twice leaves none', async (t) => {
    const id = await post(alice, 'idempotent')
    t.same(countAndFlag((await like(bob, id)).json()), [1, true])
    t.same(countAndFlag((await like(bob, id)).json()), [1, true])
    t.same(countAndFlag((await like(carol, id)).json()), [2, true])
    t.same(countAndFlag((await unlike(bob, id)).json()), [1, false])
    const again = await unlike(bob, id)
    t.equal(again.statusCode, 200)
    t.same(countAndFlag(again.json()), [1, false])
    t.same(countAndFlag((await unlike(carol, id)).json()), [0, false])
    t.same(countAndFlag((await unlike(carol, id)).json()), [0, false])
    t.same(await likeIds('tweet_id', id), [])
  })

  t.test('an unknown tweet answers 404 naming it, for both', async (t) => {
    for (const res of [await like(bob, 999_999), await unlike(bob, 999_999)]) {
      t.equal(res.statusCode, 404)
      t.same(res.json(), { message: 'Tweet not found', tweet_id: 999_999 })
    }
  })

  t.test('a deleted tweet answers 404, and its likes are gone', async (t) => {
    const id = await post(alice, 'doomed')
    await like(bob, id)
    await like(carol, id)
    t.equal((await app.inject({ method: 'DELETE', url: `/tweet/${id}`, headers: as(alice) })).statusCode, 204)
    t.same(await likeIds('tweet_id', id), [])
    for (const res of [await like(bob, id), await unlike(carol, id), await get(`/tweet/${id}/likes`)]) {
      t.equal(res.statusCode, 404)
      t.same(res.json(), { message: 'Tweet not found', tweet_id: id })
    }
  })

  t.test('without a token both answer 401; a bad id 400; and nothing is written', async (t) => {
    const id = await post(alice, 'guarded')
    t.equal((await app.inject({ method: 'PUT', url: `/tweet/${id}/like` })).statusCode, 401)
    t.equal((await app.inject({ method: 'DELETE', url: `/tweet/${id}/like` })).statusCode, 401)
    const bad = await like(bob, 0)
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { errors: [{ location: 'params', field: 'id' }] })
    t.same(await likeIds('tweet_id', id), [])
  })

  t.test('many concurrent likes and unlikes on one tweet leave the exact count', async (t) => {
    const id = await post(alice, 'popular')
    const fans: TestUser[] = []
    for (let i = 0; i < 24; i++) fans.push(await signUpAndLogin(app, `Fan${i}`))
    const liked = await Promise.all(fans.flatMap((fan) => [like(fan, id), like(fan, id)]))
    t.same(
      liked.map((res) => res.statusCode),
      liked.map(() => 200)
    )
    t.equal((await get(`/tweet/${id}`)).json().like_count, 24)
    // Half leave (each unliking twice) while the other half like again.
    const changed = await Promise.all([
      ...fans.slice(0, 12).flatMap((fan) => [unlike(fan, id), unlike(fan, id)]),
      ...fans.slice(12).map((fan) => like(fan, id))
    ])
    t.same(
      changed.map((res) => res.statusCode),
      changed.map(() => 200)
    )
    t.equal((await get(`/tweet/${id}`)).json().like_count, 12)
    const [[row]] = await pool.query<RowDataPacket[]>(
      'SELECT like_count, (SELECT COUNT(*) FROM likes WHERE tweet_id = ?) AS likes FROM tweets WHERE id = ?',
      [id, id]
    )
    t.same([row.like_count, Number(row.likes)], [12, 12])
  })
})

t.test('like_count and liked on every tweet body', async (t) => {
  const { app, as, post, like, get } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  await app.inject({ method: 'POST', url: '/follow', headers: as(bob), payload: { follow: alice.id } })
  const [first, second] = [await post(alice, 'first'), await post(alice, 'second')]
  await app.drainFanout()
  await like(bob, first)
  const flags = (timeline: { id: number; like_count: number; liked: boolean }[]) =>
    timeline.map((item) => [item.id, item.like_count, item.liked])

  t.test('a new tweet answers like_count 0 and liked false', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/tweet', headers: as(bob), payload: { tweet: 'new' } })
    t.same(countAndFlag(res.json()), [0, false])
    await app.inject({ method: 'DELETE', url: `/tweet/${res.json().id}`, headers: as(bob) })
  })

  t.test('GET /tweet/:id: liked for the caller who likes it, false for others and anonymous', async (t) => {
    t.same(countAndFlag((await get(`/tweet/${first}`, bob)).json()), [1, true])
    t.same(countAndFlag((await get(`/tweet/${first}`, alice)).json()), [1, false])
    t.same(countAndFlag((await get(`/tweet/${first}`)).json()), [1, false])
  })

  t.test('timelines: public with or without a token, and the caller’s own', async (t) => {
    const expected = (bobAsks: boolean) => [
      [second, 0, false],
      [first, 1, bobAsks]
    ]
    t.same(flags((await get(`/timeline/${alice.id}`, bob)).json().timeline), expected(true))
    t.same(flags((await get(`/timeline/${alice.id}`, alice)).json().timeline), expected(false))
    t.same(flags((await get(`/timeline/${alice.id}`)).json().timeline), expected(false))
    t.same(flags((await get('/timeline', bob)).json().timeline), expected(true))
  })

  t.test('a like shows at once on pages whose tweets come from the row cache', async (t) => {
    const url = `/timeline/${alice.id}`
    t.same(flags((await get(url, bob)).json().timeline)[0], [second, 0, false])
    await like(bob, second)
    t.same(flags((await get(url, bob)).json().timeline)[0], [second, 1, true])
    t.same(flags((await get(url)).json().timeline)[0], [second, 1, false])
    await app.inject({ method: 'DELETE', url: `/tweet/${second}/like`, headers: as(bob) })
    t.same(flags((await get(url, bob)).json().timeline)[0], [second, 0, false])
  })

  t.test('a page with a token answers the keys of a tweet body, the two new ones included', async (t) => {
    const [item] = (await get(`/timeline/${alice.id}`, bob)).json().timeline
    t.same(Object.keys(item).sort(), [
      'created_at',
      'edited_at',
      'id',
      'in_reply_to',
      'like_count',
      'liked',
      'media',
      'mentions',
      'reply_count',
      'retweet_count',
      'retweeted',
      'retweeted_by',
      'tweet',
      'user',
      'user_id'
    ])
  })
})

/** Public reads whose answer depends on the caller's token, about a tweet and its author. */
const callerDependentReads = (tweetId: number, userId: number) => [
  `/tweet/${tweetId}`,
  `/timeline/${userId}`,
  `/users/${userId}/likes`,
  `/tweet/${tweetId}/likes`,
  `/users/${userId}/followers`,
  `/users/${userId}/following`
]

t.test('public reads with an optional token', async (t) => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789'
  const { app, post } = await setUp(t, { JWT_SECRET: secret, CORS_ORIGINS: 'https://app.example' })
  const alice = await signUpAndLogin(app, 'Alice')
  const id = await post(alice, 'public')
  const now = Math.floor(Date.now() / 1000)
  const sign = (payload: object) => {
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
    return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
  }
  const publicReads = callerDependentReads(id, alice.id)

  t.test('an invalid, expired or orphaned token answers 401 as on authenticated routes', async (t) => {
    const cases: [string, string, string][] = [
      ['garbage', 'not-a-token', 'Authorization token is invalid'],
      ['expired', sign({ user_id: alice.id, exp: now - 10 }), 'Authorization token has expired'],
      [
        'of a deleted account',
        sign({ user_id: alice.id + 1000, exp: now + 60 }),
        'The account of this token no longer exists'
      ]
    ]
    for (const url of publicReads) {
      for (const [name, token, message] of cases) {
        const res = await app.inject({ url, headers: { authorization: token } })
        t.equal(res.statusCode, 401, `${url} with a token ${name}`)
        t.same(res.json(), { message })
      }
      const fine = await app.inject({ url, headers: { authorization: `Bearer ${alice.token}` } })
      t.equal(fine.statusCode, 200, `${url} with a good Bearer token`)
      t.equal((await app.inject({ url, headers: { authorization: '' } })).statusCode, 200, `${url}: empty is none`)
    }
  })

  t.test('behind CORS, Vary names Origin and then Authorization', async (t) => {
    for (const url of publicReads) {
      for (const headers of [{}, { authorization: alice.token }, { origin: 'https://app.example' }]) {
        t.equal((await app.inject({ url, headers })).headers.vary, 'Origin, Authorization', url)
      }
    }
  })
})

t.test('without CORS (production’s default), caller-dependent answers say Vary: Authorization alone', async (t) => {
  const { app, post, get } = await setUp(t, {
    NODE_ENV: 'production',
    DATABASE_URL: 'mysql://unused@127.0.0.1/unused',
    PUBLIC_URL: 'https://files.miniter.test'
  })
  const alice = await signUpAndLogin(app, 'Alice')
  const id = await post(alice, 'varied')
  for (const url of callerDependentReads(id, alice.id)) {
    t.equal((await get(url)).headers.vary, 'Authorization', `${url} anonymous`)
    t.equal((await get(url, alice)).headers.vary, 'Authorization', `${url} with a token`)
  }
  t.equal((await get(`/users/${alice.id}`)).headers.vary, 'Authorization', 'a profile carries the relationship')
})

t.test('ETags follow likes', async (t) => {
  const { app, post, like, unlike, get } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const id = await post(alice, 'tagged')

  for (const url of [`/tweet/${id}`, `/timeline/${alice.id}`]) {
    t.test(`${url}: a like changes the tag for everyone; the liker’s flag changes the liker’s`, async (t) => {
      const anonymous = (await get(url)).headers.etag as string
      const bobs = (await get(url, bob)).headers.etag as string
      t.equal(bobs, anonymous, 'before any like, Bob and an anonymous caller see the same')
      t.equal((await get(url, undefined, { 'if-none-match': anonymous })).statusCode, 304)
      await like(bob, id)
      const after = await get(url, undefined, { 'if-none-match': anonymous })
      t.equal(after.statusCode, 200, 'the count changed')
      const bobAfter = await get(url, bob, { 'if-none-match': bobs })
      t.equal(bobAfter.statusCode, 200)
      t.not(bobAfter.headers.etag, after.headers.etag, 'same count, but Bob likes it')
      t.equal((await get(url, bob, { 'if-none-match': bobAfter.headers.etag as string })).statusCode, 304)
      await unlike(bob, id)
      t.equal((await get(url, undefined)).headers.etag, anonymous, 'back to where it was')
    })
  }
})

t.test('GET /tweet/:id/likes', async (t) => {
  const { app, post, like, unlike, get, likeIds } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const id = await post(alice, 'who likes this')
  const fans: TestUser[] = []
  for (const name of ['Ann', 'Ben', 'Cat', 'Dan', 'Eve']) fans.push(await signUpAndLogin(app, name))
  for (const fan of fans) await like(fan, id)
  // Ann likes again after unliking: hers is now the newest like.
  await unlike(fans[0], id)
  await like(fans[0], id)
  const summary = (user: TestUser, name: string) => ({
    id: user.id,
    name,
    username: user.username,
    profile: `${name}'s profile`,
    profile_picture: null,
    following: false
  })

  t.test('pages newest like first, to the end, with like ids as cursors', async (t) => {
    const ids = await likeIds('tweet_id', id)
    const first = await get(`/tweet/${id}/likes?limit=2`)
    t.equal(first.statusCode, 200)
    t.same(first.json(), {
      tweet_id: id,
      users: [summary(fans[0], 'Ann'), summary(fans[4], 'Eve')],
      next_cursor: ids[1],
      prev_cursor: null
    })
    t.same((await get(`/tweet/${id}/likes?limit=2&before=${ids[1]}`)).json(), {
      tweet_id: id,
      users: [summary(fans[3], 'Dan'), summary(fans[2], 'Cat')],
      next_cursor: ids[3],
      prev_cursor: ids[2]
    })
    t.same((await get(`/tweet/${id}/likes?limit=2&before=${ids[3]}`)).json(), {
      tweet_id: id,
      users: [summary(fans[1], 'Ben')],
      next_cursor: null,
      prev_cursor: ids[4]
    })
    t.equal((await get(`/tweet/${id}/likes`)).json().users.length, 5, 'the default limit holds them all')
  })

  t.test('pages towards newer from a like id: the likes just above it, newest first', async (t) => {
    const ids = await likeIds('tweet_id', id)
    t.same((await get(`/tweet/${id}/likes?limit=2&after=${ids[4]}`)).json(), {
      tweet_id: id,
      users: [summary(fans[3], 'Dan'), summary(fans[2], 'Cat')],
      next_cursor: ids[3],
      prev_cursor: ids[2]
    })
    t.same((await get(`/tweet/${id}/likes?limit=2&after=${ids[2]}`)).json(), {
      tweet_id: id,
      users: [summary(fans[0], 'Ann'), summary(fans[4], 'Eve')],
      next_cursor: ids[1],
      prev_cursor: null
    })
  })

  t.test('a tweet nobody likes answers an empty page; an unknown one 404; bad paging 400', async (t) => {
    const lonely = await post(alice, 'lonely')
    t.same((await get(`/tweet/${lonely}/likes`)).json(), {
      tweet_id: lonely,
      users: [],
      next_cursor: null,
      prev_cursor: null
    })
    const unknown = await get('/tweet/999999/likes')
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { message: 'Tweet not found', tweet_id: 999_999 })
    t.equal((await get(`/tweet/${id}/likes?limit=0`)).statusCode, 400)
    t.equal((await get(`/tweet/${id}/likes?limit=101`)).statusCode, 400)
    t.equal((await get(`/tweet/${id}/likes?before=x`)).statusCode, 400)
  })
})

t.test('GET /users/:user_id/likes', async (t) => {
  const { app, post, like, get, likeIds, as } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')
  const tweets = [await post(alice, 'a'), await post(bob, 'b'), await post(alice, 'c'), await post(carol, 'd')]
  // Carol likes b, d, a, c in that order; Bob likes c.
  for (const i of [1, 3, 0, 2]) await like(carol, tweets[i])
  await like(bob, tweets[2])

  t.test('pages newest like first, to the end, with like ids (not tweet ids) as cursors', async (t) => {
    const ids = await likeIds('user_id', carol.id)
    const first = await get(`/users/${carol.id}/likes?limit=3`)
    t.equal(first.statusCode, 200)
    const body = first.json()
    t.equal(body.user_id, carol.id)
    t.same(
      body.tweets.map((item: { id: number }) => item.id),
      [tweets[2], tweets[0], tweets[3]]
    )
    t.equal(body.next_cursor, ids[2])
    const last = (await get(`/users/${carol.id}/likes?limit=3&before=${ids[2]}`)).json()
    t.same(
      last.tweets.map((item: { id: number }) => item.id),
      [tweets[1]]
    )
    t.equal(last.next_cursor, null)
    const newer = (await get(`/users/${carol.id}/likes?limit=3&after=${ids[3]}`)).json()
    t.same(
      newer.tweets.map((item: { id: number }) => item.id),
      [tweets[2], tweets[0], tweets[3]],
      'towards newer from the oldest like: the three above it'
    )
    t.equal(newer.prev_cursor, null, 'nothing newer than those')
  })

  t.test('each tweet is the body GET /tweet/:id answers the same caller', async (t) => {
    for (const caller of [bob, carol, undefined]) {
      const page = (await get(`/users/${carol.id}/likes`, caller)).json()
      const single = await Promise.all(
        page.tweets.map(async (item: { id: number }) => (await get(`/tweet/${item.id}`, caller)).json())
      )
      t.same(page.tweets, single, `as ${caller ? 'a caller' : 'anonymous'}`)
    }
    const asBob = (await get(`/users/${carol.id}/likes`, bob)).json()
    t.same(
      asBob.tweets.map((item: { id: number; liked: boolean; like_count: number }) => [
        item.id,
        item.like_count,
        item.liked
      ]),
      [
        [tweets[2], 2, true],
        [tweets[0], 1, false],
        [tweets[3], 1, false],
        [tweets[1], 1, false]
      ]
    )
  })

  t.test('a deleted tweet leaves the list', async (t) => {
    await app.inject({ method: 'DELETE', url: `/tweet/${tweets[3]}`, headers: as(carol) })
    t.same(
      (await get(`/users/${carol.id}/likes`)).json().tweets.map((item: { id: number }) => item.id),
      [tweets[2], tweets[0], tweets[1]]
    )
  })

  t.test('a user who likes nothing answers an empty page; an unknown user 404; a bad id 400', async (t) => {
    t.same((await get(`/users/${alice.id}/likes`)).json(), {
      user_id: alice.id,
      tweets: [],
      next_cursor: null,
      prev_cursor: null
    })
    const unknown = await get('/users/999999/likes')
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { message: 'User not found', user_id: 999_999 })
    t.equal((await get('/users/0/likes')).statusCode, 400)
  })
})
