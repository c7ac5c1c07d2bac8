// Miniter on an adopted book database: its users log in with passwords Python's bcrypt hashed, timelines hold
// exactly the right tweets across pages, counters and pictures are the book's, and later writes join in.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Migrator } from '../../model/migrator.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { createBookDatabase, instantOf, type BookData, type BookTweet } from '../fixtures/book.ts'
import { buildTestApp, emptyTestDatabaseUrl } from '../helper.ts'

interface TimelineItem {
  id: number
  user_id: number
  tweet: string
  created_at: string
  user: { id: number; name: string; username: string; profile_picture: string | null }
}

/** Every item of a timeline, following next_cursor from the first page. */
async function wholeTimeline(app: FastifyInstance, path: string, token?: string, limit = 7): Promise<TimelineItem[]> {
  const items: TimelineItem[] = []
  let before = ''
  for (;;) {
    const res = await app.inject({
      url: `${path}?limit=${limit}${before}`,
      headers: token ? { authorization: token } : {}
    })
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body}`)
    const body = res.json<{ timeline: TimelineItem[]; next_cursor: number | null }>()
    items.push(...body.timeline)
    if (body.next_cursor === null) return items
    before = `&before=${body.next_cursor}`
  }
}

/** What the book's own timeline query answered: the user's tweets and their followees', newest first. */
function bookTimeline(data: BookData, userId: number): BookTweet[] {
  const authors = new Set([userId, ...data.follows.filter(([u]) => u === userId).map(([, followee]) => followee)])
  return data.tweets.filter((tweet) => authors.has(tweet.user_id)).sort((a, b) => b.id - a.id)
}

function shown(data: BookData, tweets: BookTweet[]) {
  return tweets.map((tweet) => ({
    id: tweet.id,
    user_id: tweet.user_id,
    tweet: tweet.tweet,
    created_at: instantOf(tweet.created_at).toISOString(),
    name: data.users.find((u) => u.id === tweet.user_id)!.name
  }))
}

const seen = (items: TimelineItem[]) =>
  items.map((item) => ({
    id: item.id,
    user_id: item.user_id,
    tweet: item.tweet,
    created_at: item.created_at,
    name: item.user.name
  }))

t.test('Miniter on an adopted book database', async (t) => {
  const url = await emptyTestDatabaseUrl(t)
  const data = await createBookDatabase(url)
  // User 7 has five followers: over this threshold, it is read by its followers ('pull').
  await new Migrator(url, undefined, { fanoutMaxFollowers: 4 }).up()
  const app = await buildTestApp(t, { FANOUT_MAX_FOLLOWERS: '4' }, { databaseUrl: () => url })
  const tokens = new Map<number, string>()
  const login = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/login', payload: { email, password } })

  await t.test('every user logs in with the password the book hashed ($2b$, Python’s bcrypt)', async (t) => {
    for (const user of data.users) {
      t.match(user.hashed_password, /^\$2b\$/)
      const res = await login(user.email, user.password)
      t.equal(res.statusCode, 200, user.email)
      t.equal(res.json().user_id, user.id)
      tokens.set(user.id, res.json().access_token as string)
    }
    t.equal((await login(data.users[1].email, 'not the password')).statusCode, 401)
    t.equal((await login(data.users[0].email, data.users[1].password)).statusCode, 401)
  })

  t.test('every home timeline holds exactly the book’s tweets, newest first, across pages', async (t) => {
    for (const user of data.users) {
      const expected = shown(data, bookTimeline(data, user.id))
      // Pages of 3 read fewer tweets than some users follow accounts: only the accounts with the newest go on.
      for (const limit of [3, 7]) {
        const items = await wholeTimeline(app, '/timeline', tokens.get(user.id), limit)
        t.same(seen(items), expected, `GET /timeline as ${user.id}, ${limit} a page`)
      }
      t.same(seen(await wholeTimeline(app, `/timeline/${user.id}`, undefined, 10)), expected, `/timeline/${user.id}`)
    }
    t.same(await wholeTimeline(app, '/timeline/5'), [], 'a user without tweets or follows has an empty timeline')
  })

  t.test('a page after a cursor holds the book tweets immediately newer than it', async (t) => {
    const expected = shown(data, bookTimeline(data, 2))
    const res = await app.inject({
      url: `/timeline?limit=5&after=${expected[20].id}`,
      headers: { authorization: tokens.get(2) }
    })
    t.equal(res.statusCode, 200)
    t.same(seen(res.json<{ timeline: TimelineItem[] }>().timeline), expected.slice(15, 20))
  })

  t.test('profiles count the book’s rows and keep its times and picture links', async (t) => {
    for (const user of data.users) {
      const res = await app.inject({ url: `/users/${user.id}` })
      t.equal(res.statusCode, 200)
      t.match(res.json(), {
        id: user.id,
        name: user.name,
        profile: user.profile,
        profile_picture: user.profile_picture,
        created_at: instantOf(user.created_at).toISOString(),
        followers_count: data.follows.filter(([, followee]) => followee === user.id).length,
        following_count: data.follows.filter(([follower]) => follower === user.id).length,
        tweets_count: data.tweets.filter((tweet) => tweet.user_id === user.id).length
      })
    }
    const picture = await app.inject({ url: '/profile-picture/1' })
    t.same(picture.json(), { img_url: data.users[0].profile_picture })
  })

  t.test('a tweet written now shows above the book’s, for the followers of push and pull accounts', async (t) => {
    const post = async (userId: number, text: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: tokens.get(userId) },
        payload: { tweet: text }
      })
      t.equal(res.statusCode, 200)
      return res.json<{ id: number }>().id
    }
    const fromMinji = await post(3, '입양 후 첫 트윗 🐣')
    const fromStar = await post(7, 'still here ⭐')
    t.ok(fromMinji >= data.nextTweetId, 'new ids come after every id the book gave')
    await app.drainFanout()
    // Bob (2) follows Minji (3, 'push': copied to him) and the star (7, 'pull': read directly).
    const bobs = await wholeTimeline(app, '/timeline', tokens.get(2))
    t.same(
      bobs.slice(0, 2).map((item) => [item.id, item.tweet]),
      [
        [fromStar, 'still here ⭐'],
        [fromMinji, '입양 후 첫 트윗 🐣']
      ]
    )
    t.same(seen(bobs.slice(2)), shown(data, bookTimeline(data, 2)))
    const carols = await wholeTimeline(app, '/timeline', tokens.get(4))
    t.same(carols[0].id, fromStar, 'Carol follows only the star')
    t.same(seen(carols.slice(1)), shown(data, bookTimeline(data, 4)))
  })

  t.test('a follow made now brings the followee’s book tweets into the follower’s timeline', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: tokens.get(5) },
      payload: { follow: 6 }
    })
    t.equal(res.statusCode, 200)
    t.same(
      seen(await wholeTimeline(app, '/timeline', tokens.get(5))),
      shown(
        data,
        data.tweets.filter((tweet) => tweet.user_id === 6).sort((a, b) => b.id - a.id)
      )
    )
  })

  t.test('a new picture replaces the book’s link, whose object Miniter never deletes', async (t) => {
    const form = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
    const res = await app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, authorization: tokens.get(1) },
      payload: form.payload
    })
    t.equal(res.statusCode, 200)
    t.not(res.json().img_url, data.users[0].profile_picture)
    // Its record went with the switch: nothing is left for the purge to try and fail on.
    const report = await app.purgeMedia()
    t.same(report.failed, [], 'the replaced link is let go without an error')
    t.equal(report.objects, 0)
  })
})
