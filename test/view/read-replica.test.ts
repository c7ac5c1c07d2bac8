import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from '../../model/database.ts'
import { appFor, signUpAndLogin, testConfig, testDatabaseUrl } from '../helper.ts'

// A second database stands in for the replica, holding other data than the primary under the same ids:
// each answer shows which database it came from.
t.test('DATABASE_READ_URL routes timeline, profile and follow-list reads to the replica', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  const config = await testConfig(t)
  const app = await appFor({ ...config, databaseReadUrl: replicaUrl })
  t.teardown(() => app.close())
  const primary = createPool(config.databaseUrl)
  t.teardown(() => primary.end())
  const replica = createPool(replicaUrl)
  t.teardown(() => replica.end())

  // The primary, through the API: Alice tweets, Bob follows her.
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const tweet = await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: alice.token },
    payload: { tweet: 'on the primary' }
  })
  t.equal(tweet.statusCode, 200)
  const tweetId: number = tweet.json().id
  const followed = await app.inject({
    method: 'POST',
    url: '/follow',
    headers: { authorization: bob.token },
    payload: { follow: alice.id }
  })
  t.equal(followed.statusCode, 200)

  // The replica, written directly: the same two ids with other names and counters, a third user only
  // it has, other follows (Carol follows Alice, Bob follows Carol), another text for Alice's tweet id and
  // a tweet only it has, alone on Alice's timeline there.
  const carolId = bob.id + 1
  const replicaTweetId = tweetId + 1000
  await replica.query(
    `INSERT INTO users (id, name, username, email, hashed_password, profile, followers_count, following_count, tweets_count)
     VALUES ?`,
    [
      [
        [alice.id, 'Alice on the replica', 'alice_replica', 'alice@replica.example', 'x', 'replica profile', 1, 0, 7],
        [bob.id, 'Bob on the replica', 'bob_replica', 'bob@replica.example', 'x', 'replica profile', 0, 1, 0],
        [
          carolId,
          'Carol only on the replica',
          'carol_replica',
          'carol@replica.example',
          'x',
          'replica profile',
          1,
          1,
          0
        ]
      ]
    ]
  )
  await replica.query('INSERT INTO users_follow_list (user_id, follow_user_id) VALUES ?', [
    [
      [carolId, alice.id],
      [bob.id, carolId]
    ]
  ])
  await replica.query('INSERT INTO tweets (id, user_id, tweet) VALUES ?', [
    [
      [tweetId, alice.id, 'the replica’s text for this id'],
      [replicaTweetId, alice.id, 'only on the replica']
    ]
  ])
  await replica.query('INSERT INTO timeline_entries (owner_id, tweet_id, author_id) VALUES (?, ?, ?)', [
    alice.id,
    replicaTweetId,
    alice.id
  ])
  const follows = async (pool: typeof primary) =>
    (
      await pool.query<RowDataPacket[]>(
        'SELECT user_id, follow_user_id FROM users_follow_list ORDER BY user_id, follow_user_id'
      )
    )[0].map((row) => [row.user_id, row.follow_user_id])

  t.test('writes go to the primary only', async (t) => {
    t.same(await follows(primary), [[bob.id, alice.id]])
    t.same(
      await follows(replica),
      [
        [bob.id, carolId],
        [carolId, alice.id]
      ],
      'the replica holds only what the test wrote there'
    )
    const [[row]] = await primary.query<RowDataPacket[]>('SELECT tweet FROM tweets WHERE id = ?', [tweetId])
    t.equal(row.tweet, 'on the primary')
  })

  t.test('a public profile is the replica’s', async (t) => {
    t.match((await app.inject({ url: `/users/${alice.id}` })).json(), {
      id: alice.id,
      name: 'Alice on the replica',
      followers_count: 1,
      tweets_count: 7
    })
  })

  t.test('follow lists are the replica’s', async (t) => {
    const followers = (await app.inject({ url: `/users/${alice.id}/followers` })).json()
    t.same(followers.users, [
      {
        id: carolId,
        name: 'Carol only on the replica',
        username: 'carol_replica',
        profile: 'replica profile',
        profile_picture: null,
        following: false
      }
    ])
    const following = (await app.inject({ url: `/users/${bob.id}/following` })).json()
    t.same(
      following.users.map((user: { id: number }) => user.id),
      [carolId],
      'the primary would answer Alice'
    )
  })

  t.test('a timeline is the replica’s', async (t) => {
    const timeline = (await app.inject({ url: `/timeline/${alice.id}` })).json()
    t.same(
      timeline.timeline.map((item: { id: number; tweet: string }) => [item.id, item.tweet]),
      [[replicaTweetId, 'only on the replica']],
      'the primary would answer the tweet just posted'
    )
  })

  t.test('your own profile reads the primary, so you see your own writes', async (t) => {
    const me = await app.inject({ url: '/users/me', headers: { authorization: alice.token } })
    t.equal(me.statusCode, 200)
    t.match(me.json(), { id: alice.id, name: 'Alice', email: alice.email, followers_count: 1, tweets_count: 1 })
  })

  t.test('one tweet is read from the primary, so its author sees it (and an edit) at once', async (t) => {
    const one = await app.inject({ url: `/tweet/${tweetId}` })
    t.equal(one.statusCode, 200)
    t.equal(one.json().tweet, 'on the primary')
    t.equal((await app.inject({ url: `/tweet/${replicaTweetId}` })).statusCode, 404)
  })

  t.test('login and the account check of a token read the primary', async (t) => {
    const login = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: alice.email, password: alice.password }
    })
    t.equal(login.statusCode, 200)
    t.equal(login.json().user_id, alice.id)
    const replicaOnly = app.jwt.sign({ user_id: carolId }, { expiresIn: '1h' })
    const me = await app.inject({ url: '/users/me', headers: { authorization: replicaOnly } })
    t.equal(me.statusCode, 401, 'an account only the replica has is no account')
    t.same(me.json(), { message: 'The account of this token no longer exists' })
  })
  t.test('like lists are the replica’s; the caller’s flags and the answer to a like are the primary’s', async (t) => {
    await replica.query('INSERT INTO likes (user_id, tweet_id) VALUES (?, ?)', [carolId, tweetId])
    const liked = await app.inject({
      method: 'PUT',
      url: `/tweet/${tweetId}/like`,
      headers: { authorization: bob.token }
    })
    t.equal(liked.statusCode, 200)
    t.match(liked.json(), { tweet: 'on the primary', like_count: 1, liked: true })
    t.match((await app.inject({ url: `/tweet/${tweetId}`, headers: { authorization: bob.token } })).json(), {
      like_count: 1,
      liked: true
    })
    t.same(
      (await app.inject({ url: `/tweet/${tweetId}/likes` })).json().users.map((user: { id: number }) => user.id),
      [carolId],
      'the primary would answer Bob'
    )
    t.same(
      (await app.inject({ url: `/users/${bob.id}/likes` })).json().tweets,
      [],
      'the primary would answer the tweet'
    )
  })
})
