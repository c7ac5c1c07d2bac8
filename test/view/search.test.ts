// Search through HTTP: GET /search/users and GET /search/tweets, their 400s, paging, tokens and blocks.
import t from 'tap'
import { appFor, signUpAndLogin, testConfig, type TestUser } from '../helper.ts'

t.test('GET /search/users and /search/tweets', async (t) => {
  const app = await appFor(await testConfig(t))
  t.teardown(() => app.close())
  await app.ready()
  const as = (user?: TestUser) => (user ? { authorization: user.token } : {})
  const [minjun, minji, viewer] = [
    await signUpAndLogin(app, 'Minjun'),
    await signUpAndLogin(app, 'Minji'),
    await signUpAndLogin(app, 'Viewer')
  ]
  for (const [user, name] of [
    [minjun, '김민준'],
    [minji, '김민지']
  ] as const) {
    await app.inject({ method: 'PUT', url: '/users/me', headers: as(user), payload: { name } })
  }
  const post = async (user: TestUser, tweet: string) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: as(user), payload: { tweet } })).json().id as number
  const travel = await post(minjun, '세계를 여행하는 사람')
  const weather = await post(minji, '오늘 날씨, #세계 최고')
  const get = (url: string, user?: TestUser) => app.inject({ url, headers: as(user) })

  t.test('users by a name or username prefix, newest first, paged, with following', async (t) => {
    await app.inject({ method: 'POST', url: '/follow', headers: as(viewer), payload: { follow: minjun.id } })
    const first = await get(`/search/users?q=${encodeURIComponent('김민')}&limit=1`, viewer)
    t.equal(first.statusCode, 200)
    t.same(first.json(), {
      users: [
        {
          id: minji.id,
          name: '김민지',
          username: minji.username,
          profile: "Minji's profile",
          profile_picture: null,
          following: false
        }
      ],
      next_cursor: minji.id
    })
    const second = (
      await get(`/search/users?q=${encodeURIComponent('김민')}&limit=1&before=${minji.id}`, viewer)
    ).json()
    t.match(second, { users: [{ id: minjun.id, following: true }], next_cursor: null })
    const byUsername = (await get(`/search/users?q=${encodeURIComponent('@' + minjun.username.toUpperCase())}`)).json()
    t.same(
      byUsername.users.map((user: { id: number }) => user.id),
      [minjun.id]
    )
  })

  t.test('tweets by their words, newest first, paged, with the caller’s flags', async (t) => {
    await app.inject({ method: 'PUT', url: `/tweet/${travel}/like`, headers: as(viewer) })
    const first = await get(`/search/tweets?q=${encodeURIComponent('세계')}&limit=1`, viewer)
    t.equal(first.statusCode, 200)
    t.match(first.json(), {
      tweets: [{ id: weather, tweet: '오늘 날씨, #세계 최고', liked: false }],
      next_cursor: weather
    })
    const second = (
      await get(`/search/tweets?q=${encodeURIComponent('세계')}&limit=1&before=${weather}`, viewer)
    ).json()
    t.match(second, { tweets: [{ id: travel, liked: true, user: { id: minjun.id } }], next_cursor: null })
    t.same(
      (await get(`/search/tweets?q=${encodeURIComponent('사람 세계')}`)).json().tweets.map((x: { id: number }) => x.id),
      [travel]
    )
  })

  t.test('a block either way hides the other from both searches', async (t) => {
    await app.inject({ method: 'PUT', url: `/users/${minji.id}/block`, headers: as(viewer) })
    const users = (await get(`/search/users?q=${encodeURIComponent('김민')}`, viewer)).json().users
    t.same(
      users.map((user: { id: number }) => user.id),
      [minjun.id]
    )
    const tweets = (await get(`/search/tweets?q=${encodeURIComponent('세계')}`, minji)).json().tweets
    t.same(
      tweets.map((tweet: { id: number }) => tweet.id),
      [weather, travel],
      'the blocked user still finds others'
    )
    const blocked = (await get(`/search/tweets?q=${encodeURIComponent('세계')}`, viewer)).json().tweets
    t.same(
      blocked.map((tweet: { id: number }) => tweet.id),
      [travel]
    )
    await app.inject({ method: 'DELETE', url: `/users/${minji.id}/block`, headers: as(viewer) })
  })

  t.test('a bad q, a bad page or a bad token is a 4xx naming the problem', async (t) => {
    for (const path of ['/search/users', '/search/tweets']) {
      const missing = await get(path)
      t.equal(missing.statusCode, 400)
      t.match(missing.json(), { message: /q is required/ })
      for (const q of ['a', ' b ', 'x'.repeat(101)]) {
        const res = await get(`${path}?q=${encodeURIComponent(q)}`)
        t.equal(res.statusCode, 400, `${path} q=${q.slice(0, 5)}`)
        t.same(res.json(), { message: 'q must be 2 to 100 characters', field: 'q' })
      }
      t.equal((await get(`${path}?q=ab&limit=0`)).statusCode, 400)
      t.equal((await get(`${path}?q=ab&before=-1`)).statusCode, 400)
      const badToken = await app.inject({ url: `${path}?q=ab`, headers: { authorization: 'Bearer nope' } })
      t.equal(badToken.statusCode, 401)
      t.type(badToken.json().message, 'string')
      t.equal((await get(`${path}?q=ab`)).headers.vary, 'Origin, Authorization', 'answers depend on the caller')
    }
    t.same((await get(`/search/tweets?q=${encodeURIComponent('?!')}`)).json(), {
      message: 'q must hold a word (letters or digits)',
      field: 'q'
    })
  })
})
