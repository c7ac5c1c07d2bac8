import t from 'tap'
import { SearchDao } from '../../model/search-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

const newest = Number.MAX_SAFE_INTEGER

t.test('SearchDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const search = new SearchDao(pool)
  const user = (name: string, username: string) =>
    users.insertUser({ name, username, email: `${username}@example.com`, profile: '', hashedPassword: 'x' })
  const minjun = await user('김민준', 'minjun')
  const minji = await user('김민지', 'kimminji')
  const eunwoo = await user('Eunwoo Song', 'Eunwoo_S')
  const odd = await user('100% real_name', 'percent_fan')
  const post = async (text: string) => (await tweets.postTweet(eunwoo, text))!.id

  t.test('users: a prefix of the username or of the name, any case, highest id first', async (t) => {
    const ids = async (prefix: string, before = newest, limit = 10) =>
      (await search.users(prefix, before, limit)).map((row) => row.id)
    t.same(await ids('김민'), [minji, minjun], 'Korean names')
    t.same(await ids('MIN'), [minjun], 'usernames whatever the case')
    t.same(await ids('kim'), [minji], 'a username matching once is listed once')
    t.same(await ids('eunwoo'), [eunwoo], 'the name and the username both match: once')
    t.same(await ids('민준'), [], 'the middle of a name is no prefix')
    t.same(await ids('김민', minji), [minjun], 'below the cursor')
    t.same(await ids('김민', newest, 1), [minji], 'at most the limit')
    t.same(await ids('100%'), [odd], '% is literal')
    t.same(await ids('10_'), [], '_ is literal')
    t.same(await ids('percent_'), [odd])
    t.match(await search.users('kimm', newest, 10), [{ id: minji, name: '김민지', username: 'kimminji', profile: '' }])
  })

  t.test('tweetIds: every word as the start of a word of the text, any case, newest first', async (t) => {
    const travel = await post('세계를 여행하는 사람')
    const hello = await post('Hello World, running fast!')
    const weather = await post('오늘 날씨 좋다 #세계 a b')
    const ids = async (words: string[], before = newest, limit = 10) => {
      const found = await search.tweetIds(words, before, limit)
      t.equal(found.continueBelow, null, 'rare words: read to the end')
      return found.ids
    }
    t.same(await ids(['세계']), [weather, travel], 'a Korean word with a particle, and after a #')
    t.same(await ids(['세계', '사람']), [travel], 'every word')
    t.same(await ids(['WORLD', 'hello']), [hello], 'any case, any order')
    t.same(await ids(['run']), [hello], 'the start of a word')
    t.same(await ids(['orld']), [], 'not its middle')
    t.same(await ids(['a']), [weather], 'one-letter words are indexed too')
    t.same(await ids(['세계'], weather), [travel], 'below the cursor')
    t.same(await ids(['세계'], newest, 1), [weather], 'at most the limit')
    const tagged = await post('tagx1 and a_very_long_word_of_forty_five_characters_in_all_x')
    t.same(await ids(['tag_']), [], '_ is literal')
    t.same(await ids(['a_very_long_word_of_forty_five_characters_in_all_y']), [tagged], 'words count by 40 characters')
    const end = await post('the end')
    t.same(await ids(['the']), [end], 'English stopwords are words like any other')
  })

  t.test('the index follows edits, retweets and deletes', async (t) => {
    const id = await post('first draft')
    t.same((await search.tweetIds(['draft'], newest, 10)).ids, [id])
    await tweets.updateTweet(pool, id, 'final words', null)
    t.same((await search.tweetIds(['draft'], newest, 10)).ids, [])
    t.same((await search.tweetIds(['final'], newest, 10)).ids, [id])
    const retweet = await tweets.addRetweet(pool, minjun, id)
    t.ok(retweet)
    t.same((await search.tweetIds(['final'], newest, 10)).ids, [id], 'a retweet is not found itself')
    await tweets.deleteTweet(pool, id)
    t.same((await search.tweetIds(['final'], newest, 10)).ids, [])
  })

  t.test('common words: a page walks down a bounded span and says where it stopped', async (t) => {
    // Bounds small enough that three rows make a word common and a page walks six ids at most.
    const small = new SearchDao(pool, { rareBelow: 3, walkSpan: 6 })
    const posted: number[] = []
    for (let i = 0; i < 8; i++) posted.push(await post(i % 2 === 0 ? 'walk even' : 'walk odd walker'))
    const top = posted[7] + 1
    const first = await small.tweetIds(['walk'], top, 4)
    t.same(first.ids, [posted[7], posted[6], posted[5], posted[4]], 'a full page: no need to say where it stopped')
    t.equal(first.continueBelow, null)
    const short = await small.tweetIds(['walk', 'odd'], top, 4)
    t.same(short.ids, [posted[7], posted[5], posted[3]], 'every word common: the span ends the page')
    t.equal(short.continueBelow, top - 6)
    const rest = await small.tweetIds(['walk', 'odd'], short.continueBelow!, 4)
    t.same(rest.ids.slice(0, 1), [posted[1]], 'the next page goes on below')
    const none = await small.tweetIds(['walk', 'even', 'odd'], top, 4)
    t.same(none, { ids: [], continueBelow: top - 6 }, 'no tweet holds all three: empty, and it leads on')
    const rare = await small.tweetIds(['walker', 'odd'], posted[7], 10)
    t.same(rare.ids.slice(0, 3), [posted[5], posted[3], posted[1]], 'below the cursor, newest first')

    t.test('the rarest word leads, in whichever place it was asked: all its tweets, however old', async (t) => {
      const old = await post('walk past a quokka')
      for (let i = 0; i < 6; i++) await post('walk on')
      const top = old + 7
      for (const words of [
        ['walk', 'quokka'],
        ['quokka', 'walk']
      ]) {
        t.same(await small.tweetIds(words, top, 4), { ids: [old], continueBelow: null }, words.join(' '))
      }
      t.same(
        await small.tweetIds(['walk', 'quokka'], top, 4),
        await new SearchDao(pool).tweetIds(['walk', 'quokka'], top, 4),
        'the same page as with the production bounds'
      )
    })

    t.test('a walk that reaches the first tweet id says there is nothing further', async (t) => {
      const wide = new SearchDao(pool, { rareBelow: 3, walkSpan: 1_000_000 })
      const found = await wide.tweetIds(['walk', 'odd'], top, 10)
      t.same(found, { ids: [posted[7], posted[5], posted[3], posted[1]], continueBelow: null })
    })
  })
})
