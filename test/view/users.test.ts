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
    t.notOk('relationship' in body, 'no relationship without a token')
  })

  t.test('GET /users/:id with a token says how the caller stands towards the user', async (t) => {
    const none = { following: false, followed_by: false, blocking: false, blocked_by: false, muting: false }
    const seen = async (viewer: { token: string }, target: number) =>
      (await app.inject({ url: `/users/${target}`, headers: { authorization: viewer.token } })).json().relationship
    t.same(await seen(bob, alice.id), { ...none, following: true, followed_by: true })
    t.same(await seen(alice, carol.id), { ...none, followed_by: true })
    t.same(await seen(carol, alice.id), { ...none, following: true })
    await app.inject({ method: 'PUT', url: `/users/${carol.id}/mute`, headers: { authorization: alice.token } })
    t.same(await seen(alice, carol.id), { ...none, followed_by: true, muting: true })
    t.same(await seen(carol, alice.id), { ...none, following: true }, 'a mute is not shown to the muted')
    await app.inject({ method: 'PUT', url: `/users/${carol.id}/block`, headers: { authorization: alice.token } })
    t.same(await seen(carol, alice.id), { ...none, blocked_by: true })
    t.same(await seen(alice, carol.id), { ...none, blocking: true, muting: true })
    t.equal((await app.inject({ url: '/users/999999', headers: { authorization: alice.token } })).statusCode, 404)
    await app.inject({ method: 'DELETE', url: `/users/${carol.id}/block`, headers: { authorization: alice.token } })
    await app.inject({ method: 'DELETE', url: `/users/${carol.id}/mute`, headers: { authorization: alice.token } })
    await follow(carol, alice.id)
    t.same(await seen(carol, alice.id), { ...none, following: true }, 'as before')
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
    t.same(following.users, [
      {
        id: bob.id,
        name: 'Bob',
        username: bob.username,
        profile: "Bob's profile",
        profile_picture: null,
        following: false
      }
    ])
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

t.test('usernames', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const as = (user: { token: string }) => ({ authorization: user.token })
  const rename = (user: { token: string }, payload: object) =>
    app.inject({ method: 'PUT', url: '/users/me', headers: as(user), payload })

  t.test('profiles carry the username, your own and others’', async (t) => {
    t.match(alice.username, /^alice\d+_[0-9a-f]{6}$/, 'generated from the email')
    t.equal((await app.inject({ url: `/users/${alice.id}` })).json().username, alice.username)
    t.equal((await app.inject({ url: '/users/me', headers: as(alice) })).json().username, alice.username)
  })

  t.test('PUT /users/me changes the username alone or with name and profile', async (t) => {
    const alone = await rename(alice, { username: 'Alice_W' })
    t.equal(alone.statusCode, 200)
    t.match(alone.json(), { username: 'Alice_W', name: 'Alice', email: alice.email })
    const all = await rename(alice, { username: 'alice_wonder', name: 'Alice W', profile: 'down the hole' })
    t.equal(all.statusCode, 200)
    t.match(all.json(), { username: 'alice_wonder', name: 'Alice W', profile: 'down the hole' })
    t.equal((await app.inject({ url: `/users/${alice.id}` })).json().username, 'alice_wonder')
  })

  t.test('changing only the case of your own username is allowed, and so is giving it unchanged', async (t) => {
    const res = await rename(alice, { username: 'Alice_Wonder' })
    t.equal(res.statusCode, 200)
    t.equal(res.json().username, 'Alice_Wonder')
    const same = await rename(alice, { username: 'Alice_Wonder' })
    t.equal(same.statusCode, 200, 'and giving it unchanged is no error')
    t.equal(same.json().username, 'Alice_Wonder')
  })

  t.test('another user’s username, in any case, answers 409 naming the field and changes nothing', async (t) => {
    const res = await rename(bob, { username: 'ALICE_WONDER', name: 'Not Bob' })
    t.equal(res.statusCode, 409)
    t.same(res.json(), { message: 'A user with this username already exists', field: 'username' })
    t.match((await app.inject({ url: `/users/${bob.id}` })).json(), { username: bob.username, name: 'Bob' })
  })

  t.test('an invalid username answers 400 naming the field', async (t) => {
    for (const username of ['ab', 'x'.repeat(31), 'with space', 'semi;colon', '', 7]) {
      const res = await rename(bob, { username })
      t.equal(res.statusCode, 400, JSON.stringify(username))
      t.match(res.json(), { errors: [{ location: 'body', field: 'username' }] })
    }
    t.equal((await app.inject({ url: `/users/${bob.id}` })).json().username, bob.username)
  })

  t.test('GET /users/by-username/:username answers GET /users/:user_id’s body, whatever the case', async (t) => {
    const byId = (await app.inject({ url: `/users/${alice.id}` })).json()
    for (const asked of ['Alice_Wonder', 'alice_wonder', 'ALICE_WONDER']) {
      const res = await app.inject({ url: `/users/by-username/${asked}` })
      t.equal(res.statusCode, 200, asked)
      t.same(res.json(), byId)
    }
  })

  t.test('an unknown username answers 404, a path that is no username 400 naming the field', async (t) => {
    const unknown = await app.inject({ url: '/users/by-username/nobody_here' })
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { message: 'User not found', username: 'nobody_here' })
    for (const path of ['ab', 'x'.repeat(31), 'dash-ed', 'with%20space', '%EC%9D%80%EC%9A%B0', 'alice_wonder%20']) {
      const res = await app.inject({ url: `/users/by-username/${path}` })
      t.equal(res.statusCode, 400, path)
      t.match(res.json(), { errors: [{ location: 'params', field: 'username' }] })
    }
  })

  t.test('the route shadows neither /users/:user_id nor /users/me', async (t) => {
    const numeric = await rename(bob, { username: `${bob.id}00` })
    t.equal(numeric.statusCode, 200)
    const byUsername = await app.inject({ url: `/users/by-username/${bob.id}00` })
    t.equal(byUsername.json().id, bob.id, 'a username of digits is a username there')
    t.equal((await app.inject({ url: `/users/${bob.id}` })).json().username, `${bob.id}00`)
    t.equal((await app.inject({ url: `/users/${bob.id}00` })).statusCode, 404, 'and an id here')
    t.equal((await app.inject({ url: '/users/me', headers: as(bob) })).json().id, bob.id)
    t.equal((await app.inject({ url: '/users/by-username' })).statusCode, 400, 'no username: no user id either')
    const named = await rename(bob, { username: 'by_username' })
    t.equal(named.statusCode, 200)
    t.equal((await app.inject({ url: '/users/by-username/by_username' })).json().id, bob.id)
  })

  t.test('a token adds only the relationship, as on GET /users/:user_id: no email, even your own', async (t) => {
    const anonymous = (await app.inject({ url: `/users/${alice.id}` })).json()
    const own = await app.inject({ url: '/users/by-username/alice_wonder', headers: as(alice) })
    const { relationship, ...rest } = own.json()
    t.same(rest, anonymous)
    t.same(relationship, { following: false, followed_by: false, blocking: false, blocked_by: false, muting: false })
    t.notOk('email' in own.json())
    const invalid = { authorization: 'not-a-token' }
    t.equal((await app.inject({ url: `/users/${alice.id}`, headers: invalid })).statusCode, 401)
    t.equal((await app.inject({ url: '/users/by-username/alice_wonder', headers: invalid })).statusCode, 401)
  })
})

t.test('the username is on every user object: tweets and their retweeters, lists of users', async (t) => {
  const app = await buildTestApp(t)
  const author = await signUpAndLogin(app, 'Author')
  const fan = await signUpAndLogin(app, 'Fan')
  const as = (user: { token: string }) => ({ authorization: user.token })
  await app.inject({ method: 'POST', url: '/follow', headers: as(fan), payload: { follow: author.id } })
  const posted = await app.inject({ method: 'POST', url: '/tweet', headers: as(author), payload: { tweet: 'hi' } })
  const id = posted.json().id as number
  await app.inject({ method: 'PUT', url: `/tweet/${id}/like`, headers: as(fan) })
  await app.inject({ method: 'PUT', url: `/tweet/${id}/retweet`, headers: as(fan) })
  await app.inject({ method: 'POST', url: '/tweet', headers: as(fan), payload: { tweet: 'reply', in_reply_to: id } })
  await app.drainFanout()
  const authorUser = { id: author.id, name: 'Author', username: author.username, profile_picture: null }
  const summary = (user: { id: number; username: string }, name: string) => ({
    id: user.id,
    name,
    username: user.username,
    profile: `${name}'s profile`,
    profile_picture: null
  })

  t.test('tweet bodies: the author everywhere, the retweeter on a timeline', async (t) => {
    t.same(posted.json().user, authorUser, 'the answer to POST /tweet')
    t.same((await app.inject({ url: `/tweet/${id}` })).json().user, authorUser)
    t.same((await app.inject({ url: `/users/${author.id}/tweets` })).json().tweets[0].user, authorUser)
    t.same((await app.inject({ url: `/users/${fan.id}/likes` })).json().tweets[0].user, authorUser)
    t.same((await app.inject({ url: `/timeline/${author.id}` })).json().timeline[0].user, authorUser)
    const context = (await app.inject({ url: `/tweet/${id}/context` })).json()
    t.same(context.descendants[0].user, { id: fan.id, name: 'Fan', username: fan.username, profile_picture: null })
    const fanTimeline = (await app.inject({ url: '/timeline', headers: as(fan) })).json().timeline
    const retweeted = fanTimeline.find((item: { id: number }) => item.id === id)
    t.same(retweeted.user, authorUser)
    t.match(retweeted.retweeted_by, { id: fan.id, name: 'Fan', username: fan.username })
  })

  t.test('followers, following and likers lists', async (t) => {
    const listed = (user: { id: number; username: string }, name: string) => ({
      ...summary(user, name),
      following: false
    })
    t.same((await app.inject({ url: `/users/${author.id}/followers` })).json().users, [listed(fan, 'Fan')])
    t.same((await app.inject({ url: `/users/${fan.id}/following` })).json().users, [listed(author, 'Author')])
    t.same((await app.inject({ url: `/tweet/${id}/likes` })).json().users, [listed(fan, 'Fan')])
  })

  t.test('a new username shows at once on tweets, and changes their ETag', async (t) => {
    const before = await app.inject({ url: `/tweet/${id}` })
    await app.inject({ method: 'PUT', url: '/users/me', headers: as(author), payload: { username: 'The_Author' } })
    await app.inject({ method: 'PUT', url: '/users/me', headers: as(fan), payload: { username: 'The_Fan' } })
    const after = await app.inject({ url: `/tweet/${id}`, headers: { 'if-none-match': before.headers.etag as string } })
    t.equal(after.statusCode, 200, 'the old tag no longer matches')
    t.equal(after.json().user.username, 'The_Author')
    const fanTimeline = (await app.inject({ url: '/timeline', headers: as(fan) })).json().timeline
    t.equal(fanTimeline.find((item: { id: number }) => item.id === id).retweeted_by.username, 'The_Fan')
    const reposted = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: as(author),
      payload: { tweet: 'again' }
    })
    t.equal(reposted.json().user.username, 'The_Author', 'a post answers the current username')
  })
})
