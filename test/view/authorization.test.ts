// The authorisation matrix: for every route that acts on a resource, user A against user B's resource
// is refused, B's resource is unchanged, and the refusal reveals no more than an unknown id would.
import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

t.test('user A cannot act on user B’s resources', async (t) => {
  const app = await buildTestApp(t, { MEDIA_GRACE_DAYS: '1' })
  const a = await signUpAndLogin(app, 'Alice')
  const b = await signUpAndLogin(app, 'Bob')
  const as = (token: string) => ({ authorization: token })
  const uploadMedia = async (token: string) => {
    const form = multipart('file', 'p.png', 'image/png', pngBytes)
    return (
      await app.inject({
        method: 'POST',
        url: '/media',
        headers: { ...form.headers, ...as(token) },
        payload: form.payload
      })
    ).json().id as number
  }
  const form = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
  const bPicture = (
    await app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, ...as(b.token) },
      payload: form.payload
    })
  ).json().img_url
  const bTweet = (
    await app.inject({ method: 'POST', url: '/tweet', headers: as(b.token), payload: { tweet: 'B’s tweet' } })
  ).json().id as number
  const aTweet = (
    await app.inject({ method: 'POST', url: '/tweet', headers: as(a.token), payload: { tweet: 'A’s tweet' } })
  ).json().id as number
  // Replying to A's tweet gives B nothing over it, and A nothing over B's reply.
  const bReply = (
    await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: as(b.token),
      payload: { tweet: 'B’s reply', in_reply_to: aTweet }
    })
  ).json().id as number
  // B's retweet of A's tweet: its row's id is B's, yet no tweet anyone can edit, delete, retweet or answer.
  await app.inject({ method: 'PUT', url: `/tweet/${aTweet}/retweet`, headers: as(b.token) })
  const bRetweet = (await app.inject({ url: '/timeline', headers: as(b.token) })).json().timeline[0].retweeted_by
    .retweet_id as number
  const bMedia = await uploadMedia(b.token)
  const bDeletedMedia = await uploadMedia(b.token)
  await app.inject({ method: 'DELETE', url: `/media/${bDeletedMedia}`, headers: as(b.token) })

  const cases: {
    name: string
    request: () => Promise<{ statusCode: number; json(): unknown }>
    status: number
    sameAsUnknown?: () => Promise<{ statusCode: number; json(): unknown }>
  }[] = [
    {
      name: 'PUT /tweet/:id',
      status: 403,
      request: () =>
        app.inject({ method: 'PUT', url: `/tweet/${bTweet}`, headers: as(a.token), payload: { tweet: 'hacked' } })
    },
    {
      name: 'DELETE /tweet/:id',
      status: 403,
      request: () => app.inject({ method: 'DELETE', url: `/tweet/${bTweet}`, headers: as(a.token) })
    },
    {
      name: 'PUT /tweet/:id of B’s reply to A’s tweet',
      status: 403,
      request: () =>
        app.inject({ method: 'PUT', url: `/tweet/${bReply}`, headers: as(a.token), payload: { tweet: 'hacked' } })
    },
    {
      name: 'DELETE /tweet/:id of B’s reply to A’s tweet',
      status: 403,
      request: () => app.inject({ method: 'DELETE', url: `/tweet/${bReply}`, headers: as(a.token) })
    },
    {
      name: 'PUT /tweet/:id on B’s retweet',
      status: 404,
      request: () =>
        app.inject({ method: 'PUT', url: `/tweet/${bRetweet}`, headers: as(a.token), payload: { tweet: 'hacked' } }),
      sameAsUnknown: () =>
        app.inject({ method: 'PUT', url: '/tweet/999999', headers: as(a.token), payload: { tweet: 'hacked' } })
    },
    {
      name: 'DELETE /tweet/:id on B’s retweet',
      status: 404,
      request: () => app.inject({ method: 'DELETE', url: `/tweet/${bRetweet}`, headers: as(a.token) }),
      sameAsUnknown: () => app.inject({ method: 'DELETE', url: '/tweet/999999', headers: as(a.token) })
    },
    {
      name: 'PUT /tweet/:id/retweet of B’s retweet',
      status: 404,
      request: () => app.inject({ method: 'PUT', url: `/tweet/${bRetweet}/retweet`, headers: as(a.token) }),
      sameAsUnknown: () => app.inject({ method: 'PUT', url: '/tweet/999999/retweet', headers: as(a.token) })
    },
    {
      name: 'DELETE /tweet/:id/retweet of B’s retweet',
      status: 404,
      request: () => app.inject({ method: 'DELETE', url: `/tweet/${bRetweet}/retweet`, headers: as(a.token) }),
      sameAsUnknown: () => app.inject({ method: 'DELETE', url: '/tweet/999999/retweet', headers: as(a.token) })
    },
    {
      name: 'POST /tweet replying to B’s retweet',
      status: 404,
      request: () =>
        app.inject({
          method: 'POST',
          url: '/tweet',
          headers: as(a.token),
          payload: { tweet: 'x', in_reply_to: bRetweet }
        }),
      sameAsUnknown: () =>
        app.inject({
          method: 'POST',
          url: '/tweet',
          headers: as(a.token),
          payload: { tweet: 'x', in_reply_to: 999999 }
        })
    },
    {
      name: 'DELETE /media/:id',
      status: 404,
      request: () => app.inject({ method: 'DELETE', url: `/media/${bMedia}`, headers: as(a.token) }),
      sameAsUnknown: () => app.inject({ method: 'DELETE', url: '/media/999999', headers: as(a.token) })
    },
    {
      name: 'POST /media/:id/restore',
      status: 404,
      request: () => app.inject({ method: 'POST', url: `/media/${bDeletedMedia}/restore`, headers: as(a.token) }),
      sameAsUnknown: () => app.inject({ method: 'POST', url: '/media/999999/restore', headers: as(a.token) })
    },
    {
      name: 'PUT /users/me taking B’s username (in another case)',
      status: 409,
      request: () =>
        app.inject({
          method: 'PUT',
          url: '/users/me',
          headers: as(a.token),
          payload: { username: b.username.toUpperCase() }
        })
    },
    {
      name: 'POST /tweet with B’s media_ids',
      status: 400,
      request: () =>
        app.inject({
          method: 'POST',
          url: '/tweet',
          headers: as(a.token),
          payload: { tweet: 'x', media_ids: [bMedia] }
        })
    }
  ]

  for (const c of cases) {
    t.test(`${c.name} on B’s resource answers ${c.status}`, async (t) => {
      const res = await c.request()
      t.equal(res.statusCode, c.status)
      t.type((res.json() as { message: unknown }).message, 'string')
      if (c.sameAsUnknown) {
        const unknown = await c.sameAsUnknown()
        t.equal(unknown.statusCode, res.statusCode)
        t.same(
          Object.keys(res.json() as object).sort(),
          Object.keys(unknown.json() as object).sort(),
          'the refusal has the shape of an unknown id'
        )
      }
    })
  }

  t.test('B’s resources are unchanged', async (t) => {
    t.equal((await app.inject({ url: `/tweet/${bTweet}` })).json().tweet, 'B’s tweet')
    t.match((await app.inject({ url: `/tweet/${bReply}` })).json(), { tweet: 'B’s reply', in_reply_to: aTweet })
    t.equal((await app.inject({ url: `/tweet/${aTweet}` })).json().reply_count, 1)
    const undo = await app.inject({ method: 'DELETE', url: `/tweet/${aTweet}/retweet`, headers: as(a.token) })
    t.match(undo.json(), { retweet_count: 1, retweeted: false }, 'A undoing a retweet of A’s tweet undoes only A’s')
    t.match((await app.inject({ url: '/timeline', headers: as(b.token) })).json().timeline[0], {
      id: aTweet,
      retweeted_by: { id: b.id, retweet_id: bRetweet }
    })
    const bList = (await app.inject({ url: '/media', headers: as(b.token) }))
      .json()
      .media.map((m: { id: number }) => m.id)
    t.same(bList, [bMedia])
    t.equal((await app.inject({ url: `/profile-picture/${b.id}` })).json().img_url, bPicture)
    t.equal((await app.inject({ url: `/users/by-username/${b.username}` })).json().id, b.id, 'B keeps B’s username')
    t.equal((await app.inject({ url: `/users/${a.id}` })).json().username, a.username, 'and A keeps A’s')
  })

  t.test('routes on "my" resources act only on the caller', async (t) => {
    t.same((await app.inject({ url: '/media', headers: as(a.token) })).json().media, [], 'A lists none of B’s media')
    t.equal((await app.inject({ method: 'DELETE', url: '/profile-picture', headers: as(a.token) })).statusCode, 404)
    t.equal(
      (await app.inject({ url: `/profile-picture/${b.id}` })).json().img_url,
      bPicture,
      'B’s picture survives A’s delete'
    )
    await app.inject({
      method: 'PUT',
      url: '/users/me',
      headers: as(a.token),
      payload: { name: 'Mallory', username: 'Mallory' }
    })
    t.match((await app.inject({ url: `/users/${b.id}` })).json(), { name: 'Bob', username: b.username })
    t.equal((await app.inject({ url: '/users/by-username/mallory' })).json().id, a.id, 'A’s new username is A’s')
    t.equal((await app.inject({ url: '/users/me', headers: as(a.token) })).json().email, a.email)
    t.notOk('email' in (await app.inject({ url: `/users/${b.id}` })).json(), 'B’s email is not shown to A')
    const bTweets = (await app.inject({ url: `/users/${b.id}/tweets` })).json().tweets
    t.same(
      bTweets.map((tweet: { id: number }) => tweet.id),
      [bReply, bTweet],
      'B’s tweets list B’s own, whoever asks'
    )
  })
  t.test('a like or an unlike acts only on the caller’s own like', async (t) => {
    const likedBy = async (user: { id: number }) =>
      (await app.inject({ url: `/users/${user.id}/likes` })).json().tweets.map((tweet: { id: number }) => tweet.id)
    await app.inject({ method: 'PUT', url: `/tweet/${bTweet}/like`, headers: as(b.token) })
    const unliked = await app.inject({ method: 'DELETE', url: `/tweet/${bTweet}/like`, headers: as(a.token) })
    t.equal(unliked.statusCode, 200)
    t.match(unliked.json(), { like_count: 1, liked: false }, 'B’s like survives A’s unlike')
    t.same(await likedBy(b), [bTweet])
    t.same(await likedBy(a), [])
    const liked = await app.inject({ method: 'PUT', url: `/tweet/${bTweet}/like`, headers: as(a.token) })
    t.match(liked.json(), { like_count: 2, liked: true })
    t.same(await likedBy(a), [bTweet], 'A’s like is A’s')
  })
  t.test('search and people lists answer with the caller’s own flags, never another user’s', async (t) => {
    // By now B likes bTweet (the test above) and A likes it too, and A's username is Mallory.
    await app.inject({ method: 'POST', url: '/follow', headers: as(b.token), payload: { follow: a.id } })
    const words = 'tweet'
    const seenBy = async (token?: string) =>
      (await app.inject({ url: `/search/tweets?q=${words}`, headers: token ? as(token) : {} }))
        .json()
        .tweets.find((tweet: { id: number }) => tweet.id === bTweet)
    await app.inject({ method: 'DELETE', url: `/tweet/${bTweet}/like`, headers: as(a.token) })
    t.match(await seenBy(a.token), { liked: false }, 'A sees A’s own flag, not B’s like')
    t.match(await seenBy(b.token), { liked: true })
    const likers = async (token: string) =>
      (await app.inject({ url: `/tweet/${bTweet}/likes`, headers: as(token) })).json().users
    t.same(
      (await likers(b.token)).map((user: { id: number; following: boolean }) => [user.id, user.following]),
      [[b.id, false]]
    )
    const found = (await app.inject({ url: `/search/users?q=${'mallo'}`, headers: as(b.token) }))
      .json()
      .users.find((user: { id: number }) => user.id === a.id)
    t.match(found, { following: true }, 'B follows A: B’s flag')
    const foundByA = (await app.inject({ url: `/search/users?q=${'mallo'}`, headers: as(a.token) }))
      .json()
      .users.find((user: { id: number }) => user.id === a.id)
    t.match(foundByA, { following: false }, 'A does not follow A, whoever follows A')
  })
  t.test('logging out and changing the password act only on the caller’s own tokens', async (t) => {
    const me = (token: string) => app.inject({ url: '/users/me', headers: as(token) })
    const changed = await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: as(a.token),
      payload: { current_password: a.password, new_password: 'another password' }
    })
    t.equal(changed.statusCode, 200)
    t.equal((await me(b.token)).statusCode, 200, 'B’s token survives A’s password change')
    const wrongAccount = await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: as(changed.json().access_token),
      payload: { current_password: b.password, new_password: 'a third password' }
    })
    t.equal(wrongAccount.statusCode, 403, 'B’s password is not A’s current one')
    t.equal(
      (await app.inject({ method: 'POST', url: '/logout-all', headers: as(changed.json().access_token) })).statusCode,
      204
    )
    t.equal((await me(b.token)).statusCode, 200, 'B’s token survives A’s logout-all')
    t.equal((await me(changed.json().access_token)).statusCode, 401)
  })
  t.test('deleting an account takes the caller’s own password and deletes only the caller', async (t) => {
    const c = await signUpAndLogin(app, 'Carol')
    const d = await signUpAndLogin(app, 'Dan')
    // Test users share one password: D gets one of their own.
    const dPassword = 'dan’s own password'
    const changed = await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: as(d.token),
      payload: { current_password: d.password, new_password: dPassword }
    })
    const dToken = changed.json().access_token
    const remove = (token: string, password: string) =>
      app.inject({ method: 'DELETE', url: '/users/me', headers: as(token), payload: { password } })
    t.equal((await remove(c.token, dPassword)).statusCode, 403, 'D’s password does not delete C')
    t.equal((await remove(dToken, c.password)).statusCode, 403, 'C’s password does not delete D')
    t.equal((await remove(c.token, c.password)).statusCode, 204)
    t.equal((await app.inject({ url: '/users/me', headers: as(dToken) })).statusCode, 200, 'D is untouched')
    t.equal((await app.inject({ url: `/users/${d.id}` })).statusCode, 200)
  })
})
