import t, { type Test } from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

t.test('timelines', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')
  const tweet = async (user: { token: string }, text: string) =>
    (
      await app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: user.token },
        payload: { tweet: text }
      })
    ).json()
  const follow = (user: { token: string }, target: number) =>
    app.inject({ method: 'POST', url: '/follow', headers: { authorization: user.token }, payload: { follow: target } })

  await follow(alice, bob.id)
  await follow(alice, carol.id)
  const posted: { id: number }[] = []
  for (let i = 0; i < 5; i++) {
    posted.push(await tweet(alice, `alice ${i}`))
    posted.push(await tweet(bob, `bob ${i}`))
    posted.push(await tweet(carol, `carol ${i}`))
  }
  await app.drainFanout()

  t.test('holds the user’s own tweets and their followees’, each once, newest first', async (t) => {
    const res = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.user_id, alice.id)
    t.same(
      body.timeline.map((item: { id: number }) => item.id),
      posted.map((p) => p.id).reverse()
    )
    t.same(Object.keys(body.timeline[0]).sort(), [
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
    t.match(body.timeline[0], { retweet_count: 0, retweeted: false, retweeted_by: null })
    t.same(body.timeline[0].user, { id: carol.id, name: 'Carol', username: carol.username, profile_picture: null })
    t.match(body.timeline[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  t.test('does not include users they do not follow', async (t) => {
    const res = await app.inject({ url: `/timeline/${bob.id}` })
    t.same(new Set(res.json().timeline.map((item: { user_id: number }) => item.user_id)), new Set([bob.id]))
    t.equal(res.json().timeline.length, 5)
  })

  t.test('is at most 20 items by default and ?limit chooses up to 100', async (t) => {
    for (let i = 0; i < 10; i++) await tweet(alice, `more ${i}`)
    t.equal((await app.inject({ url: `/timeline/${alice.id}` })).json().timeline.length, 20)
    t.equal((await app.inject({ url: `/timeline/${alice.id}?limit=3` })).json().timeline.length, 3)
    t.equal((await app.inject({ url: `/timeline/${alice.id}?limit=100` })).json().timeline.length, 25)
  })

  t.test('a limit outside 1..100 answers 400 naming it', async (t) => {
    t.match((await app.inject({ url: `/timeline/${alice.id}?before=abc` })).json(), { errors: [{ field: 'before' }] })
    for (const limit of ['0', '101', 'abc', '1.5']) {
      const res = await app.inject({ url: `/timeline/${alice.id}?limit=${limit}` })
      t.equal(res.statusCode, 400, `limit=${limit}`)
      t.match(res.json(), { errors: [{ field: 'limit' }] })
    }
  })

  t.test('an unknown user answers 404; a malformed id answers 400', async (t) => {
    t.equal((await app.inject({ url: '/timeline/999999' })).statusCode, 404)
    t.equal((await app.inject({ url: '/timeline/abc' })).statusCode, 400)
  })

  t.test('keyset pages never repeat or skip a tweet while new tweets arrive', async (t) => {
    const expected = (await app.inject({ url: `/timeline/${alice.id}?limit=100` }))
      .json()
      .timeline.map((i: { id: number }) => i.id)
    const seen: number[] = []
    let url = `/timeline/${alice.id}?limit=4`
    for (let page = 0; page < 20; page++) {
      const body = (await app.inject({ url })).json()
      seen.push(...body.timeline.map((i: { id: number }) => i.id))
      await tweet(bob, `arrives during paging ${page}`)
      if (body.next_cursor === null) break
      t.equal(body.next_cursor, body.timeline.at(-1).id)
      url = `/timeline/${alice.id}?limit=4&before=${body.next_cursor}`
    }
    t.same(seen, expected)
  })

  t.test('a timeline answers an ETag and 304 while it is unchanged', async (t) => {
    const url = `/timeline/${carol.id}`
    const first = await app.inject({ url })
    const etag = first.headers.etag as string
    t.match(etag, /^W\/"[\w-]+"$/)
    const again = await app.inject({ url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')
    t.equal(again.headers.etag, etag)
    t.equal((await app.inject({ url, headers: { 'if-none-match': `"other", ${etag}` } })).statusCode, 304, 'in a list')
    t.equal((await app.inject({ url, headers: { 'if-none-match': etag.slice(2) } })).statusCode, 304, 'compared weakly')
    t.equal((await app.inject({ url, headers: { 'if-none-match': '*' } })).statusCode, 304, 'any')
    t.equal((await app.inject({ url, headers: { 'if-none-match': '"other"' } })).statusCode, 200, 'another tag')
    t.equal((await app.inject({ method: 'HEAD', url, headers: { 'if-none-match': etag } })).statusCode, 304, 'HEAD too')
    t.not((await app.inject({ url: `/timeline/${carol.id}?limit=3` })).headers.etag, etag, 'another page, another tag')
    await tweet(carol, 'new')
    t.equal((await app.inject({ url, headers: { 'if-none-match': etag } })).statusCode, 200)
  })

  t.test('the ETag changes with everything a page shows: an edit, the author’s name and picture', async (t) => {
    const dave = await signUpAndLogin(app, 'Dave')
    const posted = await tweet(dave, 'first words')
    const url = `/timeline/${dave.id}`
    const tags = [(await app.inject({ url })).headers.etag]
    const changes = [
      () =>
        app.inject({
          method: 'PUT',
          url: `/tweet/${posted.id}`,
          headers: { authorization: dave.token },
          payload: { tweet: 'edited' }
        }),
      () =>
        app.inject({
          method: 'PUT',
          url: '/users/me',
          headers: { authorization: dave.token },
          payload: { name: 'David' }
        }),
      () => {
        const upload = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
        return app.inject({
          method: 'POST',
          url: '/profile-picture',
          headers: { ...upload.headers, authorization: dave.token },
          payload: upload.payload
        })
      }
    ]
    for (const change of changes) {
      t.equal((await change()).statusCode, 200)
      const res = await app.inject({ url, headers: { 'if-none-match': tags[tags.length - 1] as string } })
      t.equal(res.statusCode, 200, 'a client holding the previous tag gets the new page')
      tags.push(res.headers.etag)
    }
    t.equal(new Set(tags).size, tags.length, 'every change gave a new tag')
  })

  t.test('GET /timeline (auth) answers the caller’s own timeline', async (t) => {
    const mine = await app.inject({ url: '/timeline', headers: { authorization: bob.token } })
    t.equal(mine.statusCode, 200)
    t.same(mine.json(), (await app.inject({ url: `/timeline/${bob.id}` })).json())
    t.equal((await app.inject({ url: '/timeline' })).statusCode, 401)
  })
})

t.test('timelines across a bounded follow backfill', async (t) => {
  const app = await buildTestApp(t, { TIMELINE_BACKFILL: '3' })
  const reader = await signUpAndLogin(app, 'Reader')
  const prolific = await signUpAndLogin(app, 'Prolific')
  const friend = await signUpAndLogin(app, 'Friend')
  const tweet = async (user: { token: string }, text: string): Promise<number> =>
    (
      await app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: user.token },
        payload: { tweet: text }
      })
    ).json().id
  const post = (user: { token: string }, target: number, path: 'follow' | 'unfollow') =>
    app.inject({ method: 'POST', url: `/${path}`, headers: { authorization: user.token }, payload: { [path]: target } })
  const ids = async (url: string): Promise<number[]> => {
    const seen: number[] = []
    for (let next = url; ;) {
      const body = (await app.inject({ url: next })).json()
      seen.push(...body.timeline.map((item: { id: number }) => item.id))
      if (body.next_cursor === null) return seen
      next = `${url}&before=${body.next_cursor}`
    }
  }
  const friends = [await tweet(friend, 'friend old')]
  const prolifics: number[] = []
  for (let i = 0; i < 10; i++) prolifics.push(await tweet(prolific, `prolific ${i}`))
  friends.push(await tweet(friend, 'friend new'))
  const own = [await tweet(reader, 'mine')]

  t.test(
    'following then unfollowing an account with more tweets than the backfill leaves the timeline as it was',
    async (t) => {
      await post(reader, prolific.id, 'follow')
      t.same(
        await ids(`/timeline/${reader.id}?limit=4`),
        [...prolifics, ...own].sort((a, b) => b - a)
      )
      await post(reader, prolific.id, 'unfollow')
      t.same(await ids(`/timeline/${reader.id}?limit=4`), own)
      t.same((await app.inject({ url: `/users/${reader.id}` })).json().following_count, 0)
    }
  )

  t.test('pages reaching below the backfill return every tweet once, newest first', async (t) => {
    await post(reader, friend.id, 'follow')
    await post(reader, prolific.id, 'follow')
    await app.drainFanout()
    const expected = [...friends, ...prolifics, ...own].sort((a, b) => b - a)
    for (const limit of [1, 2, 3, 5, 100])
      t.same(await ids(`/timeline/${reader.id}?limit=${limit}`), expected, `limit ${limit}`)
  })
})

t.test('timelines of an account that crossed FANOUT_MAX_FOLLOWERS: copied and pulled tweets merged', async (t) => {
  // Above 2 followers an account's tweets are read by its followers instead of copied to them.
  const app = await buildTestApp(t, { FANOUT_MAX_FOLLOWERS: '2' })
  const [reader, celebrity, friend, fan, lateFan] = [
    await signUpAndLogin(app, 'Reader'),
    await signUpAndLogin(app, 'Celebrity'),
    await signUpAndLogin(app, 'Friend'),
    await signUpAndLogin(app, 'Fan'),
    await signUpAndLogin(app, 'LateFan')
  ]
  const tweet = async (user: { token: string }, text: string): Promise<number> => {
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: user.token },
      payload: { tweet: text }
    })
    if (res.statusCode !== 200) throw new Error(`tweet failed: ${res.statusCode} ${res.body}`)
    return res.json().id
  }
  const follow = async (user: { token: string }, target: number) => {
    const res = await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: user.token },
      payload: { follow: target }
    })
    if (res.statusCode !== 200) throw new Error(`follow failed: ${res.statusCode} ${res.body}`)
  }
  const celebrities: number[] = []
  // Pushed: copied into the reader's timeline table by the follow's backfill, then by fan-out.
  for (let i = 0; i < 3; i++) celebrities.push(await tweet(celebrity, `before the reader followed ${i}`))
  await follow(reader, celebrity.id)
  const friends = [await tweet(friend, 'friend 1')]
  await follow(reader, friend.id)
  for (let i = 0; i < 2; i++) celebrities.push(await tweet(celebrity, `pushed ${i}`))
  await app.drainFanout()
  await follow(fan, celebrity.id)
  // Queued for fan-out while the account is still pushed, copied only after it has become pulled.
  celebrities.push(await tweet(celebrity, 'queued across the switch'))
  await follow(lateFan, celebrity.id)
  t.same(
    (await app.inject({ url: `/users/${celebrity.id}` })).json().followers_count,
    3,
    'the third follower took the account over the threshold'
  )
  const own = [await tweet(reader, 'mine')]
  for (let i = 0; i < 2; i++) celebrities.push(await tweet(celebrity, `pulled ${i}`))
  friends.push(await tweet(friend, 'friend 2'))
  celebrities.push(await tweet(celebrity, 'pulled last'))
  await app.drainFanout()
  const newestFirst = (ids: number[]) => [...ids].sort((a, b) => b - a)
  const timelines = [
    { name: 'the reader', user: reader, expected: newestFirst([...celebrities, ...friends, ...own]) },
    { name: 'a fan who followed while it was pushed', user: fan, expected: newestFirst(celebrities) },
    { name: 'the fan who took it over', user: lateFan, expected: newestFirst(celebrities) }
  ]
  t.equal(timelines[0].expected.length, 12, 'the reader’s timeline is 12 tweets: limits 1, 2, 3, 4, 6 and 12 end full')
  t.equal(timelines[1].expected.length, 9, 'a fan’s is 9: limits 1, 3 and 9 end full')

  /**
   * Walks every page: each holds the next `limit` tweets of `expected` (fewer only on the last), and its
   * next_cursor is its last id while tweets remain and null on the last page, even when that page is full.
   */
  const walk = async (t: Test, userId: number, limit: number, expected: number[]) => {
    const seen: number[] = []
    let url = `/timeline/${userId}?limit=${limit}`
    for (let page = 1; ; page++) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 200)
      const body = res.json()
      const ids = body.timeline.map((item: { id: number }) => item.id)
      const remaining = expected.slice(seen.length)
      t.same(ids, remaining.slice(0, limit), `page ${page} holds the next ${Math.min(limit, remaining.length)}`)
      seen.push(...ids)
      if (seen.length < expected.length) {
        t.equal(body.next_cursor, ids.at(-1), `page ${page}: next_cursor is its last id while tweets remain`)
      } else {
        t.equal(body.next_cursor, null, `page ${page} is the last: no next_cursor`)
        break
      }
      if (ids.length === 0 || page > expected.length) break
      url = `/timeline/${userId}?limit=${limit}&before=${body.next_cursor}`
    }
    t.equal(new Set(seen).size, seen.length, 'no tweet twice')
    t.same(seen, expected, 'every tweet, newest first, none skipped')
  }

  /**
   * Walks towards newer from ?after=0: each page holds the next `limit` tweets of `expected` from its old
   * end, shown newest first; prev_cursor is the page's newest id while newer tweets remain and null on the
   * last page, even when that page is full; next_cursor is the page's oldest id.
   */
  const walkNewer = async (t: Test, userId: number, limit: number, expected: number[]) => {
    const oldestFirst = [...expected].reverse()
    const seen: number[] = []
    let url = `/timeline/${userId}?limit=${limit}&after=0`
    for (let page = 1; ; page++) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 200)
      const body = res.json()
      const ids: number[] = body.timeline.map((item: { id: number }) => item.id)
      const next = oldestFirst.slice(seen.length, seen.length + limit)
      t.same(ids, [...next].reverse(), `page ${page} holds the next ${next.length}, newest first`)
      t.equal(body.next_cursor, ids.at(-1) ?? null, `page ${page}: next_cursor is its oldest id`)
      seen.push(...[...ids].reverse())
      if (seen.length < expected.length) {
        t.equal(body.prev_cursor, ids[0], `page ${page}: prev_cursor is its newest id while newer tweets remain`)
      } else {
        t.equal(body.prev_cursor, null, `page ${page} is the newest: no prev_cursor`)
        break
      }
      if (ids.length === 0 || page > expected.length) break
      url = `/timeline/${userId}?limit=${limit}&after=${body.prev_cursor}`
    }
    t.same(seen, oldestFirst, 'every tweet once, oldest to newest, none skipped')
  }

  for (const { name, user, expected } of timelines) {
    for (const limit of [1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 100]) {
      t.test(`${name}: pages of ${limit} have exact cursors, no duplicate and no gap`, (t) =>
        walk(t, user.id, limit, expected)
      )
      t.test(`${name}: pages of ${limit} towards newer have exact cursors, no duplicate and no gap`, (t) =>
        walkNewer(t, user.id, limit, expected)
      )
    }
  }

  t.test('before and after together fill a gap: only what lies between, from its old end', async (t) => {
    const [newest, , , , , , , oldest] = timelines[0].expected.slice(2, 10)
    const between = timelines[0].expected.filter((id) => id > oldest && id < newest)
    const res = await app.inject({ url: `/timeline/${reader.id}?limit=3&after=${oldest}&before=${newest}` })
    const body = res.json()
    t.same(
      body.timeline.map((item: { id: number }) => item.id),
      between.slice(-3),
      'the three just above `after`'
    )
    t.equal(body.prev_cursor, between.at(-3), 'more lie between: continue from the newest shown')
    const rest = await app.inject({
      url: `/timeline/${reader.id}?limit=10&after=${body.prev_cursor}&before=${newest}`
    })
    t.same(
      rest.json().timeline.map((item: { id: number }) => item.id),
      between.slice(0, -3),
      'the rest of the gap'
    )
    t.equal(rest.json().prev_cursor, null, 'the gap is filled')
  })

  t.test('after at or above before is refused, naming the field', async (t) => {
    const res = await app.inject({ url: `/timeline/${reader.id}?after=9&before=9` })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { message: 'after must be below before' })
  })
})

t.test('paging towards newer while tweets arrive repeats and skips nothing', async (t) => {
  const app = await buildTestApp(t)
  const [reader, friend] = [await signUpAndLogin(app, 'Reader'), await signUpAndLogin(app, 'Friend')]
  const tweet = async (user: { token: string }, text: string): Promise<number> => {
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: user.token },
      payload: { tweet: text }
    })
    return res.json().id
  }
  await app.inject({
    method: 'POST',
    url: '/follow',
    headers: { authorization: reader.token },
    payload: { follow: friend.id }
  })
  const posted: number[] = []
  for (let i = 0; i < 5; i++) posted.push(await tweet(i % 2 ? reader : friend, `first ${i}`))
  await app.drainFanout()
  const first = (await app.inject({ url: '/timeline', headers: { authorization: reader.token } })).json()
  t.equal(first.prev_cursor, null, 'a first page: nothing newer exists yet')
  const seen: number[] = first.timeline.map((item: { id: number }) => item.id).reverse()
  let after = seen.at(-1)!
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3; i++) posted.push(await tweet(i % 2 ? reader : friend, `round ${round} ${i}`))
    await app.drainFanout()
    // Pages of 2 while 3 new tweets arrived each round: the polling client catches up page by page.
    for (;;) {
      const res = await app.inject({
        url: `/timeline?limit=2&after=${after}`,
        headers: { authorization: reader.token }
      })
      const body = res.json()
      const ids: number[] = body.timeline.map((item: { id: number }) => item.id)
      seen.push(...[...ids].reverse())
      if (ids.length > 0) after = ids[0]
      if (body.prev_cursor === null) break
      t.equal(body.prev_cursor, ids[0])
    }
  }
  t.same(seen, posted, 'every tweet once, in order')
})
