import t from 'tap'
import { buildTestApp, localKeyOf, signUpAndLogin } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

const publicUrl = 'https://miniter.example'

t.test('profiles and follow lists', async (t) => {
  const app = await buildTestApp(t, { PUBLIC_URL: publicUrl })
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')
  const follow = (user: { token: string }, target: number) =>
    app.inject({ method: 'POST', url: '/follow', headers: { authorization: user.token }, payload: { follow: target } })
  await follow(bob, alice.id)
  await follow(carol, alice.id)
  await follow(alice, bob.id)
  await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: alice.token }, payload: { tweet: 'hi' } })

  t.test('GET /users/:id shows counters and no email', async (t) => {
    const res = await app.inject({ url: `/users/${alice.id}` })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, {
      id: alice.id,
      name: 'Alice',
      profile: "Alice's profile",
      profile_picture: null,
      followers_count: 2,
      following_count: 1,
      tweets_count: 1
    })
    t.match(body.created_at, /Z$/)
    t.notOk('email' in body)
    t.equal((await app.inject({ url: '/users/999999' })).statusCode, 404)
    t.equal((await app.inject({ url: '/users/zero' })).statusCode, 400)
  })

  t.test('GET /users/me shows the caller’s own email', async (t) => {
    const res = await app.inject({ url: '/users/me', headers: { authorization: alice.token } })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: alice.id, email: alice.email })
    t.equal((await app.inject({ url: '/users/me' })).statusCode, 401)
  })

  t.test('PUT /users/me changes name and profile; bad input answers 400', async (t) => {
    const res = await app.inject({
      method: 'PUT',
      url: '/users/me',
      headers: { authorization: alice.token },
      payload: { name: '앨리스' }
    })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { name: '앨리스', profile: "Alice's profile", email: alice.email })
    t.equal(
      (await app.inject({ method: 'PUT', url: '/users/me', headers: { authorization: alice.token }, payload: {} }))
        .statusCode,
      400
    )
    t.equal(
      (
        await app.inject({
          method: 'PUT',
          url: '/users/me',
          headers: { authorization: alice.token },
          payload: { name: '' }
        })
      ).statusCode,
      400
    )
    const extra = await app.inject({
      method: 'PUT',
      url: '/users/me',
      headers: { authorization: alice.token },
      payload: { email: 'x@example.com' }
    })
    t.equal(extra.statusCode, 400, 'email cannot be changed here')
    t.equal(extra.json().message, 'body email: is not a known field')
    t.same(extra.json().errors[0], { location: 'body', field: 'email', message: 'is not a known field' })
    const two = await app.inject({
      method: 'PUT',
      url: '/users/me',
      headers: { authorization: alice.token },
      payload: { name: 'A', nick: 'a', bio: 'b' }
    })
    t.same(
      two.json().errors.map((e: { field: string }) => e.field),
      ['nick', 'bio'],
      'each unknown key is named'
    )
    t.equal((await app.inject({ method: 'PUT', url: '/users/me', payload: { name: 'x' } })).statusCode, 401)
  })

  t.test('followers and following are paged lists of users', async (t) => {
    const followers = (await app.inject({ url: `/users/${alice.id}/followers` })).json()
    t.same(
      followers.users.map((u: { id: number }) => u.id),
      [carol.id, bob.id]
    )
    t.equal(followers.next_cursor, null)
    const first = (await app.inject({ url: `/users/${alice.id}/followers?limit=1` })).json()
    t.same(
      first.users.map((u: { id: number }) => u.id),
      [carol.id]
    )
    t.equal(first.next_cursor, carol.id)
    const second = (
      await app.inject({ url: `/users/${alice.id}/followers?limit=1&before=${first.next_cursor}` })
    ).json()
    t.same(
      second.users.map((u: { id: number }) => u.id),
      [bob.id]
    )
    t.equal(second.next_cursor, null)
    const following = (await app.inject({ url: `/users/${alice.id}/following` })).json()
    t.same(following.users, [{ id: bob.id, name: 'Bob', profile: "Bob's profile", profile_picture: null }])
    t.equal((await app.inject({ url: '/users/999999/followers' })).statusCode, 404)
  })

  t.test('profile pictures appear as absolute URLs in profiles, lists and timelines', async (t) => {
    const form = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
    const upload = await app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, authorization: bob.token },
      payload: form.payload
    })
    const url = upload.json().img_url
    t.match(localKeyOf(url, publicUrl), /^profile\/[0-9a-f-]+\.png$/, 'PUBLIC_URL, /uploads/, the key')
    t.equal((await app.inject({ url: `/users/${bob.id}` })).json().profile_picture, url)
    t.equal((await app.inject({ url: `/users/${alice.id}/followers` })).json().users[1].profile_picture, url)
    await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: bob.token },
      payload: { tweet: 'with picture' }
    })
    await app.drainFanout()
    t.equal((await app.inject({ url: `/timeline/${alice.id}` })).json().timeline[0].user.profile_picture, url)
  })
})

t.test('GET /users/:user_id/tweets', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const post = async (user: { token: string }, tweet: string, inReplyTo?: number) =>
    (
      await app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: user.token },
        payload: { tweet, in_reply_to: inReplyTo }
      })
    ).json()
  const bobs = await post(bob, 'bob’s')
  const own: { id: number }[] = []
  for (let i = 0; i < 5; i++) {
    own.push(await post(alice, `alice ${i}`, i % 2 ? bobs.id : undefined))
    await post(bob, `bob ${i}`)
  }
  const newestFirst = own.map((tweet) => tweet.id).reverse()
  const page = (query: string, userId = alice.id) => app.inject({ url: `/users/${userId}/tweets${query}` })

  t.test('answers the user’s own tweets and replies, newest first, as GET /tweet/:id shows them', async (t) => {
    const res = await page('')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['next_cursor', 'prev_cursor', 'tweets', 'user_id'])
    t.equal(body.user_id, alice.id)
    t.same(
      body.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst
    )
    t.same(body.tweets[1], (await app.inject({ url: `/tweet/${newestFirst[1]}` })).json())
    t.equal(body.tweets[1].in_reply_to, bobs.id)
    t.equal(body.next_cursor, null)
  })

  t.test('pages to the end with exact cursors', async (t) => {
    const first = (await page('?limit=2')).json()
    t.same(
      first.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst.slice(0, 2)
    )
    t.equal(first.next_cursor, newestFirst[1])
    const second = (await page(`?limit=2&before=${first.next_cursor}`)).json()
    t.same(
      second.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst.slice(2, 4)
    )
    t.equal(second.next_cursor, newestFirst[3])
    const last = (await page(`?limit=2&before=${second.next_cursor}`)).json()
    t.same(
      last.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst.slice(4)
    )
    t.equal(last.next_cursor, null)
    t.same((await page(`?before=${newestFirst[4]}`)).json(), {
      user_id: alice.id,
      tweets: [],
      next_cursor: null,
      prev_cursor: null
    })
  })

  t.test('pages towards newer with ?after=: the tweets just above the cursor, newest first', async (t) => {
    const oldest = newestFirst.at(-1)!
    const newer = (await page(`?limit=2&after=${oldest}`)).json()
    t.same(
      newer.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst.slice(-3, -1)
    )
    t.equal(newer.prev_cursor, newestFirst.at(-3), 'newer tweets remain')
    t.equal(newer.next_cursor, newestFirst.at(-2))
    const rest = (await page(`?limit=10&after=${newer.prev_cursor}`)).json()
    t.same(
      rest.tweets.map((tweet: { id: number }) => tweet.id),
      newestFirst.slice(0, -3)
    )
    t.equal(rest.prev_cursor, null, 'nothing newer now')
  })

  t.test('an ETag, 304 while the page is unchanged, a new tag once a reply is counted on it', async (t) => {
    const first = await page('?limit=2')
    const etag = first.headers.etag as string
    t.match(etag, /^W\/"[\w-]+"$/)
    t.equal(
      (await app.inject({ url: `/users/${alice.id}/tweets?limit=2`, headers: { 'if-none-match': etag } })).statusCode,
      304
    )
    await post(bob, 'an answer', newestFirst[0])
    const changed = await app.inject({ url: `/users/${alice.id}/tweets?limit=2`, headers: { 'if-none-match': etag } })
    t.equal(changed.statusCode, 200)
    t.equal(changed.json().tweets[0].reply_count, 1)
    t.not(changed.headers.etag, etag)
  })

  t.test('an unknown user answers 404; a user without tweets an empty page', async (t) => {
    const unknown = await page('', 999_999)
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { message: 'User not found', user_id: 999_999 })
    const quiet = await signUpAndLogin(app, 'Quiet')
    t.same((await page('', quiet.id)).json(), { user_id: quiet.id, tweets: [], next_cursor: null, prev_cursor: null })
  })

  t.test('a bad id, limit or cursor answers 400 naming the field', async (t) => {
    t.match((await app.inject({ url: '/users/zero/tweets' })).json(), { errors: [{ field: 'user_id' }] })
    t.match((await page('?limit=0')).json(), { errors: [{ field: 'limit' }] })
    t.match((await page('?limit=101')).json(), { errors: [{ field: 'limit' }] })
    t.match((await page('?before=x')).json(), { errors: [{ field: 'before' }] })
  })
})
