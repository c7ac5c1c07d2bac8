import { createHash } from 'node:crypto'
import t from 'tap'
import { PersonalTokenDao } from '../../model/personal-token-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('PersonalTokenDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tokens = new PersonalTokenDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob] = [await user('alice'), await user('bob')]
  const hash = (secret: string) => createHash('sha256').update(secret).digest()

  t.test('insert records a token at the account’s version, up to a maximum; grant finds it by hash', async (t) => {
    const made = await tokens.insert(alice, 'first', 'write', hash('one'), 2)
    t.ok('id' in made)
    const id = (made as { id: number }).id
    t.same(await tokens.grant(hash('one')), { id, user_id: alice, scope: 'write', current: true })
    t.equal(await tokens.grant(hash('unknown')), undefined)
    t.ok('id' in (await tokens.insert(alice, 'second', 'read', hash('two'), 2)))
    t.same(await tokens.insert(alice, 'third', 'read', hash('three'), 2), { full: true }, 'at the maximum')
    t.same(await tokens.insert(999_999, 'nobody', 'read', hash('four'), 2), { full: false }, 'no such account')
    t.same(
      (await tokens.list(alice)).map((row) => [row.name, row.scope]),
      [
        ['second', 'read'],
        ['first', 'write']
      ]
    )
    t.match(await tokens.byId(alice, id), { id, name: 'first', scope: 'write', created_at: Date })
    t.equal(await tokens.byId(bob, id), undefined, 'another user’s token is not theirs')
    await users.newTokenVersion(pool, alice)
    t.match(await tokens.grant(hash('one')), { current: false }, 'the account revoked its tokens since')
  })

  t.test('remove deletes only the owner’s token', async (t) => {
    const made = (await tokens.insert(bob, 'bob’s', 'read', hash('bob'), 5)) as { id: number }
    t.equal(await tokens.remove(alice, made.id), false)
    t.ok(await tokens.grant(hash('bob')))
    t.equal(await tokens.remove(bob, made.id), true)
    t.equal(await tokens.grant(hash('bob')), undefined)
    t.equal(await tokens.remove(bob, made.id), false)
  })
})
