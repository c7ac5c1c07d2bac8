// SearchService: what a query must be, and people and tweets as the caller is shown them, paged to the end.
import t from 'tap'
import { buildServices } from '../../app.ts'
import { createPool } from '../../model/database.ts'
import { SearchDao } from '../../model/search-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Invalid } from '../../service/errors.ts'
import { maxSearchLength, maxSearchWords } from '../../service/limits.ts'
import { SearchService } from '../../service/search-service.ts'
import { testConfig } from '../helper.ts'

t.test('SearchService', async (t) => {
  // The services as the app builds them, on a throwaway database.
  const config = await testConfig(t)
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const pool = createPool(config.databaseUrl, { connectionLimit: 2 })
  t.teardown(() => pool.end())
  const { followService: follows, tweetService: tweets, likeService: likes, searchService: search, storage } = services
  const users = new UserDao(pool)
  const user = (name: string, username: string) =>
    users.insertUser({ name, username, email: `${username}@example.com`, profile: '', hashedPassword: 'x' })
  const [minjun, minji, viewer] = [
    await user('김민준', 'minjun'),
    await user('김민지', 'minji'),
    await user('Viewer', 'viewer')
  ]

  t.test('q is trimmed and must be 2 to 100 characters holding a word; the limit is checked', async (t) => {
    const invalidQ = (message: string) => new Invalid(message, { field: 'q' })
    const length = invalidQ(`q must be 2 to ${maxSearchLength} characters`)
    for (const q of ['', ' ', ' a ', '가', 'x'.repeat(maxSearchLength + 1)]) {
      await t.rejects(search.users(q, { limit: 10 }), length, JSON.stringify(q))
      await t.rejects(search.tweets(q, { limit: 10 }), length, JSON.stringify(q))
    }
    await t.rejects(search.tweets('!?', { limit: 10 }), invalidQ('q must hold a word (letters or digits)'))
    await t.rejects(search.users(' @ ', { limit: 10 }), length, 'trimmed to one character')
    t.same((await search.users(` ${'x'.repeat(maxSearchLength)} `, { limit: 10 })).items, [], 'the bound itself')
    await t.rejects(search.users('김민', { limit: 0 }), Invalid)
    await t.rejects(search.tweets('hello', { limit: 101 }), Invalid)
  })

  t.test('users: newest first, paged to the end, a leading @ ignored, following filled', async (t) => {
    await follows.follow(viewer, minjun)
    const first = await search.users('김민', { limit: 1 }, viewer)
    t.same(
      first.items.map((item) => [item.id, item.following]),
      [[minji, false]]
    )
    t.equal(first.next_cursor, minji)
    const second = await search.users('김민', { limit: 1, before: first.next_cursor! }, viewer)
    t.same(
      second.items.map((item) => [item.id, item.name, item.following]),
      [[minjun, '김민준', true]]
    )
    t.equal(second.next_cursor, null, 'exactly full: no further page')
    t.same(
      (await search.users('@MINJ', { limit: 10 })).items.map((item) => [item.id, item.username, item.following]),
      [
        [minji, 'minji', false],
        [minjun, 'minjun', false]
      ]
    )
    t.same(
      (await search.users('mi@', { limit: 10 })).items,
      [],
      'only a leading @ is dropped: one inside the query is searched as typed'
    )
    await follows.unfollow(viewer, minjun)
  })

  t.test('tweets: every word, newest first, paged to the end, with the caller’s flags', async (t) => {
    const posted: number[] = []
    for (const text of ['오늘 세계 날씨', '세계를 여행', '세계의 음식 오늘', 'nothing here'])
      posted.push((await tweets.tweet(minjun, text)).id)
    await likes.like(viewer, posted[2])
    const first = await search.tweets('세계', { limit: 2 }, viewer)
    t.same(
      first.items.map((item) => [item.id, item.liked]),
      [
        [posted[2], true],
        [posted[1], false]
      ]
    )
    t.equal(first.next_cursor, posted[1])
    const second = await search.tweets('세계', { limit: 2, before: first.next_cursor! }, viewer)
    t.same(
      second.items.map((item) => item.id),
      [posted[0]]
    )
    t.equal(second.next_cursor, null)
    t.same(
      (await search.tweets('오늘, 세계!', { limit: 10 })).items.map((item) => [item.id, item.liked]),
      [
        [posted[2], false],
        [posted[0], false]
      ],
      'punctuation separates words; anonymous: no flags'
    )
    const words = Array.from({ length: maxSearchWords }, (_, i) => `word${i}x`)
    const many = (await tweets.tweet(minjun, words.join(' '))).id
    t.same(
      (await search.tweets([...words, 'absent'].join(' '), { limit: 10 })).items.map((item) => item.id),
      [many],
      `words past the first ${maxSearchWords} distinct ones are left out`
    )
    t.same(
      (await search.tweets([...words.slice(1), 'absent'].join(' '), { limit: 10 })).items.map((item) => item.id),
      [],
      'within them, every word counts'
    )
  })

  t.test('someone blocked either way is left out of both, for the blocked side too', async (t) => {
    const own = (await tweets.tweet(minji, '세계 from minji')).id
    await follows.block(viewer, minji)
    t.same(
      (await search.users('김민', { limit: 10 }, viewer)).items.map((item) => item.id),
      [minjun]
    )
    t.notOk((await search.tweets('세계', { limit: 10 }, viewer)).items.some((item) => item.id === own))
    t.notOk(
      (await search.users('viewer', { limit: 10 }, minji)).items.length,
      'the blocked user does not find the blocker'
    )
    t.ok(
      (await search.tweets('세계', { limit: 10 })).items.some((item) => item.id === own),
      'others still do'
    )
    await follows.unblock(viewer, minji)
    t.ok((await search.tweets('세계', { limit: 10 }, viewer)).items.some((item) => item.id === own))
  })

  t.test('common words: short pages lead on, and following them finds every match once', async (t) => {
    const walking = new SearchService(new SearchDao(pool, { rareBelow: 2, walkSpan: 3 }), tweets, follows, storage)
    const matching: number[] = []
    for (let i = 0; i < 10; i++) {
      const posted = await tweets.tweet(minjun, i % 3 === 0 ? 'stroll stroller' : 'stroll elsewhere')
      if (i % 3 === 0) matching.unshift(posted.id)
    }
    const found: number[] = []
    let before: number | undefined
    let pages = 0
    do {
      const page = await walking.tweets('stroller', { limit: 2, before })
      found.push(...page.items.map((item) => item.id))
      before = page.next_cursor ?? undefined
      pages += 1
    } while (before !== undefined && pages < 100)
    t.same(found, matching, 'newest first, each once, to the end')
    t.ok(pages > matching.length / 2, 'some pages ended at the span, short')
  })
})
