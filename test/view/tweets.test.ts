import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

t.test('POST /tweet', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const post = (tweet: unknown, authorization = alice.token) =>
    app.inject({ method: 'POST', url: '/tweet', headers: { authorization }, payload: { tweet } })

  t.test('answers 200 with the created tweet (bare token, as the book sends it)', async (t) => {
    const res = await post('hello world')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { user_id: alice.id, tweet: 'hello world', id: Number, created_at: /Z$/ })
  })

  t.test('accepts "Bearer <token>" too', async (t) => {
    const res = await post('with bearer', `Bearer ${alice.token}`)
    t.equal(res.statusCode, 200)
  })

  t.test('300 Korean syllables or 300 emoji are within the limit and stored intact', async (t) => {
    const korean = '가'.repeat(300)
    const emoji = '😀'.repeat(300)
    const a = await post(korean)
    const b = await post(emoji)
    t.equal(a.statusCode, 200)
    t.equal(a.json().tweet, korean)
    t.equal(b.statusCode, 200)
    t.equal(b.json().tweet, emoji)
    const timeline = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(timeline.json().timeline[0].tweet, emoji)
  })

  t.test('301 characters answers 400 naming the field', async (t) => {
    const res = await post('a'.repeat(301))
    t.equal(res.statusCode, 400)
    t.match(res.json(), { message: /tweet/, errors: [{ field: 'tweet' }] })
  })

  t.test('an empty or blank tweet answers 400', async (t) => {
    t.equal((await post('')).statusCode, 400)
    t.equal((await post('   ')).statusCode, 400)
  })

  t.test('a non-string tweet answers 400', async (t) => {
    t.equal((await post(42)).statusCode, 400)
    t.equal((await post({ text: 'x' })).statusCode, 400)
  })
})
