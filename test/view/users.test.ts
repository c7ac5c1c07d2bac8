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
